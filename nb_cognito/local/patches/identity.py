"""Identity pools: GetId and GetCredentialsForIdentity.

moto's GetId ignored ``Logins`` and returned a new id every call; its credentials were one
fixed key pair that expired after 90 s. Here the ID token is verified (signature, issuer,
audience, expiry), one user keeps one identity id, guests are refused unless the pool allows
them, and every call vends distinct ``ASIA...`` credentials for the pool's configured lifetime
(or partial ones, under :attr:`~nb_cognito.local.fault_modes.FaultMode.CREDENTIALS_WITHOUT_SESSION_TOKEN`).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable
from typing import Any

from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from moto.cognitoidentity import models as identity_models
from moto.cognitoidentity.responses import CognitoIdentityResponse

from ..fault_modes import FaultMode
from ..state import EmulatorState, Identity, current
from .common import claims, error, find_pool, not_authorized
from .tokens import issuer

__all__ = ["get_credentials_for_identity", "get_id", "new_credentials"]

_LOGINS_DONT_MATCH = (
    "Logins don't match. Please include at least one valid login for this identity or identity pool."
)


def _identity_pool(identity_pool_id: str) -> tuple[Any, Any]:
    for per_account in identity_models.cognitoidentity_backends.values():
        for backend in per_account.values():
            if identity_pool_id in backend.identity_pools:
                return backend, backend.identity_pools[identity_pool_id]
    raise error("ResourceNotFoundException", f"IdentityPool '{identity_pool_id}' not found.")


def _verify_login(pool: Any, logins: dict[str, str], state: EmulatorState) -> tuple[str, str]:
    """(provider, sub) of the one valid Cognito ID token in ``logins``; NotAuthorized otherwise."""
    # One provider (a user pool) may be listed once per app client, as AWS allows.
    providers: dict[str, set[str]] = {}
    for entry in pool.cognito_identity_providers or []:
        providers.setdefault(entry.get("ProviderName"), set()).add(entry.get("ClientId") or "")
    if len(logins) != 1:
        raise not_authorized("Invalid login token. Exactly one login is supported here.")
    ((provider, token),) = logins.items()
    exp = float(claims(token).get("exp", 0) or 0)
    try:
        if provider not in providers:
            raise not_authorized("Token is not from a supported provider of this identity pool.")
        verified = _verified_id_token(provider, token, state)
        if "" not in providers[provider] and verified.get("aud") not in providers[provider]:
            raise not_authorized("Invalid login token. Incorrect token audience.")
        now = state.now()
        if now >= float(verified.get("exp", 0)):
            raise not_authorized(f"Invalid login token. Token expired: {int(now)} >= {verified.get('exp')}")
    except Exception:
        state.emit("login_checked", expires=exp, accepted=False)
        raise
    state.emit("login_checked", expires=exp, accepted=True)
    return provider, str(verified["sub"])


def _verified_id_token(provider: str, token: str, state: EmulatorState) -> dict[str, Any]:
    match = re.fullmatch(r"cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+)", provider)
    user_pool = find_pool(match.group(2)) if match else None
    if match is None or user_pool is None:
        raise not_authorized("Invalid login token. Issuer doesn't match providerName")
    try:
        decoded = jose_jwt.decode(token, user_pool.json_web_key, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError):
        raise not_authorized("Invalid login token. Not a valid OpenId Connect identity token.") from None
    payload = dict(decoded.claims)
    if payload.get("iss") != issuer(state, match.group(1), match.group(2)):  # the pool's own form
        raise not_authorized("Invalid login token. Issuer doesn't match providerName")
    if payload.get("token_use") != "id" or "sub" not in payload:
        raise not_authorized("Invalid login token. Not a valid OpenId Connect identity token.")
    return payload


def _new_identity(backend: Any, identity_pool_id: str, identity: Identity, state: EmulatorState) -> str:
    identity_id = f"{identity_pool_id.split(':')[0]}:{uuid.uuid4()}"
    with state.lock:
        state.identities[identity_id] = identity
        if identity.sub is not None:
            state.identity_ids[(identity_pool_id, str(identity.provider), identity.sub)] = identity_id
    backend.pools_identities[identity_pool_id]["Identities"].append({"IdentityId": identity_id})
    return identity_id


def get_id(self: CognitoIdentityResponse) -> str:
    """GetId: one stable identity per (identity pool, user); guests only where allowed."""
    identity_pool_id = self._get_param("IdentityPoolId")
    backend, pool = _identity_pool(identity_pool_id)
    logins = self._get_param("Logins") or {}
    state = current()
    if not logins:
        if not pool.allow_unauthenticated_identities:
            raise not_authorized("Unauthenticated access is not supported for this identity pool.")
        guest_id = _new_identity(backend, identity_pool_id, Identity(identity_pool_id, None, None), state)
        return json.dumps({"IdentityId": guest_id})
    provider, sub = _verify_login(pool, logins, state)
    identity_id = state.identity_ids.get((identity_pool_id, provider, sub))
    if identity_id is None:
        identity_id = _new_identity(
            backend, identity_pool_id, Identity(identity_pool_id, provider, sub), state
        )
    return json.dumps({"IdentityId": identity_id})


def get_credentials_for_identity(self: CognitoIdentityResponse) -> str:
    """GetCredentialsForIdentity: fresh ASIA... credentials for the pool's lifetime, per call."""
    identity_id = self._get_param("IdentityId") or ""
    state = current()
    identity = state.identities.get(identity_id)
    if identity is None:
        raise error("ResourceNotFoundException", f"Identity '{identity_id}' not found.")
    _, pool = _identity_pool(identity.identity_pool_id)
    logins = self._get_param("Logins") or {}
    if identity.sub is None:
        if not pool.allow_unauthenticated_identities:
            raise not_authorized("Unauthenticated access is not supported for this identity pool.")
    else:
        if not logins:
            raise not_authorized(_LOGINS_DONT_MATCH)
        if _verify_login(pool, logins, state) != (identity.provider, identity.sub):
            raise not_authorized(_LOGINS_DONT_MATCH)
    lifetime = state.credentials_lifetime.get(identity.identity_pool_id, 3600)
    credentials = new_credentials(state.now() + lifetime)
    state.emit(
        "credentials_issued",
        credentials=(credentials["AccessKeyId"], credentials["SecretKey"], credentials["SessionToken"]),
        expires=credentials["Expiration"],
    )
    for mode, spoil in _SPOILED_CREDENTIALS.items():
        if state.fault_on(mode):
            spoil(credentials, state.now())
    return json.dumps({"IdentityId": identity_id, "Credentials": credentials})


