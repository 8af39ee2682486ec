"""What ``nb_cognito.dask`` offers: the :class:`CognitoCredentials` worker plugin with the kernel's
current credentials, and :func:`register_plugin` to opt a scheduler in (see the package's docstring)."""

from __future__ import annotations

from typing import Any

# Re-exported: nb_cognito.dask resolves its public names from here.
from nb_cognito.dask.worker import PLUGIN_NAME as PLUGIN_NAME
from nb_cognito.dask.worker import CognitoCredentials as _CredentialsPlugin
from nb_cognito.dask.worker import PushedCredentials as PushedCredentials
from nb_cognito.dask.worker import WorkerEndpoint as WorkerEndpoint
from nb_cognito.dask.worker import worker_endpoint as worker_endpoint

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
    from nb_cognito.dask.integration import open_integrations

    integrations = open_integrations()
    if not integrations:
        client.register_plugin(CognitoCredentials())
        return
    for integration in integrations:
        integration.opt_in(client)
