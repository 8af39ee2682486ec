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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import AuthError, ConfigurationError
from .models import AuthEvent

if TYPE_CHECKING:
    from .cognito_session import CognitoSession
    from .config import Settings

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
]

log = logging.getLogger("nb_cognito")

ENV_DIR = "NB_COGNITO_STORE_DIR"
ENV_KEYRING = "NB_COGNITO_KEYRING"  # "0"/"false"/"no"/"off": never use the OS keyring
SERVICE = "nb_cognito"
_INDEX = "__index__"  # the keyring cannot list its entries, so we keep the list of ours
_VERSION = 1
_MAX_BYTES = 64 * 1024
_STALE_TEMP_SECONDS = 600.0
_POSIX = os.name == "posix"

#: Why the last resume from a remembered session failed (None after a successful one).
#: ``%cognito_login`` can show it; it never holds a secret.
last_resume_failure: str | None = None

_lock = threading.RLock()


@dataclass(frozen=True, repr=False)
class RememberedEntry:
    """A remembered session. ``repr``/``str`` never show the refresh token."""

    user_pool_id: str
    client_id: str
    username: str  # the username Cognito knows (``cognito:username``)
    login_name: str | None  # what was typed to sign in, when it was an alias
    user_id: str | None
    region: str | None
    endpoint_url: str | None
    identity_pool_id: str | None
    identity_id: str | None
    saved_at: float
    location: str = field(compare=False)
    refresh_token: str = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"<RememberedEntry {self.username!r} pool={self.user_pool_id!r} "
            f"client={self.client_id!r} in {self.location}>"
        )

    __str__ = __repr__

    def matches(self, settings: Settings, username: str | None = None) -> bool:
        """True if this entry may be used with ``settings`` (and ``username``, if given)."""
        same_place = (
            self.user_pool_id == settings.user_pool_id
            and self.client_id == settings.client_id
            and self.region == settings.region
            and self.endpoint_url == settings.endpoint_url
        )
        return same_place and (username is None or username in (self.username, self.login_name))

    def _data(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "user_pool_id": self.user_pool_id,
            "client_id": self.client_id,
            "username": self.username,
            "login_name": self.login_name,
            "user_id": self.user_id,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "identity_pool_id": self.identity_pool_id,
            "identity_id": self.identity_id,
            "saved_at": self.saved_at,
            "refresh_token": self.refresh_token,
        }

    @classmethod
    def _from_data(cls, data: Any, location: str) -> RememberedEntry | None:
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return None
        required = ("user_pool_id", "client_id", "username", "refresh_token")
        optional = ("login_name", "user_id", "region", "endpoint_url", "identity_pool_id", "identity_id")
        if not all(isinstance(data.get(name), str) and data[name] for name in required):
            return None
        if not all(data.get(name) is None or isinstance(data[name], str) for name in optional):
            return None
        saved_at = data.get("saved_at")
        return cls(
            **{name: data[name] for name in required},
            **{name: data.get(name) for name in optional},
            saved_at=float(saved_at) if isinstance(saved_at, int | float) else 0.0,
            location=location,
        )

    @property
    def key(self) -> str:
        return _key(self.user_pool_id, self.client_id, self.username)


def _key(user_pool_id: str, client_id: str, username: str) -> str:
    return f"{user_pool_id}/{client_id}/{username}"


# ---------------------------------------------------------------------------------------------
# Backends


class _Refused(Exception):
    """The store (or one file of it) is not safe to use; the message says why (no secret)."""


