"""The environment variables nb_cognito itself writes, so they are never taken for the user's.

``os.environ`` belongs to the user. When an integration writes a variable (env export's
``AWS_ACCESS_KEY_ID``, the container endpoint's ``AWS_CONTAINER_*``), it does so through one
:class:`EnvironmentWrites` shared by the kernel's integrations; another integration then
asks :meth:`EnvironmentWrites.users_choice` whether a variable holds the user's own choice
(which wins) or only our copy. Removing puts back nothing the user changed since.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from nb_cognito import forksafe

__all__ = ["EnvironmentWrites"]


class EnvironmentWrites:
    """The values this process's integrations put into ``os.environ``, and nothing else."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._ours: dict[str, str] = {}

    def write(self, values: Mapping[str, str]) -> None:
        """Set ``values`` in ``os.environ`` and remember them as ours (recorded first)."""
        with self._lock:
            self._ours.update(values)
            os.environ.update(values)

    def remove(self, names: Iterable[str]) -> None:
        """Delete ``names`` from ``os.environ`` where they still hold the value we wrote."""
        with self._lock:
            for name in names:
                value = self._ours.pop(name, None)
                if value is not None and os.environ.get(name) == value:
                    del os.environ[name]

    def is_ours(self, name: str) -> bool:
        """True while ``name`` holds the value an integration wrote."""
        value = self._ours.get(name)
        return value is not None and os.environ.get(name) == value

    def users_choice(self, names: Iterable[str]) -> str | None:
        """The first of ``names`` set in ``os.environ`` by the user (not by us), if any."""
        for name in names:
            if os.environ.get(name) and not self.is_ours(name):
                return name
        return None

    def __repr__(self) -> str:
        return f"<EnvironmentWrites {sorted(self._ours)}>"
