"""The one mutable place of a session: its state and what is cached from it, under one lock.

The state itself is an immutable value (:mod:`nb_cognito.auth.state`) swapped whole, so a
reader never sees half an update. The sign-in flow, the refresh engine, device tracking and
the snapshot cache each hold this box and change it only under :attr:`SessionState.lock`.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

from nb_cognito import forksafe
from nb_cognito.auth.snapshots import live_secrets
from nb_cognito.auth.state import Expired, SignedIn
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.auth.challenges import PendingSignIn
    from nb_cognito.exceptions import AuthError
    from nb_cognito.models import AWSCredentials, CognitoAuthSession

__all__ = ["Flight", "SessionState"]


class Flight:
    """One refresh in progress; waiters block on ``done`` and share its ``error``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: AuthError | None = None


class SessionState:
    """Who is signed in (``current``), the sign-in waiting for an answer, the refresh in flight,
    and the cached snapshot of ``fetch_auth_session()``."""

    def __init__(self) -> None:
        self.lock = forksafe.RLock()
        self.current: SignedIn | Expired | None = None
        self.pending: PendingSignIn | None = None
        self.flight: Flight | None = None
        self.snapshot: CognitoAuthSession | None = None
        self.fresh_until = -math.inf  # the snapshot is served as it is until then (steady clock)
        self.retry_not_before = -math.inf  # an advisory refresh that failed waits until then
        self.last_error: AuthError | None = None
        self.refresh_count = 0
        self.guest: tuple[str, AWSCredentials] | None = None
        self.inherited: str | None = None  # the refresh token a forked child got from its parent
        forksafe.register(self)

    @property
    def signed_in(self) -> SignedIn | None:
        current = self.current
        return current if isinstance(current, SignedIn) else None

    def signed_in_as(self, username: str) -> bool:
        """Signed in as ``username``: the Cognito username or the alias typed at sign-in."""
        current = self.signed_in
        return current is not None and username in (current.user.username, current.login_name)

    def invalidate(self) -> None:
        """The state changed (every change calls this, under the lock): drop the cached
        snapshot, and pin the secrets the session now holds for redaction (see ``live_secrets``)."""
        self.snapshot = None
        self.fresh_until = -math.inf
        known_secrets.pin(self, *live_secrets(self.current))

    def replace(self, expected: SignedIn | Expired | None, new: SignedIn | Expired | None) -> bool:
        """Swap ``expected`` for ``new`` if it is still current (False: it changed meanwhile)."""
        with self.lock:
            if self.current is not expected:
                return False
            self.current = new
            self.invalidate()
            return True

    def after_fork_in_child(self) -> None:
        """In a forked child: no refresh in flight; the sign-in it inherited is the parent's.

        The child may use that sign-in, but its sign-out is local (no revocation, nothing
        forgotten that the parent owns).
        """
        self.flight = None
        current = self.current
        self.inherited = current.tokens.refresh_token if isinstance(current, SignedIn) else None
