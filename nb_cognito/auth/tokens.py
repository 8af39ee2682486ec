"""JWT claims and verification of Cognito tokens against the pool's JWKS.

Cognito's tokens are RS256 JWTs. A token is accepted only when its signature matches a key
of the pool's JWKS (by ``kid``), ``iss`` is the pool's issuer, ``token_use`` is what we
asked for, the audience is our app client, and it has not expired. ``alg: none`` and
symmetric algorithms are refused.
"""

from __future__ import annotations

import base64
import json
import math
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nb_cognito import forksafe
from nb_cognito.exceptions import ServiceUnavailableError, TokenValidationError

__all__ = ["TokenVerifier", "jwks_url_for", "unverified_claims"]

JwksFetcher = Callable[[str, float], Mapping[str, Any]]


def _b64_json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(token, str) or token.count(".") != 2 or not token.isascii():
        raise TokenValidationError("Cognito returned a malformed token (not a JWT).")
    header, payload, _ = token.split(".")
    try:
        return _b64_json(header), _b64_json(payload)
    except (ValueError, UnicodeError) as error:
        raise TokenValidationError("Cognito returned a malformed token (undecodable JWT).") from error


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, without checking its signature (for already-verified tokens)."""
    return _split(token)[1]


def jwks_url_for(region: str, user_pool_id: str, endpoint_url: str | None) -> str:
    base = endpoint_url.rstrip("/") if endpoint_url else f"https://cognito-idp.{region}.amazonaws.com"
    return f"{base}/{user_pool_id}/.well-known/jwks.json"


def issuer_for(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def _fetch_jwks(url: str, timeout: float) -> Mapping[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise TokenValidationError(f"Refusing to fetch the JWKS from {url!r}.")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only
            return json.loads(response.read())
    except (OSError, ValueError) as error:
        raise ServiceUnavailableError(
            f"Could not fetch the user pool's signing keys ({type(error).__name__})."
        ) from error


@dataclass(frozen=True)
class _CachedJwks:
    keys: Mapping[str, Any]


_JWKS_CACHE: dict[str, _CachedJwks] = {}
_JWKS_LOCK = forksafe.Lock()


class TokenVerifier:
    """Verifies ID and access tokens of one user pool and app client."""

    def __init__(
        self,
        *,
        region: str,
        user_pool_id: str,
        client_id: str,
        endpoint_url: str | None = None,
        timeout: float = 10.0,
        fetch_jwks: JwksFetcher = _fetch_jwks,
    ) -> None:
        self.issuer = issuer_for(region, user_pool_id)
        self.client_id = client_id
        self.jwks_url = jwks_url_for(region, user_pool_id, endpoint_url)
        self._timeout = timeout
        self._fetch = fetch_jwks

    def _key(self, kid: str) -> Any:
        import jwt

        cached = _JWKS_CACHE.get(self.jwks_url)
        for attempt in range(2):
            if cached is None or (attempt and kid not in cached.keys):
                document = self._fetch(self.jwks_url, self._timeout)
                # Only string kids can match (the header's kid is looked up as a string).
                keys = {
                    k["kid"]: k
                    for k in document.get("keys", [])
                    if isinstance(k, dict) and isinstance(k.get("kid"), str)
                }
                cached = _CachedJwks(keys)
                with _JWKS_LOCK:
                    _JWKS_CACHE[self.jwks_url] = cached
            if kid in cached.keys:
                try:
                    return jwt.PyJWK(cached.keys[kid]).key
                except jwt.PyJWKError as error:
                    raise TokenValidationError("The pool's JWKS holds an unusable key.") from error
        raise TokenValidationError("The token was signed by a key that is not in the pool's JWKS.")

    def verify(self, token: str, *, token_use: str, now: float | None = None) -> dict[str, Any]:
        """Return the verified claims of ``token``, or raise :class:`TokenValidationError`.

        ``now`` is the server's time as best known (the local clock corrected for drift);
        when None, only ``exp > iat`` is required, as right after the server issued it.
        """
        import jwt

        header, claims = _split(token)
        if header.get("alg") != "RS256":
            raise TokenValidationError(
                f"Refusing a token signed with alg {str(header.get('alg'))[:10]!r}; Cognito uses RS256."
            )
        key = self._key(str(header.get("kid")))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as error:
            raise TokenValidationError(
                f"The {token_use} token's signature is invalid ({type(error).__name__})."
            ) from error
        self._check_claims(claims, token_use=token_use, now=now)
        return claims

    def _check_claims(self, claims: Mapping[str, Any], *, token_use: str, now: float | None) -> None:
        if claims.get("iss") != self.issuer:
            raise TokenValidationError(
                f"The {token_use} token was issued by another user pool than {self.issuer}."
            )
        if claims.get("token_use") != token_use:
            raise TokenValidationError(f"Expected an {token_use} token, got another kind.")
        audience = claims.get("aud") if token_use == "id" else claims.get("client_id")
        if audience != self.client_id:
            raise TokenValidationError(f"The {token_use} token was issued to another app client.")
        exp = _time_claim(claims, "exp", token_use)
        iat = _time_claim(claims, "iat", token_use)
        if "auth_time" in claims:
            _time_claim(claims, "auth_time", token_use)
        if exp <= iat or (now is not None and exp <= now):
            raise TokenValidationError(f"The {token_use} token has already expired.")


# Seconds since 1970: 1e11 is the year 5138. Beyond it a time is garbage, not a far future.
_LATEST_PLAUSIBLE = 1e11


def _time_claim(claims: Mapping[str, Any], name: str, token_use: str) -> float:
    """The NumericDate ``claims[name]`` (RFC 7519 section 2), or TokenValidationError.

    A bool is not a number here (``True`` is an ``int`` in Python), and NaN (compares false
    with everything), infinities and absurd values such as ``1e300`` are refused: each would
    otherwise pass the expiry checks or fail later with a bare ValueError/OverflowError.
    """
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenValidationError(f"The {token_use} token has no valid {name} claim (not a number).")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not (math.isfinite(number) and 0.0 <= number < _LATEST_PLAUSIBLE):
        raise TokenValidationError(f"The {token_use} token has no valid {name} claim (not a plausible time).")
    return number
