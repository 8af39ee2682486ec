"""The seam between the session and everything that uses what it earns.

An :class:`Integration` is an object the session owns (``session.integrations.add(obj)``):
boto3 injection, the container-credentials endpoint, env export, remembered sessions, Dask.
``session.integrations.find(Kind)`` finds one.
It has one method, :meth:`Integration.session_changed`, which receives a typed
:class:`SessionChange` whose :class:`ChangeKind` says what happened, in this order:

* ``SIGNED_IN`` after a sign-in, before the first AWS credentials are fetched;
* ``CREDENTIALS_CHANGED`` after every new set of AWS credentials;
* ``SETTINGS_CHANGED`` after ``configure()`` while signed in (``change.saved`` is the sign-in,
  so an integration turned on later can act at once); ``CONFIGURED`` after every
  ``configure()``, signed in or not;
* ``SIGNED_OUT`` / ``SESSION_EXPIRED`` when the session ends; ``CLOSING`` when the session
  closes (kernel exit, tests): release threads, servers and files.

The method is abstract, so an integration that misspells it fails when it is made, and a type
checker sees every kind. An integration that raises is logged and skipped; it never breaks the
session.

Remembered sessions are a separate role, :class:`TokenStore` (save, lock, load, resumed): the
session saves a refresh token *before* using it, redeems it under the store's lock (several
kernels take turns), and asks the store for a sign-in to resume when ``sign_in()`` has no
password.
"""

from __future__ import annotations

import abc
import contextlib
import enum
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from nb_cognito.clock import Clock
    from nb_cognito.exceptions import AuthError
    from nb_cognito.models import AuthUser, AWSCredentials, TrackedDevice
    from nb_cognito.settings.config import CognitoConfig, Settings

__all__ = [
    "ChangeKind",
    "Integration",
    "Observers",
    "SavedSignIn",
    "SessionAPI",
    "SessionChange",
    "TokenStore",
]

log = logging.getLogger("nb_cognito")

_I = TypeVar("_I", bound="Integration")


class ChangeKind(enum.Enum):
    """What happened to the session."""

    SIGNED_IN = "signed_in"
    CREDENTIALS_CHANGED = "credentials_changed"
    SETTINGS_CHANGED = "settings_changed"
    CONFIGURED = "configured"
    SIGNED_OUT = "signed_out"
    SESSION_EXPIRED = "session_expired"
    CLOSING = "closing"


@dataclass(frozen=True)
class SessionChange:
    """What changed, with what an integration needs to act on it.

    ``settings`` is None when the settings have become invalid; ``credentials`` is None when
    the session has none at this moment (no identity pool, not fetched yet, signed out).
    ``saved`` is given with ``SETTINGS_CHANGED`` while signed in, so that an integration
    turned on later (``remember=True``) can store the sign-in at once. ``local_only`` marks a
    sign-out in a forked child of the sign-in it inherited: withdraw what this process handed
    out, but forget nothing its parent still uses.
    """

    kind: ChangeKind
    user: AuthUser | None = None
    settings: Settings | None = None
    credentials: AWSCredentials | None = None
    identity_id: str | None = None
    saved: SavedSignIn | None = None
    local_only: bool = False

    @property
    def ended(self) -> bool:
        """The session ended: signed out, or expired for good."""
        return self.kind in (ChangeKind.SIGNED_OUT, ChangeKind.SESSION_EXPIRED)

    def __repr__(self) -> str:  # the credentials' own repr is secret-free; keep this one short
        who = self.user.username if self.user else None
        return f"<SessionChange {self.kind.value} user={who!r} credentials={self.credentials!r}>"


