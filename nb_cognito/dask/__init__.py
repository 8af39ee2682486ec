"""Dask: the kernel's AWS credentials on every worker, on this machine and on others.

>>> client.register_plugin(nb_cognito.dask.CognitoCredentials())   # by hand; the session's
...                                                               # Dask integration does it for you

:class:`CognitoCredentials` is a ``distributed`` :class:`~distributed.diagnostics.plugin.WorkerPlugin`
that carries the session's current AWS credentials (key, secret, session token, expiry: never
the refresh or ID token) over Dask's own connection. The scheduler keeps the last one and
hands it to every worker that joins later. On each worker it makes the credentials reachable
the way they are in the kernel:

* a loopback container-credentials endpoint (``127.0.0.1``, random port, path and token, the
  token also in a 0600 file) named by ``AWS_CONTAINER_CREDENTIALS_FULL_URI``,
  ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` and ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` in the
  worker's environment, so the worker's boto3 default session, s3fs (pandas,
  ``dask.dataframe``), pyarrow, polars and the worker's child processes all find them;
* the endpoint lives as long as the worker process, with one URL: a new push (a refresh, a
  sign-in as another user) changes what it serves, not where.

Registering the plugin again (same name) replaces the credentials on every worker; a plugin
carrying no credentials (sign-out) withdraws them: the endpoint then answers a readable
401, and the worker's boto3 default session raises a clear error naming sign-in. The
session's Dask integration (:mod:`nb_cognito.dask.integration`) registers it, and again at
every refresh, on the clusters meant to have it: the kernel's own LocalClusters (sealed, so
that a foreign client reading the scheduler gets nothing usable), clusters started from the
kernel (Dask Gateway), TLS schedulers, and schedulers named in ``dask_clusters`` or passed to
:func:`register_plugin`. Any other scheduler gets nothing and a one-time warning (docs/dask.md).

Workers need nb_cognito installed (``pip install "nb-cognito[dask]"``): the plugin is pickled
by reference. The credentials travel inside the plugin, in Dask's messages: use TLS for a
cluster whose connections leave the machine (see the README).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "PLUGIN_NAME",
    "CognitoCredentials",
    "PushedCredentials",
    "WorkerEndpoint",
    "register_plugin",
    "worker_endpoint",
]


def __getattr__(name: str) -> Any:
    """Resolved on first use (PEP 562): ``import nb_cognito.dask`` does not import ``distributed``,
    so the kernel's Dask integration can wait for it to be imported."""
    if name in __all__:
        return getattr(importlib.import_module(".public", __name__), name)
    raise AttributeError(f"module 'nb_cognito.dask' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
