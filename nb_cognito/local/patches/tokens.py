"""Tokens: JWTs with the app client's validity, the emulator clock, and the pool's issuer.

moto ignored ``AccessTokenValidity``/``IdTokenValidity``/``TokenValidityUnits`` (always 3600 s),
took ``iat``/``exp`` from ``time.time()``, lost ``auth_time`` on refresh, left the user's
attributes out of the ID token, never expired refresh tokens, and accepted expired access
tokens. This module fixes each, writes ``iss`` in the form the pool's spec asks for (the
original ``cognito-idp`` host or the ``UPDATED`` ``issuer-cognito-idp`` host), and produces the
token fault modes (:class:`~nb_cognito.local.fault_modes.FaultMode`).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from joserfc import jwt as jose_jwt
from moto.cognitoidp import models as idp

from ..fault_modes import FaultMode
from ..state import EmulatorState, RefreshMeta, current
from .common import claims, not_authorized, original

__all__ = [
    "JwkWithCachedImport",
    "create_jwt",
    "create_refresh_token",
    "issuer",
    "issuers",
    "rejecting_expired_access_token",
    "validity",
]

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}
_DEFAULT_VALIDITY = {"AccessToken": (1, "hours"), "IdToken": (1, "hours"), "RefreshToken": (30, "days")}
_ID_TOKEN_LIES: dict[FaultMode, dict[str, Any]] = {
    FaultMode.ID_TOKEN_WRONG_AUDIENCE: {"aud": "someone-else"},
    FaultMode.ID_TOKEN_WRONG_ISSUER: {"iss": "https://evil.example/pool"},
    FaultMode.ID_TOKEN_WRONG_TOKEN_USE: {"token_use": "access"},
    FaultMode.ID_TOKEN_EXP_NAN: {"exp": float("nan")},
    FaultMode.ID_TOKEN_EXP_INFINITY: {"exp": float("inf")},
    FaultMode.ID_TOKEN_EXP_HUGE: {"exp": 1e300},
    FaultMode.ID_TOKEN_EXP_TRUE: {"exp": True},
}


class JwkWithCachedImport:
    """Stands in for ``joserfc.jwk`` inside moto's cognitoidp models: RSA keys imported once.

    Every CreateUserPool re-imported moto's one fixed RSA key (0.1-0.5 s each); caching keeps
    ``LocalCognito.reset()`` fast enough to run per test. Speed, not fidelity.
    """

    def __init__(self, real: Any) -> None:
        self._real = real
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    @property
    def RSAKey(self) -> Any:
        return self

    def import_key(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        marker = json.dumps([value, args, kwargs], sort_keys=True, default=str)
        with self._lock:
            if marker not in self._cache:
                self._cache[marker] = self._real.RSAKey.import_key(value, *args, **kwargs)
            return self._cache[marker]


def validity(client: idp.CognitoIdpUserPoolClient | None, kind: str) -> int:
    """Seconds a ``kind`` token ("AccessToken", "IdToken", "RefreshToken") of ``client`` lives."""
    config = client.extended_config if client is not None else {}
    default_value, default_unit = _DEFAULT_VALIDITY[kind]
    value = config.get(f"{kind}Validity")
    unit = (config.get("TokenValidityUnits") or {}).get(kind) or default_unit
    if value is None:
        value, unit = default_value, default_unit
    return int(value) * _UNIT_SECONDS.get(unit, _UNIT_SECONDS[default_unit])


def issuers(region: str, pool_id: str) -> tuple[str, str]:
    """(original, UPDATED) issuer URLs of a pool, as the service writes them in ``iss``."""
    return (
        f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        f"https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}",
    )


def issuer(state: EmulatorState, region: str, pool_id: str) -> str:
    """The ``iss`` the pool's tokens carry: the form its spec's ``issuer`` names."""
    original_form, updated_form = issuers(region, pool_id)
    return updated_form if state.pool_spec(pool_id).issuer == "updated" else original_form


def _id_token_attributes(client: Any, user: idp.CognitoIdpUser) -> dict[str, Any]:
    """The attributes real Cognito puts in an ID token when the client reads them all."""
    if client is not None and client.get_readable_fields():
        return {}
    attributes: dict[str, Any] = {}
    for name, value in user.attribute_lookup.items():
        if name == "sub" or name.startswith("dev:"):
            continue
        attributes[name] = value == "true" if name.endswith("_verified") else value
    return attributes


def create_jwt(
    self: idp.CognitoIdpUserPool,
    client_id: str,
    username: str,
    token_use: str,
    expires_in: int = 3600,
    extra_data: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """``CognitoIdpUserPool.create_jwt``: validity, clock, ``auth_time``, attributes, issuer."""
    state = current()
    now = int(state.now())
    client = self.clients.get(client_id)
    lifetime = validity(client, "AccessToken" if token_use == "access" else "IdToken")
    user = self._get_user(username)
    extra = dict(extra_data or {})
    payload: dict[str, Any] = {
        "iss": issuer(state, self.region, self.id),
        "sub": user.id,
        "token_use": token_use,
        "iat": now,
        "auth_time": state.auth_times.get(str(extra.get("origin_jti")), now),
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    if token_use == "access":
        payload.update(client_id=client_id, username=user.username)
        device_key = state.origin_devices.get(str(extra.get("origin_jti")))
        if device_key:
            payload["device_key"] = device_key
    else:
        payload.update(_id_token_attributes(client, user))
        payload.update({"aud": client_id, "cognito:username": user.username})
    payload.update(extra)
    if token_use == "id":
        for mode, lie in _ID_TOKEN_LIES.items():
            if state.fault_on(mode):
                payload.update(lie)
    token = jose_jwt.encode({"kid": "dummy", "alg": "RS256"}, payload, self.json_web_key)
    if state.fault_on(FaultMode.TOKENS_BAD_SIGNATURE):
        token = token[:-8] + ("AAAAAAAA" if token[-8:] != "AAAAAAAA" else "BBBBBBBB")
    return token, lifetime


def create_refresh_token(self: idp.CognitoIdpUserPool, client_id: str, username: str) -> tuple[str, str]:
    """``CognitoIdpUserPool.create_refresh_token``: expiry on the emulator clock, owner's ``sub``."""
    token, origin_jti = original("CognitoIdpUserPool.create_refresh_token")(self, client_id, username)
    state = current()
    now = state.now()
    user = self._get_user(username)
    meta = RefreshMeta(
        expires_at=now + validity(self.clients.get(client_id), "RefreshToken"),
        sub=user.id if user is not None else "",
        auth_time=int(now),
    )
    with state.lock:
        state.refresh[token] = meta
        state.auth_times[origin_jti] = meta.auth_time
    return token, origin_jti


def rejecting_expired_access_token(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a backend method taking an access token: an expired one is NotAuthorized."""

    def checked(self: idp.CognitoIdpBackend, access_token: str, *args: Any, **kwargs: Any) -> Any:
        known = any(access_token in pool.access_tokens for pool in self.user_pools.values())
        expires = claims(access_token).get("exp") if known else None
        if expires is not None and current().now() >= float(expires):
            raise not_authorized("Access Token has expired")
        return method(self, access_token, *args, **kwargs)

    checked.__name__ = method.__name__
    checked.__doc__ = method.__doc__
    return checked
