"""``AWS_ENDPOINT_URL`` for ``%cognito_login --local``, only while the local session lasts.

``--local`` points ``AWS_ENDPOINT_URL`` at the offline emulator so that ``boto3.client("s3")``
reaches its S3. Left there, every later client (after sign-out, or signed in to a real pool)
would keep talking to the emulator. So the user's previous value is saved and put back when the
local session ends: on sign-out or expiry, or when the session's settings name another endpoint
(a ``configure()`` or a sign-in to another pool). A value the user changed meanwhile is left
alone. It is an integration the session owns (:func:`point_at` adds it once).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from nb_cognito import forksafe
from nb_cognito.auth.base import add_integration
from nb_cognito.auth.integration import Integration, SessionChange
from nb_cognito.environment import EnvironmentVariables as Env

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = ["NAME", "LocalEndpoint", "point_at"]

NAME = Env.AWS_ENDPOINT_URL


class LocalEndpoint(Integration):
    """Holds ``AWS_ENDPOINT_URL`` on the emulator while the session uses it; then restores it."""

    name = "local endpoint"

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._url: str | None = None  # what we wrote
        self._saved: str | None = None  # the user's value before (None: it was unset)

    def point_at(self, url: str) -> None:
        """Set ``AWS_ENDPOINT_URL`` to ``url`` until the session leaves it."""
        with self._lock:
            if self._url is None or os.environ.get(NAME) != self._url:
                self._saved = os.environ.get(NAME)
            self._url = url
            os.environ[NAME] = url

    def restore(self) -> None:
        """Put the user's ``AWS_ENDPOINT_URL`` back (if ours is still there); idempotent."""
        with self._lock:
            if self._url is not None and os.environ.get(NAME) == self._url:
                if self._saved is None:
                    del os.environ[NAME]
                else:
                    os.environ[NAME] = self._saved
            self._url = self._saved = None

    def _check(self, change: SessionChange) -> None:
        if self._url is not None and (change.settings is None or change.settings.endpoint_url != self._url):
            self.restore()

    signed_in = settings_changed = _check

    def signed_out(self, change: SessionChange) -> None:
        self.restore()

    def session_expired(self, change: SessionChange) -> None:
        self.restore()

    def close(self) -> None:
        self.restore()

    def __repr__(self) -> str:
        return f"<LocalEndpoint {'on ' + self._url if self._url else 'off'}>"


def point_at(session: CognitoSession, url: str) -> LocalEndpoint:
    """Point ``AWS_ENDPOINT_URL`` at ``url`` while ``session`` uses it (adds the integration once)."""
    integration = session.integration(LocalEndpoint) or add_integration(session, LocalEndpoint())
    integration.point_at(url)
    return integration
