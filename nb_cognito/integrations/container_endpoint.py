"""Cognito credentials for child processes, through a loopback container-credentials endpoint.

On by default (``subprocess_credentials=True``; ``False`` turns it off). From the moment the
kernel's session exists, a small HTTP server on ``127.0.0.1`` (random port, random path)
answers ``GET`` with the session's current credentials in the format of the ECS/EKS
container endpoint, and three variables tell every AWS SDK in the kernel and its child
processes where to ask::

    AWS_CONTAINER_CREDENTIALS_FULL_URI      http://127.0.0.1:PORT/PATH
    AWS_CONTAINER_AUTHORIZATION_TOKEN       a random bearer token (compared in constant time)
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  the same token in a 0600 file (object_store, which
                                            polars uses, reads only this one); removed at exit

So pandas (s3fs), pyarrow, polars, duckdb and new ``boto3.Session()`` objects in the kernel,
and ``!aws s3 ls``, a ``python -c`` child or a ``multiprocessing`` or Dask worker, get
credentials that keep refreshing: each fetch asks the session, which refreshes when due.

One URL and one token for the life of the process: a child started before sign-in, or one
that lives through a sign-out and a sign-in as someone else, keeps asking the same place and
gets whatever the session has now. While nobody is signed in the answer is a readable JSON
error (401, "Nobody is signed in ... sign in in the kernel"), never a dead port and never
credentials. Another local user without the token gets 403. Turning the setting off stops
the server and removes the variables.

In a child, the SDK's own chain still comes first: ``AWS_ACCESS_KEY_ID`` in its environment
or a default profile in ``~/.aws`` wins over the container endpoint. While the server runs,
``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (which botocore would prefer) and a token file
of someone else's are set aside, and put back when it stops. The ``Expiration`` served is
"now on the system clock + the time left", so a child's SDK refreshes on time even when the
kernel's clock estimate (server time) differs from the machine's clock.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets as _random
import threading
from typing import TYPE_CHECKING, Any, Protocol

from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    ServiceUnavailableError,
    SessionExpiredError,
    SignedOutError,
)
from nb_cognito.models import AuthEvent
from nb_cognito.redaction import secrets

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = [
    "ENV_TOKEN",
    "ENV_TOKEN_FILE",
    "ENV_URI",
    "CredentialsServer",
    "attach",
    "current",
    "start",
    "stop",
]

ENV_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
ENV_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
# object_store (polars, deltalake) reads the token only from this file; botocore prefers it too.
ENV_TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
# botocore prefers this over ours; it is set aside while the server runs.
_SHADOWED = ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",)

MAX_CONCURRENT_REQUESTS = 8
REQUEST_TIMEOUT = 10.0

log = logging.getLogger("nb_cognito")

_lock = threading.Lock()
_server: CredentialsServer | None = None


def _iso(moment: Any) -> str:
    import datetime as dt

    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_left(session: Any, creds: Any) -> float:
    """How long ``creds`` stay valid, in the session's server time (its clock plus the skew)."""
    state = getattr(session, "_state", None)
    server_now = session.clock.time() + float(getattr(state, "skew", 0.0) or 0.0)
    return float(creds.expiration.timestamp() - server_now)


def credentials_body(creds: Any, seconds_left: float) -> dict[str, str]:
    """The container endpoint's answer for ``creds``, expiring ``seconds_left`` from now.

    The expiry is given on this machine's system clock, which is what a child's SDK compares
    with: the session keeps server time, and a child with a wrong clock (or a session on an
    injected clock) must still refresh on time.
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


def _status_for(error: Exception) -> int:
    if isinstance(error, SignedOutError | SessionExpiredError):
        return 401
    if isinstance(error, ServiceUnavailableError):
        return 503
    return 500


_token_files: set[str] = set()


def write_token_file(token: str) -> str:
    """Write ``token`` to a new 0600 file in a private 0700 directory; removed at exit."""
    import atexit
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
    _token_files.discard(path)
    for remove, target in ((os.unlink, path), (os.rmdir, os.path.dirname(path))):
        with contextlib.suppress(OSError):
            remove(target)


def _remove_all_token_files() -> None:
    for path in list(_token_files):
        remove_token_file(path)


class EndpointOwner(Protocol):
    """What the HTTP server asks of its owner (the kernel's endpoint, or a Dask worker's)."""

    token: str
    path: str

    def answer(self) -> tuple[int, dict[str, str]]: ...


def make_server(owner: EndpointOwner) -> Any:
    """A loopback ThreadingHTTPServer (not yet serving) answering ``owner``'s credentials."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        server_version = "nb-cognito"
        sys_version = ""
        timeout = REQUEST_TIMEOUT

        def log_message(self, format: str, *args: Any) -> None:
            # The default writes the request line (the path is part of the secret URI) to
            # stderr; keep only a secret-free record at DEBUG.
            log.debug("credentials endpoint: %s %s", self.command, getattr(self, "_nb_status", "-"))

        def _send_json(self, status: int, body: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self._nb_status = status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if given[:7].lower() == "bearer ":
                given = given[7:]
            return hmac.compare_digest(given.encode("utf-8", "replace"), owner.token.encode())

        def do_GET(self) -> None:
            if not self._authorized():
                self._send_json(403, {"code": "AccessDenied", "message": "Missing or wrong token."})
                return
            if self.path.split("?", 1)[0] != owner.path:
                self._send_json(404, {"code": "NotFound", "message": "Unknown path."})
                return
            try:
                status, body = owner.answer()
            except Exception as error:  # never leak a traceback (or anything in it) to the client
                log.exception("The credentials endpoint failed.")
                self._send_json(500, {"code": type(error).__name__, "message": "Internal error."})
                return
            self._send_json(status, body)

        def _refuse(self) -> None:
            self._send_json(405, {"code": "MethodNotAllowed", "message": "Only GET is supported."})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        request_queue_size = 16

        def __init__(self) -> None:
            super().__init__(("127.0.0.1", 0), Handler)
            self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_REQUESTS)

        def process_request(self, request: Any, client_address: Any) -> None:
            # At most MAX_CONCURRENT_REQUESTS handler threads; a flood waits in the backlog.
            if not self._slots.acquire(timeout=REQUEST_TIMEOUT):
                self.shutdown_request(request)
                return
            try:
                super().process_request(request, client_address)
            except BaseException:
                self._slots.release()
                raise

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                self._slots.release()

        def handle_error(self, request: Any, client_address: Any) -> None:
            log.debug("credentials endpoint: a connection failed", exc_info=True)

    return Server()


