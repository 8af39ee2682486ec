"""The sign-in state machine: what comes after a right first factor, and how a step is opened.

InitiateAuth (:mod:`.initiate`, :mod:`.user_auth`) and RespondToAuthChallenge (:mod:`.respond`)
end each step here, so every flow reaches the same next step: a status error,
NEW_PASSWORD_REQUIRED (with the pool's required attributes), device SRP for a remembered
device, an MFA challenge (SMS, TOTP or EMAIL_OTP; SELECT_MFA_TYPE; MFA_SETUP), or the tokens
(with NewDeviceMetadata when the pool tracks devices). moto had MFA_SETUP only on the SRP path
and let RESET_REQUIRED users sign in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moto.cognitoidp import models as idp

from .. import srp
from ..state import AuthSession, EmulatorState
from . import devices
from .common import LOCKED_OUT, WRONG_PASSWORD, UserStatus, error, not_authorized
from .srp_challenge import srp_parameters, srp_started

__all__ = [
    "Answer",
    "after_password",
    "challenge",
    "check_may_try_password",
    "email_code_sent",
    "enabled_mfa",
    "issue_tokens",
    "live_session",
    "mfa_challenge",
    "mfa_or_tokens",
    "password_failed",
]


@dataclass(frozen=True)
class Answer:
    """One RespondToAuthChallenge call, checked against the live sign-in session it answers."""

    backend: Any
    state: EmulatorState
    session_id: str
    auth: AuthSession
    pool: Any
    client: Any
    user: Any
    responses: dict[str, str]

    def finish(self) -> None:
        """Close the sign-in session: it takes no second answer."""
        self.state.close_session(self.session_id)
        self.backend.sessions.pop(self.session_id, None)

    @property
    def device_key(self) -> str | None:
        return self.responses.get("DEVICE_KEY") or self.auth.device_key

    def signed_in(self) -> dict[str, Any]:
        self.finish()
        return issue_tokens(self.backend, self.state, self.pool, self.client, self.user, self.device_key)


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
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    device_key: str | None = None,
) -> dict[str, Any]:
    """The step after a right password: a status error, NEW_PASSWORD_REQUIRED, MFA, or tokens."""
    if user.status == UserStatus.UNCONFIRMED:
        raise idp.UserNotConfirmedException("User is not confirmed.")
    if user.status == UserStatus.RESET_REQUIRED:
        raise error("PasswordResetRequiredException", "Password reset required for the user")
    if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
        attributes = {k: v for k, v in user.attribute_lookup.items() if k != "sub"}
        missing = [
            f"userAttributes.{name}"
            for name in state.pool_spec(pool.id).required_attributes
            if not attributes.get(name)
        ]
        parameters = {
            "USER_ID_FOR_SRP": user.username,
            "requiredAttributes": json.dumps(missing),
            "userAttributes": json.dumps(attributes),
        }
        return challenge(
            backend, state, pool, client, user, "NEW_PASSWORD_REQUIRED", parameters, device_key=device_key
        )
    if devices.remembered(state, pool, user, device_key):
        parameters = {"USERNAME": user.username}
        return challenge(
            backend, state, pool, client, user, "DEVICE_SRP_AUTH", parameters, device_key=device_key
        )
    return mfa_or_tokens(backend, state, pool, client, user, device_key)


def enabled_mfa(state: EmulatorState, pool: Any, user: Any) -> list[str]:
    """The MFA kinds set up for ``user`` that the pool allows (none while the pool's MFA is off)."""
    if pool.mfa_config == "OFF":
        return []
    enabled = []
    if user.sms_mfa_enabled and user.attribute_lookup.get("phone_number"):
        enabled.append("SMS_MFA")
    if user.software_token_mfa_enabled and (pool.id, user.username) in state.totp_secrets:
        enabled.append("SOFTWARE_TOKEN_MFA")
    email_allowed = "EMAIL" in state.pool_spec(pool.id).mfa_types
    if email_allowed and (pool.id, user.username) in state.email_mfa and user.attribute_lookup.get("email"):
        enabled.append("EMAIL_OTP")
    return enabled


def mfa_or_tokens(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    device_key: str | None = None,
) -> dict[str, Any]:
    """The preferred (or only) MFA challenge, SELECT_MFA_TYPE, MFA_SETUP, or the tokens."""
    enabled = enabled_mfa(state, pool, user)
    if user.preferred_mfa_setting in enabled:
        return mfa_challenge(backend, state, pool, client, user, str(user.preferred_mfa_setting), device_key)
    if len(enabled) == 1:
        return mfa_challenge(backend, state, pool, client, user, enabled[0], device_key)
    if enabled:
        parameters = {"MFAS_CAN_CHOOSE": json.dumps(enabled)}
        return challenge(
            backend, state, pool, client, user, "SELECT_MFA_TYPE", parameters, device_key=device_key
        )
    if pool.mfa_config == "ON":
        can_setup = [
            name
            for name, configured in (
                ("SMS_MFA", bool(pool.sms_mfa_config)),
                ("SOFTWARE_TOKEN_MFA", (pool.token_mfa_config or {}).get("Enabled") is True),
                ("EMAIL_OTP", "EMAIL" in state.pool_spec(pool.id).mfa_types),
            )
            if configured
        ]
        if can_setup:
            parameters = {"MFAS_CAN_SETUP": json.dumps(can_setup)}
            return challenge(
                backend, state, pool, client, user, "MFA_SETUP", parameters, device_key=device_key
            )
    return issue_tokens(backend, state, pool, client, user, device_key)


def mfa_challenge(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    kind: str,
    device_key: str | None = None,
) -> dict[str, Any]:
    """Open the ``kind`` MFA challenge; for SMS and email, send a code (to the outbox)."""
    if kind == "SOFTWARE_TOKEN_MFA":
        return challenge(backend, state, pool, client, user, kind, {}, device_key=device_key)
    if kind == "EMAIL_OTP":
        code, parameters = email_code_sent(state, pool, user)
        return challenge(
            backend, state, pool, client, user, kind, parameters, email_code=code, device_key=device_key
        )
    code, parameters = sms_code_sent(state, pool, user)
    return challenge(
        backend, state, pool, client, user, kind, parameters, sms_code=code, device_key=device_key
    )


def sms_code_sent(state: EmulatorState, pool: Any, user: Any) -> tuple[str, dict[str, str]]:
    """Send an SMS code to ``user``; the code and the challenge parameters that say where."""
    code = state.send_sms((pool.id, user.username))
    phone = user.attribute_lookup["phone_number"]
    return code, {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******" + phone[-4:],
    }


def start_password_verifier(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    srp_a: str,
    device_key: str | None,
) -> dict[str, Any]:
    """The PASSWORD_VERIFIER challenge that answers the client's SRP_A for ``user``."""
    started = srp_started(srp.start_challenge(srp_a, pool.id, user.username, user.password or ""))
    parameters = srp_parameters(started, user.username, USER_ID_FOR_SRP=user.username)
    return challenge(
        backend,
        state,
        pool,
        client,
        user,
        "PASSWORD_VERIFIER",
        parameters,
        srp=started,
        device_key=device_key,
    )


def email_code_sent(state: EmulatorState, pool: Any, user: Any) -> tuple[str, dict[str, str]]:
    """Send an email code to the user's ``email``; (code, the challenge's delivery parameters)."""
    code = state.send_email((pool.id, user.username))
    local_part, _, domain = str(user.attribute_lookup.get("email", "")).partition("@")
    masked = f"{local_part[:1]}***@{domain[:1]}***"
    return code, {"CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL", "CODE_DELIVERY_DESTINATION": masked}


def issue_tokens(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    device_key: str | None = None,
) -> dict[str, Any]:
    """The tokens of a finished sign-in; with device tracking, bound to a (new) device key."""
    refresh_token, origin = pool.create_refresh_token(client.id, user.username)
    known, new_metadata = devices.for_sign_in(state, pool, user, device_key)
    if known is not None:
        with state.lock:
            state.origin_devices[origin] = known
            state.refresh_devices[refresh_token] = known
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
    result: dict[str, Any] = {
        "IdToken": id_token,
        "AccessToken": access_token,
        "RefreshToken": refresh_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    }
    if new_metadata is not None:
        result["NewDeviceMetadata"] = new_metadata
    return {"ChallengeParameters": {}, "AuthenticationResult": result}


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