# What each credentials fault mode does to an otherwise good answer (at server time ``now``).
_SPOILED_CREDENTIALS: dict[FaultMode, Callable[[dict[str, Any], float], None]] = {
    FaultMode.CREDENTIALS_WITHOUT_SESSION_TOKEN: lambda c, now: c.pop("SessionToken"),
    FaultMode.CREDENTIALS_WITHOUT_SECRET_KEY: lambda c, now: c.pop("SecretKey"),
    FaultMode.CREDENTIALS_BLANK_ACCESS_KEY: lambda c, now: c.update(AccessKeyId=""),
    FaultMode.CREDENTIALS_WITHOUT_EXPIRATION: lambda c, now: c.pop("Expiration"),
    FaultMode.CREDENTIALS_GARBAGE_EXPIRATION: lambda c, now: c.update(Expiration="soon"),
    FaultMode.CREDENTIALS_EMPTY: lambda c, now: c.clear(),
    FaultMode.CREDENTIALS_ALREADY_EXPIRED: lambda c, now: c.update(Expiration=now - 60),
    FaultMode.CREDENTIALS_EXPIRING_NOW: lambda c, now: c.update(Expiration=now),
}


def new_credentials(expiration: float) -> dict[str, Any]:
    """A fresh set of temporary credentials (``ASIA`` key id, as STS vends them)."""
    alphabet = string.ascii_uppercase + "234567"
    return {
        "AccessKeyId": "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "SecretKey": base64.b64encode(secrets.token_bytes(30)).decode(),
        "SessionToken": base64.b64encode(secrets.token_bytes(180)).decode(),
        "Expiration": expiration,
    }
