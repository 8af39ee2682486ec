"""The ways the hosted UI's code comes back to the kernel.

* **loopback** — the browser runs on the kernel's machine and ``redirect_uri`` is
  ``http://localhost:<port>/<path>``: a listener on that port (127.0.0.1 only), for that one path,
  takes one code, and only for a few minutes, as ``aws sso login`` and ``gcloud auth login`` do.
  A request without this sign-in's ``state`` is refused and the listener keeps waiting.
* **paste** — anything else (a remote kernel, a terminal, papermill, VS Code): the URL is
  written out, the user signs in in any browser and pastes the final redirected URL (or only
  the code) at a hidden prompt.

``auto`` picks loopback when ``redirect_uri`` is a loopback URL and this machine can open a
browser, and paste otherwise.
"""

from __future__ import annotations

import getpass
import hmac
import html
import http.server
import os
import sys
import threading
import urllib.parse
import webbrowser
from collections.abc import Callable
from typing import Any

from nb_cognito.auth.oauth import (
    AuthorizationRequest,
    HostedUIClient,
    code_from_redirect,
    complete,
    new_request,
)
from nb_cognito.auth.oauth_settings import is_loopback
from nb_cognito.clock import Clock
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError, InvalidParameterError, NotAuthorizedError
from nb_cognito.redaction import known_secrets as secrets
from nb_cognito.secret import Secret

__all__ = ["LoopbackListener", "choose_method", "receive", "sign_in_with_redirect"]

METHODS = ("auto", "loopback", "paste")
_PROMPT = "Paste the URL your browser was sent to (or just the code): "
_DONE_PAGE = "Signed in to nb_cognito. You can close this tab and go back to the notebook."


def browser_available() -> bool:
    """True when this machine can show a browser (not a headless or SSH-only session)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get(Env.DISPLAY) or os.environ.get(Env.WAYLAND_DISPLAY)
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def choose_method(request: AuthorizationRequest, method: str) -> str:
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    if method != "auto":
        return method
    return "loopback" if is_loopback(request.redirect_uri) and browser_available() else "paste"


def receive(
    request: AuthorizationRequest,
    *,
    method: str,
    clock: Clock,
    open_browser: Callable[[str], Any] | None,
    prompt: Callable[[str], str | Secret] | None,
    write: Callable[[str], Any] | None,
    timeout: float,
) -> str:
    """Send the user to ``request.url`` and return the code that comes back."""
    write = write or (lambda text: print(text, flush=True))
    if choose_method(request, method) == "paste":
        write(
            "Open this URL in a browser and sign in. Your browser then goes to a page that may not "
            f"load; copy that page's full address.\n{request.url}"
        )
        answer = (prompt or getpass.getpass)(_PROMPT)
        pasted = answer.reveal() if isinstance(answer, Secret) else answer  # the magic's prompt: a Secret
        try:
            return code_from_redirect(request, pasted)
        finally:
            secrets.add(pasted.strip())
    with LoopbackListener(request) as listener:
        deadline = clock.time() + timeout  # the minutes count from when the listener is up
        opened = (open_browser or webbrowser.open)(request.url)
        minutes = max(1, round(timeout / 60))
        if opened is False:
            write(f"Could not open a browser. Open this URL on this machine to sign in:\n{request.url}")
        else:
            write(f"Sign in in the browser window that opened (waiting up to {minutes} min).")
        if not clock.wait_until(deadline, listener.done):
            raise AuthError(
                f"No sign-in came back within {minutes} min; the listener on {listener.where} has stopped.",
                recovery_suggestion=(
                    "Sign in again; or use method='paste' if the browser runs on another machine."
                ),
            )
        return listener.result()


class LoopbackListener:
    """One-shot HTTP listener on the ``redirect_uri``'s loopback port and path."""

    def __init__(self, request: AuthorizationRequest) -> None:
        parts = urllib.parse.urlsplit(request.redirect_uri)
        if parts.scheme != "http" or not is_loopback(request.redirect_uri) or parts.port is None:
            raise ConfigurationError(
                f"redirect_uri {request.redirect_uri!r} is not a loopback URL with a port, like "
                "'http://localhost:8765/'; the loopback listener cannot use it.",
                recovery_suggestion=(
                    "Register such a callback URL on the app client and set redirect_uri to it, "
                    "or sign in with method='paste'."
                ),
            )
        self._request = request
        self._path = parts.path or "/"
        self._port = parts.port
        self._host = "::1" if parts.hostname == "::1" else "127.0.0.1"
        self.done = threading.Event()
        self.refused = 0
        self._code: str | None = None
        self._error: AuthError | None = None
        self._server: http.server.HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"http://localhost:{self._port}{self._path}"

    def __enter__(self) -> LoopbackListener:
        try:
            self._server = http.server.HTTPServer((self._host, self._port), self._handler_class())
        except OSError as error:
            raise ConfigurationError(
                f"Cannot listen on {self.where} for the sign-in ({error.strerror or error}).",
                recovery_suggestion="Close what uses that port (an earlier sign-in?), or register another "
                "loopback callback URL and set redirect_uri to it.",
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="nb-cognito-loopback",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def result(self) -> str:
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code

    def _arrived(self, query: str) -> tuple[int, str]:
        """(HTTP status, message) for one request to the callback path."""
        if self.done.is_set():
            return 410, "This sign-in is already complete."
        values = {k: v[0] for k, v in urllib.parse.parse_qs(query).items() if v}
        secrets.add(values.get("code"), values.get("state"))
        if not hmac.compare_digest(values.get("state", "").encode(), self._request.state.encode()):
            self.refused += 1
            return 400, "Refused: this request does not belong to the sign-in in progress."
        try:
            self._code = code_from_redirect(self._request, "?" + query)
        except NotAuthorizedError as error:
            self._error = error
            self.done.set()
            return 400, "The sign-in was refused; see the notebook for details."
        self.done.set()
        return 200, _DONE_PAGE

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                path, _, query = self.path.partition("?")
                if path != listener._path:
                    self._answer(404, "Not found.")
                    return
                self._answer(*listener._arrived(query))

            def _answer(self, status: int, message: str) -> None:
                body = (
                    "<!doctype html><html><head><meta charset='utf-8'><title>nb_cognito</title></head>"
                    f"<body><p>{html.escape(message)}</p></body></html>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # never log the query
                return

        return Handler


def sign_in_with_redirect(
    session: Any,
    provider: str | None = None,
    *,
    method: str = "auto",
    open_browser: Any = None,
    prompt: Any = None,
    write: Any = None,
    timeout: float = 300.0,
) -> None:
    """Sign ``session`` (a ``CognitoSession``) in through the hosted UI: a new request, the code back
    by ``method`` (``"auto"``, ``"loopback"``, ``"paste"``), the exchange, the nonce, the session.

    ``open_browser(url)``, ``prompt(text)`` and ``write(text)`` default to :mod:`webbrowser`,
    :func:`getpass.getpass` and :func:`print`; ``timeout`` bounds the loopback wait (clock seconds).
    """

    from nb_cognito.auth.base import reread_settings

    reread_settings(session)
    settings = session.settings
    request = new_request(settings, provider)
    client = HostedUIClient(settings)
    code = receive(
        request,
        method=method,
        clock=session.clock,
        open_browser=open_browser,
        prompt=prompt,
        write=write,
        timeout=timeout,
    )
    complete(session, client, request, code)
