"""The HTTP/1.1 pieces of the loopback server, with no loop of their own: a listening socket
(:func:`listen`), a request head parsed (:class:`Request`, never a body) and an answer encoded
(JSON or a small HTML page, ``Connection: close``, never cached).
:mod:`nb_cognito.loopback_server` serves with them.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

__all__ = ["Answer", "Request", "encode_answer", "listen", "parse_head"]

Answer = tuple[int, dict[str, str] | str]  # (status, JSON body, or an HTML page)

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Request:
    """A parsed request line and headers (names lower-cased). Never a body."""

    method: str
    target: str
    headers: dict[str, str]

    def __repr__(self) -> str:  # the target and headers carry the endpoint's secrets
        return f"<Request {self.method}>"


def listen(host: str, port: int) -> socket.socket:
    """A listening, non-blocking socket on ``host`` (an IPv4 or IPv6 literal) and ``port``.

    Raises :class:`OSError` as ``bind`` does: ``EADDRINUSE`` when someone else listens there.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:  # ::1 only, never the IPv4 side as well
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if port:  # a fixed port comes back at once after an earlier sign-in's TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def encode_answer(status: int, body: dict[str, str] | str, *, head_only: bool = False) -> bytes:
    """The bytes of an answer (only its head for a ``HEAD`` request)."""
    html = isinstance(body, str)
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Server: nb-cognito\r\n"
        f"Content-Type: {'text/html; charset=utf-8' if html else 'application/json'}\r\n"
        "Referrer-Policy: no-referrer\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head if head_only else head + data


def parse_head(head: bytes) -> Request | None:
    """The request line and headers in ``head``, or None when it is not HTTP/1.x."""
    lines = head.decode("latin-1").split("\n")
    parts = lines[0].strip().split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            continue
        headers.setdefault(name.strip().lower(), value.strip())
    return Request(parts[0], parts[1], headers)
