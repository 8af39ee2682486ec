"""The worker side of Dask support: a plugin that carries AWS credentials, and the loopback
endpoint that serves them on each worker (see :mod:`nb_cognito.dask` for the story).

Here, below the kernel: the session's Dask integration (:mod:`nb_cognito.dask.integration`)
registers this plugin; the public :class:`nb_cognito.dask.CognitoCredentials` adds only the
kernel session's credentials as its default.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from nb_cognito import forksafe
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.integrations.credentials_server import (
    ENV_TOKEN,
    ENV_TOKEN_FILE,
    ENV_URI,
    credentials_body,
    make_server,
    remove_token_file,
    write_token_file,
)

__all__ = ["PLUGIN_NAME", "CognitoCredentials", "PushedCredentials", "worker_endpoint"]

PLUGIN_NAME = "nb-cognito-credentials"
log = logging.getLogger("nb_cognito")

# A random id of this process: a plugin set up in the process that made it (a LocalCluster
# with processes=False) does nothing, since that process has the session itself.
_ORIGIN = secrets.token_hex(8)

_SIGNED_OUT = (
    "Nobody is signed in to nb_cognito in the kernel that drives this Dask worker: sign in there "
    "(%cognito_login or nb_cognito.sign_in()) and the credentials follow to every worker."
)
_EXPIRED = (
    "The AWS credentials the kernel pushed to this Dask worker have expired and no new ones "
    "came: check that the kernel is running and still signed in (%cognito_session)."
)


@dataclass(frozen=True)
class PushedCredentials:
    """The AWS credentials that travel to workers: nothing else of the session.

    ``expires_at`` is a Unix time on the kernel machine's clock (SDKs trust the local clock
    the same way with the ``Expiration`` of a container endpoint).
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: float

    @classmethod
    def from_session(cls, session: Any, creds: Any = None) -> PushedCredentials:
        """``creds`` (default: the session's current ones, refreshed if due; raises its
        AuthError if none), with the expiry moved to this machine's clock."""
        creds = session.current_credentials() if creds is None else creds
        return cls(
            creds.access_key_id,
            creds.secret_access_key,
            creds.session_token,
            time.time() + session.seconds_left(creds),
        )

    @property
    def access_key_hint(self) -> str:
        return "…" + self.access_key_id[-4:]


class CognitoCredentials(WorkerPlugin):
    """A WorkerPlugin carrying AWS credentials to every worker (``None`` withdraws them).

    ``sealed``: the credentials encrypted for the kernel's own LocalCluster workers, which
    alone hold the key (:mod:`nb_cognito.dask.seal`); ``credentials`` is then None.
    :class:`nb_cognito.dask.CognitoCredentials` is the public one, which takes the kernel
    session's current credentials by default.
    """

    name = PLUGIN_NAME
    idempotent = False

    def __init__(self, credentials: PushedCredentials | None = None, *, sealed: bytes | None = None) -> None:
        self.credentials = credentials
        self.sealed = sealed
        self.origin = _ORIGIN

    def setup(self, worker: Any) -> None:
        if self.origin == _ORIGIN:
            return  # the kernel's own process (threads, not processes): it has the session
        if self.sealed is None:
            worker_endpoint().update(self.credentials)
            return
        from nb_cognito.dask.seal import unseal

        fields, refusal = unseal(self.sealed)
        if refusal is not None:
            log.warning("nb_cognito: %s", refusal)
        worker_endpoint().update(PushedCredentials(**fields) if fields else None, refusal=refusal)

    @classmethod
    def sealed_for_own_workers(cls, credentials: PushedCredentials) -> CognitoCredentials:
        """A plugin whose credentials only the kernel's own LocalCluster workers can open."""
        from dataclasses import asdict

        from nb_cognito.dask.seal import seal

        return cls(None, sealed=seal(asdict(credentials)))

    def teardown(self, worker: Any) -> None:
        # Registering again calls teardown then setup in one step of the worker's loop; only
        # an unregistration (nothing replaced the plugin) withdraws the credentials.
        if self.origin == _ORIGIN:
            return

        def withdraw_unless_replaced() -> None:
            if PLUGIN_NAME not in getattr(worker, "plugins", {}):
                worker_endpoint().update(None)

        try:
            asyncio.get_running_loop().call_soon(withdraw_unless_replaced)
        except RuntimeError:  # no loop: the worker is closing
            worker_endpoint().update(None)

    def __repr__(self) -> str:
        creds = self.credentials
        if self.sealed is not None:
            return "<CognitoCredentials sealed for the kernel's own workers>"
        return f"<CognitoCredentials {creds.access_key_hint if creds else 'none (signed out)'}>"


