"""`CognitoSession`: sign in once; it keeps tokens and AWS credentials fresh and hands them out.

The state is an immutable value swapped under a lock, so readers never see half an update.
Refreshes are single-flight: however many threads ask, one network refresh runs.

Windows scale with the lifetime of what is refreshed (see :class:`RefreshPolicy`):

* before the *advisory* window nothing happens and ``fetch_auth_session`` is a memory read;
* in the advisory window one caller refreshes, the others get the current values at once,
  and a failure is logged and swallowed (the values are still valid);
* in the *mandatory* window every caller waits for the one refresh, and a failure is
  returned as a retryable error, with the refresh token kept;
* a definitive failure (revoked/expired refresh token, user disabled or deleted, password
  reset) ends the session: ``SESSION_EXPIRED`` fires once and every waiter gets that error.

A background thread (:mod:`nb_cognito.auth.background`) refreshes ahead of the advisory window,
so a long-running cell never meets an expired token.

The states and the rules on them (what is due when, what a caller sees) are in
:mod:`nb_cognito.auth.state`; the sign-in challenges are in :mod:`nb_cognito.auth.challenges`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nb_cognito.auth.background import BackgroundRefresher
from nb_cognito.auth.state import Expired as _Expired
from nb_cognito.auth.state import (
    RefreshPolicy,
    due,
    ended_by,
    failed_snapshot,
    fresh_until,
    next_background_refresh,
    refresh_plan,
    session_status,
    signed_in_snapshot,
    signed_in_state,
    signed_out_snapshot,
)
from nb_cognito.auth.state import SignedIn as _SignedIn
from nb_cognito.clock import SYSTEM_CLOCK, Clock
from nb_cognito.config import CognitoConfig, Settings
from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    InvalidParameterError,
    NotAuthorizedError,
    SessionExpiredError,
    SignedOutError,
)
from nb_cognito.models import (
    AuthEvent,
    AuthEventPayload,
    AuthUser,
    AWSCredentials,
    CognitoAuthSession,
    SessionStatus,
    SignInNextStep,
    SignInResult,
    SignInStep,
    SignOutResult,
)
from nb_cognito.redaction import secrets

if TYPE_CHECKING:
    from nb_cognito.auth.challenges import PendingSignIn

__all__ = ["CognitoSession", "RefreshPolicy"]

log = logging.getLogger("nb_cognito")


class _Flight:
    """One refresh in progress; waiters block on ``done`` and share its ``error``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: AuthError | None = None


