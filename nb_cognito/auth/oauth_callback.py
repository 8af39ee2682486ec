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

import errno
import getpass
import html
import os
import socket
import sys
import threading
import urllib.parse
import webbrowser
from collections.abc import Callable
from typing import Any

from nb_cognito.auth.oauth import (
    AuthorizationRequest,
    HostedUIClient,
    RedirectSignIn,
    code_from_redirect,
    complete,
    new_request,
    parse_redirect,
)
from nb_cognito.clock import Clock
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError, InvalidParameterError, NotAuthorizedError
from nb_cognito.loopback_server import Answer, LoopbackServer, Request, listen
from nb_cognito.secret import Secret
from nb_cognito.settings.oauth import is_loopback

__all__ = ["LoopbackListener", "choose_method", "receive", "sign_in_with_redirect"]

METHODS = ("auto", "loopback", "paste")
_PROMPT = "Paste the URL your browser was sent to (or just the code): "
REQUEST_TIMEOUT = 10.0  # one total deadline for a request's line and headers, from accept
_NO_IPV6 = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
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
) -> Secret:
    """Send the user to ``request.url`` and return the code that comes back."""
    write = write or (lambda text: print(text, flush=True))
    if choose_method(request, method) == "paste":
        write(
            "Open this URL in a browser and sign in. Your browser then goes to a page that may not "
            f"load; copy that page's full address.\n{request.url}"
        )
        # Wrapped at once (the magic's prompt gives a Secret, getpass a str): no frame holds it plain.
        pasted = Secret((prompt or getpass.getpass)(_PROMPT))
        return code_from_redirect(request, pasted)
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
    """One-shot HTTP listener on the ``redirect_uri``'s loopback port and path.

    It is the hardened loopback server (:mod:`nb_cognito.loopback_server`): an idle,
    slow or flooding local client costs a file descriptor, never the thread that waits for the
    browser, each request has one total deadline, and leaving never waits for a client. For
    ``localhost`` it listens on ``127.0.0.1`` and ``::1`` (where the machine has IPv6), so that
    no other local user can take the other address and receive the browser's redirect.
    """

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
        host = (parts.hostname or "").lower()
        self._hosts = (
            ("::1",) if host == "::1" else ("127.0.0.1", "::1") if host == "localhost" else ("127.0.0.1",)
        )
        self.done = threading.Event()
        self.refused = 0
        self._code: Secret | None = None
        self._error: AuthError | None = None
        self._server: LoopbackServer | None = None

    @property
    def where(self) -> str:
        return f"http://localhost:{self._port}{self._path}"

    def __enter__(self) -> LoopbackListener:
        self._server = LoopbackServer(
            self._authorize,
            self._answer,
            deadline=REQUEST_TIMEOUT,
            max_workers=2,
            listeners=self._listen(),
        )
        self._server.start("nb-cognito-loopback", poll_interval=0.05)
        return self

    def _listen(self) -> list[socket.socket]:
        listeners: list[socket.socket] = []
        try:
            for host in self._hosts:
                try:
                    listeners.append(listen(host, self._port))
                except OSError as error:
                    if host == "::1" and len(self._hosts) > 1 and error.errno in _NO_IPV6:
                        continue  # no IPv6 on this machine: nobody can take ::1 either
                    address = f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"
                    raise ConfigurationError(
                        f"Cannot listen on {address} for the sign-in to {self.where} "
                        f"({error.strerror or error}): another process (possibly another user's) "
                        "holds it, and the browser's redirect could go there.",
                        recovery_suggestion="Close what uses that port (an earlier sign-in?), or register "
                        "another loopback callback URL and set redirect_uri to it.",
                    ) from None
        except BaseException:
            for sock in listeners:
                sock.close()
            raise
        return listeners

    def __exit__(self, *exc_info: object) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()  # never waits for a client
            server.server_close()  # the port is free again

    def result(self) -> Secret:
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code

    def _authorize(self, request: Request) -> Answer | None:
        """Refused at once, from the loop: anything but a GET of the callback path."""
        if request.target.partition("?")[0] != self._path:
            return _page(404, "Not found.")
        if request.method != "GET":
            return _page(405, "Method not allowed.")
        return None

    def _answer(self, request: Request) -> Answer:
        return _page(*self._arrived(request.target.partition("?")[2]))

    def _arrived(self, query: str) -> tuple[int, str]:
        """(HTTP status, message) for one request to the callback path."""
        if self.done.is_set():
            return 410, "This sign-in is already complete."
        # Nothing is registered for redaction before the state matches (code_from_redirect does
        # it then): a flood of made-up codes must not push real secrets out of the registry.
        if not parse_redirect("?" + query).belongs_to(self._request):
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


def _page(status: int, message: str) -> Answer:
    return status, (
        "<!doctype html><html><head><meta charset='utf-8'><title>nb_cognito</title></head>"
        f"<body><p>{html.escape(message)}</p></body></html>"
    )


def sign_in_with_redirect(
    session: RedirectSignIn,
    provider: str | None = None,
    *,
    method: str = "auto",
    open_browser: Any = None,
    prompt: Any = None,
    write: Any = None,
    timeout: float = 300.0,
) -> None:
    """Sign ``session`` (the session's sign-in flow) in through the hosted UI: a new request, the code back
    by ``method`` (``"auto"``, ``"loopback"``, ``"paste"``), the exchange, the nonce, the session.

    ``open_browser(url)``, ``prompt(text)`` and ``write(text)`` default to :mod:`webbrowser`,
    :func:`getpass.getpass` and :func:`print`; ``timeout`` bounds the loopback wait (clock seconds).
    """

    session.reread_settings()
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
