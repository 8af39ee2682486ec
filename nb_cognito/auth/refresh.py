"""The refresh engine: how a signed-in session renews its tokens and AWS credentials.

The contract, in one screen (the windows are :class:`~nb_cognito.auth.state.RefreshPolicy`'s):

* :meth:`RefreshEngine._ensure_fresh` reads the state's :class:`Freshness`. FRESH: nothing to
  do. ADVISORY: one caller refreshes without blocking, a failure is logged and the current
  values stay in use until the policy's retry delay has passed. MANDATORY: every caller waits
  for the one refresh and gets its error.
* :meth:`RefreshEngine._refresh` is single-flight: however many threads ask, one network
  refresh runs (a :class:`Flight`), and its waiters share its outcome.
* :meth:`RefreshEngine._do_refresh` renews what the :class:`RefreshPlan` says: tokens first
  (an expired ID token is never sent to the identity pool), then credentials.
* A definitive refusal (revoked or expired refresh token, disabled or deleted user, password
  reset) ends the session: SESSION_EXPIRED fires once and every waiter gets that error. Any
  other failure keeps the refresh token and is retryable.

It is a mixin of :class:`~nb_cognito.auth.session.CognitoSession` (as azure-identity's
``GetTokenMixin``): the session owns the state and the lock, the engine owns the decisions.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import replace
from typing import TYPE_CHECKING

from nb_cognito.auth.base import Flight, SessionCore
from nb_cognito.auth.integration import SavedSignIn
from nb_cognito.auth.state import (
    Expired,
    Freshness,
    SignedIn,
    ended_by,
    freshness,
    next_background_refresh,
    refresh_plan,
)
from nb_cognito.exceptions import (
    SESSION_KEPT,
    AuthError,
    ConfigurationError,
    SessionExpiredError,
    SignedOutError,
)
from nb_cognito.models import AuthEvent

if TYPE_CHECKING:
    from nb_cognito.auth.userpool import AuthTokens

__all__ = ["RefreshEngine"]

log = logging.getLogger("nb_cognito")


def _session_kept(error: AuthError) -> None:
    """A retryable error met by a refresh says that the session stays (only here: at sign-in
    and sign-out there is no session to keep)."""
    if error.retryable:
        error.recovery_suggestion = SESSION_KEPT


class RefreshEngine(SessionCore):
    """Refresh decisions and the single-flight refresh, on the state the session owns."""

    # -- when -----------------------------------------------------------------------------------

    def _wants_credentials(self) -> bool:
        try:
            return self.clients.wants_credentials
        except ConfigurationError:
            return False

    def _ensure_fresh(self, force: bool) -> None:
        """Refresh what the state's freshness asks for; ``force`` renews everything now.

        Raises only when the caller must not go on with the current values: a mandatory
        refresh failed, or the session ended.
        """
        state = self._state
        if not isinstance(state, SignedIn):
            return
        if force:
            self._refresh(force_tokens=True, force_credentials=True, blocking=True)
            return
        now = self._time.time()
        level = freshness(state, self.policy, now, wants_credentials=self._wants_credentials())
        if level is Freshness.MANDATORY:
            self._refresh(force_tokens=False, force_credentials=False, blocking=True)
        elif level is Freshness.ADVISORY and now >= self._retry_not_before:
            try:
                self._refresh(force_tokens=False, force_credentials=False, blocking=False)
            except AuthError as error:
                if isinstance(self._state, Expired):
                    raise
                log.warning(
                    "Refresh failed in the advisory window; the current values stay in use: %s", error
                )

    def _next_background_refresh(self) -> float | None:
        """For the background thread: the local time of the next refresh (None: none)."""
        state = self._state
        if not isinstance(state, SignedIn):
            return None
        return next_background_refresh(state, self.policy, wants_credentials=self._wants_credentials())

    def _refresh_in_background(self) -> None:
        """For the background thread: refresh what falls due within the state's jitter."""
        state = self._state
        if not isinstance(state, SignedIn):
            return
        try:
            self._refresh(force_tokens=False, force_credentials=False, blocking=True, head_start=state.jitter)
        except AuthError:
            if isinstance(self._state, Expired):
                raise SessionExpiredError("The session has ended.") from None
            raise

    # -- single flight --------------------------------------------------------------------------

    def _refresh(
        self, *, force_tokens: bool, force_credentials: bool, blocking: bool, head_start: float = 0.0
    ) -> None:
        """Single-flight refresh. Non-blocking callers return at once if one is in flight.

        ``head_start``: also refresh what is that fraction of its lead ahead of its advisory
        window (the background refresher wakes up its jitter early, and must then refresh).
        """
        with self._lock:
            flight, owner = self._flight, False
            if flight is None:
                flight, owner = Flight(), True
                self._flight = flight
        if not owner:
            if blocking:
                flight.done.wait()
                if flight.error is not None:
                    raise flight.error
            return
        try:
            self._do_refresh(force_tokens, force_credentials, head_start)
        except AuthError as error:
            flight.error = error
            raise
        except Exception as error:  # a bug or a malformed answer: waiters still get a typed error
            flight.error = AuthError(
                f"The refresh failed unexpectedly ({type(error).__name__}); the previous values are kept."
            )
            raise flight.error from error
        finally:
            with self._lock:
                self._flight = None
            flight.done.set()

    def _do_refresh(self, force_tokens: bool, force_credentials: bool, head_start: float = 0.0) -> None:
        """Renew what is due (or forced): the tokens first, then the AWS credentials."""
        state = self._state
        if isinstance(state, Expired):
            raise state.error
        if state is None:
            raise SignedOutError("Nobody is signed in.")
        plan = refresh_plan(
            state,
            self.policy,
            self._time.time(),
            wants_credentials=self._wants_credentials(),
            force_tokens=force_tokens,
            force_credentials=force_credentials,
            head_start=head_start,
        )
        if plan.tokens:
            state = self._refresh_tokens(state)
        if plan.credentials:
            state = self._refresh_credentials(state)
        with self._lock:
            self._retry_not_before = -math.inf
        if self._auto_refresh:
            self._refresher.poke()

    # -- what a refresh does ----------------------------------------------------------------------

    def _redeem(self, refresh_token: str, username: str, device_key: str | None = None) -> AuthTokens:
        """New tokens for ``refresh_token`` (rotated when the app client rotates them).

        ``device_key``: the tracked device the token is bound to, sent with every refresh.
        """
        tokens = self.clients.userpool.refresh(refresh_token, username, device_key=device_key)
        if tokens.refresh_token is None:
            tokens = replace(tokens, refresh_token=refresh_token)
        return tokens

    def _rotate(self, saved: SavedSignIn, *, previous: SignedIn | None) -> SignedIn:
        """Redeem ``saved``'s refresh token under every integration's refresh guard.

        A guard (remembered sessions shared by several kernels) holds a cross-process lock and
        may hand over a newer refresh token that another process rotated in; the new state is
        verified and persisted before the guard lets go, so no other process ever redeems a
        token this one has just rotated away.
        """
        with contextlib.ExitStack() as guards:
            refresh_token, device = saved.refresh_token, saved.device
            for integration in list(self._integrations):
                newer = guards.enter_context(integration.refresh_guard(saved))
                if isinstance(newer, SavedSignIn):  # another kernel's sign-in, with its device
                    refresh_token, device = newer.refresh_token, newer.device
                elif newer:
                    refresh_token = newer
            # ``device``: the tracked device this refresh token is bound to (sent as its key)
            tokens = self._redeem(refresh_token, saved.user.username, device.key if device else None)
            new_state = self._new_state(tokens, previous=previous, login_name=saved.login_name)
            if device is not None and new_state.device != device:
                new_state = replace(new_state, device=device)
            source = self._hosted_ui
            if source is None or source.persists:  # a hub sign-in is not: the hub remembers it
                self._notify("persist", self._saved(saved.reason, new_state))
        return new_state

    def _refresh_tokens(self, state: SignedIn) -> SignedIn:
        """Renew the user-pool tokens; a rotated refresh token is persisted before it is used."""
        try:
            new_state = self._rotate(self._saved("refresh", state), previous=state)
        except AuthError as error:
            self._refresh_failed(state, error)
            raise AssertionError("unreachable") from error  # pragma: no cover
        with self._lock:
            if self._state is not state:  # signed out (or replaced) while we were refreshing
                raise SignedOutError("The session ended during the refresh.")
            self._state = new_state
            self.refresh_count += 1
            self.last_error = None
            self._invalidate()
        self._emit(AuthEvent.TOKEN_REFRESH, new_state.user)
        return new_state

    def _refresh_credentials(self, state: SignedIn) -> SignedIn:
        """Renew the AWS credentials with the current ID token; a failure keeps the old ones."""
        identity = self.clients.identity
        try:
            server_time: float | None = None
            if self.settings.identity_pool_id:
                identity_id = state.identity_id or identity.identity_id(
                    state.user.user_id, state.tokens.id_token
                )
                creds = identity.credentials(identity_id, state.tokens.id_token)
                server_time = identity.server_time
            else:
                identity_id = None
                creds = identity.assume_role(state.tokens.id_token, state.user.username)
            skew = state.skew
            if server_time is not None:  # the answer's Date header: measure the drift again
                skew = server_time - self._time.anchor()
            server_now = self._time.time() + skew
            lifetime = creds.expiration.timestamp() - server_now
            if lifetime <= self.policy.min_lead:  # botocore: "refreshed credentials are still expired"
                raise AuthError(
                    "AWS returned credentials that have already expired; the previous ones are kept."
                )
        except AuthError as error:
            _session_kept(error)
            with self._lock:
                if self._state is state:
                    self._state = replace(state, credentials_error=error)
                    self._invalidate()
            self.last_error = error
            self._emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
            raise
        new_state = replace(
            state,
            skew=skew,
            identity_id=identity_id,
            credentials=creds,
            credentials_lifetime=lifetime,
            credentials_error=None,
            last_refresh=self._time.time(),
        )
        with self._lock:
            if self._state is not state:
                raise SignedOutError("The session ended during the refresh.")
            self._state = new_state
            self.last_error = None  # no sticky error once the credentials came back
            self._invalidate()
        self._notify("credentials_changed", self._change(new_state))
        self._emit(AuthEvent.CREDENTIALS_REFRESH, new_state.user)
        return new_state

    def _refresh_failed(self, state: SignedIn, error: AuthError) -> None:
        """Record a failed token refresh; end the session if the error is definitive. Raises."""
        self.last_error = error
        expired = ended_by(error)
        if expired is not None:
            with self._lock:
                ended = self._state is state
                if ended:
                    self._state = Expired(state.user, expired)
                    self._invalidate()
            if ended:
                self._refresher.stop(timeout=0)
                self._emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
                self._notify("session_expired", self._change(self._state))
                self._emit(AuthEvent.SESSION_EXPIRED, state.user, expired)
                raise expired from None
            current = self._state
            raise current.error if isinstance(current, Expired) else expired
        with self._lock:
            self._retry_not_before = self._time.time() + self.policy.retry_delay(state.token_lifetime)
        _session_kept(error)
        self._emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
        raise error
