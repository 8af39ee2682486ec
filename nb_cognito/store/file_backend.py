"""The file store: one JSON file per entry, mode 0600 in a 0700 directory.

Written atomically (a 0600 temporary file in the same directory, fsync, ``os.replace``), as
botocore's ``JSONFileCache``. A file or directory that others can read or write, or that
someone else owns, is refused with a warning: nothing is read from it or written to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import time
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
        flags = (
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        )
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
