"""The refresh engine: how a signed-in session renews its tokens and AWS credentials.

The contract, in one screen (the windows are :class:`~nb_cognito.auth.state.RefreshPolicy`'s):

* :meth:`RefreshEngine.ensure_fresh` reads the state's :class:`Freshness`. FRESH: nothing to
  do. ADVISORY: one caller refreshes without blocking, a failure is logged and the current
  values stay in use until the policy's retry delay has passed. MANDATORY: every caller waits
  for the one refresh and gets its error.
* :meth:`RefreshEngine.refresh` is single-flight: however many threads ask, one network
  refresh runs (a :class:`Flight`), and its waiters share its outcome.
* :meth:`RefreshEngine._do_refresh` renews what the :class:`RefreshPlan` says: tokens first
  (an expired ID token is never sent to the identity pool), then credentials.
* A definitive refusal (revoked or expired refresh token, disabled or deleted user, password
  reset) ends the session: SESSION_EXPIRED fires once and every waiter gets that error. Any
  other failure keeps the refresh token and is retryable.

The session holds one engine, as google-auth's credentials hold their refresh worker: the
engine gets its collaborators (the state box, the settings and clients, the steady clock, the
policy, the integrations and the events) when it is made, and owns the one background thread.
Where to change refresh: this file, and the pure rules it calls in :mod:`nb_cognito.auth.state`.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import replace
from typing import TYPE_CHECKING

from nb_cognito.auth.background import BackgroundRefresher
from nb_cognito.auth.events import EventHub
from nb_cognito.auth.integration import ChangeKind, Observers, SavedSignIn
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.auth.session_settings import SessionSettings
from nb_cognito.auth.session_state import Flight, SessionState
from nb_cognito.auth.state import (
    Expired,
    Freshness,
    SignedIn,
    ended_by,
    freshness,
    next_background_refresh,
    refresh_plan,
    signed_in_state,
)
from nb_cognito.clock import SteadyClock
from nb_cognito.exceptions import (
    SESSION_KEPT,
    AuthError,
    SessionExpiredError,
    SignedOutError,
)
from nb_cognito.models import AuthEvent
from nb_cognito.redaction import known_secrets
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.auth.identity import IdentityClient
    from nb_cognito.auth.userpool_calls import AuthTokens
    from nb_cognito.models import AWSCredentials

__all__ = ["RefreshEngine"]

log = logging.getLogger("nb_cognito")


def _id_token(state: SignedIn) -> Secret:
    return Secret(state.tokens.id_token)


def _session_kept(error: AuthError) -> None:
    """A retryable error met by a refresh says that the session stays (only here: at sign-in
    and sign-out there is no session to keep)."""
    if error.retryable:
        error.recovery_suggestion = SESSION_KEPT


class RefreshEngine:
    """Refresh decisions, the single-flight refresh and the background thread, for one session."""

    def __init__(
        self,
        state: SessionState,
        settings: SessionSettings,
        *,
        time: SteadyClock,
        policy: RefreshPolicy,
        observers: Observers,
        events: EventHub,
        auto_refresh: bool = True,
    ) -> None:
        self._box = state
        self._settings = settings
        self._time = time
        self.policy = policy
        self._observers = observers
        self._events = events
        self.auto_refresh = auto_refresh
        self.background = BackgroundRefresher(
            clock=time,
            next_due=self._next_background_refresh,
            refresh_due=self._refresh_in_background,
            policy=policy,
        )

    # -- when -----------------------------------------------------------------------------------

    def ensure_fresh(self, force: bool) -> None:
        """Refresh what the state's freshness asks for; ``force`` renews everything now.

        Raises only when the caller must not go on with the current values: a mandatory
        refresh failed, or the session ended.
        """
        state = self._box.current
        if not isinstance(state, SignedIn):
            return
        if force:
            self.refresh(force_tokens=True, force_credentials=True, blocking=True)
            return
        now = self._time.time()
        level = freshness(state, self.policy, now, wants_credentials=self._settings.wants_credentials())
        if level is Freshness.MANDATORY:
            self.refresh(force_tokens=False, force_credentials=False, blocking=True)
        elif level is Freshness.ADVISORY and now >= self._box.retry_not_before:
            try:
                self.refresh(force_tokens=False, force_credentials=False, blocking=False)
            except AuthError as error:
                if isinstance(self._box.current, Expired):
                    raise
                log.warning(
                    "Refresh failed in the advisory window; the current values stay in use: %s", error
                )

    def _next_background_refresh(self) -> float | None:
        """For the background thread: the local time of the next refresh (None: none)."""
        state = self._box.current
        if not isinstance(state, SignedIn):
            return None
        return next_background_refresh(
            state, self.policy, wants_credentials=self._settings.wants_credentials()
        )

    def _refresh_in_background(self) -> None:
        """For the background thread: refresh what falls due within the state's jitter."""
        state = self._box.current
        if not isinstance(state, SignedIn):
            return
        try:
            self.refresh(force_tokens=False, force_credentials=False, blocking=True, head_start=state.jitter)
        except AuthError:
            if isinstance(self._box.current, Expired):
                raise SessionExpiredError("The session has ended.") from None
            raise

    # -- single flight --------------------------------------------------------------------------

    def refresh(
        self, *, force_tokens: bool, force_credentials: bool, blocking: bool, head_start: float = 0.0
    ) -> None:
        """Single-flight refresh. Non-blocking callers return at once if one is in flight.

        ``head_start``: also refresh what is that fraction of its lead ahead of its advisory
        window (the background refresher wakes up its jitter early, and must then refresh).
        """
        with self._box.lock:
            flight, owner = self._box.flight, False
            if flight is None:
                flight, owner = Flight(), True
                self._box.flight = flight
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
            with self._box.lock:
                self._box.flight = None
            flight.done.set()

    def _do_refresh(self, force_tokens: bool, force_credentials: bool, head_start: float = 0.0) -> None:
        """Renew what is due (or forced): the tokens first, then the AWS credentials."""
        state = self._box.current
        if isinstance(state, Expired):
            raise state.error
        if state is None:
            raise SignedOutError("Nobody is signed in.")
        plan = refresh_plan(
            state,
            self.policy,
            self._time.time(),
            wants_credentials=self._settings.wants_credentials(),
            force_tokens=force_tokens,
            force_credentials=force_credentials,
            head_start=head_start,
        )
        if plan.tokens:
            state = self._refresh_tokens(state)
        if plan.credentials:
            state = self._refresh_credentials(state)
        with self._box.lock:
            self._box.retry_not_before = -math.inf
        if self.auto_refresh:
            self.background.poke()

    # -- what a refresh does ----------------------------------------------------------------------

    def _redeem(self, refresh_token: Secret, username: str, device_key: str | None = None) -> AuthTokens:
        """New tokens for ``refresh_token`` (rotated when the app client rotates them).

        ``device_key``: the tracked device the token is bound to, sent with every refresh. The
        token stays a :class:`Secret` down to the request: a failed refresh under ``%xmode
        Verbose`` shows the locals of every frame it went through.
        """
        tokens = self._settings.clients.userpool.refresh(refresh_token, username, device_key=device_key)
        if tokens.refresh_token is None:
            tokens = replace(tokens, refresh_token=refresh_token.reveal())
        return tokens

    def rotate(self, saved: SavedSignIn, *, previous: SignedIn | None) -> SignedIn:
        """Redeem ``saved``'s refresh token under every token store's lock.

        A store (remembered sessions shared by several kernels) holds a cross-process lock and
        may hand over a newer refresh token that another process rotated in; the new state is
        verified and saved before the lock lets go, so no other process ever redeems a
        token this one has just rotated away.
        """
        with contextlib.ExitStack() as guards:
            newer = self._observers.locked(saved, guards)  # another kernel's sign-in, with its device
            refresh_token, device = Secret(newer.refresh_token), newer.device
            # ``device``: the tracked device this refresh token is bound to (sent as its key)
            tokens = self._redeem(refresh_token, saved.user.username, device.key if device else None)
            new_state = self.new_state(tokens, previous=previous, login_name=saved.login_name)
            if device is not None and new_state.device != device:
                new_state = replace(new_state, device=device)
            if self._settings.token_source_persists:  # a hub sign-in is not: the hub remembers it
                self._observers.save(self._settings.saved(saved.reason, new_state))
        return new_state

    def new_state(
        self, tokens: AuthTokens, *, previous: SignedIn | None, login_name: str | None = None
    ) -> SignedIn:
        """Verify freshly issued tokens and build the state they define."""
        verifier = self._settings.clients.verifier
        id_claims = verifier.verify(tokens.id_token, token_use="id")
        access_claims = verifier.verify(tokens.access_token, token_use="access")
        now = self._time.anchor()  # the server just answered: measure the drift from here
        state = signed_in_state(
            tokens, id_claims, access_claims, previous=previous, policy=self.policy, now=now
        )
        known_secrets.add(state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token)
        if login_name is not None and login_name != state.user.username:
            state = replace(state, login_name=login_name)
        return state

    def _refresh_tokens(self, state: SignedIn) -> SignedIn:
        """Renew the user-pool tokens; a rotated refresh token is persisted before it is used."""
        try:
            new_state = self.rotate(self._settings.saved("refresh", state), previous=state)
        except AuthError as error:
            self._refresh_failed(state, error)
            raise AssertionError("unreachable") from error  # pragma: no cover
        with self._box.lock:
            if self._box.current is not state:  # signed out (or replaced) while we were refreshing
                raise SignedOutError("The session ended during the refresh.")
            self._box.current = new_state
            self._box.refresh_count += 1
            self._box.last_error = None
            self._box.invalidate()
        self._events.emit(AuthEvent.TOKEN_REFRESH, new_state.user)
        return new_state

    def _refresh_credentials(self, state: SignedIn) -> SignedIn:
        """Renew the AWS credentials with the current ID token; a failure keeps the old ones."""
        identity = self._settings.clients.identity
        # Wrapped in a helper: IPython's Verbose traceback also shows the value of every
        # attribute expression (``state.tokens.id_token``) in the line a frame was executing.
        id_token = _id_token(state)
        try:
            server_time: float | None = None
            if self._settings.settings.identity_pool_id:
                identity_id, creds = self._identity_credentials(identity, state, id_token)
                server_time = identity.server_time
            else:
                identity_id = None
                creds = identity.assume_role(id_token, state.user.username)
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
            with self._box.lock:
                if self._box.current is state:
                    self._box.current = replace(state, credentials_error=error)
                    self._box.invalidate()
            self._box.last_error = error
            self._events.emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
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
        with self._box.lock:
            if self._box.current is not state:
                raise SignedOutError("The session ended during the refresh.")
            self._box.current = new_state
            self._box.last_error = None  # no sticky error once the credentials came back
            self._box.invalidate()
        self._observers.notify(self._settings.change(ChangeKind.CREDENTIALS_CHANGED, new_state))
        self._events.emit(AuthEvent.CREDENTIALS_REFRESH, new_state.user)
        return new_state

    @staticmethod
    def _identity_credentials(
        identity: IdentityClient, state: SignedIn, id_token: Secret
    ) -> tuple[str, AWSCredentials]:
        """The identity id and fresh credentials from the identity pool.

        An identity id remembered with a resumed session saves a GetId; until it has earned
        credentials once, one the pool refuses (not a transient error) is asked for again.
        """
        if state.identity_id is not None:
            try:
                return state.identity_id, identity.credentials(state.identity_id, id_token)
            except AuthError as error:
                if error.retryable or state.credentials is not None:
                    raise
                log.info(
                    "The remembered identity id was refused (%s); asking for it again.", type(error).__name__
                )
        fresh = state.identity_id is not None
        identity_id = identity.identity_id(state.user.user_id, id_token, fresh=fresh)
        return identity_id, identity.credentials(identity_id, id_token)

    def _refresh_failed(self, state: SignedIn, error: AuthError) -> None:
        """Record a failed token refresh; end the session if the error is definitive. Raises."""
        self._box.last_error = error
        expired = ended_by(error)
        if expired is not None:
            with self._box.lock:
                ended = self._box.current is state
                if ended:
                    self._box.current = Expired(state.user, expired)
                    self._box.invalidate()
            if ended:
                self.background.stop(timeout=0)
                self._events.emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
                self._observers.notify(self._settings.change(ChangeKind.SESSION_EXPIRED, self._box.current))
                self._events.emit(AuthEvent.SESSION_EXPIRED, state.user, expired)
                raise expired from None
            current = self._box.current
            raise current.error if isinstance(current, Expired) else expired
        with self._box.lock:
            self._box.retry_not_before = self._time.time() + self.policy.retry_delay(state.token_lifetime)
        _session_kept(error)
        self._events.emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
        raise error