class _FileStore:
    """One JSON file per entry, 0600 in a 0700 directory, replaced atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def location(self) -> str:
        return str(self.directory)

    # -- the checks --------------------------------------------------------------------------

    def _check_dir(self, *, create: bool) -> bool:
        """True if the directory is ours and private; False if it does not exist. Raises _Refused."""
        path = self.directory
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise _Refused(f"{path} is not a directory")
        _check_private(path, info, "directory")
        return True

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self.directory / f"{digest}.json"

    # -- reading -----------------------------------------------------------------------------

    def load_all(self) -> list[RememberedEntry]:
        if not self._check_dir(create=False):
            return []
        entries = []
        for path in sorted(self.directory.glob("*.json")):
            if path.name.startswith("."):
                continue
            entry = self._read(path)
            if entry is not None:
                entries.append(entry)
        return entries

    def _read(self, path: Path) -> RememberedEntry | None:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            return None
        except OSError as error:  # e.g. ELOOP for a symlink
            _warn_refused(f"{path} cannot be opened safely ({error.strerror})")
            return None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            try:
                if not stat.S_ISREG(info.st_mode):
                    raise _Refused(f"{path} is not a regular file")
                _check_private(path, info, "file")
            except _Refused as refused:
                _warn_refused(str(refused))
                return None
            raw = file.read(_MAX_BYTES + 1)
        try:
            if len(raw) > _MAX_BYTES:
                raise ValueError("too large")
            entry = RememberedEntry._from_data(json.loads(raw), str(path))
        except ValueError:
            entry = None
        if entry is None:
            log.warning("Ignoring %s: it is not a remembered nb_cognito session.", path)
        return entry

    # -- writing -----------------------------------------------------------------------------

    def save(self, entry: RememberedEntry) -> str:
        self._check_dir(create=True)
        final = self._path(entry.key)
        try:  # an existing entry others can read is reported, not silently replaced
            info = os.lstat(final)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISREG(info.st_mode):
                raise _Refused(f"{final} is not a regular file")
            _check_private(final, info, "file")
        payload = json.dumps(entry._data(), sort_keys=True).encode()
        self._remove_stale_temps(final)
        temp = final.with_name(f".{final.stem}.{os.urandom(6).hex()}.tmp")
        flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        fd = os.open(temp, flags, 0o600)  # 0600 from creation: never readable by others
        try:
            try:
                _write_all(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_dir(self.directory)
        return str(final)

    def delete(self, key: str) -> bool:
        try:
            if not self._check_dir(create=False):
                return False
        except _Refused as refused:
            _warn_refused(str(refused))
            return False
        path = self._path(key)
        self._remove_stale_temps(path, older_than=0.0)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        _fsync_dir(self.directory)
        return True

    def delete_all(self) -> int:
        try:
            if not self._check_dir(create=False):
                return 0
        except _Refused as refused:
            _warn_refused(str(refused))
            return 0
        count = 0
        for path in self.directory.iterdir():
            name = path.name
            if name.endswith(".json") and not name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    count += 1
            elif name.startswith(".") and name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        return count

    def _remove_stale_temps(self, final: Path, older_than: float = _STALE_TEMP_SECONDS) -> None:
        """Temporary files left by a crashed writer are never read; clear the old ones."""
        now = time.time()
        for temp in self.directory.glob(f".{final.stem}.*.tmp"):
            with contextlib.suppress(OSError):
                if now - os.lstat(temp).st_mtime >= older_than:
                    os.unlink(temp)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    if not _POSIX:
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check_private(path: Path, info: os.stat_result, kind: str) -> None:
    if not _POSIX:
        return
    if info.st_uid != os.getuid():
        raise _Refused(f"the {kind} {path} belongs to another user")
    if info.st_mode & 0o077:
        raise _Refused(
            f"the {kind} {path} is open to other users (mode {stat.S_IMODE(info.st_mode):04o}; "
            f"it must be {'0700' if kind == 'directory' else '0600'})"
        )


def _warn_refused(reason: str) -> None:
    log.warning(
        "Not using the remembered-session store: %s. Nothing was read from it or written to it; "
        "fix the permissions, or delete it (nb_cognito.store.forget_all() or "
        "%%cognito_logout --forget-all).",
        reason,
    )


class _KeyringStore:
    """Entries in the OS keyring: service ``nb_cognito``, one item per entry, plus an index."""

    def __init__(self, module: Any, backend: Any) -> None:
        self.keyring = module
        self.backend = backend

    def location(self) -> str:
        return f"keyring ({_backend_name(self.backend)})"

    def _index(self) -> list[str]:
        raw = self.backend.get_password(SERVICE, _INDEX)
        try:
            keys = json.loads(raw) if raw else []
        except ValueError:
            keys = []
        return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []

    def _set_index(self, keys: list[str]) -> None:
        self.backend.set_password(SERVICE, _INDEX, json.dumps(sorted(set(keys))))

    def load_all(self) -> list[RememberedEntry]:
        entries = []
        for key in self._index():
            raw = self.backend.get_password(SERVICE, key)
            try:
                entry = RememberedEntry._from_data(json.loads(raw), self.location()) if raw else None
            except ValueError:
                entry = None
            if entry is not None:
                entries.append(entry)
        return entries

    def save(self, entry: RememberedEntry) -> str:
        self.backend.set_password(SERVICE, entry.key, json.dumps(entry._data(), sort_keys=True))
        index = self._index()
        if entry.key not in index:
            self._set_index([*index, entry.key])
        return self.location()

    def delete(self, key: str) -> bool:
        index = self._index()
        try:
            self.backend.delete_password(SERVICE, key)
            deleted = True
        except self.keyring.errors.PasswordDeleteError:
            deleted = False
        if key in index:
            self._set_index([k for k in index if k != key])
        return deleted

    def delete_all(self) -> int:
        count = 0
        for key in self._index():
            count += self.delete(key)
        with contextlib.suppress(self.keyring.errors.PasswordDeleteError):
            self.backend.delete_password(SERVICE, _INDEX)
        return count


_REFUSED_KEYRING_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def _backend_name(backend: Any) -> str:
    inner = getattr(backend, "backends", None)
    if type(backend).__name__ == "ChainerBackend" and inner:
        return ", ".join(_backend_name(b) for b in inner)
    name = type(backend).__module__.rsplit(".", 1)[-1]
    return name if name not in ("", "__main__") else type(backend).__name__


def _is_secure_keyring(backend: Any) -> bool:
    """False for the plaintext, fail and null backends (and chains holding one)."""
    kind = type(backend)
    if kind.__name__ == "ChainerBackend":
        inner = list(getattr(backend, "backends", None) or ())
        return bool(inner) and all(_is_secure_keyring(b) for b in inner)
    if kind.__module__.startswith(_REFUSED_KEYRING_MODULES) or "plaintext" in kind.__name__.lower():
        return False
    try:
        return float(backend.priority) > 0
    except Exception:  # a backend that cannot say is not used
        return False


def _keyring_wanted() -> bool:
    return os.environ.get(ENV_KEYRING, "").strip().lower() not in ("0", "false", "no", "off")


def _keyring_store() -> _KeyringStore | None:
    if not _keyring_wanted():
        return None
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    return _KeyringStore(keyring, backend) if _is_secure_keyring(backend) else None


def store_directory() -> Path:
    """Where entries go when no secure keyring is available."""
    explicit = os.environ.get(ENV_DIR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path("~/.local/share").expanduser()
    return root / "nb_cognito"


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
                    e.key for e in backend.load_all()
                    if e.user_pool_id == settings.user_pool_id and e.client_id == settings.client_id
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
        identity_id=state.identity_id or (
            known.identity_id if known and known.identity_pool_id == settings.identity_pool_id else None
        ),
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
        tokens = getattr(state, "tokens", None)
        if tokens is None or not state.identity_id:
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
