"""Credentials sealed for the kernel's own ``LocalCluster`` workers, and for nobody else.

A plain-TCP ``LocalCluster`` scheduler on ``127.0.0.1`` accepts any local client, and keeps
every registered worker plugin where such a client can read it
(``client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.worker_plugins)``). So the
credentials sent to the kernel's own cluster travel sealed (Fernet: AES-CBC with an HMAC) with
a key that only the kernel and its LocalCluster worker processes (the children its nannies
start) can read: a 0600 file named by the kernel's pid, in a 0700 directory of the user's,
which a worker whose parent is the kernel reads. (Where no such directory can be had, the key
goes into the kernel's environment, ``NB_COGNITO_DASK_KEY``, which workers started later
inherit.) The scheduler holds ciphertext.

What this does not stop: a client that can connect to the scheduler can run code on the
workers, and the workers hold the key and the credentials (see docs/dask.md: a
``LocalCluster(security=True)`` refuses such a client altogether).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import stat
import tempfile
from typing import Any

from nb_cognito.environment import EnvironmentVariables as Env

__all__ = ["NO_KEY", "WRONG_KEY", "kernel_key", "seal", "unseal"]

NO_KEY = (
    "This Dask worker got sealed credentials but has no key to open them: it was not started by "
    "the nannies of a LocalCluster made in the signed-in kernel. Restart the cluster from the "
    "kernel, or name its scheduler in the dask_clusters setting to send it the credentials in clear."
)
WRONG_KEY = (
    "This Dask worker got sealed credentials from another kernel than the one that started it: "
    "restart the cluster from the kernel that is signed in."
)


def _key_directory() -> str | None:
    """The user's private directory for key files (None if it is not safely ours)."""
    base = os.environ.get(Env.XDG_RUNTIME_DIR) or tempfile.gettempdir()
    path = os.path.join(base, f"nb-cognito-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # squatted or loosened by someone else: write no key there, read none
    return path


def _key_file(pid: int) -> str | None:
    directory = _key_directory()
    return None if directory is None else os.path.join(directory, f"dask-{pid}.key")


_written: dict[str, str] = {}  # the key file of this process: its path and the key it holds


def _write_key_file(key: str) -> bool:
    """Write the key file of this process (False: no private directory for it)."""
    path = _key_file(os.getpid())
    if path is None:
        return False
    if _written.get(path) == key:
        return True
    partial = f"{path}.{os.urandom(6).hex()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    os.replace(partial, path)  # over a dead process's file with our pid, if any
    if path not in _written:
        atexit.register(_remove_key_file, path)
    _written[path] = key
    return True


def _remove_key_file(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _read_parents_key() -> str | None:
    """The key file of this process's parent (a LocalCluster worker's parent is the kernel)."""
    path = _key_file(os.getppid())
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd) as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None
        return handle.read().strip() or None


_key: list[str] = []  # this process's key, once made


def kernel_key() -> str:
    """The kernel's sealing key, made on first use and written to this process's key file,
    which its LocalCluster workers (its children) read. Only when no private directory can
    hold that file does the key go into the environment instead, for workers started later."""
    from cryptography.fernet import Fernet

    from nb_cognito.redaction import known_secrets

    if not _key:
        _key.append(os.environ.get(Env.NB_COGNITO_DASK_KEY) or Fernet.generate_key().decode("ascii"))
    key = _key[0]
    known_secrets.add(key)
    try:
        written = _write_key_file(key)
    except OSError:
        written = False
    if not written and os.environ.get(Env.NB_COGNITO_DASK_KEY) != key:
        os.environ[Env.NB_COGNITO_DASK_KEY] = key
        import logging

        logging.getLogger("nb_cognito").warning(
            "nb_cognito could not write its Dask key file in a private directory: the key is in "
            "the environment instead (restart LocalClusters made before sign-in)."
        )
    return key


def seal(fields: dict[str, Any]) -> bytes:
    """``fields`` (JSON values) encrypted with the kernel's key."""
    from cryptography.fernet import Fernet

    return Fernet(kernel_key().encode("ascii")).encrypt(json.dumps(fields).encode("utf-8"))


def unseal(blob: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """On a worker: the fields sealed in ``blob``, or None and the reason it cannot open them."""
    from cryptography.fernet import Fernet, InvalidToken

    keys = [key for key in (os.environ.get(Env.NB_COGNITO_DASK_KEY), _read_parents_key()) if key]
    if not keys:
        return None, NO_KEY
    for key in keys:
        try:
            return json.loads(Fernet(key.encode("ascii")).decrypt(blob)), None
        except (InvalidToken, ValueError):
            continue
    return None, WRONG_KEY
