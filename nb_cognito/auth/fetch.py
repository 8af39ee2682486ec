"""``fetch_auth_session()``: the session as Amplify's SUCCESS/FAILURE results, served from a
snapshot while everything is fresh.

While nothing is due, a fetch is a memory read (the snapshot and the steady-clock time until
which it stays good); otherwise the refresh engine makes the state fresh first. Guest
credentials (``allow_guest``) are fetched here too, under their own lock, so a slow guest fetch
never holds up a sign-in or a sign-out.
"""

from __future__ import annotations

from nb_cognito import forksafe
from nb_cognito.auth.refresh import RefreshEngine
from nb_cognito.auth.session_settings import SessionSettings
from nb_cognito.auth.session_state import SessionState
from nb_cognito.auth.snapshots import failed_snapshot, signed_in_snapshot, signed_out_snapshot
from nb_cognito.auth.state import Expired, SignedIn, fresh_until
from nb_cognito.clock import SteadyClock
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.models import AWSCredentials, CognitoAuthSession

__all__ = ["SessionFetch"]


class SessionFetch:
    """Builds and caches what ``fetch_auth_session()`` returns."""

    def __init__(
        self, state: SessionState, settings: SessionSettings, *, engine: RefreshEngine, time: SteadyClock
    ) -> None:
        self._box = state
        self._settings = settings
        self._engine = engine
        self._time = time
        self._guest_lock = forksafe.Lock()

    def fetch(self, force_refresh: bool = False) -> CognitoAuthSession:
        """The snapshot while it is fresh (no network call); else refresh, then a new one."""
        if not force_refresh:
            snapshot = self._box.snapshot
            if snapshot is not None and self._time.time() < self._box.fresh_until:
                return snapshot
        state = self._box.current
        if state is None:
            return self._signed_out()
        if isinstance(state, Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        error: AuthError | None = None
        try:
            self._engine.ensure_fresh(force_refresh)
        except AuthError as failure:
            error = failure
        state = self._box.current
        if isinstance(state, Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        if state is None:
            return self._signed_out()
        return self._build(state, error)

    def _build(self, state: SignedIn, error: AuthError | None) -> CognitoAuthSession:
        now = self._time.time()
        wants_credentials = self._settings.wants_credentials()
        snapshot = signed_in_snapshot(
            state,
            now,
            error=error,
            last_error=self._box.last_error,
            wants_credentials=wants_credentials,
            identity_pool=wants_credentials and bool(self._settings.settings.identity_pool_id),
        )
        if error is None:
            until = fresh_until(
                state,
                self._engine.policy,
                now,
                wants_credentials=wants_credentials,
                retry_not_before=self._box.retry_not_before,
            )
            if until is not None:
                with self._box.lock:
                    if self._box.current is state:
                        self._box.snapshot, self._box.fresh_until = snapshot, until
        return snapshot

    def _signed_out(self) -> CognitoAuthSession:
        try:
            settings = self._settings.settings
        except ConfigurationError:
            return signed_out_snapshot()
        if not (settings.allow_guest and settings.identity_pool_id):
            return signed_out_snapshot()
        try:
            return signed_out_snapshot(self._guest_credentials())
        except AuthError as error:
            return signed_out_snapshot(error)

    def _guest_credentials(self) -> tuple[str, AWSCredentials]:
        """Unauthenticated identity-pool credentials, when ``allow_guest`` is set.

        Fetched under their own lock, never the session's: ``on()`` and ``sign_out()`` never
        wait for the network.
        """
        with self._guest_lock:
            guest = self._box.guest
            lead = self._engine.policy.lead(3600)
            if guest is not None and guest[1].expiration.timestamp() - self._time.time() > lead:
                return guest
            identity = self._settings.clients.identity
            identity_id = guest[0] if guest else identity.identity_id(None, None)
            fetched = (identity_id, identity.credentials(identity_id, None))
            with self._box.lock:
                if self._box.current is None:  # nobody signed in meanwhile
                    self._box.guest = fetched
            return fetched