class CognitoSession:
    """The session of one user in one Cognito user pool, and the AWS credentials it earns.

    Use the kernel-wide instance, ``nb_cognito.session``. ``clock`` is the one time seam;
    ``auto_refresh=False`` turns the background thread off (refresh stays lazy).
    """

    def __init__(
        self,
        config: CognitoConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        policy: RefreshPolicy | None = None,
        auto_refresh: bool = True,
    ) -> None:
        self.config = config if config is not None else CognitoConfig()
        self.clock = clock
        self.policy = policy or RefreshPolicy()
        self._lock = threading.RLock()
        self._state: _SignedIn | _Expired | None = None
        self._pending: PendingSignIn | None = None
        self._flight: _Flight | None = None
        self._snapshot: CognitoAuthSession | None = None
        self._fresh_until = -math.inf
        self._retry_not_before = -math.inf
        self._settings: Settings | None = None
        self._clients: dict[str, Any] = {}
        self._listeners: dict[AuthEvent, list[Callable[[AuthEventPayload], None]]] = {}
        self._persisters: list[Callable[[str, _SignedIn], None]] = []
        self._settings_listeners: list[Callable[[], None]] = []
        self._resumers: list[Callable[[str | None], bool]] = []
        self._guest: tuple[str, AWSCredentials] | None = None
        self._rotation = False
        self.last_error: AuthError | None = None
        self.refresh_count = 0
        self._refresher = BackgroundRefresher(
            clock=clock, next_due=self._next_background_refresh, refresh_due=self._refresh_in_background
        )
        self._auto_refresh = auto_refresh
        _live_sessions.add(self)  # weakly: a fork hook must not keep every session alive

    # -- configuration ---------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The resolved settings (raises :class:`ConfigurationError` when they are bad)."""
        settings = self._settings
        if settings is None:
            settings = self._settings = self.config.resolve()
        return settings

    def configure(self, config: CognitoConfig | None = None, /, **settings: Any) -> None:
        """Update the settings named; the others keep their values. Validates at once.

        Changing the pool, client or endpoint while signed in signs out locally first,
        since the old tokens belong to the old pool.
        """
        candidate = self.config.copy()
        if config is not None:
            candidate.merge_from(config)
        if settings:
            candidate.update(**settings)
        resolved = candidate.resolve()  # fail now, naming the setting, and change nothing
        if self._state is not None and self._settings_key(resolved) != self._settings_key():
            log.warning("The user pool settings changed; signing out of the previous pool.")
            self.sign_out()
        if config is not None:
            self.config.merge_from(config)
        if settings:
            self.config.update(**settings)
        with self._lock:
            self._settings = None
            self._clients.clear()
            self._invalidate()
        if self.is_signed_in:  # e.g. subprocess_credentials turned on after sign-in: apply now
            for listener in list(self._settings_listeners):
                try:
                    listener()
                except Exception:
                    log.exception("An nb_cognito integration could not apply the new settings.")

    def _reread_settings(self) -> None:
        """Resolve the settings again; drop the clients if they changed."""
        fresh = self.config.resolve()
        with self._lock:
            if fresh != self._settings:
                self._settings = fresh
                self._clients.clear()
                self._invalidate()

    def _settings_key(self, settings: Settings | None = None) -> tuple | None:
        try:
            s = settings or self.settings
        except ConfigurationError:
            return None
        return (s.user_pool_id, s.client_id, s.identity_pool_id, s.endpoint_url, s.role_arn)

    def _client(self, kind: str) -> Any:
        client = self._clients.get(kind)
        if client is None:
            settings = self.settings
            if kind == "userpool":
                from nb_cognito.auth.userpool import UserPoolClient

                client = UserPoolClient(settings, clock=self.clock)
                if self._hosted_ui is not None:  # signed in through the hosted UI: refresh there
                    client = self._hosted_ui.wrap(client)
            elif kind == "identity":
                from nb_cognito.auth.identity import IdentityClient

                client = IdentityClient(settings, clock=self.clock)
            else:
                from nb_cognito.auth.tokens import TokenVerifier

                settings.require_sign_in_settings()
                # A valid user_pool_id (checked just above) always gives Settings a region.
                assert settings.region is not None
                client = TokenVerifier(
                    region=settings.region,
                    user_pool_id=settings.user_pool_id or "",
                    client_id=settings.client_id or "",
                    endpoint_url=settings.endpoint_url,
                    timeout=settings.network_timeout,
                )
            self._clients[kind] = client
        return client

    # -- events ----------------------------------------------------------------------------

    def on(self, event: AuthEvent, callback: Callable[[AuthEventPayload], None]) -> Callable[[], None]:
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

    def _emit(self, event: AuthEvent, user: AuthUser | None = None, error: Exception | None = None) -> None:
        payload = AuthEventPayload(event, user, error)
        with self._lock:
            callbacks = list(self._listeners.get(event, ()))
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:  # a listener never breaks the session
                log.exception("An nb_cognito %s listener raised; ignored.", event.value)

    def _add_persister(self, persist: Callable[[str, _SignedIn], None]) -> Callable[[], None]:
        """Internal: ``persist(reason, state)`` runs before a new state is used (remembered sessions)."""
        self._persisters.append(persist)
        return lambda: self._persisters.remove(persist) if persist in self._persisters else None

    def _add_settings_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Internal: ``listener()`` runs after configure() while signed in (integrations re-apply)."""
        self._settings_listeners.append(listener)
        return lambda: (
            self._settings_listeners.remove(listener) if listener in self._settings_listeners else None
        )

    def _add_resumer(self, resume: Callable[[str | None], bool]) -> Callable[[], None]:
        """Internal: ``resume(username)`` may sign in without a password (remembered sessions)."""
        self._resumers.append(resume)
        return lambda: self._resumers.remove(resume) if resume in self._resumers else None

    # -- sign-in ---------------------------------------------------------------------------

    @property
    def is_signed_in(self) -> bool:
        return isinstance(self._state, _SignedIn)

    def sign_in(self, username: str | None = None, password: str | None = None) -> SignInResult:
        """Sign in; returns the next step (``DONE``, or a challenge to answer with ``confirm_sign_in``).

        ``username`` defaults to ``NB_COGNITO_USERNAME`` and ``password`` to
        ``NB_COGNITO_PASSWORD``. A wrong password or unknown user raises
        :class:`NotAuthorizedError` without saying which. Already signed in as this user:
        returns ``DONE`` with no network call. With no password and ``remember`` on, a
        remembered session (:mod:`nb_cognito.store`) is resumed first, if there is one.
        """
        username = username if username is not None else os.environ.get("NB_COGNITO_USERNAME")
        state = self._state
        signed_in_as = (state.user.username, self._typed_username) if isinstance(state, _SignedIn) else ()
        if username and username in signed_in_as:
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        if state is None:
            self._reread_settings()  # the environment or the Amplify file may have changed
        if password is None:
            for resume in list(self._resumers):
                if resume(username or None):
                    return SignInResult(True, SignInNextStep(SignInStep.DONE))
        if not username:
            raise InvalidParameterError(
                "No username given.", recovery_suggestion="Pass a username or set NB_COGNITO_USERNAME."
            )
        if password is None:
            password = os.environ.get("NB_COGNITO_PASSWORD")
        if password is None:
            raise InvalidParameterError(
                "No password given.",
                recovery_suggestion="Use %cognito_login (it asks with hidden input), the sign-in "
                "widget, or set NB_COGNITO_PASSWORD for automation.",
            )
        self._leave_hosted_ui()
        client = self._client("userpool")
        with self._lock:
            self._pending = None
        outcome = client.start_sign_in(username, password)
        del password
        self._typed_username = username
        return self._advance(client, outcome)

    _typed_username: str | None = None

    # -- hosted UI sign-in (nb_cognito.auth.oauth) -----------------------------------------

    _hosted_ui: Any = None  # the HostedUIClient of a hosted-UI sign-in, else None

    def sign_in_with_redirect(self, provider: str | None = None, **options: Any) -> None:
        """Sign in through the hosted UI (authorization code + PKCE), as Amplify's ``signInWithRedirect``.

        ``provider`` goes straight to that identity provider (default: the ``identity_provider``
        setting when it names one). ``method`` is ``"auto"``, ``"loopback"`` or ``"paste"``; see
        :func:`nb_cognito.auth.oauth.sign_in_with_redirect` for the other options.
        """
        from nb_cognito.auth.oauth import sign_in_with_redirect

        sign_in_with_redirect(self, provider, **options)

    def _complete_redirect_sign_in(self, tokens: Any, hosted_ui: Any) -> None:
        """Internal: finish a hosted-UI sign-in; refresh and revocation then use ``hosted_ui``."""
        with self._lock:
            self._pending = None
            self._hosted_ui = hosted_ui
            self._clients.pop("userpool", None)
        self._typed_username = None
        self._complete_sign_in(tokens)

    def _leave_hosted_ui(self) -> None:
        with self._lock:
            if self._hosted_ui is not None:
                self._hosted_ui = None
                self._clients.pop("userpool", None)

    def confirm_sign_in(self, challenge_response: str) -> SignInResult:
        """Answer the current step: a code, a new password, or ``"TOTP"``/``"SMS"`` for MFA selection."""
        pending = self._pending
        if pending is None:
            raise AuthError(
                "No sign-in is waiting for an answer.", recovery_suggestion="Call sign_in() first."
            )
        if not isinstance(challenge_response, str):
            raise InvalidParameterError("The answer must be text.")
        from nb_cognito.auth.challenges import respond

        try:
            outcome = respond(pending, challenge_response)
        except NotAuthorizedError:
            with self._lock:  # Cognito ended this sign-in attempt (session expired, too many tries)
                self._pending = None
            raise
        # Any other error (a wrong code, a refused new password, a network failure) leaves the
        # same step open, to be answered again.
        return self._advance(pending.client, outcome)

    def _advance(self, client: Any, outcome: Any) -> SignInResult:
        from nb_cognito.auth.challenges import next_step
        from nb_cognito.auth.userpool import AuthTokens

        if isinstance(outcome, AuthTokens):
            with self._lock:
                self._pending = None
            self._complete_sign_in(outcome)
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        step, pending = next_step(client, outcome)
        with self._lock:
            self._pending = pending
        return SignInResult(False, step)

    def _new_state(self, tokens: Any, *, previous: _SignedIn | None) -> _SignedIn:
        """Verify freshly issued tokens and build the state they define."""
        verifier = self._client("verifier")
        id_claims = verifier.verify(tokens.id_token, token_use="id")
        access_claims = verifier.verify(tokens.access_token, token_use="access")
        state = signed_in_state(
            tokens, id_claims, access_claims, previous=previous, policy=self.policy, now=self.clock.time()
        )
        secrets.add(state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token)
        return state

    def _complete_sign_in(self, tokens: Any) -> None:
        state = self._new_state(tokens, previous=None)
        for persist in list(self._persisters):
            persist("sign_in", state)
        with self._lock:
            self._state = state
            self._guest = None
            self._retry_not_before = -math.inf
            self.last_error = None
            self._invalidate()
        self._emit(AuthEvent.SIGNED_IN, state.user)
        if self._client("identity").enabled:
            try:  # credentials now, so that a bad identity-pool setting shows at once
                self._refresh(force_tokens=False, force_credentials=True, blocking=True)
            except AuthError as error:
                log.warning("Signed in, but AWS credentials are not available yet: %s", error)
        if self._auto_refresh:
            self._refresher.start()

    def _resume(self, refresh_token: str, username: str) -> None:
        """Internal: sign in from a remembered refresh token (one refresh, no password)."""
        client = self._client("userpool")
        try:
            tokens = client.refresh(refresh_token, username, rotation=self._rotation)
        except AuthError as error:  # as in _refresh_tokens: the client rotates refresh tokens
            if self._rotation or "rotation" not in str(error).lower():
                raise
            self._rotation = True
            tokens = client.refresh(refresh_token, username, rotation=True)
        if tokens.refresh_token is None:
            tokens = replace(tokens, refresh_token=refresh_token)
        self._typed_username = username
        self._complete_sign_in(tokens)

    # -- the session -----------------------------------------------------------------------

    def get_current_user(self) -> AuthUser:
        """The signed-in user. Raises :class:`SignedOutError` or :class:`SessionExpiredError`."""
        state = self._state
        if isinstance(state, _SignedIn):
            return state.user
        if isinstance(state, _Expired):
            raise state.error
        raise SignedOutError("Nobody is signed in.")

    def fetch_auth_session(self, force_refresh: bool = False) -> CognitoAuthSession:
        """The session as SUCCESS/FAILURE results, as Amplify's ``fetchAuthSession``.

        While everything is fresh this is a memory read with no network call. In the refresh
        window it refreshes; ``force_refresh=True`` always refreshes tokens and credentials.
        """
        if not force_refresh:
            snapshot = self._snapshot
            if snapshot is not None and self.clock.time() < self._fresh_until:
                return snapshot
        return self._fetch(force_refresh)

    def _fetch(self, force: bool) -> CognitoAuthSession:
        state = self._state
        if state is None:
            return self._signed_out_snapshot()
        if isinstance(state, _Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        error: AuthError | None = None
        try:
            self._ensure_fresh(force)
        except AuthError as failure:
            error = failure
        state = self._state
        if isinstance(state, _Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        if state is None:
            return self._signed_out_snapshot()
        return self._build_snapshot(state, error)

    def _ensure_fresh(self, force: bool) -> None:
        state = self._state
        if not isinstance(state, _SignedIn):
            return
        now = self.clock.time()
        if force:
            self._refresh(force_tokens=True, force_credentials=True, blocking=True)
            return
        is_due, mandatory = due(state, self.policy, now, wants_credentials=self._wants_credentials())
        if not is_due:
            return
        if mandatory:
            self._refresh(force_tokens=False, force_credentials=False, blocking=True)
        elif now >= self._retry_not_before:
            try:
                self._refresh(force_tokens=False, force_credentials=False, blocking=False)
            except AuthError as error:
                if isinstance(self._state, _Expired):
                    raise
                log.warning(
                    "Refresh failed in the advisory window; the current values stay in use: %s", error
                )

    def _wants_credentials(self) -> bool:
        try:
            return self._client("identity").enabled
        except ConfigurationError:
            return False

    def _refresh(
        self, *, force_tokens: bool, force_credentials: bool, blocking: bool, early: float = 0.0
    ) -> None:
        """Single-flight refresh. Non-blocking callers return at once if one is in flight.

        ``early``: also refresh what falls due within that many seconds (the background
        refresher wakes up its jitter ahead of the advisory window, and must then refresh).
        """
        with self._lock:
            flight, owner = self._flight, False
            if flight is None:
                flight, owner = _Flight(), True
                self._flight = flight
        if not owner:
            if blocking:
                flight.done.wait()
                if flight.error is not None:
                    raise flight.error
            return
        try:
            self._do_refresh(force_tokens, force_credentials, early)
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

    def _do_refresh(self, force_tokens: bool, force_credentials: bool, early: float = 0.0) -> None:
        state = self._state
        if isinstance(state, _Expired):
            raise state.error
        if state is None:
            raise SignedOutError("Nobody is signed in.")
        refresh_tokens, refresh_credentials = refresh_plan(
            state,
            self.policy,
            self.clock.time(),
            wants_credentials=self._wants_credentials(),
            force_tokens=force_tokens,
            force_credentials=force_credentials,
            early=early,
        )
        if refresh_tokens:
            state = self._refresh_tokens(state)
        if refresh_credentials:
            state = self._refresh_credentials(state)
        with self._lock:
            self._retry_not_before = -math.inf
        if self._auto_refresh:
            self._refresher.poke()

    def _refresh_tokens(self, state: _SignedIn) -> _SignedIn:
        client = self._client("userpool")
        try:
            try:
                tokens = client.refresh(
                    state.tokens.refresh_token, state.user.username, rotation=self._rotation
                )
            except AuthError as error:
                if self._rotation or "rotation" not in str(error).lower():
                    raise
                self._rotation = True  # the client rotates refresh tokens: use GetTokensFromRefreshToken
                tokens = client.refresh(state.tokens.refresh_token, state.user.username, rotation=True)
            new_state = self._new_state(tokens, previous=state)
        except AuthError as error:
            self._refresh_failed(state, error)
            raise AssertionError("unreachable") from error  # pragma: no cover
        for persist in list(self._persisters):  # a rotated refresh token is stored before use
            persist("refresh", new_state)
        with self._lock:
            if self._state is not state:  # signed out (or replaced) while we were refreshing
                raise SignedOutError("The session ended during the refresh.")
            self._state = new_state
            self.refresh_count += 1
            self.last_error = None
            self._invalidate()
        self._emit(AuthEvent.TOKEN_REFRESH, new_state.user)
        return new_state

    def _refresh_credentials(self, state: _SignedIn) -> _SignedIn:
        identity = self._client("identity")
        settings = self.settings
        try:
            if settings.identity_pool_id:
                identity_id = state.identity_id or identity.identity_id(
                    state.user.user_id, state.tokens.id_token
                )
                creds = identity.credentials(identity_id, state.tokens.id_token)
            else:
                identity_id = None
                creds = identity.assume_role(state.tokens.id_token, f"nb-cognito-{state.user.username}")
            server_now = self.clock.time() + state.skew
            lifetime = creds.expiration.timestamp() - server_now
            if lifetime <= self.policy.min_lead:  # botocore: "refreshed credentials are still expired"
                raise AuthError(
                    "AWS returned credentials that have already expired; the previous ones are kept."
                )
        except AuthError as error:
            with self._lock:
                if self._state is state:
                    self._state = replace(state, credentials_error=error)
                    self._invalidate()
            self.last_error = error
            self._emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
            raise
        new_state = replace(
            state,
            identity_id=identity_id,
            credentials=creds,
            credentials_lifetime=lifetime,
            credentials_error=None,
            last_refresh=self.clock.time(),
        )
        with self._lock:
            if self._state is not state:
                raise SignedOutError("The session ended during the refresh.")
            self._state = new_state
            self.last_error = None  # no sticky error once the credentials came back
            self._invalidate()
        self._emit(AuthEvent.CREDENTIALS_REFRESH, new_state.user)
        return new_state

    def _refresh_failed(self, state: _SignedIn, error: AuthError) -> None:
        """Record a failed token refresh; end the session if the error is definitive. Raises."""
        self.last_error = error
        expired = ended_by(error)
        if expired is not None:
            with self._lock:
                ended = self._state is state
                if ended:
                    self._state = _Expired(state.user, expired)
                    self._invalidate()
            if ended:
                self._refresher.stop(timeout=0)
                self._emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
                self._emit(AuthEvent.SESSION_EXPIRED, state.user, expired)
                raise expired from None
            current = self._state
            raise current.error if isinstance(current, _Expired) else expired
        with self._lock:
            self._retry_not_before = self.clock.time() + min(30.0, self.policy.lead(state.token_lifetime) / 4)
        self._emit(AuthEvent.TOKEN_REFRESH_FAILURE, state.user, error)
        raise error

    # -- background refresh ------------------------------------------------------------------

    def _next_background_refresh(self) -> float | None:
        state = self._state
        if not isinstance(state, _SignedIn):
            return None
        return next_background_refresh(state, self.policy, wants_credentials=self._wants_credentials())

    def _refresh_in_background(self) -> None:
        state = self._state
        if not isinstance(state, _SignedIn):
            return
        try:  # refresh what _next_background_refresh planned for: due within lead + jitter
            self._refresh(
                force_tokens=False, force_credentials=False, blocking=True, early=state.jitter + 1e-3
            )
        except AuthError:
            if isinstance(self._state, _Expired):
                raise SessionExpiredError("The session has ended.") from None
            raise

    # -- snapshots ---------------------------------------------------------------------------

    def _invalidate(self) -> None:
        self._snapshot = None
        self._fresh_until = -math.inf

    def _build_snapshot(self, state: _SignedIn, error: AuthError | None) -> CognitoAuthSession:
        now = self.clock.time()
        wants_credentials = self._wants_credentials()
        snapshot = signed_in_snapshot(
            state,
            now,
            error=error,
            last_error=self.last_error,
            wants_credentials=wants_credentials,
            identity_pool=wants_credentials and bool(self.settings.identity_pool_id),
        )
        if error is None:
            until = fresh_until(
                state,
                self.policy,
                now,
                wants_credentials=wants_credentials,
                retry_not_before=self._retry_not_before,
            )
            if until is not None:
                with self._lock:
                    if self._state is state:
                        self._snapshot, self._fresh_until = snapshot, until
        return snapshot

    def _signed_out_snapshot(self) -> CognitoAuthSession:
        try:
            settings = self.settings
        except ConfigurationError:
            return signed_out_snapshot()
        if not (settings.allow_guest and settings.identity_pool_id):
            return signed_out_snapshot()
        try:
            return signed_out_snapshot(self._guest_credentials())
        except AuthError as error:
            return signed_out_snapshot(error)

    def _guest_credentials(self) -> tuple[str, AWSCredentials]:
        """Unauthenticated identity-pool credentials, when ``allow_guest`` is set."""
        with self._lock:
            guest = self._guest
            lead = self.policy.lead(3600)
            if guest is not None and guest[1].expiration.timestamp() - self.clock.time() > lead:
                return guest
            identity = self._client("identity")
            identity_id = guest[0] if guest else identity.identity_id(None, None)
            creds = identity.credentials(identity_id, None)
            self._guest = (identity_id, creds)
            return self._guest

    # -- credentials for the integrations (boto3, subprocesses) --------------------------------

    def current_credentials(self) -> AWSCredentials:
        """Unexpired AWS credentials, refreshed if due; raises a typed :class:`AuthError` otherwise.

        This is how nb_cognito's own integrations (the boto3 provider, the subprocess endpoint)
        get what they hand out; it changes nothing a caller could observe.
        """
        result = self.fetch_auth_session().aws_credentials_result
        if result.value is not None:
            return result.value
        assert result.error is not None
        raise result.error

    def boto3_session(self, region_name: str | None = None) -> Any:
        """A new, independent ``boto3.Session`` with this session's refreshing credentials."""
        from nb_cognito.integrations.boto3_injection import new_boto3_session

        return new_boto3_session(self, region_name=region_name)

    # -- sign-out -------------------------------------------------------------------------------

    def sign_out(self, global_sign_out: bool = False) -> SignOutResult:
        """Sign out. Locally this always succeeds; ``global_sign_out`` also revokes every token.

        The global sign-out and the refresh-token revocation are best effort: their errors are
        reported in the result (and logged), never raised.
        """
        with self._lock:
            state, self._state = self._state, None
            self._pending = None
            self._guest = None
            self._invalidate()
        self._refresher.stop()
        result = SignOutResult()
        if isinstance(state, _SignedIn):
            client = self._client("userpool")
            if global_sign_out:
                try:
                    client.global_sign_out(state.tokens.access_token)
                except AuthError as error:
                    log.warning("Global sign-out failed; signed out locally only: %s", error)
                    result = replace(result, global_sign_out_error=error)
            try:
                client.revoke_token(state.tokens.refresh_token)
            except AuthError as error:
                log.debug("Revoking the refresh token failed (best effort): %s", error)
                result = replace(result, revoke_token_error=error)
            secrets.discard(state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token)
        self._leave_hosted_ui()
        if state is not None:
            self._emit(AuthEvent.SIGNED_OUT, state.user)
        return result

    # -- status -----------------------------------------------------------------------------------

    def status(self) -> SessionStatus:
        """What ``%cognito_session`` and the widget show: who, until when, and the refresh state."""
        state = self._state
        return session_status(
            state,
            next_attempt=self._refresher.next_attempt if isinstance(state, _SignedIn) else None,
            error=self.last_error or self._refresher.last_error,
            auto_refresh=self._refresher.running,
        )

    def __repr__(self) -> str:
        state = self._state
        if isinstance(state, _SignedIn):
            return f"<CognitoSession signed in as {state.user.username!r}>"
        if isinstance(state, _Expired):
            return f"<CognitoSession expired for {state.user.username!r}>"
        return "<CognitoSession signed out>"

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()

    def _after_fork_in_child(self) -> None:
        self._lock = threading.RLock()
        self._flight = None

    def close(self) -> None:
        """Stop the background thread (the state is kept)."""
        self._refresher.stop()


_live_sessions: weakref.WeakSet[CognitoSession] = weakref.WeakSet()


def _reset_sessions_after_fork() -> None:
    for session in list(_live_sessions):
        session._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_sessions_after_fork)
