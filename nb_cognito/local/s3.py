"""S3 strict mode: the emulator's S3 refuses requests the way real S3 does.

moto's S3 answers any request, signed or not, with any key. Tests that claim "the consumer
reached S3 with the user's Cognito credentials" need an S3 that says no otherwise, so with
``LocalSpec(strict_s3=True)`` every S3 request (not the emulator's own admin calls) must be
signed with credentials this emulator vended (GetCredentialsForIdentity or
AssumeRoleWithWebIdentity) and still valid on the emulator's clock. Refusals follow the S3
error responses (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):

========================  ======  ==============================================================
``AccessDenied``          403     no signature at all (an anonymous request to a private bucket)
``InvalidAccessKeyId``    403     a key this emulator never vended (or a temporary key sent
                                  without its session token)
``InvalidToken``          400     a session token that is not the one vended with the key
``ExpiredToken``          400     the vended credentials have expired (emulator clock)
========================  ======  ==============================================================

The signature itself is not recomputed (moto never checks it): a request signed with the
right key and token but the wrong secret would pass. What is checked is what tells a
consumer that found no credentials, stale ones or someone else's from one using the
session's current ones.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

__all__ = ["VendedCredentials", "VendedKeys", "refusal"]

_MESSAGES = {
    "AccessDenied": (403, "Access Denied"),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our records."),
    "InvalidToken": (400, "The provided token is malformed or otherwise invalid."),
    "ExpiredToken": (400, "The provided token has expired."),
}
_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden"}


@dataclass(frozen=True)
class VendedCredentials:
    """What the emulator handed out for one access key (the secret is not needed here)."""

    access_key_id: str
    session_token: str = field(repr=False)
    expiration: float


class VendedKeys:
    """The temporary credentials an emulator vended, by access key id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, VendedCredentials] = {}

    def add(self, access_key_id: str, session_token: str, expiration: float) -> None:
        with self._lock:
            self._by_key[access_key_id] = VendedCredentials(access_key_id, session_token, expiration)

    def get(self, access_key_id: str) -> VendedCredentials | None:
        with self._lock:
            return self._by_key.get(access_key_id)

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)


def is_s3_request(environ: dict[str, Any], service: str) -> bool:
    """True for a request moto would route to S3: signed for ``s3``, or unsigned and not
    one of the other services' shapes (X-Amz-Target JSON, query ``Action=``, moto's API,
    the pool's well-known documents)."""
    if service:
        return service == "s3"
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api") or "/.well-known/" in path:
        return False
    if environ.get("HTTP_X_AMZ_TARGET"):
        return False
    if "Action" in parse_qs(environ.get("QUERY_STRING", "")):
        return False
    return not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")


def _session_token(environ: dict[str, Any]) -> str | None:
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    if token:
        return str(token)
    return (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Security-Token") or [None])[0]


def refusal(environ: dict[str, Any], access_key: str | None, vended: VendedKeys, now: float) -> str | None:
    """The S3 error code for this request, or None when real S3 would go on to serve it."""
    if access_key is None:
        return "AccessDenied"
    issued = vended.get(access_key)
    if issued is None:
        return "InvalidAccessKeyId"
    token = _session_token(environ)
    if token is None:
        return "InvalidAccessKeyId"
    if not secrets.compare_digest(token.encode(), issued.session_token.encode()):
        return "InvalidToken"
    if now >= issued.expiration:
        return "ExpiredToken"
    return None


def error_app(code: str) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """A WSGI app answering S3's XML error for ``code`` (no body for HEAD, as S3)."""
    status, message = _MESSAGES[code]

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request_id = secrets.token_hex(8).upper()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        ).encode()
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""
        start_response(
            f"{status} {_STATUS_TEXT[status]}",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("x-amz-request-id", request_id),
            ],
        )
        return [body]

    return app
