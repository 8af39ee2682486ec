"""Cognito credentials for child processes, through a loopback container-credentials endpoint.

Opt-in (``subprocess_credentials=True``). While someone is signed in, a small HTTP server on
``127.0.0.1`` (random port, random path) answers ``GET`` with the session's current
credentials in the format of the ECS/EKS container endpoint, and two variables tell every
AWS SDK in a child process where to ask::

    AWS_CONTAINER_CREDENTIALS_FULL_URI   http://127.0.0.1:PORT/PATH
    AWS_CONTAINER_AUTHORIZATION_TOKEN    a random bearer token (compared in constant time)

So ``subprocess.run(["aws", "s3", "ls"])``, a ``python -c`` child or a ``multiprocessing``
worker gets credentials that keep refreshing: each fetch asks the session, which refreshes
when due. Another local user without the token gets 403. Signed out or expired: a JSON error
with a non-2xx status, never credentials. On sign-out the server stops and the variables go.

In a child, the SDK's own chain still comes first: ``AWS_ACCESS_KEY_ID`` in its environment
or a default profile in ``~/.aws`` wins over the container endpoint. While the server runs,
``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` and ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``
(which botocore would prefer) are set aside, and put back when it stops.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets as _random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.auth.integration import Integration, SessionChange
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    ServiceUnavailableError,
    SessionExpiredError,
    SignedOutError,
)
from nb_cognito.integrations.process_env import EnvironmentWrites
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.models import AWSCredentials

__all__ = ["ENV_TOKEN", "ENV_URI", "ContainerEndpoint", "CredentialsServer"]

ENV_URI = Env.AWS_CONTAINER_CREDENTIALS_FULL_URI
ENV_TOKEN = Env.AWS_CONTAINER_AUTHORIZATION_TOKEN
# botocore prefers these over ours; they are set aside while the server runs.
_SHADOWED = (Env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, Env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)

MAX_CONCURRENT_REQUESTS = 8  # threads answering authorized requests
REQUEST_TIMEOUT = 10.0  # one total deadline for a request's line and headers, from accept

log = logging.getLogger("nb_cognito")


def _iso(moment: Any) -> str:
    import datetime as dt

    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_for(error: Exception) -> int:
    if isinstance(error, SignedOutError | SessionExpiredError):
        return 401
    if isinstance(error, ServiceUnavailableError):
        return 503
    return 500


def _make_server(owner: CredentialsServer) -> Any:
    """The loopback server: the token is checked as soon as the request line and headers are in.

    Slow or idle clients cannot starve it, each request has one total deadline, and
    ``shutdown()`` never waits for a client (see :mod:`nb_cognito.integrations.loopback_server`).
    """
    from nb_cognito.integrations.loopback_server import Answer, LoopbackServer, Request

    def authorize(request: Request) -> Answer | None:
        given = request.headers.get("authorization", "")
        if given[:7].lower() == "bearer ":
            given = given[7:]
        if not hmac.compare_digest(given.encode("utf-8", "replace"), owner.token.encode()):
            return 403, {"code": "AccessDenied", "message": "Missing or wrong token."}
        if request.method != "GET":
            return 405, {"code": "MethodNotAllowed", "message": "Only GET is supported."}
        if request.target.split("?", 1)[0] != owner.path:
            return 404, {"code": "NotFound", "message": "Unknown path."}
        return None

    def answer(request: Request) -> Answer:
        try:
            creds = owner.credentials()
        except AuthError as error:  # messages are redacted and secret-free
            return _status_for(error), {"code": type(error).__name__, "message": str(error)}
        return 200, {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token,
            "Expiration": _iso(creds.expiration),
        }

    return LoopbackServer(authorize, answer, deadline=REQUEST_TIMEOUT, max_workers=MAX_CONCURRENT_REQUESTS)


class CredentialsServer:
    """One loopback endpoint serving what ``credentials()`` returns (it raises :class:`AuthError`).

    ``env`` records the variables it writes, so they are never taken for the user's own.
    """

    def __init__(self, credentials: Callable[[], AWSCredentials], env: EnvironmentWrites) -> None:
        self.credentials = credentials
        self.env_writes = env
        self.token = _random.token_urlsafe(32)
        self.path = "/nb-cognito/" + _random.token_urlsafe(12)
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self._saved: dict[str, str] = {}
        self._env: dict[str, str] = {}

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The credentials endpoint is not running.")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.path}"

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def env(self) -> dict[str, str]:
        """The variables a child process needs (also set in ``os.environ`` while running)."""
        return {ENV_URI: self.url, ENV_TOKEN: self.token}

    def start(self) -> None:
        self._httpd = _make_server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="nb-cognito-credentials-endpoint",
            daemon=True,
        )
        self._thread.start()
        known_secrets.add(self.token)
        for name in _SHADOWED:
            if name in os.environ:
                self._saved[name] = os.environ.pop(name)
                log.warning("%s is set aside while the nb_cognito credentials endpoint runs.", name)
        for name in (ENV_URI, ENV_TOKEN):
            if name in os.environ and not self.env_writes.is_ours(name):
                self._saved[name] = os.environ[name]
        self._env = self.env()
        self.env_writes.write(self._env)
        log.info("Child processes now get Cognito credentials from a loopback endpoint.")

    def stop(self) -> None:
        self.env_writes.remove(self._env)
        for name, value in self._saved.items():
            os.environ.setdefault(name, value)
        self._env, self._saved = {}, {}
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        known_secrets.discard(self.token)

    def abandon(self) -> None:
        """In a forked child: drop the parent's server without shutting it down (its thread
        is not here to answer), and close this process's copy of its socket."""
        httpd, self._httpd, self._thread = self._httpd, None, None
        if httpd is not None:
            httpd.socket.close()

    def __repr__(self) -> str:
        state = f"on port {self._httpd.server_address[1]}" if self._httpd is not None else "stopped"
        return f"<CredentialsServer {state}>"


