"""Where remembered sessions are kept: stay signed in across kernel restarts.

With ``remember=True`` (``configure(remember=True)``, ``NB_COGNITO_REMEMBER=1`` or
``%cognito_login --remember``) the session's :class:`~nb_cognito.integrations.remembered.RememberedSessions`
integration stores the refresh token here after each sign-in and whenever a refresh rotates
it, and resumes from it in a new kernel. This package knows no session: it keeps entries.

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

Here: the public functions. The entry and its JSON form are in
:mod:`.entry`, the two places it can be kept in :mod:`.file_backend` and :mod:`.keyring_backend`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from nb_cognito import forksafe
from nb_cognito.store.entry import RememberedEntry, entry_key
from nb_cognito.store.file_backend import ENV_DIR, FileStore, StoreRefused, store_directory, warn_refused
from nb_cognito.store.keyring_backend import ENV_KEYRING, KeyringStore, keyring_store
from nb_cognito.store.keyring_backend import is_secure_keyring as is_secure_keyring  # for the tests

if TYPE_CHECKING:
    from nb_cognito.settings.config import Settings

__all__ = [
    "ENV_DIR",
    "ENV_KEYRING",
    "RememberedEntry",
    "forget",
    "forget_all",
    "forget_entry",
    "location",
    "remembered",
    "save_entry",
    "store_directory",
]

log = logging.getLogger("nb_cognito")

_lock = forksafe.RLock()


# _active and _all_backends look keyring_store up here, so a test can swap in its own keyring.
def _active() -> KeyringStore | FileStore:
    return keyring_store() or FileStore(store_directory())


def _all_backends() -> list[KeyringStore | FileStore]:
    in_keyring = keyring_store()
    file_store = FileStore(store_directory())
    return [in_keyring, file_store] if in_keyring else [file_store]


@contextlib.contextmanager
def _guarded(doing: str) -> Iterator[None]:
    """Store trouble never breaks a sign-in: it is logged (without secrets) and swallowed."""
    try:
        yield
    except StoreRefused as refused:
        warn_refused(str(refused))
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
            key = entry_key(settings.user_pool_id or "", settings.client_id or "", username)
            with _guarded("delete"):  # first the entry's own key: no other file can prevent it
                deleted = backend.delete(key) or deleted
            with _guarded("delete"):  # then entries found under an alias typed at sign-in
                keys = {
                    e.key
                    for e in backend.load_all()
                    if e.user_pool_id == settings.user_pool_id
                    and e.client_id == settings.client_id
                    and username in (e.username, e.login_name)
                } - {key}
                for other in keys:
                    deleted = backend.delete(other) or deleted
    return deleted


def forget_all() -> int:
    """Delete every remembered session (keyring and file); returns how many were deleted."""
    count = 0
    with _lock:
        for backend in _all_backends():
            with _guarded("delete"):
                count += backend.delete_all()
    return count


def save_entry(entry: RememberedEntry) -> RememberedEntry | None:
    """Write ``entry`` where remembered sessions are kept; the stored entry, or None if it could not be."""
    stored: str | None = None
    with _lock, _guarded("store"):
        stored = _active().save(entry)
    return replace(entry, location=stored) if stored is not None else None


def forget_entry(entry: RememberedEntry) -> bool:
    """Delete the stored entry under ``entry``'s key (every backend). True if there was one."""
    deleted = False
    with _lock:
        for backend in _all_backends():
            with _guarded("delete"):
                deleted = backend.delete(entry.key) or deleted
    return deleted
