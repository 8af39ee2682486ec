"""Signing in: a password, a challenge answered, or a sign-in an integration remembered.

A mixin of :class:`~nb_cognito.auth.session.CognitoSession` (on :class:`SessionCore`). The
challenges themselves (the step each asks for, the answer sent back) are in
:mod:`nb_cognito.auth.challenges`; the Cognito calls in :mod:`nb_cognito.auth.userpool`.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from nb_cognito.auth.base import SessionCore
from nb_cognito.auth.integration import SavedSignIn, SessionAPI
from nb_cognito.auth.state import SignedIn
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError, InvalidParameterError, NotAuthorizedError
from nb_cognito.models import AuthEvent, SignInNextStep, SignInResult, SignInStep
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.auth.userpool import AuthTokens, Challenge
    from nb_cognito.models import TrackedDevice

__all__ = ["SignInFlow"]

log = logging.getLogger("nb_cognito")


class SignInFlow(SessionCore):
    """``sign_in``, ``confirm_sign_in`` and resuming a remembered sign-in."""

    if TYPE_CHECKING:  # the refresh engine's and device tracking's

        def _wants_credentials(self) -> bool: ...
        def _refresh(
            self, *, force_tokens: bool, force_credentials: bool, blocking: bool, head_start: float = 0.0
        ) -> None: ...
        def _rotate(self, saved: SavedSignIn, *, previous: SignedIn | None) -> SignedIn: ...
        def _known_device(self, username: str | None) -> TrackedDevice | None: ...
        def _keep_device(self, device: TrackedDevice | None, *names: str | None) -> None: ...
        def _opt_in_device(self, state: SignedIn) -> SignedIn: ...

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
                if integration.resume(cast(SessionAPI, self), username or None):
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

    # -- hosted UI sign-in (nb_cognito.auth.oauth) -----------------------------------------

    def sign_in_with_redirect(self, provider: str | None = None, **options: Any) -> None:
        """Sign in through the hosted UI (authorization code + PKCE), as Amplify's ``signInWithRedirect``.

        ``provider`` goes straight to that identity provider (default: the ``identity_provider``
        setting when it names one). ``method`` is ``"auto"``, ``"loopback"`` or ``"paste"``; see
        :func:`nb_cognito.auth.oauth_callback.sign_in_with_redirect` for the other options.
        """
        from nb_cognito.auth.oauth_callback import sign_in_with_redirect

        sign_in_with_redirect(cast(Any, self), provider, **options)

    def _complete_redirect_sign_in(self, tokens: AuthTokens, hosted_ui: Any) -> None:
        """Internal: finish a hosted-UI sign-in; refresh and revocation then use ``hosted_ui``."""
        with self._lock:
            self._pending = None
            self._hosted_ui = hosted_ui
            self._clients = None  # rebuilt with the hosted UI's refresh and revocation
        self._complete_sign_in(tokens, login_name=None)

    # -- JupyterHub sign-in (nb_cognito.auth.hub) ---------------------------------------------

    def sign_in_from_hub(self) -> SignInResult:
        """Sign in with the ID token JupyterHub keeps for this server's user: no password.

        Reads ``auth_state`` from ``$JUPYTERHUB_API_URL/users/$JUPYTERHUB_USER`` (the server's
        token needs the scope ``admin:auth_state!user``); the tokens are verified with
        ``hub_client_id`` (default ``client_id``) as their audience, and every refresh asks
        the hub again. Raises
        :class:`ConfigurationError` naming the hub setting to fix when the hub hands out none.
        """
        from nb_cognito.auth.hub import HubEndpoint, HubSignIn

        if self._state is None:
            self._reread_settings()
        endpoint = HubEndpoint.from_environment()
        settings = self.settings.require_sign_in_settings()
        state = self._state
        current = self._hosted_ui
        if isinstance(state, SignedIn) and isinstance(current, HubSignIn) and current.endpoint == endpoint:
            return SignInResult(True, SignInNextStep(SignInStep.DONE))  # already, through this hub
        hub = HubSignIn(settings, endpoint, clock=self.clock, policy=self.policy)
        tokens = hub.fetch()
        with self._lock:
            self._pending = None
            self._hosted_ui = hub
            self._clients = None  # rebuilt: the hub's audience, refresh through the hub
        try:
            self._install(self._new_state(tokens, previous=None))
        except BaseException:
            with self._lock:  # refused: the previous sign-in (if any) keeps its own token source
                if self._state is state:
                    self._hosted_ui = current
                    self._clients = None
            raise
        return SignInResult(True, SignInNextStep(SignInStep.DONE))

    @property
    def signed_in_through_hub(self) -> bool:
        """True while signed in with JupyterHub's tokens (:meth:`sign_in_from_hub`)."""
        from nb_cognito.auth.hub import HubSignIn

        return isinstance(self._state, SignedIn) and isinstance(self._hosted_ui, HubSignIn)

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
