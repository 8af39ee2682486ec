"""``AWS_ENDPOINT_URL`` for ``%cognito_login --local``, only while the local session lasts.

``--local`` points ``AWS_ENDPOINT_URL`` at the offline emulator so that ``boto3.client("s3")``
reaches its S3. Left there, every later client (after sign-out, or signed in to a real pool)
would keep talking to the emulator. So the user's previous value is saved and put back when the
local session ends: on sign-out, or when the session's settings name another endpoint (a
``configure()`` or sign-in to another pool). A value the user changed meanwhile is left alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nb_cognito.models import AuthEvent

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = ["NAME", "point_at", "restore"]

NAME = "AWS_ENDPOINT_URL"

_lock = threading.Lock()
_url: str | None = None  # what we wrote
_saved: str | None = None  # the user's value before (None: it was unset)
_unsubscribe: list[Callable[[], None]] = []


def point_at(session: CognitoSession, url: str) -> None:
    """Set ``AWS_ENDPOINT_URL`` to ``url`` until ``session`` signs out or leaves ``url``."""
    global _url, _saved
    with _lock:
        if _url is None or os.environ.get(NAME) != _url:
            _saved = os.environ.get(NAME)
        _url = url
        os.environ[NAME] = url
        for unsubscribe in _unsubscribe:
            unsubscribe()

        def check(_: Any = None) -> None:
            if session.settings.endpoint_url != url:
                restore()

        _unsubscribe[:] = [
            session.on(AuthEvent.SIGNED_OUT, lambda _: restore()),
            session.on(AuthEvent.SIGNED_IN, check),
            session._add_settings_listener(check),
        ]


def restore() -> None:
    """Put the user's ``AWS_ENDPOINT_URL`` back (if ours is still there); idempotent."""
    global _url, _saved
    with _lock:
        if _url is None:
            return
        if os.environ.get(NAME) == _url:
            if _saved is None:
                del os.environ[NAME]
            else:
                os.environ[NAME] = _saved
        _url, _saved = None, None
        unsubscribes, _unsubscribe[:] = list(_unsubscribe), []
    for unsubscribe in unsubscribes:
        unsubscribe()
