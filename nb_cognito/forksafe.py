"""Fork hygiene as one mechanism: after ``os.fork()``, each registered object resets itself.

A forked child inherits every lock in whatever state another thread held it, and none of the
parent's threads. Objects that own a lock, a thread or a server register here; in the child
their ``after_fork_in_child()`` replaces the locks and forgets threads and servers that did
not come along (never waiting on them, never signing the parent out).
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Protocol, TypeVar

__all__ = ["ForkAware", "register"]

log = logging.getLogger("nb_cognito")


class ForkAware(Protocol):
    def after_fork_in_child(self) -> None: ...


_T = TypeVar("_T", bound=ForkAware)
_objects: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(obj: _T) -> _T:
    """Reset ``obj`` in every forked child (held weakly: registering keeps nothing alive)."""
    _objects.add(obj)
    return obj


def _reset_in_child() -> None:
    for obj in list(_objects):
        try:
            obj.after_fork_in_child()
        except Exception:  # the child must come up whatever one object does
            log.debug("nb_cognito: %r could not reset after fork", obj, exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
