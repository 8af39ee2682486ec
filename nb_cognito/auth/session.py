"""`CognitoSession`: sign in once; it keeps tokens and AWS credentials fresh and hands them out.

The session is made of objects, each with one job and its collaborators given when it is made
(as google-auth's credentials hold their refresh worker):

* :class:`~nb_cognito.auth.session_state.SessionState`, the state box: the immutable state,
  swapped whole under one lock, so readers never see half an update;
* :class:`~nb_cognito.auth.session_settings.SessionSettings`: the settings and their clients;
* :class:`~nb_cognito.auth.refresh.RefreshEngine`: when and how to refresh, single flight, and
  the one background thread (the windows in :class:`~nb_cognito.auth.state.RefreshPolicy`);
* :class:`~nb_cognito.auth.sign_in.SignInFlow`: passwords, challenges, the hosted UI, and
  remembered sign-ins; :class:`~nb_cognito.auth.session_devices.DeviceTracking`: devices;
* :class:`~nb_cognito.auth.fetch.SessionFetch`: ``fetch_auth_session()`` from a snapshot;
* :class:`~nb_cognito.auth.integration.Observers`: the integrations (where the credentials go)
  and token stores, told of typed changes; :class:`~nb_cognito.auth.events.EventHub`: events.

This class puts them together behind the public API and knows nothing of what they do inside.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from nb_cognito.auth.events import EventHub
from nb_cognito.auth.fetch import SessionFetch
from nb_cognito.auth.integration import ChangeKind, Observers, SessionChange
from nb_cognito.auth.oauth import RedirectSignIn
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.auth.refresh import RefreshEngine
from nb_cognito.auth.session_clients import SessionClients
from nb_cognito.auth.session_devices import DeviceTracking
from nb_cognito.auth.session_settings import SessionSettings
from nb_cognito.auth.session_state import SessionState
from nb_cognito.auth.sign_in import SignInFlow
from nb_cognito.auth.snapshots import session_status
from nb_cognito.auth.state import Expired, SignedIn
from nb_cognito.auth.view import SessionView, describe
from nb_cognito.clock import SYSTEM_CLOCK, Clock, SteadyClock
from nb_cognito.exceptions import AuthError, ConfigurationError, SignedOutError
from nb_cognito.models import (
    AuthEvent,
    AuthEventPayload,
    AuthUser,
    AWSCredentials,
    CognitoAuthSession,
    SessionStatus,
    SignInResult,
    SignOutResult,
    TrackedDevice,
)
from nb_cognito.redaction import known_secrets
from nb_cognito.secret import Secret
from nb_cognito.settings.config import CognitoConfig, Settings

__all__ = [
    "CognitoSession",
    "RefreshPolicy",
    "check_pool",
    "resume_remembered",
    "service_clients",
    "sign_in_settings",
]

log = logging.getLogger("nb_cognito")


class CognitoSession:
    """The session of one user in one Cognito user pool, and the AWS credentials it earns.

    Use the kernel-wide instance, ``nb_cognito.session`` (or :func:`nb_cognito.kernel.make_session`,
    which adds the default integrations). ``clock`` is the one time seam; ``auto_refresh=False``
    turns the background thread off (refresh stays lazy).
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
        time = SteadyClock(clock)  # expiry decisions: immune to steps of the wall clock
        self._time = time
        policy = policy or RefreshPolicy()
        self._box = box = SessionState()
        self._settings = settings = SessionSettings(self.config, clock=clock, policy=policy, state=box)
        #: The integrations this session owns: ``session.integrations.add(obj)`` (told of every
        #: sign-in, refresh, setting change and sign-out), ``session.integrations.find(Kind)``.
        self.integrations = observers = Observers(
            self, catch_up=lambda: settings.catch_up(box.signed_in), lock=box.lock
        )
        self._events = events = EventHub()
        self._engine = engine = RefreshEngine(
            box,
            settings,
            time=time,
            policy=policy,
            observers=observers,
            events=events,
            auto_refresh=auto_refresh,
        )
        self._devices = devices = DeviceTracking(box, settings, observers)
        self._sign_in = SignInFlow(
            box, settings, clock=clock, engine=engine, devices=devices, observers=observers, events=events
        )
        self._fetch = SessionFetch(box, settings, engine=engine, time=time)
        #: For a hosted-UI sign-in whose code comes back later (the widget's popup):
        #: :func:`nb_cognito.auth.oauth.complete` finishes it through this.
        self.redirect_sign_in: RedirectSignIn = self._sign_in

    @property
    def settings(self) -> Settings:
        """The resolved settings (raises :class:`ConfigurationError` when they are bad)."""
        return self._settings.settings

    # -- configuration ---------------------------------------------------------------------

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
        binding = self._settings
        if self._box.current is not None and binding.sign_in_key(resolved) != binding.sign_in_key():
            log.warning("The user pool settings changed; signing out of the previous pool.")
            self.sign_out()
        if config is not None:
            self.config.merge_from(config)
        if settings:
            self.config.update(**settings)
        binding.use(None)
        state = self._box.current
        if isinstance(state, SignedIn):  # e.g. subprocess_credentials turned on after sign-in: apply now
            self.integrations.notify(binding.change(ChangeKind.SETTINGS_CHANGED, state, saved=True))
        try:  # resolved afresh and not kept: sign-in stays the one to report missing settings
            fresh: Settings | None = self.config.resolve()
        except ConfigurationError:
            fresh = None
        user = state.user if state is not None else None
        self.integrations.notify(SessionChange(ChangeKind.CONFIGURED, user=user, settings=fresh))

    # -- sign-in (nb_cognito.auth.sign_in) --------------------------------------------------

    def sign_in(self, username: str | None = None, password: str | Secret | None = None) -> SignInResult:
        """Sign in; returns the next step (``DONE``, or a challenge to answer with ``confirm_sign_in``).

        ``username`` defaults to ``NB_COGNITO_USERNAME`` and ``password`` to
        ``NB_COGNITO_PASSWORD``. A wrong password or unknown user raises
        :class:`NotAuthorizedError` without saying which. Already signed in as this user:
        returns ``DONE`` with no network call. With no password, a remembered sign-in
        (``remember=True``) is resumed first, if there is one.
        """
        password = Secret.of(password)  # from here on, no frame holds it in plain text
        return self._sign_in.sign_in(username, password)

    def confirm_sign_in(
        self, challenge_response: str | Secret, user_attributes: dict[str, str] | None = None
    ) -> SignInResult:
        """Answer the current step: a code, a new password, an MFA or first-factor choice, the
        password after choosing a password factor, or an email address for email MFA setup.

        ``user_attributes`` answers ``next_step.missing_attributes`` with the new password.
        """
        challenge_response = Secret.of(challenge_response)  # type: ignore[assignment]
        return self._sign_in.confirm_sign_in(challenge_response, user_attributes)

    def sign_in_with_redirect(self, provider: str | None = None, **options: Any) -> None:
        """Sign in through the hosted UI (authorization code + PKCE), as Amplify's ``signInWithRedirect``.

        ``provider`` goes straight to that identity provider (default: the ``identity_provider``
        setting when it names one). ``method`` is ``"auto"``, ``"loopback"`` or ``"paste"``; see
        :func:`nb_cognito.auth.oauth_callback.sign_in_with_redirect` for the other options.
        """
        self._sign_in.sign_in_with_redirect(provider, **options)

    def sign_in_from_hub(self) -> SignInResult:
        """Sign in with the Cognito sign-in of the JupyterHub this server runs under: no
        password. Every refresh asks the hub again; see :meth:`SignInFlow.sign_in_from_hub`."""
        return self._sign_in.sign_in_from_hub()

    # -- the session -----------------------------------------------------------------------

    @property
    def is_signed_in(self) -> bool:
        return self._box.signed_in is not None

    def is_signed_in_as(self, username: str) -> bool:
        """True when signed in as ``username``: the Cognito username or the alias typed at sign-in."""
        return self._box.signed_in_as(username)

    def get_current_user(self) -> AuthUser:
        """The signed-in user. Raises :class:`SignedOutError` or :class:`SessionExpiredError`."""
        state = self._box.current
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
        return self._fetch.fetch(force_refresh)

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

    def seconds_left(self, credentials: AWSCredentials) -> float:
        """How long ``credentials`` stay valid, in server time (this session's steady clock plus
        the skew estimated from the ID token): what the container endpoint and the Dask
        integration tell SDKs that compare an expiry with their own machine's clock."""
        state = self._box.signed_in
        skew = state.skew if state is not None else 0.0
        return credentials.expiration.timestamp() - (self._time.time() + skew)

    def boto3_session(self, region_name: str | None = None) -> Any:
        """A new, independent ``boto3.Session`` with this session's refreshing credentials."""
        from nb_cognito.auth.botocore_adapter import new_boto3_session

        return new_boto3_session(self, region_name=region_name)

    # -- devices (nb_cognito.auth.session_devices) ----------------------------------------------

    @property
    def device(self) -> TrackedDevice | None:
        """The device this session's refresh token is bound to (None: the pool tracks none)."""
        return self._devices.device

    def remember_device(self) -> None:
        """Amplify's ``rememberDevice``: later sign-ins from this device skip MFA ("User opt-in" pools)."""
        self._devices.remember()

    def forget_device(self) -> None:
        """Amplify's ``forgetDevice``: Cognito forgets this device; the next sign-in asks for MFA."""
        self._devices.forget()

    # -- sign-out -------------------------------------------------------------------------------

    def sign_out(self, global_sign_out: bool = False) -> SignOutResult:
        """Sign out. Locally this always succeeds; ``global_sign_out`` also revokes every token.

        The global sign-out and the refresh-token revocation are best effort: their errors are
        reported in the result (and logged), never raised.
        """
        box = self._box
        with box.lock:
            state, box.current = box.current, None
            box.pending = None
            box.guest = None
            box.invalidate()
        self._engine.background.stop()
        result = SignOutResult()
        inherited = isinstance(state, SignedIn) and state.tokens.refresh_token == box.inherited
        if isinstance(state, SignedIn) and not inherited:
            client = self._settings.clients.userpool
            if global_sign_out:
                try:
                    client.global_sign_out(state.tokens.access_token)
                except AuthError as error:
                    log.warning("Global sign-out failed; signed out locally only: %s", error)
                    result = replace(result, global_sign_out_error=error)
            try:
                client.revoke_token(_refresh_token(state))
            except AuthError as error:
                log.debug("Revoking the refresh token failed (best effort): %s", error)
                result = replace(result, revoke_token_error=error)
            known_secrets.discard(
                state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token
            )
        self._settings.use_hosted_ui(None)
        if state is not None:
            self.integrations.notify(
                self._settings.change(ChangeKind.SIGNED_OUT, state, local_only=inherited)
            )
            self._events.emit(AuthEvent.SIGNED_OUT, state.user)
        return result

    # -- integrations and events --------------------------------------------------------------

    def on(self, event: AuthEvent, callback: Callable[[AuthEventPayload], None]) -> Callable[[], None]:
        """Call ``callback(payload)`` on ``event`` (Amplify's ``Hub.listen``); returns a function
        that unsubscribes. Callbacks may run on the background refresher's thread."""
        return self._events.on(event, callback)

    # -- status -----------------------------------------------------------------------------------

    def status(self) -> SessionStatus:
        """What ``%cognito_session`` and the widget show: who, until when, and the refresh state."""
        state = self._box.current
        background = self._engine.background
        return session_status(
            state,
            next_attempt=background.next_attempt if isinstance(state, SignedIn) else None,
            error=self._box.last_error or background.last_error,
            auto_refresh=background.running,
            through_hub=self._sign_in.through_hub,
        )

    def describe(self) -> SessionView:
        """A read-only picture of the refresh machinery now (tests, diagnostics): freshness,
        refresh in flight, pending step, expiries, background thread. Changes nothing."""
        return describe(
            self._box,
            self._engine,
            now=self._time.time(),
            wants_credentials=self._settings.wants_credentials(),
            listeners=sum(len(self._events.listeners(event)) for event in AuthEvent),
        )

    def __repr__(self) -> str:
        state = self._box.current
        if isinstance(state, SignedIn):
            return f"<CognitoSession signed in as {state.user.username!r}>"
        if isinstance(state, Expired):
            return f"<CognitoSession expired for {state.user.username!r}>"
        return "<CognitoSession signed out>"

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()

    def close(self) -> None:
        """Stop the background thread and close every integration (the state is kept)."""
        self._engine.background.stop()
        self.integrations.notify(SessionChange(ChangeKind.CLOSING))


