"""A session's settings as resolved now, and the clients built from them.

The configuration (:class:`~nb_cognito.settings.config.CognitoConfig`) says where each value
comes from; this object keeps the resolved :class:`Settings` and the three clients made from
them (:class:`~nb_cognito.auth.session_clients.SessionClients`), and drops both together when
the settings change, so a client never outlives the settings it was made for.
"""

from __future__ import annotations

from typing import Any

from nb_cognito.auth.integration import ChangeKind, SavedSignIn, SessionChange
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.auth.session_clients import SessionClients
from nb_cognito.auth.session_state import SessionState
from nb_cognito.auth.state import Expired, SignedIn
from nb_cognito.clock import Clock
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.settings.config import CognitoConfig, Settings

__all__ = ["SessionSettings"]


class SessionSettings:
    """The settings and clients of one session."""

    def __init__(
        self, config: CognitoConfig, *, clock: Clock, policy: RefreshPolicy, state: SessionState
    ) -> None:
        self.config = config
        self._clock = clock
        self._policy = policy
        self._state = state
        self._settings: Settings | None = None
        self._clients: SessionClients | None = None
        self._hosted_ui: Any = None  # after a hosted-UI sign-in: refresh and revoke at /oauth2/*

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
                self.settings, clock=self._clock, hosted_ui=self._hosted_ui, policy=self._policy
            )
        return clients

    def use(self, settings: Settings | None) -> None:
        """Take ``settings`` (None: resolve again on next use); the clients are made anew."""
        with self._state.lock:
            self._settings = settings
            self._clients = None
            self._state.invalidate()

    def reread(self) -> None:
        """Resolve the settings again (the environment or the Amplify file may have changed)."""
        fresh = self.config.resolve()
        if fresh != self._settings:
            self.use(fresh)

    def sign_in_key(self, settings: Settings | None = None) -> tuple | None:
        """What names the pool a sign-in belongs to (None: the settings are bad)."""
        try:
            return (settings or self.settings).sign_in_key()
        except ConfigurationError:
            return None

    def wants_credentials(self) -> bool:
        """True when the settings earn AWS credentials (an identity pool or a role ARN)."""
        try:
            return self.clients.wants_credentials
        except ConfigurationError:
            return False

    @property
    def token_source(self) -> Any:
        """What refreshes the tokens instead of the user-pool client: the hosted UI's token
        endpoint or JupyterHub (None: the user pool itself)."""
        return self._hosted_ui

    @property
    def token_source_persists(self) -> bool:
        """Whether a sign-in from this source is kept by token stores (a hub sign-in is not: the
        hub keeps it)."""
        source = self._hosted_ui
        return source is None or bool(source.persists)

    def use_hosted_ui(self, hosted_ui: Any) -> None:
        """After a hosted-UI or hub sign-in (None: after leaving it): refresh and revoke through it."""
        with self._state.lock:
            if hosted_ui is self._hosted_ui:
                return
            self._hosted_ui = hosted_ui
            self._clients = None

    # -- what the session tells its integrations, built from the settings -----------------------

    def change(
        self,
        kind: ChangeKind,
        state: SignedIn | Expired | None,
        *,
        saved: bool = False,
        local_only: bool = False,
    ) -> SessionChange:
        """A :class:`SessionChange` of ``kind`` for ``state`` (``saved``: with the sign-in to store)."""
        try:
            settings: Settings | None = self.settings
        except ConfigurationError:
            settings = None
        if isinstance(state, SignedIn):
            return SessionChange(
                kind,
                user=state.user,
                settings=settings,
                credentials=state.credentials,
                identity_id=state.identity_id,
                saved=self.saved("settings", state) if saved and settings is not None else None,
                local_only=local_only,
            )
        user = state.user if state is not None else None
        return SessionChange(kind, user=user, settings=settings, local_only=local_only)

    def catch_up(self, state: SignedIn | None) -> list[SessionChange]:
        """What an integration added while ``state`` is signed in has missed."""
        if state is None:
            return []
        changes = [self.change(ChangeKind.SIGNED_IN, state)]
        if state.credentials is not None:
            changes.append(self.change(ChangeKind.CREDENTIALS_CHANGED, state))
        return changes

    def saved(self, reason: str, state: SignedIn) -> SavedSignIn:
        """``state`` as a sign-in a token store keeps."""
        return SavedSignIn(
            reason=reason,
            user=state.user,
            settings=self.settings,
            refresh_token=state.tokens.refresh_token,
            identity_id=state.identity_id,
            login_name=state.login_name,
            device=state.device,
        )
