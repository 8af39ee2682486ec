"""The loopback credentials server behind a container endpoint (the kernel's
:class:`~nb_cognito.integrations.container_endpoint.ContainerEndpoint`, and each Dask worker's):
the bearer token checked before anything else, the answer in the ECS/EKS container format, the
0600 token file, and the variables a child process needs. It serves; when to run it is the
integration's job.
"""

from __future__ import annotations

import atexit
import contextlib
import hmac
import logging
import os
import secrets as _random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ServiceUnavailableError, SessionExpiredError, SignedOutError
from nb_cognito.integrations.process_env import EnvironmentWrites
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.models import AWSCredentials

__all__ = [
    "ENV_TOKEN",
    "ENV_TOKEN_FILE",
    "ENV_URI",
    "MAX_CONCURRENT_REQUESTS",
    "NOBODY_SIGNED_IN",
    "REQUEST_TIMEOUT",
    "CredentialsServer",
    "EndpointOwner",
    "credentials_body",
    "make_server",
    "remove_token_file",
    "write_token_file",
]

ENV_URI = Env.AWS_CONTAINER_CREDENTIALS_FULL_URI
ENV_TOKEN = Env.AWS_CONTAINER_AUTHORIZATION_TOKEN
# object_store (polars, deltalake) reads the token only from this file; botocore prefers it too.
ENV_TOKEN_FILE = Env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
# botocore prefers this over ours; it is set aside while the server runs.
_SHADOWED = (Env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,)

NOBODY_SIGNED_IN = (
    "Nobody is signed in to nb_cognito in the kernel (process {pid}) that serves these AWS "
    "credentials. Sign in there with %cognito_login or nb_cognito.sign_in(): this process then "
    "gets them from the same endpoint, with no restart."
)

_THREAD_NAME = "nb-cognito-credentials-endpoint"
MAX_CONCURRENT_REQUESTS = 8  # threads answering authorized requests
REQUEST_TIMEOUT = 10.0  # one total deadline for a request's line and headers, from accept

log = logging.getLogger("nb_cognito")


def _iso(moment: Any) -> str:
    import datetime as dt

    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials_body(creds: Any, seconds_left: float) -> dict[str, str]:
    """The container endpoint's answer for ``creds``, expiring ``seconds_left`` from now.

    The expiry is given on this machine's system clock, which is what a child's SDK compares
    with: the session keeps server time, and a child must refresh on time even when the
    machine's clock is off (or when the session runs on an injected clock).
    """
    import datetime as dt
    import time

    expiration = dt.datetime.fromtimestamp(time.time() + seconds_left, tz=dt.timezone.utc)
    return {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": _iso(expiration),
    }


_token_files: set[str] = set()


def write_token_file(token: str) -> str:
    """Write ``token`` to a new 0600 file in a private 0700 directory; removed at exit."""
    import tempfile

    directory = tempfile.mkdtemp(prefix="nb-cognito-")  # 0700, a name nobody else can guess
    path = os.path.join(directory, "container-token")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    if not _token_files:
        atexit.register(_remove_all_token_files)
    _token_files.add(path)
    return path


def remove_token_file(path: str) -> None:
    """Remove a file :func:`write_token_file` made, and its directory (idempotent)."""
    _token_files.discard(path)
    for remove, target in ((os.unlink, path), (os.rmdir, os.path.dirname(path))):
        with contextlib.suppress(OSError):
            remove(target)


def _remove_all_token_files() -> None:
    for path in list(_token_files):
        remove_token_file(path)


def _status_for(error: Exception) -> int:
    if isinstance(error, SignedOutError | SessionExpiredError):
        return 401
    if isinstance(error, ServiceUnavailableError):
        return 503
    return 500


class EndpointOwner(Protocol):
    """What the HTTP server asks of its owner (the kernel's endpoint, or a Dask worker's)."""

    token: str
    path: str

    def answer(self) -> tuple[int, dict[str, str]]: ...


def make_server(owner: EndpointOwner) -> Any:
    """The loopback server: the token is checked as soon as the request line and headers are in.

    Slow or idle clients cannot starve it, each request has one total deadline, and
    ``shutdown()`` never waits for a client (see :mod:`nb_cognito.loopback_server`).
    """
    from nb_cognito.loopback_server import Answer, LoopbackServer, Request

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
        return owner.answer()

    return LoopbackServer(authorize, answer, deadline=REQUEST_TIMEOUT, max_workers=MAX_CONCURRENT_REQUESTS)