def _refresh_token(state: SignedIn) -> Secret:
    """The state's refresh token, wrapped in a frame of its own (a Verbose traceback shows the
    value of each attribute expression in the line a frame was executing)."""
    return Secret(state.tokens.refresh_token)


def service_clients(session: CognitoSession) -> SessionClients:
    """The clients ``session`` talks through for its current settings: plumbing for tests and
    diagnostics that reach the wire, not on the session's public face."""
    return session._settings.clients


# -- plumbing for the front ends (magics, widget) and tests: not on the session's public face --


def check_pool(session: CognitoSession) -> None:
    """Before a password is asked for: the settings read afresh (nobody signed in) and the pool
    checked where they say (its signing keys answer); see :meth:`SignInFlow.check_pool`."""
    session._sign_in.check_pool()


def sign_in_settings(session: CognitoSession) -> Settings:
    """The settings the next sign-in uses, read afresh while nobody is signed in and checked for
    what signing in requires, with no network call (the front ends, before asking anything)."""
    return session._sign_in.sign_in_settings()


def resume_remembered(session: CognitoSession, username: str | None = None) -> bool:
    """Sign ``session`` in from a remembered sign-in (``remember=True``), with no password and
    without starting a sign-in when none is kept: False then, or when the one kept no longer
    works (it is forgotten); a retryable error is raised and the sign-in is kept."""
    return session._sign_in.resume(username)
