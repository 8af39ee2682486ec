"""The choice-based ``USER_AUTH`` flow: SELECT_CHALLENGE, PASSWORD, PASSWORD_SRP, EMAIL_OTP, SMS_OTP.

moto does not know ``USER_AUTH``. As the API reference describes it (InitiateAuth
``AuthParameters``, RespondToAuthChallenge ``ChallengeResponses``): InitiateAuth with
``USERNAME`` and an optional ``PREFERRED_CHALLENGE`` either starts that first factor (with
``PASSWORD`` or ``SRP_A`` given up front) or answers ``SELECT_CHALLENGE`` with
``AvailableChallenges``: the pool's ``allowed_first_auth_factors`` that the user can use
(``EMAIL_OTP`` needs an email, ``SMS_OTP`` a phone number). A password first factor goes on
to MFA as any password sign-in does; a one-time code first factor signs in. ``WEB_AUTHN`` is
offered when the pool allows it, but the emulator holds no passkeys, so choosing it is refused.
"""

from __future__ import annotations

import secrets
from typing import Any

from moto.cognitoidp import models as idp

from ..state import EmulatorState, current
from .common import check_secret_hash, error, not_authorized, required
from .steps import (
    Answer,
    after_password,
    challenge,
    check_may_try_password,
    email_code_sent,
    password_failed,
    sms_code_sent,
    start_password_verifier,
)

__all__ = ["ANSWERS", "available_challenges", "user_auth"]


def available_challenges(state: EmulatorState, pool: Any, user: Any) -> list[str]:
    """The first factors ``user`` may choose from, in the pool's order."""
    needs = {"EMAIL_OTP": "email", "SMS_OTP": "phone_number"}
    available: list[str] = []
    for factor in state.pool_spec(pool.id).allowed_first_auth_factors:
        if factor == "PASSWORD":
            available += ["PASSWORD", "PASSWORD_SRP"]
        elif factor not in needs or user.attribute_lookup.get(needs[factor]):
            available.append(factor)
    return available


def user_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    """InitiateAuth ``USER_AUTH``: the preferred first factor, or SELECT_CHALLENGE."""
    username = required(params, "USERNAME")
    check_secret_hash(client, params.get("SECRET_HASH"), [username])
    user = backend.admin_get_user(pool.id, username)
    if not user.enabled:
        raise not_authorized("User is disabled.")
    state = current()
    available = available_challenges(state, pool, user)
    preferred = params.get("PREFERRED_CHALLENGE")
    device_key = params.get("DEVICE_KEY")
    if preferred and preferred in available:
        return _first_factor(backend, state, pool, client, user, preferred, params, device_key)
    answer = challenge(backend, state, pool, client, user, "SELECT_CHALLENGE", {}, device_key=device_key)
    answer["AvailableChallenges"] = available
    return answer


def _first_factor(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    factor: str,
    params: dict[str, str],
    device_key: str | None,
) -> dict[str, Any]:
    """Start (or, with the password given, finish) the chosen first factor."""
    if factor == "PASSWORD":
        if not params.get("PASSWORD"):
            return challenge(backend, state, pool, client, user, "PASSWORD", {}, device_key=device_key)
        return _check_password(backend, state, pool, client, user, params["PASSWORD"], device_key)
    if factor == "PASSWORD_SRP":
        if not params.get("SRP_A"):
            return challenge(backend, state, pool, client, user, "PASSWORD_SRP", {}, device_key=device_key)
        return start_password_verifier(backend, state, pool, client, user, params["SRP_A"], device_key)
    if factor == "EMAIL_OTP":
        code, parameters = email_code_sent(state, pool, user)
        return challenge(
            backend,
            state,
            pool,
            client,
            user,
            "EMAIL_OTP",
            parameters,
            email_code=code,
            device_key=device_key,
        )
    if factor == "SMS_OTP":
        code, parameters = sms_code_sent(state, pool, user)
        return challenge(
            backend, state, pool, client, user, "SMS_OTP", parameters, sms_code=code, device_key=device_key
        )
    raise idp.InvalidParameterException(
        f"{factor} cannot be answered by this emulator: it holds no WebAuthn credentials (passkeys)."
    )


def _check_password(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    password: str,
    device_key: str | None,
) -> dict[str, Any]:
    check_may_try_password(state, pool, user)
    if user.password != password:
        password_failed(state, pool, user)
    state.password_ok((pool.id, user.username))
    return after_password(backend, state, pool, client, user, device_key)


def _answer_select_challenge(a: Answer) -> dict[str, Any]:
    factor = required(a.responses, "ANSWER")
    if factor not in available_challenges(a.state, a.pool, a.user):
        raise idp.InvalidParameterException(f"{factor} is not one of the available challenges")
    a.finish()
    return _first_factor(a.backend, a.state, a.pool, a.client, a.user, factor, a.responses, a.device_key)


def _answer_password(a: Answer) -> dict[str, Any]:
    password = required(a.responses, "PASSWORD")
    a.finish()
    return _check_password(a.backend, a.state, a.pool, a.client, a.user, password, a.device_key)


def _answer_password_srp(a: Answer) -> dict[str, Any]:
    srp_a = required(a.responses, "SRP_A")
    a.finish()
    return start_password_verifier(a.backend, a.state, a.pool, a.client, a.user, srp_a, a.device_key)


def _answer_sms_otp(a: Answer) -> dict[str, Any]:
    code = required(a.responses, "SMS_OTP_CODE")
    if not a.auth.sms_code or not secrets.compare_digest(a.auth.sms_code, code.strip()):
        raise error("CodeMismatchException", "Invalid code or auth state for the user.")
    return a.signed_in()


#: RespondToAuthChallenge handlers of this flow, by challenge name (used by :mod:`.respond`).
ANSWERS = {
    "SELECT_CHALLENGE": _answer_select_challenge,
    "PASSWORD": _answer_password,
    "PASSWORD_SRP": _answer_password_srp,
    "SMS_OTP": _answer_sms_otp,
}
