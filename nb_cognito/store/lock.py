"""One remembered sign-in at a time across processes: several kernels of one user take turns.

With refresh-token rotation, a refresh invalidates the token every other kernel holds. The
kernels that share a remembered sign-in therefore redeem it one at a time, under an exclusive
``flock`` on a small 0600 file in the store directory, and each reads the newest token from
the store while it holds the lock. The lock dies with its process, so a crash never leaves it
held; but a process that is stopped (``SIGSTOP``, a debugger) keeps it. So a kernel waits at
most :data:`WAIT_SECONDS`, then raises :class:`LockHeldError` naming the holder's pid (each
holder writes its pid into the lock file) and what to do; the error is retryable, so the
remembered session is kept and nobody is signed out. Where no such lock can be had (a
directory that is not ours, no ``fcntl``), a kernel goes on alone: a missing lock costs
coordination, never a sign-in.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from nb_cognito.exceptions import AuthError

__all__ = ["WAIT_SECONDS", "LockHeldError", "exclusive"]

WAIT_SECONDS = 10.0  # the longest a kernel waits for another process that holds the lock
_POLL_SECONDS = 0.05

log = logging.getLogger("nb_cognito")

try:
    import fcntl
except ImportError:  # Windows: no flock; each kernel refreshes on its own
    fcntl = None  # type: ignore[assignment]


class LockHeldError(AuthError):
    """Another process held the remembered sign-in's lock for :data:`WAIT_SECONDS` (retryable)."""

    retryable = True


def _private_directory(directory: Path) -> bool:
    """Create ``directory`` 0700 if needed; True if it is a real directory of ours, private."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(directory)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    )


@contextlib.contextmanager
def exclusive(directory: Path, key: str) -> Iterator[bool]:
    """Hold the cross-process lock of entry ``key`` in ``directory``; yields True if held."""
    if fcntl is None or not _private_directory(directory):
        yield False
        return
    name = ".lock-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    try:
        fd = os.open(directory / name, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as error:
        log.debug("No cross-process lock for the remembered session: %s", error.strerror)
        yield False
        return
    try:
        if not _acquire(fd, WAIT_SECONDS):
            raise _held_error(_holder(fd))
        with contextlib.suppress(OSError):  # who holds it, for the next one's message
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield True
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, seconds: float) -> bool:
    """Take the lock, waiting at most ``seconds`` (real time: it bounds a wait on another process)."""
    assert fcntl is not None
    end = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= end:
                return False
            time.sleep(_POLL_SECONDS)


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _is_stopped(pid: int) -> bool:
    try:  # Linux: the state is the field after the command name in parentheses
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rpartition(b")")[2].split()[0] in (b"T", b"t")
    except (OSError, IndexError):
        return False


def _held_error(pid: int | None) -> LockHeldError:
    if pid is None:
        who, fix = "Another process", "Find the other kernel or process of this user that is stuck"
    else:
        state = ", stopped" if _is_stopped(pid) else ""
        who = f"Another process (pid {pid}{state})"
        fix = f"If process {pid} is stopped, resume it (kill -CONT {pid}) or end it (kill {pid})"
    return LockHeldError(
        f"{who} has held the lock of this remembered sign-in for over {WAIT_SECONDS:g} s, so "
        "nb_cognito stopped waiting for it. The remembered session is kept.",
        recovery_suggestion=f"{fix}, then try again (%cognito_login); or sign in with your password.",
    )