class CredentialsServer:
    """The loopback endpoint of this process, serving the session bound to it.

    Made once per process by :func:`start`; :meth:`bind` changes the session it serves (a
    new kernel session, tests), never its URL or token.
    """

    def __init__(self, session: CognitoSession | None = None) -> None:
        self.session = session
        self.token = _random.token_urlsafe(32)
        self.path = "/nb-cognito/" + _random.token_urlsafe(12)
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self._saved: dict[str, str] = {}
        self._env: dict[str, str] = {}
        self._token_file: str | None = None

    def bind(self, session: CognitoSession | None) -> None:
        """Serve ``session``'s credentials from now on (None: answer "nobody is signed in")."""
        self.session = session

    def answer(self) -> tuple[int, dict[str, str]]:
        """(HTTP status, JSON body) for one authorized GET: the current credentials or an error."""
        session = self.session
        if session is None or not session.is_signed_in:
            return 401, {"code": "SignedOutError", "message": NOBODY_SIGNED_IN.format(pid=os.getpid())}
        try:
            creds = session.current_credentials()
        except AuthError as error:  # messages are redacted and secret-free
            return _status_for(error), {"code": type(error).__name__, "message": str(error)}
        return 200, credentials_body(creds, seconds_left(session, creds))

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
        env = {ENV_URI: self.url, ENV_TOKEN: self.token}
        if self._token_file is not None:
            env[ENV_TOKEN_FILE] = self._token_file
        return env

    def start(self) -> None:
        self._httpd = make_server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="nb-cognito-credentials-endpoint",
            daemon=True,
        )
        self._thread.start()
        secrets.add(self.token)
        self._token_file = write_token_file(self.token)
        self._env = self.env()
        for name in _SHADOWED:
            if name in os.environ:
                self._saved[name] = os.environ.pop(name)
                log.warning("%s is set aside while the nb_cognito credentials endpoint runs.", name)
        for name in (ENV_URI, ENV_TOKEN, ENV_TOKEN_FILE):
            if name in os.environ and os.environ[name] != self._env.get(name):
                self._saved[name] = os.environ[name]
        self.export()
        log.info("AWS SDKs in this kernel and its children get Cognito credentials from a loopback endpoint.")

    def export(self) -> None:
        """(Re)write the variables into ``os.environ`` (idempotent)."""
        os.environ.update(self._env)

    def stop(self) -> None:
        for name, value in self._env.items():
            if os.environ.get(name) == value:  # leave alone what someone else changed since
                del os.environ[name]
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
        token_file, self._token_file = self._token_file, None
        if token_file is not None:
            remove_token_file(token_file)
        secrets.discard(self.token)

    def __repr__(self) -> str:
        state = f"on port {self._httpd.server_address[1]}" if self._httpd is not None else "stopped"
        return f"<CredentialsServer {state}>"


NOBODY_SIGNED_IN = (
    "Nobody is signed in to nb_cognito in the kernel (process {pid}) that serves these AWS "
    "credentials. Sign in there with %cognito_login or nb_cognito.sign_in(): this process then "
    "gets them from the same endpoint, with no restart."
)


def start(session: CognitoSession) -> CredentialsServer:
    """Serve ``session`` (starting the process's endpoint if needed; same URL and token)."""
    global _server
    with _lock:
        server = _server
        if server is None or not server.running:
            if server is not None:
                server.stop()
            server = CredentialsServer(session)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            _server = server
        server.bind(session)
        server.export()  # the variables may have been removed since
        return server


def stop(session: CognitoSession | None = None) -> None:
    """Stop the endpoint and remove its variables (only if it serves ``session``, when given):
    the way out, ``subprocess_credentials=False``."""
    global _server
    with _lock:
        server = _server
        if server is None or (session is not None and server.session is not session):
            return
        _server = None
        server.stop()


def current() -> CredentialsServer | None:
    """The running endpoint, if any."""
    return _server


def attach(session: CognitoSession) -> None:
    """Serve ``session`` for the kernel's life while ``settings.subprocess_credentials`` is on
    (the default): from now, before anyone signs in; stop when the setting is turned off."""

    def apply(_: Any = None) -> None:
        try:
            # Resolved afresh, not cached in the session: at attach time the settings may not
            # be complete yet, and sign-in must still report what is missing.
            enabled = session.config.resolve().subprocess_credentials
        except ConfigurationError as error:  # reported where it matters: at sign-in
            log.debug("The credentials endpoint waits for valid settings: %s", error)
            return
        try:
            if enabled:
                start(session)
            else:
                stop(session)
        except Exception:
            log.exception("Could not start the credentials endpoint for child processes.")

    apply()
    session.on(AuthEvent.SIGNED_IN, apply)  # a setting changed since may have turned it on
    session._add_settings_listener(apply)  # turned on or off at any time
