"""The emulator's HTTP server: moto's, bound to loopback, with a WSGI wrapper that counts
requests by action, notes the access key each carried, answers unknown pools' JWKS with 404,
and dates every answer by the emulator's clock.
"""

from __future__ import annotations

import email.utils
import io
import json
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from . import s3
from .hosted_ui import PATHS as HOSTED_UI_PATHS
from .provision import ADMIN_HEADER
from .state import EmulatorState, activated

__all__ = ["HOST", "MotoServer", "RequestLog"]

HOST = "127.0.0.1"
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")

_NOW_KEY = "nb_cognito.local.now"


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header tells the emulator's time (its clock), as a real server tells its own."""
        environ = getattr(self, "environ", None) or {}
        now = environ.get(_NOW_KEY) if timestamp is None else timestamp
        return email.utils.formatdate(now, usegmt=True) if now is not None else super().date_time_string()


class MotoServer(ThreadedMotoServer):
    """ThreadedMotoServer bound to 127.0.0.1, falling back to a free port, with a WSGI wrapper."""

    def __init__(self, port: int, wrap: Callable[[Any], Any]) -> None:
        super().__init__(ip_address=HOST, port=port, verbose=False)
        self._wrap = wrap
        self._error: BaseException | None = None

    def _server_entry(self) -> None:
        app = self._wrap(DomainDispatcherApplication(create_backend_app))
        try:
            self._server = self._bind(app)
        except BaseException as error:  # reported by start()
            self._error = error
            return
        finally:
            self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.05)

    def _bind(self, app: Any) -> BaseWSGIServer:
        port = self._port if self._port and _port_is_free(self._port) else 0
        try:
            return make_server(HOST, port, app, True, request_handler=_QuietHandler)
        except (OSError, SystemExit):  # werkzeug exits when the port is taken
            if port == 0:
                raise
            return make_server(HOST, 0, app, True, request_handler=_QuietHandler)

    def start(self) -> None:
        super().start()
        if self._error is not None:
            raise RuntimeError(f"the local Cognito server could not start: {self._error}")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


class RequestLog:
    """WSGI wrapper: counts each request by action, notes its access key, makes the state current."""

    def __init__(self, app: Any, state: EmulatorState) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ[_NOW_KEY] = self._state.now()  # for the Date header (_QuietHandler)
        if f"HTTP_{ADMIN_HEADER.upper().replace('-', '_')}" not in environ:
            service, access_key = _credential(environ)
            action = _action(environ, service)
            self._state.record_request(action, service, access_key)
            hosted_ui = environ.get("PATH_INFO", "") in HOSTED_UI_PATHS  # never S3's
            if self._state.strict_s3 and not hosted_ui and s3.is_s3_request(environ, service):
                code = s3.refusal(environ, access_key, self._state.vended, self._state.now())
                if code is not None:
                    with self._state.lock:
                        self._state.s3_refusals.append((code, access_key))
                    return s3.error_app(code)(environ, start_response)
        with activated(self._state):
            missing = _unknown_pool_document(environ)
            if missing is not None:
                body = json.dumps({"message": f"User pool {missing} does not exist."}).encode()
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [body]
            return self._app(environ, start_response)


_WELL_KNOWN_RE = re.compile(r"^/([^/]+)/\.well-known/(?:jwks\.json|openid-configuration)$")


def _unknown_pool_document(environ: dict[str, Any]) -> str | None:
    """The pool id of a JWKS or OpenID document request for a pool that does not exist.

    moto serves its one key set for any path; the service answers 404 for a pool it does not
    know, which is how a client tells a wrong pool id from a wrong password before signing in.
    """
    match = _WELL_KNOWN_RE.match(environ.get("PATH_INFO", ""))
    if match is None or environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        return None
    from .patches.common import find_pool

    return None if find_pool(match.group(1)) is not None else match.group(1)


def _credential(environ: dict[str, Any]) -> tuple[str, str | None]:
    """(service, access key id) from a SigV4 Authorization header or presigned query."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL_RE.search(auth)
    if match:
        return match.group(2), match.group(1)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    scope = (query.get("X-Amz-Credential") or [""])[0].split("/")
    if len(scope) >= 4:
        return scope[3], scope[0]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("AWSCognitoIdentityProviderService"):
        return "cognito-idp", None
    if target.startswith("AWSCognitoIdentityService"):
        return "cognito-identity", None
    return "", None


def _action(environ: dict[str, Any], service: str) -> str | None:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return None
    if path in HOSTED_UI_PATHS:
        return f"HostedUI:{path}"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    action = _form_action(environ)
    if action:
        return action
    if path.endswith("/.well-known/jwks.json"):
        return "GetJWKS"
    if path.endswith("/.well-known/openid-configuration"):
        return "GetOpenIdConfiguration"
    return f"{service or 'http'}:{environ.get('REQUEST_METHOD', 'GET')}"


def _form_action(environ: dict[str, Any]) -> str | None:
    """``Action=`` of a query-protocol request (STS, IAM), from the query or the form body."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return (parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]
