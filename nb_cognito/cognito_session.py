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

A background thread (:mod:`nb_cognito.refresher`) refreshes ahead of the advisory window,
so a long-running cell never meets an expired token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import random
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .clock import SYSTEM_CLOCK, Clock
from .config import CognitoConfig, Settings
from .exceptions import (
    AuthError,
    ConfigurationError,
    InvalidParameterError,
    NotAuthorizedError,
    PasswordResetRequiredError,
    SessionExpiredError,
    SignedOutError,
    UserNotConfirmedError,
)
from .log_redaction import secrets
from .models import (
    AuthEvent,
    AuthEventPayload,
    AuthSessionResult,
    AuthUser,
    AWSCredentials,
    CognitoAuthSession,
    SessionStatus,
    SignInNextStep,
    SignInResult,
    SignInStep,
    SignOutResult,
    UserPoolTokens,
)
from .refresher import BackgroundRefresher

__all__ = ["CognitoSession", "RefreshPolicy"]

log = logging.getLogger("nb_cognito")

# Errors after which the refresh token can never work again (amplify-js PR #14568).
_DEFINITIVE = (
    NotAuthorizedError,
    SessionExpiredError,
    PasswordResetRequiredError,
    UserNotConfirmedError,
)


@dataclass(frozen=True)
class RefreshPolicy:
    """When to refresh something that lives ``lifetime`` seconds.

    The advisory lead is 10 % of the lifetime, capped at ``max_lead`` (5 min for 1-hour
    tokens, 30 s for 5-minute ones), so short lifetimes never cause refresh storms and 1-hour
    tokens are refreshed about once an hour. The mandatory lead is 40 % of that.
    The background refresher starts up to ``jitter`` of the lead earlier.
    """

    fraction: float = 0.10
    max_lead: float = 300.0
    min_lead: float = 1.0
    mandatory_fraction: float = 0.4
    jitter: float = 0.2

    def lead(self, lifetime: float) -> float:
        return max(self.min_lead, min(self.max_lead, lifetime * self.fraction))

    def mandatory_lead(self, lifetime: float) -> float:
        return self.lead(lifetime) * self.mandatory_fraction


@dataclass(frozen=True)
class _SignedIn:
    user: AuthUser
    tokens: UserPoolTokens
    token_lifetime: float
    skew: float  # server time minus local time, estimated from the ID token's iat
    jitter: float  # seconds the background refresh starts early, chosen per token generation
    identity_id: str | None = None
    credentials: AWSCredentials | None = None
    credentials_lifetime: float = 0.0
    credentials_error: AuthError | None = None
    last_refresh: float | None = None


@dataclass(frozen=True)
class _Expired:
    user: AuthUser
    error: SessionExpiredError


@dataclass
class _PendingSignIn:
    client: Any
    challenge: Any = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    totp_session: str | None = field(default=None, repr=False)