class CredentialsServer:
    """One loopback endpoint serving what ``credentials()`` returns (it raises :class:`AuthError`).

    ``seconds_left(creds)`` says how long they stay valid in server time. ``env`` records the
    variables it writes, so they are never taken for the user's own.
    """

    def __init__(
        self,
        credentials: Callable[[], AWSCredentials],
        env: EnvironmentWrites,
        seconds_left: Callable[[AWSCredentials], float] | None = None,
    ) -> None:
        self.credentials = credentials
        self.seconds_left = seconds_left or _wall_clock_seconds_left
        self.env_writes = env
        self.token = _random.token_urlsafe(32)
        self.path = "/nb-cognito/" + _random.token_urlsafe(12)
        self._httpd: Any = None
        self._saved: dict[str, str] = {}
        self._env: dict[str, str] = {}
        self._token_file: str | None = None

    def answer(self) -> tuple[int, dict[str, str]]:
        """(HTTP status, JSON body) for one authorized GET: the current credentials or an error."""
        try:
            creds = self.credentials()
        except SignedOutError:
            return 401, {"code": "SignedOutError", "message": NOBODY_SIGNED_IN.format(pid=os.getpid())}
        except AuthError as error:  # messages are redacted and secret-free
            return _status_for(error), {"code": type(error).__name__, "message": str(error)}
        return 200, credentials_body(creds, self.seconds_left(creds))

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The credentials endpoint is not running.")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.path}"

    @property
    def running(self) -> bool:
        httpd = self._httpd
        return httpd is not None and bool(httpd.serving)

    def revive(self) -> bool:
        """Start the serving thread again if it died (same port, path and token); False if stopped."""
        httpd = self._httpd
        if httpd is None:
            return False
        try:
            httpd.start(_THREAD_NAME)
        except RuntimeError:  # shut down meanwhile
            return False
        return True

    def env(self) -> dict[str, str]:
        """The variables a child process needs (also set in ``os.environ`` while running)."""
        env = {ENV_URI: self.url, ENV_TOKEN: self.token}
        if self._token_file is not None:
            env[ENV_TOKEN_FILE] = self._token_file
        return env

    def start(self) -> None:
        self._httpd = make_server(self)
        self._httpd.start(_THREAD_NAME)
        known_secrets.pin(self, self.token)  # live while the endpoint serves: never evicted
        self._token_file = write_token_file(self.token)
        for name in _SHADOWED:
            if name in os.environ:
                self._saved[name] = os.environ.pop(name)
                log.warning("%s is set aside while the nb_cognito credentials endpoint runs.", name)
        for name in (ENV_URI, ENV_TOKEN, ENV_TOKEN_FILE):
            if name in os.environ and not self.env_writes.is_ours(name):
                self._saved[name] = os.environ[name]
        self._env = self.env()
        self.env_writes.write(self._env)
        log.info("AWS SDKs in this kernel and its children get Cognito credentials from a loopback endpoint.")

    def stop(self) -> None:
        self.env_writes.remove(self._env)
        for name, value in self._saved.items():
            os.environ.setdefault(name, value)
        self._env, self._saved = {}, {}
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()  # waits (bounded) for its serving thread, never for a client
            httpd.server_close()
        token_file, self._token_file = self._token_file, None
        if token_file is not None:
            remove_token_file(token_file)
        known_secrets.unpin(self)
        known_secrets.discard(self.token)

    def abandon(self) -> None:
        """In a forked child: drop the parent's server without shutting it down (its thread
        is not here to answer), and close this process's copy of its socket. The token file
        is the parent's: it stays."""
        httpd, self._httpd = self._httpd, None
        self._token_file = None
        if httpd is not None:
            httpd.socket.close()

    def __repr__(self) -> str:
        state = f"on port {self._httpd.server_address[1]}" if self._httpd is not None else "stopped"
        return f"<CredentialsServer {state}>"


def _wall_clock_seconds_left(creds: AWSCredentials) -> float:
    import time

    return creds.expiration.timestamp() - time.time()
