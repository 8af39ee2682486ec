"""Remembered sessions as an integration: store the sign-in, resume it in a new kernel.

With ``remember`` on, the refresh token (and the tracked device it is bound to: key, group key,
device password) is stored (:mod:`nb_cognito.store`) after each
sign-in and again whenever a refresh rotates it, *before* the new token is used. In a new
kernel, ``sign_in()`` with no password resumes with one refresh: no password, no MFA. A stored
token that no longer works is deleted and :attr:`RememberedSessions.last_resume_failure` says
why; a retryable error (throttling, network) keeps it. Sign-out and a session that ends delete
the entry. Nothing is stored without the opt-in.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nb_cognito import store
from nb_cognito.auth.integration import ChangeKind, Integration, SavedSignIn, SessionChange, TokenStore
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.models import AuthUser, TrackedDevice
from nb_cognito.store import lock as store_lock
from nb_cognito.store.entry import RememberedEntry, entry_key

if TYPE_CHECKING:
    from nb_cognito.auth.integration import SessionAPI
    from nb_cognito.settings.config import Settings

__all__ = ["RememberedSessions"]

log = logging.getLogger("nb_cognito")


def _remember_on(settings: Settings | None) -> bool:
    return bool(settings is not None and settings.remember and settings.user_pool_id and settings.client_id)


def _device_of(entry: RememberedEntry) -> TrackedDevice | None:
    if not (entry.device_key and entry.device_group_key):
        return None
    return TrackedDevice(
        entry.device_key, entry.device_group_key, entry.device_password, entry.device_remembered
    )


def _as_saved(entry: RememberedEntry, settings: Settings) -> SavedSignIn:
    return SavedSignIn(
        reason="resume",
        user=AuthUser(username=entry.username, user_id=entry.user_id or ""),
        settings=settings,
        refresh_token=entry.refresh_token,
        # The identity id saves a GetId on resume; it belongs to the identity pool it came from.
        identity_id=entry.identity_id if entry.identity_pool_id == settings.identity_pool_id else None,
        login_name=entry.login_name,
        device=_device_of(entry),
    )


def _device_fields(device: TrackedDevice | None) -> dict[str, Any]:
    if device is None:
        return {}
    return {
        "device_key": device.key,
        "device_group_key": device.group_key,
        "device_password": device.password,
        "device_remembered": device.remembered,
    }


class RememberedSessions(Integration, TokenStore):
    """Keeps the session's sign-in in the store and resumes from it (``remember=True``)."""

    name = "remembered sessions"

    def __init__(self) -> None:
        self._session: SessionAPI | None = None
        self._saved: dict[str, RememberedEntry] = {}  # what this process last stored, per key
        self._resuming: RememberedEntry | None = None
        #: Why the last resume failed (None after a successful one); never holds a secret.
        self.last_resume_failure: str | None = None

    def attach(self, session: SessionAPI) -> None:
        self._session = session

    # -- storing ------------------------------------------------------------------------------

    def session_changed(self, change: SessionChange) -> None:
        if change.kind is ChangeKind.SETTINGS_CHANGED:
            self._settings_changed(change)
        elif change.kind is ChangeKind.CREDENTIALS_CHANGED:
            self._credentials_changed(change)
        elif change.ended:
            self._forget(change)

    def save(self, saved: SavedSignIn) -> None:
        if not _remember_on(saved.settings):
            return
        previous = self._saved.get(self._key(saved.settings, saved.user.username))
        if (
            saved.reason == "refresh"
            and previous is not None
            and previous.refresh_token == saved.refresh_token
            and previous.device_password == (saved.device.password if saved.device else None)
        ):
            return  # not rotated: what is stored still works
        self._store(saved, previous)
        session = self._session
        if saved.reason == "refresh" and session is not None and not session.is_signed_in:
            store.forget(saved.settings, saved.user.username)  # signed out while refreshing

    def _settings_changed(self, change: SessionChange) -> None:
        """``configure(remember=True)`` while signed in stores the sign-in at once."""
        saved = change.saved
        if saved is not None and _remember_on(saved.settings):
            self._store(saved, self._saved.get(self._key(saved.settings, saved.user.username)))

    def _credentials_changed(self, change: SessionChange) -> None:
        """A new identity id is written down, so that a resumed kernel needs no GetId."""
        settings, user = change.settings, change.user
        if not _remember_on(settings) or user is None or not change.identity_id:
            return
        assert settings is not None
        previous = self._saved.get(self._key(settings, user.username))
        if previous is not None and previous.identity_id != change.identity_id:
            self._write(replace(previous, identity_id=change.identity_id, saved_at=time.time()), previous)

    def _store(self, saved: SavedSignIn, previous: RememberedEntry | None) -> RememberedEntry | None:
        settings = saved.settings
        known = previous or self._resuming
        login_name = saved.login_name
        if login_name is None and known is not None and known.username == saved.user.username:
            login_name = known.login_name
        reuse_identity = known is not None and known.identity_pool_id == settings.identity_pool_id
        entry = RememberedEntry(
            user_pool_id=settings.user_pool_id or "",
            client_id=settings.client_id or "",
            username=saved.user.username,
            login_name=login_name,
            user_id=saved.user.user_id,
            region=settings.region,
            endpoint_url=settings.endpoint_url,
            identity_pool_id=settings.identity_pool_id,
            identity_id=saved.identity_id or (known.identity_id if known and reuse_identity else None),
            saved_at=time.time(),
            location="",
            refresh_token=saved.refresh_token,
            **_device_fields(saved.device),
        )
        return self._write(entry, known)

    def _write(self, entry: RememberedEntry, known: RememberedEntry | None) -> RememberedEntry | None:
        stored = store.save_entry(entry)
        if stored is None:
            if known is not None and known.refresh_token != entry.refresh_token:
                store.forget_entry(entry)  # the stored token was rotated away: it is stale
            self._saved.pop(entry.key, None)
            return None
        self._saved[entry.key] = stored
        return stored

    @staticmethod
    def _key(settings: Settings, username: str) -> str:
        return entry_key(settings.user_pool_id or "", settings.client_id or "", username)

    # -- several kernels, one sign-in --------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, saved: SavedSignIn) -> Iterator[SavedSignIn | None]:
        """Take turns with other kernels on this sign-in; hand over one they stored (its refresh
        token and the tracked device it is bound to).

        Read under the lock, the stored token wins when it differs from ``saved``'s and either
        ``saved`` came from the store (a resume) or another process wrote it since this kernel
        last stored. (A kernel that never managed to store may find an older token there,
        which must not replace the one in memory.)
        """
        if not _remember_on(saved.settings):
            yield None
            return
        key = self._key(saved.settings, saved.user.username)
        with store_lock.exclusive(store.store_directory(), key):
            entry = store.remembered(saved.settings, saved.user.username)
            known = self._saved.get(key)
            stored = entry.refresh_token if entry is not None else None
            from_another = known is not None and known.refresh_token != stored
            if (
                stored is not None
                and stored != saved.refresh_token
                and (saved.reason == "resume" or from_another)
            ):
                log.info(
                    "Another kernel refreshed the remembered session of %r; using its token.",
                    saved.user.username,
                )
                assert entry is not None  # stored is its token
                self._saved[key] = entry
                yield _as_saved(entry, saved.settings)  # its token with its device
            else:
                yield None

    # -- resuming -----------------------------------------------------------------------------

    def load(self, settings: Settings, username: str | None) -> SavedSignIn | None:
        """The remembered entry for ``username`` (None: the newest), if ``remember`` is on."""
        if not _remember_on(settings):
            return None
        self.last_resume_failure = None  # never show the reason of an earlier attempt
        entry = store.remembered(settings, username)
        if entry is None:
            return None
        self._resuming = entry
        return _as_saved(entry, settings)

    def resumed(self, saved: SavedSignIn, error: AuthError | None) -> None:
        """Resumed: say where from. A retryable failure keeps the entry; a definitive one
        forgets it, and :attr:`last_resume_failure` says why (never with a secret)."""
        entry, self._resuming = self._resuming, None
        where = entry.location if entry is not None else "the store"
        if error is None:
            self.last_resume_failure = None
            log.info("Resumed the remembered session of %r from %s.", saved.user.username, where)
        elif error.retryable:
            busy = isinstance(error, store_lock.LockHeldError)  # another process's doing
            doing = "resume" if busy else "reach Cognito to resume"
            self.last_resume_failure = f"Could not {doing} the remembered session: {error}"
            log.warning("%s The remembered session is kept.", self.last_resume_failure)
        else:
            store.forget(saved.settings, saved.user.username)
            self.last_resume_failure = (
                f"The remembered session of {saved.user.username!r} could not be resumed "
                f"({type(error).__name__}: {error}); it was forgotten. Sign in with your password."
            )
            log.warning("%s", self.last_resume_failure)

    # -- forgetting ---------------------------------------------------------------------------

    def _forget(self, change: SessionChange) -> None:
        settings, user = change.settings, change.user
        if settings is None or user is None or change.local_only:  # a forked child: the parent's
            return
        self._saved = {k: v for k, v in self._saved.items() if v.username != user.username}
        if store.forget(settings, user.username):
            log.info("Forgot the remembered session of %r.", user.username)

    # -- for %cognito_session -------------------------------------------------------------------

    def describe(self) -> str | None:
        """``"remembered in <location>"`` (or who is remembered, when signed out), or None."""
        session = self._session
        if session is None:
            return None
        try:
            settings = session.settings
        except ConfigurationError:
            return None
        if settings.user_pool_id is None or settings.client_id is None:
            return None
        if session.is_signed_in:
            entry = store.remembered(settings, session.get_current_user().username)
            return f"remembered in {entry.location}" if entry else None
        entry = store.remembered(settings)
        return f"{entry.username!r} remembered in {entry.location}" if entry else None

    def __repr__(self) -> str:
        return f"<RememberedSessions {len(self._saved)} stored by this kernel>"
