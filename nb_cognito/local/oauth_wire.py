"""The OAuth pieces the emulator's hosted UI and federation share: requests, errors, tokens, HTTP.

:func:`issue_tokens` mints the token endpoint's answer from moto's own JWT machinery (the pool's
key, and the patched ``create_jwt`` for times and validities), adding what OpenID Connect needs:
``nonce`` in the ID token and the granted ``scope`` in the access token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from moto.cognitoidp import models as idp
from werkzeug.wrappers import Response

__all__ = [
    "CODE_LIFETIME",
    "PKCE_ALPHABET",
    "AuthorizeRequest",
    "OAuthError",
    "all_backends",
    "claims_of",
    "find_client",
    "issue_tokens",
    "json_response",
    "origin_jti",
    "page",
    "redirect",
    "s256",
    "secret_hash",
    "with_query",
]

CODE_LIFETIME = 300.0  # seconds; an authorization code lives five minutes
PKCE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(frozen=True)
class AuthorizeRequest:
    """The checked parameters of one ``/oauth2/authorize`` request."""

    pool_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None = field(repr=False)
    nonce: str | None = field(repr=False)
    code_challenge: str | None = field(repr=False)

    def query(self) -> dict[str, str]:
        """The request again as query parameters (for the login form and the IdP round trip)."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
        }
        for name, value in (("state", self.state), ("nonce", self.nonce)):
            if value is not None:
                query[name] = value
        if self.code_challenge is not None:
            query.update(code_challenge=self.code_challenge, code_challenge_method="S256")
        return query


class OAuthError(Exception):
    """An OAuth error answer: ``error`` as RFC 6749 names it, and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


# ---------------------------------------------------------------------------------------------
# moto lookups


def all_backends() -> list[idp.CognitoIdpBackend]:
    return [
        backend
        for per_account in idp.cognitoidp_backends.values()
        for region, backend in per_account.items()
        if region != "global"
    ]


def find_client(client_id: str) -> tuple[idp.CognitoIdpBackend, Any, Any] | None:
    """(backend, pool, app client) of ``client_id``, or None."""
    for backend in all_backends():
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                return backend, pool, pool.clients[client_id]
    return None


def issue_tokens(
    pool: Any, client_id: str, username: str, scopes: Iterable[str], nonce: str | None
) -> dict[str, Any]:
    """ID, access and refresh tokens as the token endpoint returns them (moto's JWTs, pool key).

    Built from the same pieces as moto's ``_log_user_in`` (so the patched ``create_jwt`` sets the
    times and validities), with the OIDC additions: ``nonce`` in the ID token, the granted
    ``scope`` in the access token.
    """
    refresh_token, origin = pool.create_refresh_token(client_id, username)
    access_extra: dict[str, Any] = {"origin_jti": origin, "scope": " ".join(scopes)}
    id_extra = pool.get_user_extra_data_by_client_id(client_id, username)
    id_extra["origin_jti"] = origin
    user = pool._get_user(username)
    for attribute in user.attributes:
        if attribute["Name"].startswith("custom:"):
            id_extra[attribute["Name"]] = attribute["Value"]
    if user.groups:
        groups = [group.group_name for group in user.groups]
        access_extra["cognito:groups"] = id_extra["cognito:groups"] = groups
    if nonce is not None:
        id_extra["nonce"] = nonce
    access_token, expires_in = pool.create_jwt(client_id, username, "access", extra_data=access_extra)
    pool.access_tokens[access_token] = (client_id, username)
    id_token, _ = pool.create_jwt(client_id, username, "id", extra_data=id_extra)
    pool.id_tokens[id_token] = (client_id, username)
    return {
        "id_token": id_token,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
    }


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def page(title: str, body: str, status: int = 200) -> Response:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    response = Response(text, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(location: str) -> Response:
    response = Response("", status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def with_query(url: str, query: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def secret_hash(client: Any, username: str) -> str:
    """SECRET_HASH for the API refresh (the token endpoint authenticated the client already)."""
    digest = hmac.new(client.secret.encode(), (username + client.id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def claims_of(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def origin_jti(token: str) -> Any:
    return claims_of(token).get("origin_jti")
