"""Amplify Hub-style events of one session: ``on(AuthEvent.X, callback)``.

Listeners are the user's code (the widget, a notebook cell), told of sign-in, refresh and
sign-out; integrations use the typed seam in :mod:`nb_cognito.auth.integration` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from nb_cognito import forksafe
from nb_cognito.models import AuthEvent, AuthEventPayload, AuthUser

__all__ = ["EventHub"]

log = logging.getLogger("nb_cognito")

Listener = Callable[[AuthEventPayload], None]


class EventHub:
    """The listeners of one session, per event."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._listeners: dict[AuthEvent, list[Listener]] = {}

    def on(self, event: AuthEvent, callback: Listener) -> Callable[[], None]:
        """Call ``callback(payload)`` on ``event``; returns a function that unsubscribes."""
        event = AuthEvent(event)
        with self._lock:
            self._listeners.setdefault(event, []).append(callback)

        def unsubscribe() -> None:
            with self._lock:
                callbacks = self._listeners.get(event, [])
                if callback in callbacks:
                    callbacks.remove(callback)

        return unsubscribe

    def listeners(self, event: AuthEvent) -> tuple[Listener, ...]:
        with self._lock:
            return tuple(self._listeners.get(event, ()))

    def emit(self, event: AuthEvent, user: AuthUser | None = None, error: Exception | None = None) -> None:
        """Call every listener of ``event``; one that raises is logged and skipped."""
        payload = AuthEventPayload(event, user, error)
        for callback in self.listeners(event):
            try:
                callback(payload)
            except Exception:  # a listener never breaks the session
                log.exception("An nb_cognito %s listener raised; ignored.", event.value)
