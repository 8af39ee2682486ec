"""The container-credentials endpoint: the default path for every AWS SDK but boto3's default session.

On by default (``subprocess_credentials=True``; ``False`` turns it off). From the moment the
session exists (the kernel's: for the kernel's life), a small HTTP server on ``127.0.0.1``
(random port, random path) answers ``GET`` with the session's current credentials in the
format of the ECS/EKS container endpoint, and three variables tell every AWS SDK in the kernel
and its child processes where to ask::

    AWS_CONTAINER_CREDENTIALS_FULL_URI      http://127.0.0.1:PORT/PATH
    AWS_CONTAINER_AUTHORIZATION_TOKEN       a random bearer token (compared in constant time)
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  the same token in a 0600 file in a 0700 directory
                                            (object_store, which polars uses, reads only this
                                            one); removed when the endpoint stops or at exit

So pandas (s3fs), pyarrow, polars, duckdb and new ``boto3.Session()`` objects in the kernel,
and ``!aws s3 ls``, a ``python -c`` child, a ``multiprocessing`` or Dask worker, get credentials
that keep refreshing: each fetch asks the session, which refreshes when due.

One URL and one token for the session's life: a child started before sign-in, or one that
lives through a sign-out and a sign-in as someone else, keeps asking the same place and gets
whatever the session has now. While nobody is signed in the answer is a readable JSON error
(401, "Nobody is signed in to nb_cognito ... sign in there"), never a dead port and never
credentials. Another local user without the token gets 403. The ``Expiration`` served is "now
on the system clock + the time left in server time", so a child's SDK refreshes on time even
when this machine's clock is off.

In a child, the SDK's own chain still comes first: ``AWS_ACCESS_KEY_ID`` in its environment,
``AWS_PROFILE`` or a profile in ``~/.aws`` wins over the container endpoint (the user's
explicit choice). ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (which botocore would prefer) and
a container URI, token or token file of someone else's are set aside while the server runs,
and put back when it stops.
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

from nb_cognito import forksafe
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
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
    from nb_cognito.auth.integration import SessionAPI
    from nb_cognito.models import AWSCredentials

__all__ = [
    "ENV_TOKEN",
    "ENV_TOKEN_FILE",
    "ENV_URI",
    "NOBODY_SIGNED_IN",
    "ContainerEndpoint",
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


class ContainerEndpoint(Integration):
    """Runs a :class:`CredentialsServer` for the session's whole life (one URL, one token).

    On when ``settings.subprocess_credentials`` is (the default): started when the session is
    attached, before anyone signs in; it answers "nobody is signed in" until someone is, and
    the next user's credentials after a re-sign-in. ``configure(subprocess_credentials=False)``
    (while signed in) or the setting at attach time stops it; :meth:`close` stops it.
    """

    name = "container endpoint"

    def __init__(self, env: EnvironmentWrites | None = None) -> None:
        self.env = env if env is not None else EnvironmentWrites()
        self._session: SessionAPI | None = None
        self._server: CredentialsServer | None = None
        self._lock = forksafe.Lock()
        forksafe.register(self)

    @property
    def server(self) -> CredentialsServer | None:
        """The running endpoint, if any."""
        return self._server

    def attach(self, session: SessionAPI) -> None:
        self._session = session
        try:
            # Resolved afresh, not cached in the session: the settings may not be complete yet,
            # and sign-in must still be the one to report what is missing.
            enabled = session.config.resolve().subprocess_credentials
        except ConfigurationError as error:  # reported where it matters: at sign-in
            log.debug("The credentials endpoint waits for valid settings: %s", error)
            return
        if enabled:
            try:
                self.start()
            except Exception:
                log.exception("Could not start the credentials endpoint; signing in will try again.")

    def session_changed(self, change: SessionChange) -> None:
        """Started when a sign-in (or ``subprocess_credentials``, even before anyone signed in)
        turns it on; stopped when that setting turns it off, and when the session closes."""
        kind = change.kind
        if kind is ChangeKind.CLOSING:
            self.stop()
        elif kind in (ChangeKind.SIGNED_IN, ChangeKind.SETTINGS_CHANGED, ChangeKind.CONFIGURED):
            if change.settings is None:
                if kind is not ChangeKind.CONFIGURED:
                    self.stop()
            elif change.settings.subprocess_credentials:
                self.start()
            else:
                self.stop()
        elif kind is ChangeKind.CREDENTIALS_CHANGED:  # each refresh is a use: the watchdog
            server = self._server
            if server is not None:
                server.revive()  # a serving thread that died comes back

    def start(self) -> CredentialsServer:
        """Start the endpoint (idempotent)."""
        session = self._session
        if session is None:
            raise ConfigurationError("This container endpoint belongs to no session yet.")
        with self._lock:
            server = self._server
            if server is not None and server.revive():  # same URL and token: children keep them
                return server
            if server is not None:
                server.stop()
            server = CredentialsServer(session.current_credentials, self.env, self._seconds_left)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            self._server = server
            return server

    def _seconds_left(self, creds: AWSCredentials) -> float:
        """The lifetime announced: the credentials' own, capped by ``credentials_max_age``."""
        session = self._session
        assert session is not None
        left = session.seconds_left(creds)
        try:
            cap = session.settings.credentials_max_age
        except ConfigurationError:
            cap = None
        return left if cap is None else min(left, cap)

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
