"""`CognitoSession`: sign in once; it keeps tokens and AWS credentials fresh and hands them out.

The state is an immutable value swapped under a lock, so readers never see half an update.
How and when it is refreshed is the refresh engine's job (:mod:`nb_cognito.auth.refresh`,
the windows in :class:`~nb_cognito.auth.state.RefreshPolicy`); a background thread
(:mod:`nb_cognito.auth.background`) refreshes ahead of time, so a long-running cell never
meets an expired token.

Where the credentials go is not the session's business: integrations are objects it owns
(:mod:`nb_cognito.auth.integration`), told of every change. The states and the rules on them
are in :mod:`nb_cognito.auth.state`; the sign-in challenges in :mod:`nb_cognito.auth.challenges`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from nb_cognito import forksafe
from nb_cognito.auth.background import BackgroundRefresher
from nb_cognito.auth.clients import SessionClients
from nb_cognito.auth.device_tracking import DeviceTracking
from nb_cognito.auth.integration import Integration, SavedSignIn, SessionChange
from nb_cognito.auth.refresh import RefreshEngine
from nb_cognito.auth.state import (
    Expired,
    RefreshPolicy,
    SignedIn,
    failed_snapshot,
    fresh_until,
    session_status,
    signed_in_snapshot,
    signed_in_state,
    signed_out_snapshot,
)
from nb_cognito.clock import SYSTEM_CLOCK, Clock, SteadyClock
from nb_cognito.config import CognitoConfig, Settings
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    InvalidParameterError,
    NotAuthorizedError,
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
from nb_cognito.redaction import known_secrets
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.auth.challenges import PendingSignIn
    from nb_cognito.auth.devices import TrackedDevice
    from nb_cognito.auth.userpool import AuthTokens, Challenge

__all__ = ["CognitoSession", "RefreshPolicy"]

log = logging.getLogger("nb_cognito")

_I = TypeVar("_I", bound=Integration)


class CognitoSession(RefreshEngine, DeviceTracking):
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
        self._time = SteadyClock(clock)  # expiry decisions: immune to steps of the wall clock
        self.policy = policy or RefreshPolicy()
        self.last_error: AuthError | None = None
        self.refresh_count = 0
        self._lock = forksafe.RLock()
        self._state: SignedIn | Expired | None = None
        self._pending: PendingSignIn | None = None
        self._flight = None
        self._snapshot: CognitoAuthSession | None = None
        self._fresh_until = -math.inf
        self._retry_not_before = -math.inf
        self._settings: Settings | None = None
        self._clients: SessionClients | None = None
        self._listeners: dict[AuthEvent, list[Callable[[AuthEventPayload], None]]] = {}
        self._integrations: list[Integration] = []
        self._guest: tuple[str, AWSCredentials] | None = None
        self._guest_lock = forksafe.Lock()
        self._devices = {}
        self._inherited: str | None = None  # the refresh token a forked child got from its parent
        self._refresher = BackgroundRefresher(
            clock=self._time, next_due=self._next_background_refresh, refresh_due=self._refresh_in_background
        )
        self._auto_refresh = auto_refresh
        forksafe.register(self)

    # -- configuration ---------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The resolved settings (raises :class:`ConfigurationError` when they are bad)."""
        settings = self._settings
        if settings is None:
            settings = self._settings = self.config.resolve()
        return settings

    @property
    def clients(self) -> SessionClients:
        """The user-pool client, identity client and token verifier for the current settings."""
        clients = self._clients
        if clients is None or clients.settings is not self.settings:
            clients = self._clients = SessionClients(
                self.settings, clock=self.clock, hosted_ui=self._hosted_ui
            )
        return clients

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
        self._use_settings(None)
        state = self._state
        if isinstance(state, SignedIn):  # e.g. subprocess_credentials turned on after sign-in: apply now
            self._notify("settings_changed", self._change(state, saved=True))

    def _use_settings(self, settings: Settings | None) -> None:
        with self._lock:
            self._settings = settings
            self._clients = None
            self._invalidate()

    def _reread_settings(self) -> None:
        """Resolve the settings again; drop the clients if they changed."""
        fresh = self.config.resolve()
        if fresh != self._settings:
            self._use_settings(fresh)

    def _settings_key(self, settings: Settings | None = None) -> tuple | None:
        try:
            s = settings or self.settings
        except ConfigurationError:
            return None
        return s.sign_in_key()

    # -- integrations and events -----------------------------------------------------------

    def add_integration(self, integration: _I) -> _I:
        """Own ``integration``: it is told of every sign-in, refresh, setting change and sign-out."""
        with self._lock:
            if integration in self._integrations:
                return integration
            self._integrations.append(integration)
        integration.attach(self)
        state = self._state
        if isinstance(state, SignedIn):  # added while signed in: catch up
            self._notify_one(integration, "signed_in", self._change(state))
            if state.credentials is not None:
                self._notify_one(integration, "credentials_changed", self._change(state))
        return integration

    @property
    def integrations(self) -> tuple[Integration, ...]:
        return tuple(self._integrations)

    def integration(self, kind: type[_I]) -> _I | None:
        """The first integration of type ``kind`` this session owns, if any."""
        return next((i for i in self._integrations if isinstance(i, kind)), None)

    def _notify(self, hook: str, change: SessionChange | SavedSignIn) -> None:
        for integration in list(self._integrations):
            self._notify_one(integration, hook, change)

    @staticmethod
    def _notify_one(integration: Integration, hook: str, change: SessionChange | SavedSignIn) -> None:
        try:
            getattr(integration, hook)(change)
        except Exception:  # an integration never breaks the session
            log.exception("The nb_cognito integration %r failed in %s; ignored.", integration.name, hook)

    def _change(self, state: SignedIn | Expired | None, *, saved: bool = False) -> SessionChange:
        try:
            settings: Settings | None = self.settings
        except ConfigurationError:
            settings = None
        if isinstance(state, SignedIn):
            return SessionChange(
                user=state.user,
                settings=settings,
                credentials=state.credentials,
                identity_id=state.identity_id,
                saved=self._saved("settings", state) if saved and settings is not None else None,
            )
        return SessionChange(user=state.user if state is not None else None, settings=settings)

    def _saved(self, reason: str, state: SignedIn) -> SavedSignIn:
        return SavedSignIn(
            reason=reason,
            user=state.user,
            settings=self.settings,
            refresh_token=state.tokens.refresh_token,
            identity_id=state.identity_id,
            login_name=state.login_name,
            device=state.device,
        )

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

    # -- sign-in ---------------------------------------------------------------------------

    @property
    def is_signed_in(self) -> bool:
        return isinstance(self._state, SignedIn)

    def is_signed_in_as(self, username: str) -> bool:
        """True when signed in as ``username``: the Cognito username or the alias typed at sign-in."""
        state = self._state
        return isinstance(state, SignedIn) and username in (state.user.username, state.login_name)

    def sign_in(self, username: str | None = None, password: str | Secret | None = None) -> SignInResult:
        """Sign in; returns the next step (``DONE``, or a challenge to answer with ``confirm_sign_in``).

        ``username`` defaults to ``NB_COGNITO_USERNAME`` and ``password`` to
        ``NB_COGNITO_PASSWORD``. A wrong password or unknown user raises
        :class:`NotAuthorizedError` without saying which. Already signed in as this user:
        returns ``DONE`` with no network call. With no password, an integration that
        remembers sessions (``remember=True``) may resume a remembered one first.
        The password may be a :class:`~nb_cognito.secret.Secret`; a ``str`` is wrapped at once.
        """
        password = Secret.of(password)  # from here on, no frame holds it in plain text
        username = username if username is not None else os.environ.get(Env.NB_COGNITO_USERNAME)
        if username and self.is_signed_in_as(username):
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        if self._state is None:
            self._reread_settings()  # the environment or the Amplify file may have changed
        if password is None:
            for integration in list(self._integrations):
                if integration.resume(self, username or None):
                    return SignInResult(True, SignInNextStep(SignInStep.DONE))
        if not username:
            raise InvalidParameterError(
                "No username given.", recovery_suggestion="Pass a username or set NB_COGNITO_USERNAME."
            )
        if password is None:
            password = Secret.of(os.environ.get(Env.NB_COGNITO_PASSWORD))
        if password is None and self.needs_password:
            raise InvalidParameterError(
                "No password given.",
                recovery_suggestion="Use %cognito_login (it asks with hidden input), the sign-in "
                "widget, or set NB_COGNITO_PASSWORD for automation.",
            )
        self._leave_hosted_ui()
        self.check_pool()  # a wrong pool id says so, not "incorrect username or password"
        client = self.clients.userpool
        device = self._known_device(username)
        with self._lock:
            self._pending = None
        outcome = client.start_sign_in(username, password, device=device)
        del password
        return self._advance(client, outcome, login_name=username, device=device)

    def check_pool(self) -> None:
        """Check, before a password is asked for, that the configured pool exists where the
        settings say: its signing keys (JWKS) answer. They are then cached (in memory and on
        disk), so the check costs nothing more than verifying the first tokens would.

        Raises :class:`ConfigurationError` naming ``user_pool_id``, ``region`` and the endpoint
        with their sources when the service knows no such pool there, and the retryable
        :class:`ServiceUnavailableError` when the keys cannot be fetched now.
        """
        from nb_cognito.auth.pool_check import check_pool

        check_pool(self.settings, self.clients.verifier)

    @property
    def needs_password(self) -> bool:
        """Whether ``sign_in`` needs a password with the current settings.

        Only the ``USER_AUTH`` flow can do without: with no ``preferred_challenge`` (Cognito
        offers a choice) or a one-time code as the preferred first factor.
        """
        try:
            settings = self.settings
        except ConfigurationError:
            return True
        if settings.auth_flow != "USER_AUTH":
            return True
        return settings.preferred_challenge in ("PASSWORD", "PASSWORD_SRP")

    def confirm_sign_in(
        self, challenge_response: str | Secret, user_attributes: dict[str, str] | None = None
    ) -> SignInResult:
        """Answer the current step: a code, a new password, an MFA choice (``"TOTP"``,
        ``"SMS"``, ``"EMAIL"``), a first factor (``"EMAIL_OTP"``, ``"PASSWORD_SRP"``, ...), the
        password after choosing a password factor, or an email address for email MFA setup.

        ``user_attributes`` answers ``next_step.missing_attributes`` with the new password
        (``CONFIRM_SIGN_IN_WITH_NEW_PASSWORD``), e.g. ``{"name": "Ada"}``.
        """
        # As the password: from here on no frame holds it in plain text.
        challenge_response = Secret.of(challenge_response)  # type: ignore[assignment]
        pending = self._pending
        if pending is None:
            raise AuthError(
                "No sign-in is waiting for an answer.", recovery_suggestion="Call sign_in() first."
            )
        if not isinstance(challenge_response, Secret):
            raise InvalidParameterError("The answer must be text.")
        from nb_cognito.auth.challenges import respond

        if user_attributes is not None and not isinstance(user_attributes, dict):
            raise InvalidParameterError("user_attributes must be a dict of attribute names to text.")
        try:
            outcome = respond(pending, challenge_response, user_attributes)
        except NotAuthorizedError:
            with self._lock:  # Cognito ended this sign-in attempt (session expired, too many tries)
                self._pending = None
            raise
        # Any other error (a wrong code, a refused new password, a network failure) leaves the
        # same step open, to be answered again.
        if isinstance(outcome, tuple):  # a choice of the client's own: nothing was sent yet
            step, chosen = outcome
            with self._lock:
                self._pending = chosen
            return SignInResult(False, step)
        return self._advance(pending.client, outcome, login_name=pending.login_name, device=pending.device)

    def _advance(
        self,
        client: Any,
        outcome: AuthTokens | Challenge,
        *,
        login_name: str | None,
        device: TrackedDevice | None = None,
    ) -> SignInResult:
        from nb_cognito.auth.challenges import next_step
        from nb_cognito.auth.devices import prove_device
        from nb_cognito.auth.userpool import AuthTokens

        if not isinstance(outcome, AuthTokens) and outcome.name == "DEVICE_SRP_AUTH":
            outcome = prove_device(client, outcome, device)  # a remembered device: no MFA
        if isinstance(outcome, AuthTokens):
            with self._lock:
                self._pending = None
            self._complete_sign_in(outcome, login_name=login_name, device=device)
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        step, pending = next_step(client, outcome)
        with self._lock:
            self._pending = replace(pending, login_name=login_name, device=device)
        return SignInResult(False, step)

    def _new_state(
        self, tokens: AuthTokens, *, previous: SignedIn | None, login_name: str | None = None
    ) -> SignedIn:
        """Verify freshly issued tokens and build the state they define."""
        verifier = self.clients.verifier
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

    def _complete_sign_in(
        self, tokens: AuthTokens, *, login_name: str | None, device: TrackedDevice | None = None
    ) -> None:
        from nb_cognito.auth.devices import confirm_new_device

        state = self._new_state(tokens, previous=None, login_name=login_name)
        if tokens.new_device is not None:  # the pool tracks devices and this one is new to it
            client = self.clients.userpool
            device = confirm_new_device(client, tokens, remember=self.settings.remember_device)
        if device is not None:
            state = self._opt_in_device(replace(state, device=device))
            self._keep_device(state.device, state.user.username, login_name)
        self._notify("persist", self._saved("sign_in", state))
        self._install(state)

    def _install(self, state: SignedIn) -> None:
        """Make a freshly signed-in ``state`` the session's; then credentials and the refresher."""
        with self._lock:
            self._state = state
            self._guest = None
            self._retry_not_before = -math.inf
            self.last_error = None
            self._invalidate()
        self._notify("signed_in", self._change(state))
        self._emit(AuthEvent.SIGNED_IN, state.user)
        if self._wants_credentials():
            try:  # credentials now, so that a bad identity-pool setting shows at once
                self._refresh(force_tokens=False, force_credentials=True, blocking=True)
            except AuthError as error:
                log.warning("Signed in, but AWS credentials are not available yet: %s", error)
        if self._auto_refresh:
            self._refresher.start()

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

    def _complete_redirect_sign_in(self, tokens: AuthTokens, hosted_ui: Any) -> None:
        """Internal: finish a hosted-UI sign-in; refresh and revocation then use ``hosted_ui``."""
        with self._lock:
            self._pending = None
            self._hosted_ui = hosted_ui
            self._clients = None  # rebuilt with the hosted UI's refresh and revocation
        self._complete_sign_in(tokens, login_name=None)

    def _leave_hosted_ui(self) -> None:
        with self._lock:
            if self._hosted_ui is not None:
                self._hosted_ui = None
                self._clients = None

    def resume_sign_in(self, saved: SavedSignIn) -> None:
        """Sign in from a sign-in an integration remembered: one refresh, no password.

        For integrations (remembered sessions). Raises the refresh's :class:`AuthError`;
        ``error.retryable`` tells whether the remembered token may still work later.
        """
        if saved.settings.user_pool_id != self.settings.user_pool_id:
            raise ConfigurationError("The remembered sign-in belongs to another user pool.")
        state = self._rotate(saved, previous=None)  # with the remembered device's key, if any
        self._keep_device(state.device, state.user.username, state.login_name)
        self._install(state)

    # -- the session -----------------------------------------------------------------------

    def get_current_user(self) -> AuthUser:
        """The signed-in user. Raises :class:`SignedOutError` or :class:`SessionExpiredError`."""
        state = self._state
        if isinstance(state, SignedIn):
            return state.user
        if isinstance(state, Expired):
            raise state.error
        raise SignedOutError("Nobody is signed in.")

    def fetch_auth_session(self, force_refresh: bool = False) -> CognitoAuthSession:
        """The session as SUCCESS/FAILURE results, as Amplify's ``fetchAuthSession``.

        While everything is fresh this is a memory read with no network call. In the refresh
        window it refreshes; ``force_refresh=True`` always refreshes tokens and credentials.
        """
        if not force_refresh:
            snapshot = self._snapshot
            if snapshot is not None and self._time.time() < self._fresh_until:
                return snapshot
        return self._fetch(force_refresh)

    def _fetch(self, force: bool) -> CognitoAuthSession:
        state = self._state
        if state is None:
            return self._signed_out_snapshot()
        if isinstance(state, Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        error: AuthError | None = None
        try:
            self._ensure_fresh(force)
        except AuthError as failure:
            error = failure
        state = self._state
        if isinstance(state, Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        if state is None:
            return self._signed_out_snapshot()
        return self._build_snapshot(state, error)

    def current_credentials(self) -> AWSCredentials:
        """Unexpired AWS credentials, refreshed if due; raises a typed :class:`AuthError` otherwise.

        This is how integrations (the boto3 provider, the container endpoint) get what they
        hand out; it changes nothing a caller could observe.
        """
        result = self.fetch_auth_session().aws_credentials_result
        if result.value is not None:
            return result.value
        assert result.error is not None
        raise result.error

    def boto3_session(self, region_name: str | None = None) -> Any:
        """A new, independent ``boto3.Session`` with this session's refreshing credentials."""
        from nb_cognito.auth.botocore_adapter import new_boto3_session

        return new_boto3_session(self, region_name=region_name)

    # -- snapshots ---------------------------------------------------------------------------

    def _invalidate(self) -> None:
        self._snapshot = None
        self._fresh_until = -math.inf

    def _build_snapshot(self, state: SignedIn, error: AuthError | None) -> CognitoAuthSession:
        now = self._time.time()
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
        """Unauthenticated identity-pool credentials, when ``allow_guest`` is set.

        Fetched under their own lock, never the session's: ``on()`` and ``sign_out()`` never
        wait for the network.
        """
        with self._guest_lock:
            guest = self._guest
            lead = self.policy.lead(3600)
            if guest is not None and guest[1].expiration.timestamp() - self._time.time() > lead:
                return guest
            identity = self.clients.identity
            identity_id = guest[0] if guest else identity.identity_id(None, None)
            fetched = (identity_id, identity.credentials(identity_id, None))
            with self._lock:
                if self._state is None:  # nobody signed in meanwhile
                    self._guest = fetched
            return fetched

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
        inherited = isinstance(state, SignedIn) and state.tokens.refresh_token == self._inherited
        if isinstance(state, SignedIn) and not inherited:
            client = self.clients.userpool
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
            known_secrets.discard(
                state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token
            )
        self._leave_hosted_ui()
        if state is not None:
            self._notify("signed_out", replace(self._change(state), local_only=inherited))
            self._emit(AuthEvent.SIGNED_OUT, state.user)
        return result

    # -- status -----------------------------------------------------------------------------------

    def status(self) -> SessionStatus:
        """What ``%cognito_session`` and the widget show: who, until when, and the refresh state."""
        state = self._state
        return session_status(
            state,
            next_attempt=self._refresher.next_attempt if isinstance(state, SignedIn) else None,
            error=self.last_error or self._refresher.last_error,
            auto_refresh=self._refresher.running,
        )

    def __repr__(self) -> str:
        state = self._state
        if isinstance(state, SignedIn):
            return f"<CognitoSession signed in as {state.user.username!r}>"
        if isinstance(state, Expired):
            return f"<CognitoSession expired for {state.user.username!r}>"
        return "<CognitoSession signed out>"

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()

    def after_fork_in_child(self) -> None:
        """In a forked child: no refresh in flight (locks and the refresher reset themselves).

        The sign-in the child inherited is the parent's: the child may use it, but signing out
        in the child is local to it (no revocation, nothing forgotten that the parent owns).
        """
        self._flight = None
        state = self._state
        self._inherited = state.tokens.refresh_token if isinstance(state, SignedIn) else None

    def close(self) -> None:
        """Stop the background thread and close every integration (the state is kept)."""
        self._refresher.stop()
        for integration in list(self._integrations):
            try:
                integration.close()
            except Exception:
                log.exception("The nb_cognito integration %r failed to close; ignored.", integration.name)