class WorkerEndpoint:
    """The loopback container endpoint of one worker process (see the module docstring)."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)
        self.path = "/nb-cognito/" + secrets.token_urlsafe(12)
        self._lock = forksafe.Lock()
        self._credentials: PushedCredentials | None = None
        self._refusal: str | None = None
        self._httpd: Any = None
        self._token_file: str | None = None
        self._session: Any = None

    @property
    def credentials(self) -> PushedCredentials | None:
        return self._credentials

    @property
    def refusal(self) -> str:
        """Why there are no credentials (signed out, unless the push could not be opened)."""
        return self._refusal or _SIGNED_OUT

    expired_message = _EXPIRED

    def answer(self) -> tuple[int, dict[str, str]]:
        creds = self._credentials
        if creds is None:
            return 401, {"code": "SignedOutError", "message": self.refusal}
        left = creds.expires_at - time.time()
        if left <= 0:
            return 401, {"code": "SessionExpiredError", "message": _EXPIRED}
        return 200, credentials_body(creds, left)

    def update(self, credentials: PushedCredentials | None, refusal: str | None = None) -> None:
        """Serve ``credentials`` from now on (None: answer "not signed in", or ``refusal``).

        At every change (a refresh, a sign-out, another user) the credentials this worker's
        consumers cached go too (:mod:`nb_cognito.dask.worker_caches`); boto3's
        default session reads the endpoint at every request.
        """
        from nb_cognito.dask.worker_caches import (
            EndpointSession,
            install_boto3_provider,
            reset_caches,
        )
        from nb_cognito.redaction import known_secrets

        with self._lock:
            previous, self._credentials = self._credentials, credentials
            self._refusal = refusal
            if credentials is not None:
                known_secrets.add(credentials.secret_access_key, credentials.session_token)
            if previous is not None and previous != credentials:
                known_secrets.discard(previous.secret_access_key, previous.session_token)
            if self._httpd is None:
                self._start()
            if self._session is None:
                self._session = EndpointSession(self)
        if credentials != previous:
            reset_caches()
        try:
            install_boto3_provider(self._session)
        except Exception:  # never break the worker: the endpoint still serves
            log.warning(
                "nb_cognito could not put its provider in this worker's boto3 session.", exc_info=True
            )
        log.info("nb_cognito: this worker now serves %r", credentials or "no credentials")

    def _start(self) -> None:
        self._httpd = make_server(self)
        threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="nb-cognito-worker-credentials",
            daemon=True,
        ).start()
        self._token_file = write_token_file(self.token)
        os.environ.pop(Env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, None)
        os.environ.update(
            {
                ENV_URI: f"http://127.0.0.1:{self._httpd.server_address[1]}{self.path}",
                ENV_TOKEN: self.token,
                ENV_TOKEN_FILE: self._token_file,
            }
        )

    def close(self) -> None:
        with self._lock:
            httpd, self._httpd = self._httpd, None
            token_file, self._token_file = self._token_file, None
            self._credentials = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if token_file is not None:
            remove_token_file(token_file)
        for name in (ENV_URI, ENV_TOKEN, ENV_TOKEN_FILE):
            os.environ.pop(name, None)

    def __repr__(self) -> str:
        state = "serving" if self._httpd is not None else "not started"
        return f"<WorkerEndpoint {state}, {self._credentials!r}>"


_endpoint_lock = forksafe.Lock()
_endpoint: WorkerEndpoint | None = None


def worker_endpoint() -> WorkerEndpoint:
    """This process's worker endpoint (made on first use; lives as long as the process)."""
    global _endpoint
    with _endpoint_lock:
        if _endpoint is None:
            _endpoint = WorkerEndpoint()
        return _endpoint
