"""Opt-in remembered sessions: stay signed in across kernel restarts.

With ``remember=True`` (``configure(remember=True)``, ``NB_COGNITO_REMEMBER=1`` or
``%cognito_login --remember``) the refresh token is stored after each sign-in, and again
whenever a refresh rotates it. In a new kernel, ``sign_in()`` with no password then resumes
with one refresh: no password, no MFA. A stored token that no longer works (revoked, expired)
is deleted, the normal password path runs, and :data:`last_resume_failure` says why.

Where, first that applies:

1. the OS keyring through ``keyring`` (optional), when its backend is a secure one;
   plaintext, fail and null backends are refused (``NB_COGNITO_KEYRING=0`` turns it off);
2. one JSON file per entry under ``$NB_COGNITO_STORE_DIR``, else ``$XDG_DATA_HOME/nb_cognito``,
   else ``~/.local/share/nb_cognito``: mode 0600 in a 0700 directory, written atomically
   (a 0600 temporary file in the same directory, fsync, ``os.replace``), as botocore's
   ``JSONFileCache``. A file or directory that others can read or write, or that someone else
   owns, is refused with a warning: nothing is read from it or written to it.

Entries are keyed by (user pool, app client, Cognito username), so several pools and users
coexist; an entry is used only with the region and endpoint it was issued by, so a refresh
token is never sent anywhere else. ``sign_out()`` (and a session that expires) deletes the
entry; :func:`forget_all` deletes every one. Nothing is stored without the opt-in.

Here: the public functions and the wiring of a session. The entry and its JSON form are in
:mod:`.entry`, the two places it can be kept in :mod:`.file_backend` and :mod:`.keyring_backend`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nb_cognito.auth.state import SignedIn
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.models import AuthEvent
from nb_cognito.store.entry import RememberedEntry, _key
from nb_cognito.store.file_backend import ENV_DIR, _FileStore, _Refused, _warn_refused, store_directory
from nb_cognito.store.keyring_backend import ENV_KEYRING, _keyring_store, _KeyringStore
from nb_cognito.store.keyring_backend import _is_secure_keyring as _is_secure_keyring  # for the tests

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.config import Settings

__all__ = [
    "ENV_DIR",
    "ENV_KEYRING",
    "RememberedEntry",
    "attach",
    "describe",
    "forget",
    "forget_all",
    "last_resume_failure",
    "location",
    "remembered",
    "resume",
    "save",
    "store_directory",
]

log = logging.getLogger("nb_cognito")

#: Why the last resume from a remembered session failed (None after a successful one).
#: ``%cognito_login`` can show it; it never holds a secret. Assigned only here, in :func:`resume`.
last_resume_failure: str | None = None

_lock = threading.RLock()


# _active and _all_backends look _keyring_store up here, so a test can swap in its own keyring.
def _active() -> _KeyringStore | _FileStore:
    return _keyring_store() or _FileStore(store_directory())


def _all_backends() -> list[_KeyringStore | _FileStore]:
    keyring_store = _keyring_store()
    file_store = _FileStore(store_directory())
    return [keyring_store, file_store] if keyring_store else [file_store]


@contextlib.contextmanager
def _guarded(doing: str) -> Iterator[None]:
    """Store trouble never breaks a sign-in: it is logged (without secrets) and swallowed."""
    try:
        yield
    except _Refused as refused:
        _warn_refused(str(refused))
    except Exception as error:  # OSError, keyring errors
        log.warning("Could not %s the remembered session: %s", doing, _describe_error(error))


def _describe_error(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    return type(error).__name__


# ---------------------------------------------------------------------------------------------
# The public functions


def location() -> str:
    """Where remembered sessions are kept: ``"keyring (SecretService)"`` or the directory."""
    return _active().location()


def remembered(settings: Settings, username: str | None = None) -> RememberedEntry | None:
    """The entry usable with ``settings`` for ``username`` (Cognito username or the alias typed).

    With ``username=None``: the most recently saved entry for this pool and client.
    """
    entries: list[RememberedEntry] = []
    with _lock, _guarded("read"):
        entries = [e for e in _active().load_all() if e.matches(settings, username)]
    return max(entries, key=lambda e: e.saved_at, default=None)


def forget(settings: Settings, username: str) -> bool:
    """Delete the entries of ``username`` in this pool and client (every backend). True if any."""
    deleted = False
    with _lock:
        for backend in _all_backends():
            with _guarded("delete"):
                keys = {_key(settings.user_pool_id or "", settings.client_id or "", username)}
                keys.update(
                    e.key
                    for e in backend.load_all()
                    if e.user_pool_id == settings.user_pool_id
                    and e.client_id == settings.client_id
                    and username in (e.username, e.login_name)
                )
                for key in keys:
                    deleted = backend.delete(key) or deleted
    return deleted


def forget_all() -> int:
    """Delete every remembered session (keyring and file); returns how many were deleted."""
    count = 0
    with _lock:
        for backend in _all_backends():
            with _guarded("delete"):
                count += backend.delete_all()
    return count


def save(session: CognitoSession) -> bool:
    """Remember ``session``'s current sign-in now (if ``remember`` is on); True if stored.

    For ``configure(remember=True)`` while already signed in; otherwise :func:`attach` stores
    on its own after sign-in and rotation.
    """
    state = session._state
    tokens = getattr(state, "tokens", None)
    if tokens is None or not _remember_on(session):
        return False
    return _save_state(session, state, previous=None) is not None


def resume(session: CognitoSession, username: str | None = None) -> bool:
    """Sign ``session`` in from a remembered entry, if ``remember`` is on and one exists.

    True if signed in (one refresh, no password). A token that no longer works: the entry is
    deleted, :data:`last_resume_failure` says why, and False is returned (use the password).
    A retryable error (throttling, network) keeps the entry and is raised.
    """
    global last_resume_failure
    if not _remember_on(session):
        return False
    last_resume_failure = None  # never show the reason of an earlier attempt
    settings = session.settings
    entry = remembered(settings, username)
    if entry is None:
        return False
    if session.is_signed_in and session.get_current_user().username == entry.username:
        return True
    _attachment(session).resuming = entry
    try:
        session._resume(entry.refresh_token, entry.username)
    except AuthError as error:
        if error.retryable:
            last_resume_failure = f"Could not reach Cognito to resume the remembered session: {error}"
            log.warning("%s The remembered session is kept.", last_resume_failure)
            raise
        forget(settings, entry.username)
        last_resume_failure = (
            f"The remembered session of {entry.username!r} could not be resumed "
            f"({type(error).__name__}: {error}); it was forgotten. Sign in with your password."
        )
        log.warning("%s", last_resume_failure)
        return False
    finally:
        _attachment(session).resuming = None
    last_resume_failure = None
    log.info("Resumed the remembered session of %r from %s.", entry.username, entry.location)
    return True


def describe(session: CognitoSession) -> str | None:
    """For ``%cognito_session``: ``"remembered in <location>"``, or None if nothing is."""
    try:
        settings = session.settings
        if settings.user_pool_id is None or settings.client_id is None:
            return None
    except ConfigurationError:
        return None
    if session.is_signed_in:
        entry = remembered(settings, session.get_current_user().username)
        return f"remembered in {entry.location}" if entry else None
    entry = remembered(settings)
    return f"{entry.username!r} remembered in {entry.location}" if entry else None


# ---------------------------------------------------------------------------------------------
# Wiring a session


class _Attachment:
    def __init__(self) -> None:
        self.saved: dict[str, RememberedEntry] = {}  # what this process last stored, per key
        self.resuming: RememberedEntry | None = None
        self.detach: Callable[[], None] | None = None


_attachments: weakref.WeakKeyDictionary[CognitoSession, _Attachment] = weakref.WeakKeyDictionary()


def _attachment(session: CognitoSession) -> _Attachment:
    with _lock:
        attachment = _attachments.get(session)
        if attachment is None:
            attachment = _attachments[session] = _Attachment()
        return attachment


def _remember_on(session: CognitoSession) -> bool:
    try:
        settings = session.settings
    except ConfigurationError:
        return False
    return bool(settings.remember and settings.user_pool_id and settings.client_id)


def _save_state(
    session: CognitoSession, state: Any, previous: RememberedEntry | None
) -> RememberedEntry | None:
    settings = session.settings
    attachment = _attachment(session)
    key = _key(settings.user_pool_id or "", settings.client_id or "", state.user.username)
    known = previous or attachment.saved.get(key) or attachment.resuming
    typed = session._typed_username
    login_name = typed if typed and typed != state.user.username else None
    if login_name is None and known is not None and known.username == state.user.username:
        login_name = known.login_name
    entry = RememberedEntry(
        user_pool_id=settings.user_pool_id or "",
        client_id=settings.client_id or "",
        username=state.user.username,
        login_name=login_name,
        user_id=state.user.user_id,
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        identity_pool_id=settings.identity_pool_id,
        identity_id=state.identity_id
        or (known.identity_id if known and known.identity_pool_id == settings.identity_pool_id else None),
        saved_at=time.time(),
        location="",
        refresh_token=state.tokens.refresh_token,
    )
    stored: str | None = None
    with _lock, _guarded("store"):
        stored = _active().save(entry)
    if stored is None:
        if known is not None and known.refresh_token != entry.refresh_token:
            forget(settings, entry.username)  # the stored token was rotated away: it is stale
        attachment.saved.pop(key, None)
        return None
    entry = replace(entry, location=stored)
    attachment.saved[key] = entry
    return entry


def attach(session: CognitoSession) -> Callable[[], None]:
    """Wire ``session`` to the store (idempotent); returns a function that unwires it.

    Stores after sign-in and after a refresh that rotated the refresh token (only with
    ``remember`` on), resumes in ``sign_in()`` with no password, and deletes on sign-out or
    when the session expires.
    """
    attachment = _attachment(session)
    if attachment.detach is not None:
        return attachment.detach

    def persist(reason: str, state: Any) -> None:
        if not _remember_on(session):
            return
        key = _key(session.settings.user_pool_id or "", session.settings.client_id or "", state.user.username)
        previous = attachment.saved.get(key)
        rotated = previous is None or previous.refresh_token != state.tokens.refresh_token
        if reason == "refresh" and not rotated:
            return  # not rotated: what is stored still works
        _save_state(session, state, previous)
        if reason == "refresh" and not session.is_signed_in:  # signed out while refreshing
            forget(session.settings, state.user.username)

    def resumer(username: str | None) -> bool:
        return resume(session, username)

    def on_credentials(_: Any) -> None:
        if not _remember_on(session):
            return
        state = session._state
        if not isinstance(state, SignedIn) or not state.identity_id:  # only a signed-in state has tokens
            return
        key = _key(session.settings.user_pool_id or "", session.settings.client_id or "", state.user.username)
        previous = attachment.saved.get(key)
        if previous is not None and previous.identity_id != state.identity_id:
            _save_state(session, state, previous)

    def on_ended(payload: Any) -> None:
        user = payload.user
        if user is None:
            return
        try:
            settings = session.settings
        except ConfigurationError:
            return
        attachment.saved = {k: v for k, v in attachment.saved.items() if v.username != user.username}
        if forget(settings, user.username):
            log.info("Forgot the remembered session of %r.", user.username)

    undo = [
        session._add_persister(persist),
        session._add_resumer(resumer),
        session.on(AuthEvent.CREDENTIALS_REFRESH, on_credentials),
        session.on(AuthEvent.SIGNED_OUT, on_ended),
        session.on(AuthEvent.SESSION_EXPIRED, on_ended),
    ]

    def detach() -> None:
        for remove in undo:
            remove()
        attachment.detach = None

    attachment.detach = detach
    return detach