@dataclass(frozen=True)
class SavedSignIn:
    """A sign-in as it can be resumed later: what a :class:`TokenStore` keeps.

    ``reason`` is ``"sign_in"``, ``"refresh"``, ``"resume"``, ``"settings"`` or ``"device"``
    (the tracked device changed: remembered, or forgotten); ``login_name`` is the alias the
    user typed when it differs from the Cognito username. ``device`` is the tracked device the
    refresh token is bound to (its password is a secret: keep it where the refresh token is kept).
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


class Integration(abc.ABC):
    """An object the session owns and tells of every change."""

    #: A short name, for logs.
    name = "integration"

    def attach(self, session: SessionAPI) -> None:  # noqa: B027 - most integrations need nothing
        """Called once by ``session.integrations.add(self)``; keep the session if you need it."""

    @abc.abstractmethod
    def session_changed(self, change: SessionChange) -> None:
        """React to ``change`` (its ``kind`` says what happened)."""


class TokenStore(abc.ABC):
    """Where a sign-in is kept so that a later kernel resumes it (remembered sessions)."""

    @abc.abstractmethod
    def save(self, saved: SavedSignIn) -> None:
        """A new refresh token is about to be used: store it first (a crash must not lose it)."""

    @abc.abstractmethod
    def lock(self, saved: SavedSignIn) -> AbstractContextManager[SavedSignIn | None]:
        """Held while ``saved``'s refresh token is redeemed and the result saved.

        Yields a newer sign-in than ``saved`` when another process stored one (redeemed
        instead, with its own tracked device), else None.
        """

    @abc.abstractmethod
    def load(self, settings: Settings, username: str | None) -> SavedSignIn | None:
        """A sign-in to resume for ``username`` (None: the newest one), if one is kept."""

    @abc.abstractmethod
    def resumed(self, saved: SavedSignIn, error: AuthError | None) -> None:
        """How resuming ``saved`` went: None (signed in), a retryable error (keep it), or a
        definitive one (forget it)."""


class Observers:
    """The integrations and token stores a session owns, told of changes in the order added.

    ``owner`` is the session they are attached to; ``catch_up()`` lists the changes an
    integration added while someone is signed in has missed.
    """

    def __init__(
        self,
        owner: SessionAPI,
        *,
        catch_up: Callable[[], list[SessionChange]],
        lock: AbstractContextManager[object],
    ) -> None:
        self._owner = owner
        self._catch_up = catch_up
        self._lock = lock
        self._integrations: list[Integration] = []
        self._stores: list[TokenStore] = []

    def add(self, integration: _I) -> _I:
        """Own ``integration`` (and, if it is one, as a token store); it catches up at once."""
        with self._lock:
            if integration in self._integrations:
                return integration
            self._integrations.append(integration)
            if isinstance(integration, TokenStore):
                self._stores.append(integration)
        integration.attach(self._owner)
        for change in self._catch_up():
            self.notify(change, only=integration)
        return integration

    def find(self, kind: type[_I]) -> _I | None:
        """The first integration of type ``kind``, if any."""
        return next((i for i in self._integrations if isinstance(i, kind)), None)

    @property
    def integrations(self) -> tuple[Integration, ...]:
        return tuple(self._integrations)

    @property
    def stores(self) -> tuple[TokenStore, ...]:
        return tuple(self._stores)

    def notify(self, change: SessionChange, only: Integration | None = None) -> None:
        """Tell every integration (or ``only`` one) of ``change``; a failing one is logged and skipped."""
        for integration in (only,) if only is not None else self.integrations:
            try:
                integration.session_changed(change)
            except Exception:  # an integration never breaks the session
                log.exception(
                    "The nb_cognito integration %r failed on %s; ignored.",
                    integration.name,
                    change.kind.value,
                )

    def save(self, saved: SavedSignIn) -> None:
        """Every token store saves ``saved`` before its refresh token is used."""
        for store in self.stores:
            try:
                store.save(saved)
            except Exception:
                log.exception("Saving the sign-in failed in %r; ignored.", store)

    def locked(self, saved: SavedSignIn, stack: contextlib.ExitStack) -> SavedSignIn:
        """Enter every store's lock on ``stack``; the sign-in to redeem (a newer one, if stored)."""
        for store in self.stores:
            newer = stack.enter_context(store.lock(saved))
            if newer is not None:
                saved = newer
        return saved
