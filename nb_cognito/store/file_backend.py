"""The file store: one JSON file per entry, mode 0600 in a 0700 directory.

Written atomically (a 0600 temporary file in the same directory, fsync, ``os.replace``), as
botocore's ``JSONFileCache``. A file or directory that others can read or write, or that
someone else owns, is refused with a warning: nothing is read from it or written to it. So is
a store directory that is a symbolic link (it is never followed), and anything in it that is
not a regular file (a FIFO named ``*.json`` is not even waited on). Only files named as ours
(40 hex digits ``.json``) are read or deleted: the user's own ``*.json`` files are left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.store.entry import RememberedEntry

log = logging.getLogger("nb_cognito")

ENV_DIR = Env.NB_COGNITO_STORE_DIR
_MAX_BYTES = 64 * 1024
_STALE_TEMP_SECONDS = 600.0
_POSIX = os.name == "posix"


def store_directory() -> Path:
    """Where entries go when no secure keyring is available."""
    explicit = os.environ.get(ENV_DIR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get(Env.XDG_DATA_HOME, "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path("~/.local/share").expanduser()
    return root / "nb_cognito"


class StoreRefused(Exception):
    """The store (or one file of it) is not safe to use; the message says why (no secret)."""


# Our own file names: only these are read, and only these are deleted (never the user's *.json).
_ENTRY_NAME = re.compile(r"[0-9a-f]{40}\.json\Z")
_TEMP_NAME = re.compile(r"\.([0-9a-f]{40})\.[0-9a-f]{12}\.tmp\Z")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Work through one descriptor of the directory (openat & co.), so that the directory checked
# is the directory used, even if someone swaps a symlink in between.
_DIR_FD = _POSIX and hasattr(os, "O_DIRECTORY") and {os.open, os.unlink, os.replace} <= os.supports_dir_fd


class _Directory:
    """The store directory, opened once without following a symbolic link, and checked."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    def _at(self, name: str) -> tuple[str | Path, dict[str, int]]:
        return (name, {"dir_fd": self.fd}) if self.fd is not None else (self.path / name, {})

    def names(self) -> list[str]:
        return sorted(os.listdir(self.fd if self.fd is not None else self.path))

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        where, kwargs = self._at(name)
        return os.open(where, flags | _NOFOLLOW | _CLOEXEC, mode, **kwargs)

    def lstat(self, name: str) -> os.stat_result:
        where, kwargs = self._at(name)
        return os.stat(where, follow_symlinks=False, **kwargs)

    def unlink(self, name: str) -> None:
        where, kwargs = self._at(name)
        os.unlink(where, **kwargs)

    def replace(self, source: str, target: str) -> None:
        if self.fd is None:
            os.replace(self.path / source, self.path / target)
        else:
            os.replace(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def fsync(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.fd)


class FileStore:
    """One JSON file per entry, 0600 in a 0700 directory, replaced atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def location(self) -> str:
        return str(self.directory)

    # -- the checks --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _opened(self, *, create: bool) -> Iterator[_Directory | None]:
        """The directory if it is ours and private; None if it does not exist. Raises StoreRefused.

        A symbolic link is refused, not followed: someone else's link to a private directory
        would otherwise have ``forget_all()`` empty it.
        """
        path = self.directory
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            yield None
            return
        if stat.S_ISLNK(info.st_mode):
            raise StoreRefused(f"{path} is a symbolic link (set {ENV_DIR} to the real directory)")
        if not stat.S_ISDIR(info.st_mode):
            raise StoreRefused(f"{path} is not a directory")
        if not _DIR_FD:
            _check_private(path, info, "directory")
            yield _Directory(path, None)
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            yield None
            return
        except OSError as error:  # ELOOP: swapped for a link since the lstat
            raise StoreRefused(f"{path} cannot be opened safely ({error.strerror})") from None
        try:
            opened = os.fstat(fd)
            if not stat.S_ISDIR(opened.st_mode):
                raise StoreRefused(f"{path} is not a directory")
            _check_private(path, opened, "directory")
            yield _Directory(path, fd)
        finally:
            os.close(fd)

    def _name(self, key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:40] + ".json"

    # -- reading -----------------------------------------------------------------------------

    def load_all(self) -> list[RememberedEntry]:
        with self._opened(create=False) as directory:
            if directory is None:
                return []
            entries = []
            for name in directory.names():
                if _ENTRY_NAME.match(name):
                    entry = self._read(directory, name)
                    if entry is not None:
                        entries.append(entry)
            return entries

    def _read(self, directory: _Directory, name: str) -> RememberedEntry | None:
        path = directory.path / name
        try:  # O_NONBLOCK: a FIFO named like an entry must not block the open
            fd = directory.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
        except OSError as error:  # e.g. ELOOP for a symlink
            warn_refused(f"{path} cannot be opened safely ({error.strerror})")
            return None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            try:
                if not stat.S_ISREG(info.st_mode):
                    raise StoreRefused(f"{path} is not a regular file")
                _check_private(path, info, "file")
            except StoreRefused as refused:
                warn_refused(str(refused))
                return None
            raw = file.read(_MAX_BYTES + 1)
        try:
            if len(raw) > _MAX_BYTES:
                raise ValueError("too large")
            entry = RememberedEntry.from_json(json.loads(raw), str(path))
        except (ValueError, RecursionError, OverflowError):  # one bad file never hides the others
            entry = None
        if entry is None:
            log.warning("Ignoring %s: it is not a remembered nb_cognito session.", path)
        return entry

    # -- writing -----------------------------------------------------------------------------

    def save(self, entry: RememberedEntry) -> str:
        with self._opened(create=True) as directory:
            if directory is None:
                raise StoreRefused(f"{self.directory} could not be created")
            final = self._name(entry.key)
            try:  # an existing entry others can read is reported, not silently replaced
                info = directory.lstat(final)
            except FileNotFoundError:
                pass
            else:
                if not stat.S_ISREG(info.st_mode):
                    raise StoreRefused(f"{directory.path / final} is not a regular file")
                _check_private(directory.path / final, info, "file")
            payload = json.dumps(entry.to_json(), sort_keys=True).encode()
            self._remove_stale_temps(directory, final)
            temp = f".{final[: -len('.json')]}.{os.urandom(6).hex()}.tmp"
            # 0600 from creation: never readable by others
            fd = directory.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                try:
                    _write_all(fd, payload)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                directory.replace(temp, final)
            except BaseException:
                with contextlib.suppress(OSError):
                    directory.unlink(temp)
                raise
            directory.fsync()
            return str(directory.path / final)

    def delete(self, key: str) -> bool:
        try:
            with self._opened(create=False) as directory:
                if directory is None:
                    return False
                name = self._name(key)
                self._remove_stale_temps(directory, name, older_than=0.0)
                try:
                    directory.unlink(name)
                except FileNotFoundError:
                    return False
                directory.fsync()
                return True
        except StoreRefused as refused:
            warn_refused(str(refused))
            return False

    def delete_all(self) -> int:
        """Delete our entries and temporary files; the user's own files stay untouched."""
        try:
            with self._opened(create=False) as directory:
                if directory is None:
                    return 0
                count = 0
                for name in directory.names():
                    ours = _ENTRY_NAME.match(name)
                    if ours or _TEMP_NAME.match(name):
                        with contextlib.suppress(FileNotFoundError):
                            directory.unlink(name)
                            count += 1 if ours else 0
                directory.fsync()
                return count
        except StoreRefused as refused:
            warn_refused(str(refused))
            return 0

    def _remove_stale_temps(
        self, directory: _Directory, final: str, older_than: float = _STALE_TEMP_SECONDS
    ) -> None:
        """Temporary files left by a crashed writer are never read; clear the old ones."""
        now = time.time()
        stem = final[: -len(".json")]
        for name in directory.names():
            match = _TEMP_NAME.match(name)
            if match and match.group(1) == stem:
                with contextlib.suppress(OSError):
                    if now - directory.lstat(name).st_mtime >= older_than:
                        directory.unlink(name)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _check_private(path: Path, info: os.stat_result, kind: str) -> None:
    if not _POSIX:
        return
    if info.st_uid != os.getuid():
        raise StoreRefused(f"the {kind} {path} belongs to another user")
    if info.st_mode & 0o077:
        raise StoreRefused(
            f"the {kind} {path} is open to other users (mode {stat.S_IMODE(info.st_mode):04o}; "
            f"it must be {'0700' if kind == 'directory' else '0600'})"
        )


def warn_refused(reason: str) -> None:
    log.warning(
        "Not using the remembered-session store: %s. Nothing was read from it or written to it; "
        "fix the permissions, or delete it (nb_cognito.store.forget_all() or "
        "%%cognito_logout --forget-all).",
        reason,
    )
