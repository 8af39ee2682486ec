"""Signing in: a password, a challenge answered, the hosted UI, or a remembered sign-in.

An object the session holds. Its collaborators: the state box, the settings and clients, the
refresh engine (the first credentials, redeeming a remembered refresh token), device tracking,
the integrations and token stores, and the events. The challenges themselves (the step each asks
for, the answer sent back) are in :mod:`nb_cognito.auth.challenges`; the Cognito calls in
:mod:`nb_cognito.auth.userpool_calls`.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nb_cognito.auth.events import EventHub
from nb_cognito.auth.integration import ChangeKind, Observers, SavedSignIn
from nb_cognito.auth.refresh import RefreshEngine
from nb_cognito.auth.session_devices import DeviceTracking
from nb_cognito.auth.session_settings import SessionSettings
from nb_cognito.auth.session_state import SessionState
from nb_cognito.auth.state import SignedIn
from nb_cognito.clock import Clock
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError, InvalidParameterError, NotAuthorizedError
from nb_cognito.models import AuthEvent, SignInNextStep, SignInResult, SignInStep
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.auth.tokens import TokenVerifier
    from nb_cognito.auth.userpool_calls import AuthTokens, Challenge
    from nb_cognito.models import TrackedDevice
    from nb_cognito.settings.config import Settings

__all__ = ["SignInFlow"]

log = logging.getLogger("nb_cognito")


class SignInFlow:
    """``sign_in``, ``confirm_sign_in``, the hosted UI's sign-in, and resuming a remembered one."""

    def __init__(
        self,
        state: SessionState,
        settings: SessionSettings,
        *,
        clock: Clock,
        engine: RefreshEngine,
        devices: DeviceTracking,
        observers: Observers,
        events: EventHub,
    ) -> None:
        self._box = state
        self._settings = settings
        self.clock = clock
        self._engine = engine
        self._devices = devices
        self._observers = observers
        self._events = events

    @property
    def settings(self) -> Settings:
        return self._settings.settings

    @property
    def verifier(self) -> TokenVerifier:
        """The token verifier for the current settings (the hosted UI checks the ID token's nonce)."""
        return self._settings.clients.verifier

    def reread_settings(self) -> None:
        """Resolve the settings afresh (a sign-in never starts on values read before a fix)."""
        self._settings.reread()

    def sign_in(self, username: str | None = None, password: str | Secret | None = None) -> SignInResult:
        """Sign in; returns the next step (``DONE``, or a challenge to answer with ``confirm_sign_in``).

        ``username`` defaults to ``NB_COGNITO_USERNAME`` and ``password`` to
        ``NB_COGNITO_PASSWORD``, which is removed from ``os.environ`` once read. A wrong
        password or unknown user raises :class:`NotAuthorizedError` without saying which.
        Already signed in as this user: returns ``DONE`` with no network call. With no
        password, an integration that remembers sessions (``remember=True``) may resume a
        remembered one first.
        The password may be a :class:`~nb_cognito.secret.Secret`; a ``str`` is wrapped at once.
        """
        password = Secret.of(password)  # from here on, no frame holds it in plain text
        # NB_COGNITO_PASSWORD leaves os.environ at the first sign-in that could use it, whatever
        # follows (a resume, "already signed in", an error): children must not inherit it.
        from_environment = (
            Secret.of(os.environ.pop(Env.NB_COGNITO_PASSWORD, None)) if password is None else None
        )
        username = username if username is not None else os.environ.get(Env.NB_COGNITO_USERNAME)
        if username and self._box.signed_in_as(username):
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        if self._box.current is None:
            self.reread_settings()  # the environment or the Amplify file may have changed
        if password is None and self.resume(username or None):
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        if not username:
            raise InvalidParameterError(
                "No username given.", recovery_suggestion="Pass a username or set NB_COGNITO_USERNAME."
            )
        if password is None:
            password = from_environment
        del from_environment
        if password is None and self.settings.needs_password:
            raise InvalidParameterError(
                "No password given.",
                recovery_suggestion="Use %cognito_login (it asks with hidden input), the sign-in "
                "widget, or set NB_COGNITO_PASSWORD for automation.",
            )
        self._settings.use_hosted_ui(None)
        client = self._settings.clients.userpool
        device = self._devices.known(username)
        with self._box.lock:
            self._box.pending = None
        # The pool check (a wrong pool id says so, not "incorrect username or password") runs
        # beside InitiateAuth and must pass before the password, or SRP's proof of it, is sent.
        try:
            outcome = client.start_sign_in(
                username,
                password,
                device=device,
                on_send=self._settings.clients.verifier.prefetch,
                before_password=self.check_pool,
            )
        except AuthError as error:
            self._pool_error_first(error)
            raise
        finally:
            del password
        self.check_pool()  # a flow that sent nothing from the password (a one-time code) still checks
        return self._advance(client, outcome, login_name=username, device=device)

    def _pool_error_first(self, error: AuthError) -> None:
        """After a failed sign-in call: raise the pool check's error instead, if the pool is
        not there (an unknown pool id can make Cognito blame the password)."""
        try:
            self.check_pool()
        except ConfigurationError as unknown_pool:
            raise unknown_pool from error
        except AuthError:
            pass  # the keys cannot be had now: the sign-in's own error says more

    def check_pool(self) -> None:
        """Check, before a password is asked for, that the configured pool exists where the
        settings say: its signing keys (JWKS) answer. They are then cached (in memory and on
        disk), so the check costs nothing more than verifying the first tokens would.

        Raises :class:`ConfigurationError` naming ``user_pool_id``, ``region`` and the endpoint
        with their sources when the service knows no such pool there, and the retryable
        :class:`ServiceUnavailableError` when the keys cannot be fetched now.
        """
        from nb_cognito.auth.pool_check import check_pool

        check_pool(self.sign_in_settings(), self._settings.clients.verifier)

    def sign_in_settings(self) -> Settings:
        """The settings the next sign-in uses, checked for what signing in requires (no network).

        Read afresh while nobody is signed in, as ``sign_in`` does: a pool id, client id or
        Amplify file corrected in a running kernel counts at the next attempt, not a value
        cached by an earlier, failed one. Raises :class:`ConfigurationError` naming what is missing.
        """
        if self._box.current is None:
            self.reread_settings()
        return self.settings.require_sign_in_settings()

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
        pending = self._box.pending
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
            with self._box.lock:  # Cognito ended this sign-in attempt (session expired, too many tries)
                self._box.pending = None
            raise
        # Any other error (a wrong code, a refused new password, a network failure) leaves the
        # same step open, to be answered again.
        if isinstance(outcome, tuple):  # a choice of the client's own: nothing was sent yet
            step, chosen = outcome
            with self._box.lock:
                self._box.pending = chosen
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
        from nb_cognito.auth.device_protocol import prove_device
        from nb_cognito.auth.userpool_calls import AuthTokens

        if not isinstance(outcome, AuthTokens) and outcome.name == "DEVICE_SRP_AUTH":
            outcome = prove_device(client, outcome, device)  # a remembered device: no MFA
        if isinstance(outcome, AuthTokens):
            with self._box.lock:
                self._box.pending = None
            self._complete_sign_in(outcome, login_name=login_name, device=device)
            return SignInResult(True, SignInNextStep(SignInStep.DONE))
        step, pending = next_step(client, outcome)
        with self._box.lock:
            self._box.pending = replace(pending, login_name=login_name, device=device)
        return SignInResult(False, step)

    def _complete_sign_in(
        self, tokens: AuthTokens, *, login_name: str | None, device: TrackedDevice | None = None
    ) -> None:
        from nb_cognito.auth.device_protocol import confirm_new_device

        state = self._engine.new_state(tokens, previous=None, login_name=login_name)
        if tokens.new_device is not None:  # the pool tracks devices and this one is new to it
            client = self._settings.clients.userpool
            device = confirm_new_device(client, tokens, remember=self.settings.remember_device)
        if device is not None:
            state = self._devices.opt_in(replace(state, device=device))
            self._devices.keep(state.device, state.user.username, login_name)
        self._observers.save(self._settings.saved("sign_in", state))
        self._install(state)

    # -- hosted UI sign-in (nb_cognito.auth.oauth) -----------------------------------------

    def sign_in_with_redirect(self, provider: str | None = None, **options: Any) -> None:
        """Sign in through the hosted UI (authorization code + PKCE), as Amplify's ``signInWithRedirect``.

        ``provider`` goes straight to that identity provider (default: the ``identity_provider``
        setting when it names one). ``method`` is ``"auto"``, ``"loopback"`` or ``"paste"``; see
        :func:`nb_cognito.auth.oauth_callback.sign_in_with_redirect` for the other options.
        """
        from nb_cognito.auth.oauth_callback import sign_in_with_redirect

        sign_in_with_redirect(self, provider, **options)

    def complete_redirect_sign_in(self, tokens: AuthTokens, hosted_ui: Any) -> None:
        """Finish a hosted-UI sign-in; refresh and revocation then go through ``hosted_ui``."""
        with self._box.lock:
            self._box.pending = None
        self._settings.use_hosted_ui(hosted_ui)  # clients rebuilt with its refresh and revocation
        self._complete_sign_in(tokens, login_name=None)

    # -- JupyterHub sign-in (nb_cognito.auth.hub) ---------------------------------------------

    def sign_in_from_hub(self) -> SignInResult:
        """Sign in with the ID token JupyterHub keeps for this server's user: no password.

        Reads ``auth_state`` from ``$JUPYTERHUB_API_URL/users/$JUPYTERHUB_USER`` (the server's
        token needs the scope ``admin:auth_state!user``); the tokens are verified with
        ``hub_client_id`` (default ``client_id``) as their audience, and every refresh asks
        the hub again. Raises :class:`ConfigurationError` naming the hub setting to fix when
        the hub hands out none.
        """
        from nb_cognito.auth.hub import HubEndpoint, HubSignIn

        box = self._box
        if box.current is None:
            self.reread_settings()
        endpoint = HubEndpoint.from_environment()
        settings = self.settings.require_sign_in_settings()
        state = box.current
        current = self._settings.token_source
        if isinstance(state, SignedIn) and isinstance(current, HubSignIn) and current.endpoint == endpoint:
            return SignInResult(True, SignInNextStep(SignInStep.DONE))  # already, through this hub
        hub = HubSignIn(settings, endpoint, clock=self.clock, policy=self._engine.policy)
        tokens = hub.fetch()
        with box.lock:
            box.pending = None
        self._settings.use_hosted_ui(hub)  # rebuilt: the hub's audience, refresh through the hub
        try:
            self._install(self._engine.new_state(tokens, previous=None))
        except BaseException:
            if box.current is state:  # refused: the previous sign-in keeps its own token source
                self._settings.use_hosted_ui(current)
            raise
        return SignInResult(True, SignInNextStep(SignInStep.DONE))

    @property
    def through_hub(self) -> bool:
        """True while signed in with JupyterHub's tokens (:meth:`sign_in_from_hub`)."""
        from nb_cognito.auth.hub import HubSignIn

        return self._box.signed_in is not None and isinstance(self._settings.token_source, HubSignIn)

    def _install(self, state: SignedIn) -> None:
        """Make a freshly signed-in ``state`` the session's; then credentials and the refresher."""
        box = self._box
        with box.lock:
            box.current = state
            box.guest = None
            box.retry_not_before = -math.inf
            box.last_error = None
            box.invalidate()
        self._observers.notify(self._settings.change(ChangeKind.SIGNED_IN, state))
        self._events.emit(AuthEvent.SIGNED_IN, state.user)
        engine = self._engine
        if self._settings.wants_credentials():
            try:  # credentials now, so that a bad identity-pool setting shows at once
                engine.refresh(force_tokens=False, force_credentials=True, blocking=True)
            except AuthError as error:
                log.warning("Signed in, but AWS credentials are not available yet: %s", error)
        if engine.auto_refresh:
            engine.background.start()

    # -- a remembered sign-in (a token store) ------------------------------------------------

    def resume(self, username: str | None) -> bool:
        """Sign in from the first token store that keeps a sign-in for ``username``: one
        refresh, no password. A retryable failure is raised (the store keeps the sign-in); a
        definitive one is the store's to forget, and the sign-in goes on with a password."""
        try:
            settings = self.settings
        except ConfigurationError:
            return False
        for store in self._observers.stores:
            saved = store.load(settings, username)
            if saved is None:
                continue
            if self._box.signed_in_as(saved.user.username):
                return True
            try:
                self._resume(saved)
            except AuthError as error:
                store.resumed(saved, error)
                if error.retryable:
                    raise
                return False
            store.resumed(saved, None)
            return True
        return False

    def _resume(self, saved: SavedSignIn) -> None:
        if saved.settings.user_pool_id != self.settings.user_pool_id:
            raise ConfigurationError("The remembered sign-in belongs to another user pool.")
        # No keys on disk: they come beside the refresh (its client made first, so that the
        # fetch leaves as the refresh does rather than while the client is being built).
        self._settings.clients.userpool.connect()
        self._settings.clients.verifier.prefetch()
        state = self._engine.rotate(saved, previous=None)  # with the remembered device's key, if any
        if saved.identity_id and saved.user.user_id in ("", state.user.user_id):
            state = replace(state, identity_id=saved.identity_id)  # no GetId in a new kernel
        self._devices.keep(state.device, state.user.username, state.login_name)
        self._install(state)
