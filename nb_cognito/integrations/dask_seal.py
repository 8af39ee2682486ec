"""Credentials sealed for the kernel's own ``LocalCluster`` workers, and for nobody else.

A plain-TCP ``LocalCluster`` scheduler on ``127.0.0.1`` accepts any local client, and keeps
every registered worker plugin where such a client can read it
(``client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.worker_plugins)``). So the
credentials sent to the kernel's own cluster travel sealed (Fernet: AES-CBC with an HMAC) with
a key that lives only in the kernel's environment (``NB_COGNITO_DASK_KEY``), and that only the
worker processes the kernel's nannies start inherit. The scheduler holds ciphertext.

What this does not stop: a client that can connect to the scheduler can run code on the
workers, and the workers hold the key and the credentials (see docs/dask.md: a
``LocalCluster(security=True)`` refuses such a client altogether).
"""

from __future__ import annotations

import json
import os
from typing import Any

from nb_cognito.environment import EnvironmentVariables as Env

__all__ = ["NO_KEY", "WRONG_KEY", "kernel_key", "seal", "unseal"]

NO_KEY = (
    "This Dask worker got sealed credentials but has no key to open them: it was not started by "
    "the nannies of a LocalCluster made in the signed-in kernel (or it was started before "
    "nb_cognito was loaded there). Restart the cluster from the kernel, or name its scheduler in "
    "the dask_clusters setting to send it the credentials in clear."
)
WRONG_KEY = (
    "This Dask worker got sealed credentials from another kernel than the one that started it: "
    "restart the cluster from the kernel that is signed in."
)


def kernel_key() -> str:
    """The kernel's sealing key (made on first use and put in this process's environment, so
    that the worker processes of its LocalClusters inherit it)."""
    from cryptography.fernet import Fernet

    from nb_cognito.redaction import known_secrets

    key = os.environ.get(Env.NB_COGNITO_DASK_KEY)
    if not key:
        key = Fernet.generate_key().decode("ascii")
        os.environ[Env.NB_COGNITO_DASK_KEY] = key
    known_secrets.add(key)
    return key


def seal(fields: dict[str, Any]) -> bytes:
    """``fields`` (JSON values) encrypted with the kernel's key."""
    from cryptography.fernet import Fernet

    return Fernet(kernel_key().encode("ascii")).encrypt(json.dumps(fields).encode("utf-8"))


def unseal(blob: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """On a worker: the fields sealed in ``blob``, or None and the reason it cannot open them."""
    from cryptography.fernet import Fernet, InvalidToken

    key = os.environ.get(Env.NB_COGNITO_DASK_KEY)
    if not key:
        return None, NO_KEY
    try:
        fields = json.loads(Fernet(key.encode("ascii")).decrypt(blob))
    except (InvalidToken, ValueError):
        return None, WRONG_KEY
    return fields, None
