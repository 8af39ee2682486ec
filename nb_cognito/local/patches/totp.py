"""TOTP (software token) MFA: AssociateSoftwareToken and VerifySoftwareToken.

moto gave every user the secret ``asdfasdfasdf`` and accepted any code. Here each user gets a
random base32 secret, codes are checked at the emulator clock, and the setup can run with an
access token (signed in) or with an MFA_SETUP sign-in session. :func:`set_user_totp` gives a
user a *known* secret, which no Cognito API can do (provisioning needs it).
"""

from __future__ import annotations

from typing import Any

from moto.cognitoidp import models as idp

from .. import srp
from ..state import AuthSession, EmulatorState, current
from .common import claims, error, find_user, not_authorized
from .steps import live_session

__all__ = ["associate_software_token", "set_user_totp", "verify_software_token"]


def set_user_totp(
    state: EmulatorState, pool_id: str, username: str, secret: str, *, preferred: bool = True
) -> None:
    """Give a user TOTP MFA with ``secret``, verified and enabled (and preferred)."""
    user = find_user(pool_id, username)
    if user is None:
        raise KeyError(username)
    with state.lock:
        state.totp_secrets[(pool_id, user.username)] = secret.strip().replace(" ", "").upper()
    user.token_verified = True
    user.software_token_mfa_enabled = True
    if preferred:
        user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"


def _totp_target(
    backend: idp.CognitoIdpBackend, state: EmulatorState, access_token: str, session_id: str
) -> tuple[Any, Any, AuthSession | None]:
    """(pool, user, MFA_SETUP session or None) for an access token or a sign-in session."""
    if session_id:
        auth = live_session(state, session_id, "MFA_SETUP", None)
        pool = backend.describe_user_pool(auth.pool_id)
        return pool, backend.admin_get_user(pool.id, auth.username), auth
    for pool in backend.user_pools.values():
        if access_token and access_token in pool.access_tokens:
            if state.now() >= float(claims(access_token).get("exp", 0)):
                raise not_authorized("Access Token has expired")
            _, username = pool.access_tokens[access_token]
            return pool, backend.admin_get_user(pool.id, username), None
    raise not_authorized("Invalid Access Token")


def associate_software_token(self: idp.CognitoIdpBackend, access_token: str, session: str) -> dict[str, str]:
    """``CognitoIdpBackend.associate_software_token``: a new random secret, pending until verified."""
    state = current()
    pool, user, auth = _totp_target(self, state, access_token, session)
    secret = srp.new_totp_secret()
    with state.lock:
        state.pending_totp[(pool.id, user.username)] = secret
    return {"SecretCode": secret, "Session": session} if auth else {"SecretCode": secret}


def verify_software_token(
    self: idp.CognitoIdpBackend,
    access_token: str,
    session: str,
    user_code: str,
    friendly_device_name: str,
) -> dict[str, str]:
    """``CognitoIdpBackend.verify_software_token``: the pending secret's current code enables it."""
    state = current()
    pool, user, auth = _totp_target(self, state, access_token, session)
    key = (pool.id, user.username)
    secret = state.pending_totp.get(key)
    if secret is None or not srp.totp_matches(secret, user_code or "", state.now()):
        raise error("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
    with state.lock:
        state.totp_secrets[key] = state.pending_totp.pop(key)
    user.token_verified = True
    if auth is None:
        return {"Status": "SUCCESS"}
    user.software_token_mfa_enabled = True
    user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"
    auth.mfa_setup_done = True
    return {"Status": "SUCCESS", "Session": session}