class _Flight:
    """One refresh in progress; waiters block on ``done`` and share its ``error``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: AuthError | None = None


def _at(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


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
        self._pending: _PendingSignIn | None = None
        self._flight: _Flight | None = None
        self._snapshot: CognitoAuthSession | None = None
        self._fresh_until = -math.inf
        self._retry_not_before = -math.inf
        self._settings: Settings | None = None
        self._clients: dict[str, Any] = {}
        self._listeners: dict[AuthEvent, list[Callable[[AuthEventPayload], None]]] = {}
        self._persisters: list[Callable[[str, _SignedIn], None]] = []
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
                from .userpool import UserPoolClient

                client = UserPoolClient(settings, clock=self.clock)
            elif kind == "identity":
                from .identity import IdentityClient

                client = IdentityClient(settings, clock=self.clock)
            else:
                from .tokens import TokenVerifier

                settings.require_sign_in_settings()
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
        client = self._client("userpool")
        with self._lock:
            self._pending = None
        outcome = client.start_sign_in(username, password)
        del password
        self._typed_username = username
        return self._advance(client, outcome)

    _typed_username: str | None = None

    def confirm_sign_in(self, challenge_response: str) -> SignInResult:
        """Answer the current step: a code, a new password, or ``"TOTP"``/``"SMS"`` for MFA selection."""
        pending = self._pending
        if pending is None:
            raise AuthError(
                "No sign-in is waiting for an answer.", recovery_suggestion="Call sign_in() first."
            )
        if not isinstance(challenge_response, str):
            raise InvalidParameterError("The answer must be text.")
        client, challenge = pending.client, pending.challenge
        answer = (
            challenge_response.strip() if challenge.name != "NEW_PASSWORD_REQUIRED" else challenge_response
        )
        try:
            if challenge.name == "MFA_SETUP":
                session = client.verify_software_token(pending.totp_session, answer)
                outcome = client.respond(replace(challenge, session=session), {})
            elif challenge.name == "NEW_PASSWORD_REQUIRED":
                outcome = client.respond(challenge, {"NEW_PASSWORD": answer})
            elif challenge.name == "SOFTWARE_TOKEN_MFA":
                outcome = client.respond(challenge, {"SOFTWARE_TOKEN_MFA_CODE": answer})
            elif challenge.name == "SMS_MFA":
                outcome = client.respond(challenge, {"SMS_MFA_CODE": answer})
            elif challenge.name == "SELECT_MFA_TYPE":
                choice = {"TOTP": "SOFTWARE_TOKEN_MFA", "SMS": "SMS_MFA"}.get(answer.upper(), answer)
                if choice not in ("SOFTWARE_TOKEN_MFA", "SMS_MFA"):
                    raise InvalidParameterError("Answer 'TOTP' or 'SMS' to choose an MFA method.")
                outcome = client.respond(challenge, {"ANSWER": choice})
            else:  # pragma: no cover - _advance refuses unknown challenges
                raise AuthError(f"Unsupported challenge {challenge.name}.")
        except NotAuthorizedError:
            with self._lock:  # Cognito ended this sign-in attempt (session expired, too many tries)
                self._pending = None
            raise
        # Any other error (a wrong code, a refused new password, a network failure) leaves the
        # same step open, to be answered again.
        return self._advance(client, outcome)

    def _advance(self, client: Any, outcome: Any) -> SignInResult:
        from .userpool import AuthTokens

        if isinstance(outcome, AuthTokens):
            with self._lock:
                self._pending = None
            self._complete_sign_in(outcome)
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        challenge = outcome
        params = challenge.parameters
        pending = _PendingSignIn(client, challenge)
        if challenge.name == "NEW_PASSWORD_REQUIRED":
            required = _json_list(params.get("requiredAttributes"))
            step = SignInNextStep(
                SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD,
                missing_attributes=tuple(a.removeprefix("userAttributes.") for a in required),
            )
        elif challenge.name == "SOFTWARE_TOKEN_MFA":
            step = SignInNextStep(SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE)
        elif challenge.name == "SMS_MFA":
            step = SignInNextStep(
                SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE,
                code_destination=params.get("CODE_DELIVERY_DESTINATION"),
            )
        elif challenge.name == "SELECT_MFA_TYPE":
            names = {"SOFTWARE_TOKEN_MFA": "TOTP", "SMS_MFA": "SMS"}
            allowed = tuple(names.get(m, m) for m in _json_list(params.get("MFAS_CAN_CHOOSE")))
            step = SignInNextStep(
                SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION, allowed_mfa_types=allowed or ("TOTP", "SMS")
            )
        elif challenge.name == "MFA_SETUP":
            secret, session = client.associate_software_token(challenge)
            pending.totp_secret, pending.totp_session = secret, session
            step = SignInNextStep(
                SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP,
                totp_setup_uri=client.totp_uri(secret, challenge.username),
                totp_shared_secret=secret,
            )
        else:
            raise AuthError(
                f"Cognito asked for the {challenge.name} challenge, which nb_cognito does not support.",
                recovery_suggestion="Use a different app client or sign-in flow.",
            )
        with self._lock:
            self._pending = pending
        return SignInResult(False, step)

    def _new_state(self, tokens: Any, *, previous: _SignedIn | None) -> _SignedIn:
        """Verify freshly issued tokens and build the state they define."""
        verifier = self._client("verifier")
        id_claims = verifier.verify(tokens.id_token, token_use="id")
        access_claims = verifier.verify(tokens.access_token, token_use="access")
        if id_claims.get("sub") != access_claims.get("sub"):
            from .exceptions import TokenValidationError

            raise TokenValidationError("The ID and access tokens belong to different users.")
        refresh_token = tokens.refresh_token or (previous.tokens.refresh_token if previous else None)
        if not refresh_token:
            raise NotAuthorizedError("Cognito signed in without a refresh token.")
        issued, expires = float(id_claims["iat"]), float(min(id_claims["exp"], access_claims["exp"]))
        lifetime = expires - issued
        user = AuthUser(
            username=str(id_claims.get("cognito:username") or access_claims.get("username")),
            user_id=str(id_claims["sub"]),
        )
        if previous is not None and previous.user.user_id != user.user_id:
            from .exceptions import TokenValidationError

            raise TokenValidationError("The refreshed tokens belong to another user.")
        secrets.add(tokens.id_token, tokens.access_token, refresh_token)
        return _SignedIn(
            user=user,
            tokens=UserPoolTokens(tokens.id_token, tokens.access_token, refresh_token, _at(expires)),
            token_lifetime=lifetime,
            skew=issued - self.clock.time(),
            jitter=random.uniform(0, self.policy.jitter * self.policy.lead(lifetime)),
            identity_id=previous.identity_id if previous else None,
            credentials=previous.credentials if previous else None,
            credentials_lifetime=previous.credentials_lifetime if previous else 0.0,
            last_refresh=self.clock.time(),
        )

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
            return self._failed_snapshot(state.error, signed_in=True, user=state.user)
        error: AuthError | None = None
        try:
            self._ensure_fresh(force)
        except AuthError as failure:
            error = failure
        state = self._state
        if isinstance(state, _Expired):
            return self._failed_snapshot(state.error, signed_in=True, user=state.user)
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
        due, mandatory = self._due(state, now)
        if not due:
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

    def _due(self, state: _SignedIn, now: float) -> tuple[bool, bool]:
        """(refresh due, mandatory) at local time ``now``."""
        server_now = now + state.skew
        token_left = state.tokens.expiration.timestamp() - server_now
        due = token_left < self.policy.lead(state.token_lifetime)
        mandatory = token_left < self.policy.mandatory_lead(state.token_lifetime)
        if self._wants_credentials():
            creds = state.credentials
            if creds is None:
                return True, True
            creds_left = creds.expiration.timestamp() - server_now
            due = due or creds_left < self.policy.lead(state.credentials_lifetime)
            mandatory = mandatory or creds_left < self.policy.mandatory_lead(state.credentials_lifetime)
        return due, mandatory

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
        now = self.clock.time()
        server_now = now + state.skew
        wants_credentials = self._wants_credentials()
        token_left = state.tokens.expiration.timestamp() - server_now
        token_lead = self.policy.lead(state.token_lifetime) + early
        creds = state.credentials
        creds_left = creds.expiration.timestamp() - server_now if creds else -math.inf
        creds_lead = self.policy.lead(state.credentials_lifetime or state.token_lifetime) + early
        refresh_credentials = wants_credentials and (
            force_credentials or force_tokens or creds_left < creds_lead
        )
        # Tokens are refreshed when due, and before credentials whenever the ID token has less
        # than a lead left: an expired ID token is never sent to the identity pool.
        refresh_tokens = force_tokens or token_left < token_lead
        if refresh_tokens and wants_credentials and creds_left < 2 * creds_lead:
            refresh_credentials = True  # keep both on one schedule: one wake-up per lifetime
        if refresh_credentials and token_left < token_lead:
            refresh_tokens = True

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
        if isinstance(error, _DEFINITIVE):
            expired = SessionExpiredError(
                f"Your Cognito session has ended and cannot be refreshed ({_reason(error)})."
            )
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
        token_due = state.tokens.expiration.timestamp() - state.skew - self.policy.lead(state.token_lifetime)
        due = token_due
        if state.credentials is not None and self._wants_credentials():
            creds_due = (
                state.credentials.expiration.timestamp()
                - state.skew
                - self.policy.lead(state.credentials_lifetime)
            )
            due = min(due, creds_due)
        return due - state.jitter

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
        server_now = now + state.skew
        tokens_ok = state.tokens.expiration.timestamp() > server_now
        creds = state.credentials
        creds_ok = creds is not None and creds.expiration.timestamp() > server_now
        wants_credentials = self._wants_credentials()
        no_pool = ConfigurationError(
            "No identity pool is configured, so there is no identity id.",
            recovery_suggestion="Set identity_pool_id (configure(), %cognito_login --identity-pool-id, "
            "or NB_COGNITO_IDENTITY_POOL_ID).",
        )
        pending_error = error or state.credentials_error or self.last_error or AuthError("Not available yet.")
        if state.identity_id:
            identity = AuthSessionResult.success(state.identity_id)
        elif wants_credentials and self.settings.identity_pool_id:
            identity = AuthSessionResult.failure(pending_error)
        else:
            identity = AuthSessionResult.failure(no_pool)
        if not wants_credentials:
            credentials = AuthSessionResult.failure(
                ConfigurationError(
                    "No identity pool or role ARN is configured, so there are no AWS credentials.",
                    recovery_suggestion=no_pool.recovery_suggestion,
                )
            )
        elif creds_ok:
            credentials = AuthSessionResult.success(creds)
        else:
            credentials = AuthSessionResult.failure(pending_error)
        snapshot = CognitoAuthSession(
            is_signed_in=True,
            user_sub_result=AuthSessionResult.success(state.user.user_id),
            identity_id_result=identity,
            aws_credentials_result=credentials,
            user_pool_tokens_result=(
                AuthSessionResult.success(state.tokens)
                if tokens_ok
                else AuthSessionResult.failure(pending_error)
            ),
        )
        if error is None and tokens_ok and (creds_ok or not wants_credentials) and self._state is state:
            fresh_until = (
                state.tokens.expiration.timestamp() - state.skew - self.policy.lead(state.token_lifetime)
            )
            if wants_credentials and creds is not None:
                fresh_until = min(
                    fresh_until,
                    creds.expiration.timestamp() - state.skew - self.policy.lead(state.credentials_lifetime),
                )
            # After a failed advisory refresh, answer from memory until the retry time, but
            # never past the start of the mandatory window.
            mandatory_at = (
                state.tokens.expiration.timestamp()
                - state.skew
                - self.policy.mandatory_lead(state.token_lifetime)
            )
            fresh_until = max(fresh_until, min(self._retry_not_before, mandatory_at))
            with self._lock:
                if self._state is state:
                    self._snapshot, self._fresh_until = snapshot, fresh_until
        return snapshot

    def _failed_snapshot(
        self, error: AuthError, *, signed_in: bool, user: AuthUser | None = None
    ) -> CognitoAuthSession:
        failure: AuthSessionResult[Any] = AuthSessionResult.failure(error)
        return CognitoAuthSession(
            is_signed_in=signed_in,
            user_sub_result=AuthSessionResult.success(user.user_id) if user and not signed_in else failure,
            identity_id_result=failure,
            aws_credentials_result=failure,
            user_pool_tokens_result=failure,
        )

    def _signed_out_snapshot(self) -> CognitoAuthSession:
        signed_out = SignedOutError("Nobody is signed in.")
        snapshot = self._failed_snapshot(signed_out, signed_in=False)
        try:
            settings = self.settings
        except ConfigurationError:
            return snapshot
        if not (settings.allow_guest and settings.identity_pool_id):
            return snapshot
        try:
            identity_id, creds = self._guest_credentials()
        except AuthError as error:
            return replace(
                snapshot,
                identity_id_result=AuthSessionResult.failure(error),
                aws_credentials_result=AuthSessionResult.failure(error),
            )
        return replace(
            snapshot,
            identity_id_result=AuthSessionResult.success(identity_id),
            aws_credentials_result=AuthSessionResult.success(creds),
        )

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
        from .botocore_provider import new_boto3_session

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
        if state is not None:
            self._emit(AuthEvent.SIGNED_OUT, state.user)
        return result

    # -- status -----------------------------------------------------------------------------------

    def status(self) -> SessionStatus:
        """What ``%cognito_session`` and the widget show: who, until when, and the refresh state."""
        state = self._state
        next_attempt = self._refresher.next_attempt if isinstance(state, _SignedIn) else None
        error = self.last_error or self._refresher.last_error
        if isinstance(state, _SignedIn):
            creds = state.credentials
            return SessionStatus(
                signed_in=True,
                expired=False,
                user=state.user,
                identity_id=state.identity_id,
                tokens_expiration=state.tokens.expiration,
                credentials_expiration=creds.expiration if creds else None,
                access_key_hint=creds.access_key_hint if creds else None,
                last_refresh=_at(state.last_refresh) if state.last_refresh else None,
                next_refresh=_at(next_attempt) if next_attempt is not None else None,
                last_error=str(error) if error else None,
                auto_refresh=self._refresher.running,
            )
        return SessionStatus(
            signed_in=False,
            expired=isinstance(state, _Expired),
            user=state.user if isinstance(state, _Expired) else None,
            last_error=str(state.error) if isinstance(state, _Expired) else None,
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


def _json_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _reason(error: AuthError) -> str:
    """The first sentence of the error's own message (without its recovery suggestion)."""
    text = str(error.args[0]) if error.args else ""
    text = text.removeprefix("Your Cognito session has ended: ")
    return text.split(". ")[0].rstrip(".") if text else type(error).__name__
