"""``FaultProxy``: a loopback HTTP proxy that makes the emulator fail the way AWS does.

>>> with FaultProxy(local.endpoint_url) as proxy:
...     proxy.inject("throttle", target="InitiateAuth", times=2)
...     # point the client at proxy.url: its next two InitiateAuth calls are throttled

Faults: ``"throttle"`` (HTTP 400 ``TooManyRequestsException``, as Cognito sends it), ``"5xx"``
(HTTP 500 ``InternalErrorException``), ``"unknown_action"`` (HTTP 400
``UnknownOperationException``, an endpoint without the action), ``"drop"`` (close the
connection without answering) and
``"delay"`` (wait ``delay`` real seconds, then forward). ``set_down(True)`` closes the port, so
connections are refused as by a server that is down, until ``set_down(False)``.

``exchanges()`` lists every request with when it arrived and when its answer was sent, and
:func:`round_trip_depth` reads from them how many round trips a client made one after another
(requests in flight together count once): with a delay on every request, a flow's latency.
Standard library only; threads are daemons; it binds 127.0.0.1 only.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["FAULTS", "Exchange", "FaultProxy", "round_trip_depth"]

Fault = Literal["throttle", "5xx", "drop", "delay", "unknown_action"]
FAULTS: tuple[str, ...] = ("throttle", "5xx", "drop", "delay", "unknown_action")
HOST = "127.0.0.1"
_MAX_BODY = 64 * 1024 * 1024
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
)
_ERRORS = {
    "throttle": (400, "TooManyRequestsException", "Rate exceeded"),
    "5xx": (500, "InternalErrorException", "Internal server error"),
    # An endpoint that predates the action (an older private endpoint, an emulator): the
    # answer AWS's JSON protocol gives for an X-Amz-Target it does not know.
    "unknown_action": (400, "UnknownOperationException", ""),
}


@dataclass
class _Rule:
    fault: str
    target: str | None
    remaining: int | None
    delay: float

    def matches(self, action: str) -> bool:
        return self.target is None or self.target == action


@dataclass(frozen=True)
class Exchange:
    """One request through the proxy: its action, and when it arrived and was answered
    (``time.monotonic()``; ``ended`` is when the answer, or the fault, was sent)."""

    action: str
    started: float
    ended: float


def round_trip_depth(exchanges: Iterable[Exchange]) -> int:
    """The longest chain of requests each sent after the one before it was answered.

    A client that waits for every answer before the next request has a depth equal to its
    request count; requests sent in parallel (in flight together) add one level, not one each.
    With the same delay injected into every request, the depth is what the latency multiplies.
    """
    ordered = sorted(exchanges, key=lambda exchange: exchange.ended)
    depth: list[int] = []
    for index, exchange in enumerate(ordered):
        before = [depth[i] for i in range(index) if ordered[i].ended <= exchange.started]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


class FaultProxy:
    """An HTTP proxy in front of ``upstream_url`` that injects faults into matching requests."""

    def __init__(self, upstream_url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream_url must be an http:// URL, not {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._forwarded: collections.Counter[str] = collections.Counter()
        self._faulted: collections.Counter[str] = collections.Counter()
        self._exchanges: list[Exchange] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Listen on a free loopback port (no-op if running)."""
        with self._lock:
            if self._server is None:
                self._stopping.clear()
                self._serve(self._port)
        return self

    def stop(self) -> None:
        """Stop listening and cancel pending delays (idempotent)."""
        self._stopping.set()
        with self._lock:
            self._shutdown()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("FaultProxy is not started")
        return f"http://{HOST}:{self._port}"

    def set_down(self, down: bool = True) -> None:
        """Close the port (connections refused) or reopen it on the same port."""
        with self._lock:
            if down:
                self._shutdown()
            elif self._server is None and self._port:
                self._serve(self._port)

    # -- faults -----------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        target: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` requests for ``target`` (None: any; ``times=None``: until
        :meth:`clear`) fail with ``fault``. ``target`` is the X-Amz-Target action, e.g.
        ``"InitiateAuth"``, or ``"s3:GET"``-style for requests without one."""
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, not {fault!r}")
        if times is not None and times < 1:
            raise ValueError("times must be a positive integer or None")
        if delay < 0 or (fault == "delay" and delay == 0):
            raise ValueError("delay must be positive for a 'delay' fault (and never negative)")
        with self._lock:
            self._rules.append(_Rule(fault, target, times, float(delay)))

    def clear(self) -> None:
        """Forget every injected fault and the counts; bring the proxy back up if it was down."""
        with self._lock:
            self._rules.clear()
            self._forwarded.clear()
            self._faulted.clear()
            self._exchanges.clear()
        self.set_down(False)

    def forwarded_counts(self) -> collections.Counter[str]:
        """Requests passed on to the upstream, by action."""
        with self._lock:
            return collections.Counter(self._forwarded)

    def fault_counts(self) -> collections.Counter[str]:
        """Requests that got a fault instead of (or before) forwarding, by action."""
        with self._lock:
            return collections.Counter(self._faulted)

    def exchanges(self) -> list[Exchange]:
        """Every request answered since the start (or the last :meth:`clear`), in order of answer."""
        with self._lock:
            return list(self._exchanges)

    def _record(self, action: str, started: float) -> None:
        with self._lock:
            self._exchanges.append(Exchange(action, started, time.monotonic()))

    def _take_rule(self, action: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(action):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    self._faulted[action] += 1
                    return rule
            return None

    def _count_forwarded(self, action: str) -> None:
        with self._lock:
            self._forwarded[action] += 1

    # -- serving ------------------------------------------------------------------------------

    def _serve(self, port: int) -> None:
        server = ThreadingHTTPServer((HOST, port), _make_handler(self))
        server.daemon_threads = True
        self._server, self._port = server, server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="FaultProxy", daemon=True
        )
        self._thread.start()

    def _shutdown(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for connection in list(self._connections):  # a down server keeps no connection open
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __repr__(self) -> str:
        state = "down" if self._server is None else "up"
        return f"FaultProxy({self._port or '-'} -> {self._upstream[0]}:{self._upstream[1]}, {state})"


def _make_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        owner = proxy

    return Handler


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, format: str, *args: object) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.owner._connections.add(self.connection)

    def finish(self) -> None:
        self.owner._connections.discard(self.connection)
        super().finish()

    def do_request(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        if body is None or self.owner._server is None:
            self.close_connection = True
            return
        action = _action(self.command, self.headers.get("X-Amz-Target"), self.headers)
        self._exchange: tuple[str, float] | None = (action, started)
        try:
            self._handle(action, body)
        finally:
            self._answered()

    def _answered(self) -> None:
        """Record this exchange once, just before its answer leaves (a dropped one: when dropped),
        so that a client that has read its answer always finds it in ``exchanges()``."""
        pending, self._exchange = getattr(self, "_exchange", None), None
        if pending is not None:
            self.owner._record(*pending)

    def _handle(self, action: str, body: bytes) -> None:
        rule = self.owner._take_rule(action)
        if rule is not None and rule.fault == "drop":
            self.close_connection = True
            return
        if rule is not None and rule.fault == "delay":
            if self.owner._stopping.wait(rule.delay):
                self.close_connection = True
                return
        elif rule is not None:
            self._send_error(rule.fault, json_protocol=bool(self.headers.get("X-Amz-Target")))
            return
        self.owner._count_forwarded(action)
        self._forward(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_request

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.send_error(413)
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _forward(self, body: bytes) -> None:
        host, port = self.owner._upstream
        connection = http.client.HTTPConnection(host, port, timeout=self.owner._timeout)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            # The upstream's own Server and Date headers pass through (send_response would add
            # the proxy's, with the real time instead of the emulator's clock).
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self._answered()
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True
        finally:
            connection.close()

    def _send_error(self, fault: str, *, json_protocol: bool) -> None:
        status, code, message = _ERRORS[fault]
        if json_protocol:
            payload = json.dumps({"__type": code, "message": message}).encode()
            content_type = "application/x-amz-json-1.1"
        else:
            payload = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error></ErrorResponse>"
            ).encode()
            content_type = "text/xml"
        self.send_response(status)
        self.send_header("x-amzn-ErrorType", f"{code}:")
        self.send_header("x-amzn-RequestId", "nb-cognito-fault")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self._answered()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def _action(method: str, target: str | None, headers: object) -> str:
    """The action name a fault ``target`` matches: the X-Amz-Target suffix, or "service:METHOD"."""
    if target:
        return target.rsplit(".", 1)[-1]
    auth = str(getattr(headers, "get", lambda *_: "")("Authorization") or "")
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
    service = scope[3] if len(scope) >= 4 else "http"
    return f"{service}:{method}"
