"""The session's own state and the plumbing every part of it shares.

:class:`SessionCore` holds what a :class:`~nb_cognito.auth.session.CognitoSession` is made of
(the settings and their clients, the state under its lock, the integrations and event
listeners) and the small operations on it that the session's parts all use: the sign-in flow
(:mod:`nb_cognito.auth.sign_in`), the refresh engine (:mod:`nb_cognito.auth.refresh`) and
device tracking (:mod:`nb_cognito.auth.device_tracking`) are mixins on top of it, and
:mod:`nb_cognito.auth.session` puts them together behind the public API.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from nb_cognito import forksafe
from nb_cognito.auth.background import BackgroundRefresher
from nb_cognito.auth.clients import SessionClients
from nb_cognito.auth.integration import Integration, SavedSignIn, SessionAPI, SessionChange
from nb_cognito.auth.state import Expired, RefreshPolicy, SignedIn, signed_in_state
from nb_cognito.clock import SYSTEM_CLOCK, Clock, SteadyClock
from nb_cognito.config import CognitoConfig, Settings
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.models import AuthEvent, AuthEventPayload, AuthUser, AWSCredentials, CognitoAuthSession
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.auth.challenges import PendingSignIn
    from nb_cognito.auth.userpool import AuthTokens
    from nb_cognito.models import TrackedDevice

__all__ = ["Flight", "SessionCore"]

log = logging.getLogger("nb_cognito")

_I = TypeVar("_I", bound=Integration)


class Flight:
    """One refresh in progress; waiters block on ``done`` and share its ``error``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: AuthError | None = None


class SessionCore:
    """A session's state, settings, clients, integrations and events (no public story here)."""

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
        self._flight: Flight | None = None
        self._snapshot: CognitoAuthSession | None = None
        self._fresh_until = -math.inf
        self._retry_not_before = -math.inf
        self._settings: Settings | None = None
        self._clients: SessionClients | None = None
        self._listeners: dict[AuthEvent, list[Callable[[AuthEventPayload], None]]] = {}
        self._integrations: list[Integration] = []
        self._guest: tuple[str, AWSCredentials] | None = None
        self._guest_lock = forksafe.Lock()
        self._devices: dict[tuple[str, str, str], TrackedDevice] = {}
        self._inherited: str | None = None  # the refresh token a forked child got from its parent
        self._refresher = BackgroundRefresher(
            clock=self._time, next_due=self._next_background_refresh, refresh_due=self._refresh_in_background
        )
        self._auto_refresh = auto_refresh
        forksafe.register(self)

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

    # -- after a hosted-UI sign-in (nb_cognito.auth.oauth): refresh and revoke at /oauth2/* --

    # The token source of a hosted-UI or JupyterHub sign-in (HostedUIClient, HubSignIn), else None
    _hosted_ui: Any = None

    def _leave_hosted_ui(self) -> None:
        with self._lock:
            if self._hosted_ui is not None:
                self._hosted_ui = None
                self._clients = None

    def _use_settings(self, settings: Settings | None) -> None:
        with self._lock:
            self._settings = settings
            self._clients = None
            self._invalidate()

    def add_integration(self, integration: _I) -> _I:
        """Own ``integration``: it is told of every sign-in, refresh, setting change and sign-out."""
        with self._lock:
            if integration in self._integrations:
                return integration
            self._integrations.append(integration)
        integration.attach(cast(SessionAPI, self))
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

    def _invalidate(self) -> None:
        self._snapshot = None
        self._fresh_until = -math.inf

    @property
    def is_signed_in(self) -> bool:
        return isinstance(self._state, SignedIn)

    def is_signed_in_as(self, username: str) -> bool:
        """True when signed in as ``username``: the Cognito username or the alias typed at sign-in."""
        state = self._state
        return isinstance(state, SignedIn) and username in (state.user.username, state.login_name)

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

    def after_fork_in_child(self) -> None:
        """In a forked child: no refresh in flight (locks and the refresher reset themselves).

        The sign-in the child inherited is the parent's: the child may use it, but signing out
        in the child is local to it (no revocation, nothing forgotten that the parent owns).
        """
        self._flight = None
        state = self._state
        self._inherited = state.tokens.refresh_token if isinstance(state, SignedIn) else None

    if TYPE_CHECKING:  # the refresh engine's, used by the background thread made above

        def _next_background_refresh(self) -> float | None: ...
        def _refresh_in_background(self) -> None: ...
