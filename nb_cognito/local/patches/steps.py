"""The sign-in state machine: what comes after a right password, and how a challenge is opened.

Both InitiateAuth (:mod:`.initiate`) and RespondToAuthChallenge (:mod:`.respond`) end a step
here, so USER_PASSWORD_AUTH and USER_SRP_AUTH reach the same next step: a status error,
NEW_PASSWORD_REQUIRED, an MFA challenge (or SELECT_MFA_TYPE / MFA_SETUP), or the tokens.
moto had MFA_SETUP only on the SRP path and let RESET_REQUIRED users sign in.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cognitoidp import models as idp

from ..state import AuthSession, EmulatorState
from .common import LOCKED_OUT, WRONG_PASSWORD, UserStatus, error, not_authorized

__all__ = [
    "after_password",
    "challenge",
    "check_may_try_password",
    "enabled_mfa",
    "live_session",
    "mfa_challenge",
    "mfa_or_tokens",
    "password_failed",
]


def check_may_try_password(state: EmulatorState, pool: Any, user: Any) -> None:
    """NotAuthorized for a disabled or locked-out user, before the password is looked at."""
    if not user.enabled:
        raise not_authorized("User is disabled.")
    if state.locked_out((pool.id, user.username)):
        raise not_authorized(LOCKED_OUT)


def password_failed(state: EmulatorState, pool: Any, user: Any) -> None:
    """Count a wrong password towards the lockout and raise Cognito's error."""
    state.password_failed((pool.id, user.username))
    raise not_authorized(WRONG_PASSWORD)


def after_password(
    backend: idp.CognitoIdpBackend, state: EmulatorState, pool: Any, client: Any, user: Any
) -> dict[str, Any]:
    """The step after a right password: a status error, NEW_PASSWORD_REQUIRED, MFA, or tokens."""
    if user.status == UserStatus.UNCONFIRMED:
        raise idp.UserNotConfirmedException("User is not confirmed.")
    if user.status == UserStatus.RESET_REQUIRED:
        raise error("PasswordResetRequiredException", "Password reset required for the user")
    if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
        attributes = {k: v for k, v in user.attribute_lookup.items() if k != "sub"}
        parameters = {
            "USER_ID_FOR_SRP": user.username,
            "requiredAttributes": "[]",
            "userAttributes": json.dumps(attributes),
        }
        return challenge(backend, state, pool, client, user, "NEW_PASSWORD_REQUIRED", parameters)
    return mfa_or_tokens(backend, state, pool, client, user)


def enabled_mfa(state: EmulatorState, pool: Any, user: Any) -> list[str]:
    """The MFA kinds set up for ``user`` that the pool allows (none while the pool's MFA is off)."""
    if pool.mfa_config == "OFF":
        return []
    enabled = []
    if user.sms_mfa_enabled and user.attribute_lookup.get("phone_number"):
        enabled.append("SMS_MFA")
    if user.software_token_mfa_enabled and (pool.id, user.username) in state.totp_secrets:
        enabled.append("SOFTWARE_TOKEN_MFA")
    return enabled


def mfa_or_tokens(
    backend: idp.CognitoIdpBackend, state: EmulatorState, pool: Any, client: Any, user: Any
) -> dict[str, Any]:
    """The preferred (or only) MFA challenge, SELECT_MFA_TYPE, MFA_SETUP, or the tokens."""
    enabled = enabled_mfa(state, pool, user)
    if user.preferred_mfa_setting in enabled:
        return mfa_challenge(backend, state, pool, client, user, str(user.preferred_mfa_setting))
    if len(enabled) == 1:
        return mfa_challenge(backend, state, pool, client, user, enabled[0])
    if enabled:
        parameters = {"MFAS_CAN_CHOOSE": json.dumps(enabled)}
        return challenge(backend, state, pool, client, user, "SELECT_MFA_TYPE", parameters)
    if pool.mfa_config == "ON":
        can_setup = [
            name
            for name, configured in (
                ("SMS_MFA", bool(pool.sms_mfa_config)),
                ("SOFTWARE_TOKEN_MFA", (pool.token_mfa_config or {}).get("Enabled") is True),
            )
            if configured
        ]
        if can_setup:
            parameters = {"MFAS_CAN_SETUP": json.dumps(can_setup)}
            return challenge(backend, state, pool, client, user, "MFA_SETUP", parameters)
    return backend._log_user_in(pool, client, user.username)


def mfa_challenge(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    kind: str,
) -> dict[str, Any]:
    """Open the ``kind`` MFA challenge; for SMS, send a code to the user's phone (the outbox)."""
    if kind == "SOFTWARE_TOKEN_MFA":
        return challenge(backend, state, pool, client, user, kind, {})
    code = state.send_sms((pool.id, user.username))
    phone = user.attribute_lookup["phone_number"]
    parameters = {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******" + phone[-4:],
    }
    return challenge(backend, state, pool, client, user, kind, parameters, sms_code=code)


def challenge(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    name: str,
    parameters: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    """Open a sign-in session awaiting ``name`` (for the client's AuthSessionValidity)."""
    minutes = int(client.extended_config.get("AuthSessionValidity") or 3)
    session = AuthSession(
        pool_id=pool.id,
        client_id=client.id,
        username=user.username,
        challenge=name,
        expires_at=state.now() + 60 * minutes,
        **extra,
    )
    session_id = state.open_session(session)
    backend.sessions[session_id] = (user.username, pool)
    return {"ChallengeName": name, "Session": session_id, "ChallengeParameters": parameters}


def live_session(
    state: EmulatorState, session_id: str | None, challenge_name: str, client_id: str | None
) -> AuthSession:
    """The unexpired sign-in ``session_id`` awaiting ``challenge_name`` (from ``client_id``, if given)."""
    auth = state.sessions.get(session_id or "")
    if auth is None or auth.challenge != challenge_name or client_id not in (None, auth.client_id):
        raise not_authorized("Invalid session for the user.")
    if state.now() >= auth.expires_at:
        state.close_session(session_id or "")
        raise not_authorized("Invalid session for the user, session is expired.")
    return auth