class ContainerEndpoint(Integration):
    """Runs a :class:`CredentialsServer` for the session while someone is signed in.

    On when ``settings.subprocess_credentials`` is; turned on or off at once by ``configure()``.
    """

    name = "container endpoint"

    def __init__(self, env: EnvironmentWrites | None = None) -> None:
        self.env = env if env is not None else EnvironmentWrites()
        self._session: CognitoSession | None = None
        self._server: CredentialsServer | None = None
        self._lock = forksafe.Lock()
        forksafe.register(self)

    @property
    def server(self) -> CredentialsServer | None:
        """The running endpoint, if any."""
        return self._server

    def attach(self, session: CognitoSession) -> None:
        self._session = session

    def signed_in(self, change: SessionChange) -> None:
        if change.settings is not None and change.settings.subprocess_credentials:
            self.start()
        else:
            self.stop()

    settings_changed = signed_in  # turned on or off while signed in

    def signed_out(self, change: SessionChange) -> None:
        self.stop()

    def close(self) -> None:
        self.stop()

    def start(self) -> CredentialsServer:
        """Start the endpoint (idempotent)."""
        session = self._session
        if session is None:
            raise ConfigurationError("This container endpoint belongs to no session yet.")
        with self._lock:
            server = self._server
            if server is not None and server.running:
                return server
            if server is not None:
                server.stop()
            server = CredentialsServer(session.current_credentials, self.env)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            self._server = server
            return server

    def stop(self) -> None:
        """Stop the endpoint and remove its variables (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def after_fork_in_child(self) -> None:
        """The serving thread stayed in the parent: forget the server, never wait on it.

        The child's copy of the listening socket is closed; the parent's endpoint keeps serving,
        and the variables the child inherited still point at it.
        """
        server, self._server = self._server, None
        if server is not None:
            server.abandon()

    def __repr__(self) -> str:
        return f"<ContainerEndpoint {self._server!r}>"
