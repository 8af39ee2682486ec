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
session's Dask integration (:mod:`nb_cognito.integrations.dask`) registers it, and again at
every refresh, on the clusters meant to have it: the kernel's own LocalClusters (sealed, so
that a foreign client reading the scheduler gets nothing usable), clusters started from the
kernel (Dask Gateway), TLS schedulers, and schedulers named in ``dask_clusters`` or passed to
:func:`register_plugin`. Any other scheduler gets nothing and a one-time warning (docs/dask.md).

Workers need nb_cognito installed (``pip install "nb-cognito[dask]"``): the plugin is pickled
by reference. The credentials travel inside the plugin, in Dask's messages: use TLS for a
cluster whose connections leave the machine (see the README).
"""

from __future__ import annotations

from typing import Any

from nb_cognito.integrations.dask_worker import (
    PLUGIN_NAME,
    PushedCredentials,
    WorkerEndpoint,
    worker_endpoint,
)
from nb_cognito.integrations.dask_worker import CognitoCredentials as _CredentialsPlugin

__all__ = [
    "PLUGIN_NAME",
    "CognitoCredentials",
    "PushedCredentials",
    "WorkerEndpoint",
    "register_plugin",
    "worker_endpoint",
]

_CURRENT: Any = object()


def _kernel_credentials() -> PushedCredentials | None:
    from nb_cognito.exceptions import AuthError
    from nb_cognito.kernel import existing_session

    session = existing_session()
    if session is None or not session.is_signed_in:
        return None
    try:
        return PushedCredentials.from_session(session)
    except AuthError:
        return None


class CognitoCredentials(_CredentialsPlugin):
    """A WorkerPlugin carrying the kernel session's AWS credentials to every worker.

    ``CognitoCredentials()`` takes the kernel's current credentials (none while nobody is
    signed in: the workers then answer "not signed in"). ``credentials=None`` withdraws them.
    """

    def __init__(
        self, credentials: PushedCredentials | None = _CURRENT, *, sealed: bytes | None = None
    ) -> None:
        if sealed is not None:  # sealed_for_own_workers(): the credentials travel only sealed
            super().__init__(None, sealed=sealed)
            return
        super().__init__(_kernel_credentials() if credentials is _CURRENT else credentials)


def register_plugin(client: Any) -> None:
    """Opt ``client``'s scheduler in: its workers get the credentials now and at every refresh.

    For a scheduler the kernel did not start and that is not TLS (its owner can read the
    credentials there): say so only for a cluster you trust. The ``dask_clusters`` setting
    does the same by address. Without a Dask integration in the kernel (a session made with
    ``integrations=()``), it registers the current credentials once.
    """
    from nb_cognito.integrations.dask import open_integrations

    integrations = open_integrations()
    if not integrations:
        client.register_plugin(CognitoCredentials())
        return
    for integration in integrations:
        integration.opt_in(client)
