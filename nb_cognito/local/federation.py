"""Federation at the emulator's hosted UI: ``identity_provider=NAME`` goes to an OIDC IdP.

As Cognito does for an OIDC identity provider of the pool: the authorize endpoint redirects the
browser to the IdP's ``authorize_url`` with the pool's ``/oauth2/idpresponse`` as redirect URI;
the IdP sends the browser back with a code; the pool exchanges it at the IdP's ``token_url``,
verifies the IdP's ID token (signature from ``jwks_uri``, issuer, audience, nonce, expiry),
creates or updates the user ``<ProviderName>_<sub>`` (status ``EXTERNAL_PROVIDER``, attributes
through the provider's ``AttributeMapping``, an ``identities`` attribute) and returns to the
app's callback with a code of its own. Only OIDC providers are emulated (no SAML, no social).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from moto.cognitoidp import models as idp
from werkzeug.wrappers import Request, Response

from .oauth_wire import CODE_LIFETIME, AuthorizeRequest, OAuthError, find_client, redirect, with_query

__all__ = ["EXTERNAL_PROVIDER", "Federation"]

EXTERNAL_PROVIDER = "EXTERNAL_PROVIDER"
_TIMEOUT = 10.0


@dataclass(frozen=True)
class _Pending:
    auth: AuthorizeRequest
    provider: str
    nonce: str = field(repr=False)
    callback: str
    expires_at: float


class Federation:
    """The round trip to an external OIDC IdP, for one hosted UI.

    ``now`` is the emulator's clock; ``grant(auth, username)`` ends the round trip as the hosted
    UI ends a sign-in: a code for ``username``, sent back to the app's callback.
    """

    def __init__(self, now: Callable[[], float], grant: Callable[[AuthorizeRequest, str], Response]) -> None:
        self._now = now
        self._grant = grant
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def start(self, auth: AuthorizeRequest, provider_name: str, request: Request) -> Response:
        """Redirect the browser to the IdP's sign-in page (the authorize endpoint's IdP branch)."""
        found = find_client(auth.client_id)
        assert found is not None  # the authorize request was checked
        _, pool, client = found
        provider = pool.identity_providers.get(provider_name)
        supported = client.extended_config.get("SupportedIdentityProviders") or []
        if provider is None or provider_name not in supported:
            raise OAuthError(
                "invalid_request", f"{provider_name!r} is not an identity provider of this app client."
            )
        config = provider.extended_config
        if config.get("ProviderType") != "OIDC":
            raise OAuthError("invalid_request", "The emulator federates OIDC identity providers only.")
        details = config.get("ProviderDetails") or {}
        relay, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        callback = request.host_url.rstrip("/") + "/oauth2/idpresponse"
        with self._lock:
            self._pending[relay] = _Pending(auth, provider_name, nonce, callback, self._now() + CODE_LIFETIME)
        query = {
            "response_type": "code",
            "client_id": details.get("client_id", ""),
            "redirect_uri": callback,
            "scope": details.get("authorize_scopes", "openid"),
            "state": relay,
            "nonce": nonce,
        }
        return redirect(with_query(details.get("authorize_url", ""), query))

    def idp_response(self, request: Request) -> Response:
        """``/oauth2/idpresponse``: redeem the IdP's code, sign the user in to the pool."""
        with self._lock:
            pending = self._pending.pop(request.args.get("state") or "", None)
        if pending is None or self._now() >= pending.expires_at:
            raise OAuthError("invalid_request", "Unknown or expired identity provider response.")
        auth = pending.auth
        if request.args.get("error"):
            query = {
                "error": "invalid_request",
                "error_description": "The identity provider refused the sign-in.",
            }
            if auth.state is not None:
                query["state"] = auth.state
            return redirect(with_query(auth.redirect_uri, query))
        found = find_client(auth.client_id)
        if found is None:
            raise OAuthError("invalid_request", "The app client no longer exists.")
        _, pool, _ = found
        provider = pool.identity_providers.get(pending.provider)
        if provider is None:
            raise OAuthError("invalid_request", "The identity provider no longer exists.")
        details = provider.extended_config.get("ProviderDetails") or {}
        claims = self._redeem(details, request.args.get("code") or "", pending)
        username = _federated_user(pool, pending.provider, provider.extended_config, claims)
        return self._grant(auth, username)

    def _redeem(self, details: dict[str, str], code: str, pending: _Pending) -> dict[str, Any]:
        # Cognito authenticates to an OIDC IdP with client_secret_post, never client_secret_basic.
        body = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": pending.callback,
                "client_id": details.get("client_id", ""),
                "client_secret": details.get("client_secret", ""),
            }
        ).encode()
        token_url, jwks_uri = details.get("token_url", ""), details.get("jwks_uri", "")
        if not all(url.startswith(("http://", "https://")) for url in (token_url, jwks_uri)):
            raise OAuthError("invalid_request", "The identity provider's URLs must be http(s).")
        request = urllib.request.Request(  # noqa: S310 - http(s) checked above
            token_url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310 - loopback IdP
                id_token = json.loads(response.read())["id_token"]
            with urllib.request.urlopen(jwks_uri, timeout=_TIMEOUT) as response:  # noqa: S310
                keys = KeySet.import_key_set(json.loads(response.read()))
        except (OSError, ValueError, KeyError, urllib.error.HTTPError):
            raise OAuthError(
                "invalid_request", "The identity provider's token endpoint refused the code."
            ) from None
        try:
            claims = dict(jose_jwt.decode(id_token, keys, algorithms=["RS256"]).claims)
        except (JoseError, ValueError, TypeError):
            raise OAuthError(
                "invalid_token", "The identity provider's ID token has a bad signature."
            ) from None
        if claims.get("iss") != details.get("oidc_issuer"):
            raise OAuthError("invalid_token", "The identity provider's ID token has another issuer.")
        if claims.get("aud") != details.get("client_id"):
            raise OAuthError("invalid_token", "The identity provider's ID token is for another client.")
        if claims.get("nonce") != pending.nonce:
            raise OAuthError("invalid_token", "The identity provider's ID token has the wrong nonce.")
        if self._now() >= float(claims.get("exp", 0)) or not claims.get("sub"):
            raise OAuthError("invalid_token", "The identity provider's ID token has expired.")
        return claims


def _federated_user(pool: Any, provider_name: str, config: dict[str, Any], claims: dict[str, Any]) -> str:
    """Create or update ``<Provider>_<sub>`` from the IdP's claims; return the username."""
    sub = str(claims["sub"])
    username = f"{provider_name}_{sub}"
    mapping = config.get("AttributeMapping") or {}
    attributes = {
        pool_name: str(claims[claim])
        for pool_name, claim in mapping.items()
        if pool_name != "username" and claim in claims
    }
    identities = [
        {
            "userId": sub,
            "providerName": provider_name,
            "providerType": "OIDC",
            "issuer": None,
            "primary": "true",
            "dateCreated": int(dt.datetime.now(tz=dt.timezone.utc).timestamp() * 1000),
        }
    ]
    attributes["identities"] = json.dumps(identities)
    user = pool._get_user(username)
    if user is None:
        user = idp.CognitoIdpUser(
            pool.id,
            username,
            None,
            EXTERNAL_PROVIDER,
            [{"Name": k, "Value": v} for k, v in attributes.items()],
        )
        pool.users[user.username] = user
    else:
        if not user.enabled:
            raise OAuthError("invalid_request", "User is disabled.")
        attributes.pop("identities")  # keeps the first sign-in's record
        user.update_attributes([{"Name": k, "Value": v} for k, v in attributes.items()])
    return str(user.username)
