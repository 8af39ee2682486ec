"""The seam between the session and everything that uses what it earns.

An :class:`Integration` is an object the session owns (``make_session(integrations=[obj])``):
boto3 injection, the container-credentials endpoint, env export, remembered sessions, Dask.
The session calls its methods at fixed points, in the order the integrations were added, and
hands it a :class:`SessionChange` that carries everything it needs, so no integration ever
reads the session's private state. Each keeps its own state on its instance, never in module
globals, so two sessions (a test's and the kernel's) never share it.

The calls, in the order they happen:

* :meth:`Integration.refresh_guard` is held around redeeming a refresh token and persisting
  the result (several kernels sharing one remembered sign-in take turns there).
* :meth:`Integration.persist` runs *before* a new refresh token is used (sign-in, a rotating
  refresh): what must survive a crash is written first.
* :meth:`Integration.signed_in` after a sign-in, before the first AWS credentials are fetched.
* :meth:`Integration.credentials_changed` after every new set of AWS credentials.
* :meth:`Integration.settings_changed` after ``configure()`` while signed in;
  :meth:`Integration.configured` after every ``configure()``, signed in or not.
* :meth:`Integration.signed_out` / :meth:`Integration.session_expired` when the session ends.
* :meth:`Integration.resume` from ``sign_in()`` with no password: it may sign in by itself.

An integration that raises is logged and skipped; it never breaks the session.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nb_cognito.clock import Clock
    from nb_cognito.config import CognitoConfig, Settings
    from nb_cognito.models import AuthUser, AWSCredentials, TrackedDevice

__all__ = ["Integration", "SavedSignIn", "SessionAPI", "SessionChange"]


@dataclass(frozen=True)
class SessionChange:
    """What changed, with what an integration needs to act on it.

    ``settings`` is None when the settings have become invalid; ``credentials`` is None when
    the session has none at this moment (no identity pool, not fetched yet, signed out).
    ``saved`` is given with :meth:`Integration.settings_changed` while signed in, so that an
    integration turned on later (``remember=True``) can store the sign-in at once.
    ``local_only`` marks a sign-out in a forked child of the sign-in it inherited: withdraw what
    this process handed out, but forget nothing its parent still uses.
    """

    user: AuthUser | None
    settings: Settings | None
    credentials: AWSCredentials | None = None
    identity_id: str | None = None
    saved: SavedSignIn | None = None
    local_only: bool = False

    def __repr__(self) -> str:  # the credentials' own repr is secret-free; keep this one short
        who = self.user.username if self.user else None
        return f"<SessionChange user={who!r} credentials={self.credentials!r}>"


@dataclass(frozen=True)
class SavedSignIn:
    """A sign-in as it can be resumed later: handed to :meth:`Integration.persist`.

    ``reason`` is ``"sign_in"``, ``"refresh"`` or ``"device"`` (the tracked device changed:
    remembered, or forgotten); ``login_name`` is the alias the user typed when it differs from
    the Cognito username. ``device`` is the tracked device the refresh token is bound to (its
    password is a secret: keep it where the refresh token is kept).
    """

    reason: str
    user: AuthUser
    settings: Settings
    refresh_token: str
    identity_id: str | None
    login_name: str | None
    device: TrackedDevice | None = None

    def __repr__(self) -> str:
        return f"<SavedSignIn {self.reason} of {self.user.username!r}>"


class SessionAPI(Protocol):
    """What an integration may use of the session that owns it: its public API.

    Typed as a protocol, so that the seam imports no session (no cycle, even for type
    checkers); :class:`~nb_cognito.auth.session.CognitoSession` is the one implementation.
    """

    clock: Clock
    config: CognitoConfig

    @property
    def settings(self) -> Settings: ...
    @property
    def is_signed_in(self) -> bool: ...
    def is_signed_in_as(self, username: str) -> bool: ...
    def get_current_user(self) -> AuthUser: ...
    def current_credentials(self) -> AWSCredentials: ...
    def seconds_left(self, credentials: AWSCredentials) -> float: ...


class Integration:
    """Base class: every hook is a no-op, so an integration overrides only what it needs."""

    #: A short name, for logs.
    name = "integration"

    def attach(self, session: SessionAPI) -> None:
        """Called once when the session takes it (``make_session(integrations=...)``); keep the
        session if you need it."""

    def persist(self, saved: SavedSignIn) -> None:
        """A new refresh token is about to be used; store it first if you remember sessions."""

    def refresh_guard(self, saved: SavedSignIn) -> AbstractContextManager[SavedSignIn | str | None]:
        """Held while ``saved``'s refresh token is redeemed and the result persisted.

        Yields a newer sign-in than ``saved`` when another process stored one (a
        :class:`SavedSignIn`, whose refresh token is redeemed with its own tracked device; a bare
        refresh token is taken as one with ``saved``'s device), else None. Remembered sessions
        shared by several kernels hold a cross-process lock here.
        """
        return contextlib.nullcontext(None)

    def resume(self, session: SessionAPI, username: str | None) -> bool:
        """``sign_in()`` without a password: sign ``session`` in by yourself and return True, or False."""
        return False

    def signed_in(self, change: SessionChange) -> None:
        """Someone signed in (the first AWS credentials follow in :meth:`credentials_changed`)."""

    def credentials_changed(self, change: SessionChange) -> None:
        """New AWS credentials (``change.credentials``) are in use."""

    def settings_changed(self, change: SessionChange) -> None:
        """``configure()`` changed the settings while signed in: apply them now."""

    def configured(self, change: SessionChange) -> None:
        """``configure()`` ran, signed in or not: ``change.settings`` as now resolved (None if
        invalid). For what runs whether or not anyone is signed in (the container endpoint)."""

    def signed_out(self, change: SessionChange) -> None:
        """The user signed out: withdraw whatever was handed out."""

    def session_expired(self, change: SessionChange) -> None:
        """The session ended for good (revoked, expired refresh token); sign-in is needed again."""

    def close(self) -> None:
        """The session is closing (kernel exit, tests): release threads, servers and files."""
