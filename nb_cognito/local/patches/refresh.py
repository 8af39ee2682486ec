"""Refresh and revoke: REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken, RevokeToken.

moto's REFRESH_TOKEN_AUTH ignored expiry, disabled or deleted users (HTTP 500 for a deleted
one), admin password resets and the client a token was issued to; GetTokensFromRefreshToken
and RevokeToken were missing (HTTP 500). Here all three behave as the service documents,
with refresh-token rotation and reuse detection when the app client enables rotation, tokens
bound to a tracked device (:mod:`.devices`), and the refresh fault modes
(:class:`~nb_cognito.local.fault_modes.FaultMode`).
"""

from __future__ import annotations

from typing import Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult

from ..fault_modes import FaultMode
from ..state import EmulatorState, current
from .common import (
    UserStatus,
    check_client_secret,
    check_secret_hash,
    claims,
    client_anywhere,
    error,
    find_pool,
    not_authorized,
    required,
)

__all__ = [
    "get_tokens_from_refresh_token",
    "refresh_token_auth",
    "refresh_token_revoked",
    "revoke_token",
    "rotation_enabled",
]


def rotation_enabled(client: Any) -> bool:
    rotation = client.extended_config.get("RefreshTokenRotation") or {}
    return rotation.get("Feature") == "ENABLED"


def refresh_token_revoked(pool_id: str, token: str) -> bool:
    """True if the pool issued ``token`` and it was revoked (RevokeToken, GlobalSignOut)."""
    pool = find_pool(pool_id)
    return pool is not None and token in pool.refresh_tokens and pool.refresh_tokens[token] is None


def _redeem_refresh_token(
    state: EmulatorState, pool: Any, client: Any, token: str, device_key: str | None
) -> Any:
    """The user a refresh token may still renew; NotAuthorized/PasswordResetRequired if none.

    A token issued to a tracked device renews only with that device's key, as the service
    answers (``Invalid Refresh Token``) a refresh without ``DEVICE_KEY`` / ``DeviceKey``.
    """
    if token in state.rotated:
        raise error("RefreshTokenReuseException", "Refresh token has been rotated and reused.")
    if token not in pool.refresh_tokens:
        raise not_authorized("Invalid Refresh Token")
    entry = pool.refresh_tokens[token]
    if entry is None:
        raise not_authorized("Refresh Token has been revoked")
    client_id, username, _ = entry
    if client_id != client.id:
        raise not_authorized("Invalid Refresh Token")
    bound = state.refresh_devices.get(token)
    if bound is not None and bound != device_key:
        raise not_authorized("Invalid Refresh Token")
    meta = state.refresh.get(token)
    if meta is not None and state.now() >= meta.expires_at:
        raise not_authorized("Refresh Token has expired")
    user = pool._get_user(username)
    if user is None or (meta is not None and meta.sub and user.id != meta.sub):
        raise not_authorized("Refresh Token has been revoked")
    if not user.enabled:
        raise not_authorized("User is disabled.")
    if user.status == UserStatus.RESET_REQUIRED:
        raise error("PasswordResetRequiredException", "Password reset required for the user")
    return user


def _result(state: EmulatorState, access_token: str, id_token: str, expires_in: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "IdToken": id_token,
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    }
    if state.fault_on(FaultMode.REFRESH_WITHOUT_ID_TOKEN):
        result.pop("IdToken")
    if state.fault_on(FaultMode.REFRESH_WITHOUT_ACCESS_TOKEN):
        result.pop("AccessToken")
    return result


def refresh_token_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    """InitiateAuth REFRESH_TOKEN_AUTH (refused for a client with rotation, as the service does)."""
    state = current()
    state.emit("refresh_requested")
    token = required(params, "REFRESH_TOKEN")
    if rotation_enabled(client):
        raise idp.InvalidParameterException(
            "REFRESH_TOKEN_AUTH is not allowed for an app client with refresh token rotation; "
            "use GetTokensFromRefreshToken."
        )
    entry = pool.refresh_tokens.get(token)
    if entry:  # SECRET_HASH is computed from the username Cognito knows, never an alias
        check_secret_hash(client, params.get("SECRET_HASH"), [entry[1]])
    _redeem_refresh_token(state, pool, client, token, params.get("DEVICE_KEY"))
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(token)
    return {
        "ChallengeParameters": {},
        "AuthenticationResult": _result(state, access_token, id_token, expires_in),
    }


def get_tokens_from_refresh_token(self: CognitoIdpResponse) -> ActionResult:
    """GetTokensFromRefreshToken, with refresh-token rotation when the client enables it."""
    state = current()
    state.emit("refresh_requested")
    pool, client = client_anywhere(self._get_param("ClientId"))
    check_client_secret(client, self._get_param("ClientSecret"))
    token = self._get_param("RefreshToken") or ""
    user = _redeem_refresh_token(state, pool, client, token, self._get_param("DeviceKey"))
    if rotation_enabled(client):
        old_origin = pool.refresh_tokens[token][2]
        new_token, new_origin = pool.create_refresh_token(client.id, user.username)
        with state.lock:
            state.auth_times[new_origin] = state.auth_times.get(old_origin, int(state.now()))
            if token in state.refresh_devices:  # the new token keeps the device binding
                state.refresh_devices[new_token] = state.refresh_devices[token]
                state.origin_devices[new_origin] = state.refresh_devices[token]
            state.rotated.add(token)
            del pool.refresh_tokens[token]
        token = new_token
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(token)
    result = _result(state, access_token, id_token, expires_in)
    if rotation_enabled(client):
        result["RefreshToken"] = token
    return ActionResult({"AuthenticationResult": result})


def revoke_token(self: CognitoIdpResponse) -> ActionResult:
    """RevokeToken: the refresh token and the access tokens issued from it stop working."""
    pool, client = client_anywhere(self._get_param("ClientId"))
    check_client_secret(client, self._get_param("ClientSecret"))
    token = self._get_param("Token") or ""
    if claims(token):
        raise error("UnsupportedTokenTypeException", "Only refresh tokens can be revoked.")
    entry = pool.refresh_tokens.get(token)
    if entry is not None:
        if entry[0] != client.id:
            raise not_authorized("Invalid Refresh Token")
        pool.refresh_tokens[token] = None
        origin = entry[2]
        for access_token in list(pool.access_tokens):
            if claims(access_token).get("origin_jti") == origin:
                pool.access_tokens.pop(access_token, None)
    return ActionResult({})
