"""One remembered sign-in at a time across processes: several kernels of one user take turns.

With refresh-token rotation, a refresh invalidates the token every other kernel holds. The
kernels that share a remembered sign-in therefore redeem it one at a time, under an exclusive
``flock`` on a small 0600 file in the store directory, and each reads the newest token from
the store while it holds the lock. The lock dies with its process, so a crash never leaves it
held. Where no such lock can be had (a directory that is not ours, no ``fcntl``), a kernel goes
on alone: a missing lock costs coordination, never a sign-in.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["exclusive"]

log = logging.getLogger("nb_cognito")

try:
    import fcntl
except ImportError:  # Windows: no flock; each kernel refreshes on its own
    fcntl = None  # type: ignore[assignment]


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
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
