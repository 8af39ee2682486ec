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
import json
import logging
import os
import secrets as _random
import threading
from typing import TYPE_CHECKING, Any

from nb_cognito.exceptions import AuthError, ServiceUnavailableError, SessionExpiredError, SignedOutError
from nb_cognito.models import AuthEvent
from nb_cognito.redaction import secrets

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = ["ENV_TOKEN", "ENV_URI", "CredentialsServer", "attach", "current", "start", "stop"]

ENV_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
ENV_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
# botocore prefers these over ours; they are set aside while the server runs.
_SHADOWED = ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")

MAX_CONCURRENT_REQUESTS = 8
REQUEST_TIMEOUT = 10.0

log = logging.getLogger("nb_cognito")

_lock = threading.Lock()
_server: CredentialsServer | None = None


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
                creds = owner.session.current_credentials()
            except AuthError as error:  # messages are redacted and secret-free
                self._send_json(_status_for(error), {"code": type(error).__name__, "message": str(error)})
                return
            except Exception as error:  # never leak a traceback (or anything in it) to the client
                log.exception("The credentials endpoint failed.")
                self._send_json(500, {"code": type(error).__name__, "message": "Internal error."})
                return
            self._send_json(
                200,
                {
                    "AccessKeyId": creds.access_key_id,
                    "SecretAccessKey": creds.secret_access_key,
                    "Token": creds.session_token,
                    "Expiration": _iso(creds.expiration),
                },
            )

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
    """One loopback endpoint serving ``session``'s credentials. Use :func:`start` / :func:`stop`."""

    def __init__(self, session: CognitoSession) -> None:
        self.session = session
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
        secrets.add(self.token)
        self._env = self.env()
        for name in _SHADOWED:
            if name in os.environ:
                self._saved[name] = os.environ.pop(name)
                log.warning("%s is set aside while the nb_cognito credentials endpoint runs.", name)
        for name in (ENV_URI, ENV_TOKEN):
            if name in os.environ and os.environ[name] != self._env.get(name):
                self._saved[name] = os.environ[name]
        os.environ.update(self._env)
        log.info("Child processes now get Cognito credentials from a loopback endpoint.")

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
        secrets.discard(self.token)

    def __repr__(self) -> str:
        state = f"on port {self._httpd.server_address[1]}" if self._httpd is not None else "stopped"
        return f"<CredentialsServer {state}>"


def start(session: CognitoSession) -> CredentialsServer:
    """Start the endpoint for ``session`` (idempotent; replaces one serving another session)."""
    global _server
    with _lock:
        server = _server
        if server is not None and server.session is session and server.running:
            return server
        if server is not None:
            server.stop()
        _server = CredentialsServer(session)
        try:
            _server.start()
        except BaseException:
            _server.stop()
            _server = None
            raise
        return _server


def stop(session: CognitoSession | None = None) -> None:
    """Stop the endpoint and remove its variables (only if it serves ``session``, when given)."""
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
    """Start on sign-in when ``settings.subprocess_credentials`` is on; stop on sign-out."""

    def on_signed_in(_: Any) -> None:
        try:
            if session.settings.subprocess_credentials:
                start(session)
            else:
                stop(session)
        except Exception:
            log.exception("Could not start the credentials endpoint for child processes.")

    session.on(AuthEvent.SIGNED_IN, on_signed_in)
    session.on(AuthEvent.SIGNED_OUT, lambda _: stop(session))
    session._add_settings_listener(lambda: on_signed_in(None))  # turned on or off while signed in
