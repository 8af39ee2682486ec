"""RespondToAuthChallenge: each answer checked against the live sign-in session it answers.

moto accepted any SRP signature, any SMS code, and an MFA_SETUP answer before the setup was
done. Here PASSWORD_VERIFIER and DEVICE_PASSWORD_VERIFIER check the SRP signature
(:mod:`nb_cognito.local.srp`), MFA and one-time codes (SMS, TOTP, EMAIL_OTP) are checked at the
emulator clock, NEW_PASSWORD_REQUIRED needs the pool's required attributes, a session takes one
answer only and expires with the app client's AuthSessionValidity. The next step comes from
:mod:`.steps`; the ``USER_AUTH`` answers live in :mod:`.user_auth`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from moto.cognitoidp import models as idp

from .. import srp
from ..state import EmulatorState, current
from . import devices, user_auth
from .common import (
    WRONG_PASSWORD,
    UserStatus,
    check_secret_hash,
    error,
    not_authorized,
    original,
    pool_and_client,
    required,
)
from .steps import (
    Answer,
    after_password,
    challenge,
    check_may_try_password,
    email_code_sent,
    enabled_mfa,
    live_session,
    mfa_challenge,
    mfa_or_tokens,
    password_failed,
)

__all__ = ["respond_to_auth_challenge"]

#: What SELECT_MFA_TYPE accepts for each MFA kind (the API reference names EMAIL_MFA; the
#: MFAS_CAN_CHOOSE list and Amplify use EMAIL_OTP).
_MFA_ANSWERS = {"SMS_MFA": "SMS_MFA", "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA", "EMAIL_OTP": "EMAIL_OTP"}
_MFA_ANSWERS["EMAIL_MFA"] = "EMAIL_OTP"


def respond_to_auth_challenge(
    self: idp.CognitoIdpBackend,
    session: str,
    client_id: str,
    challenge_name: str,
    challenge_responses: dict[str, str],
) -> dict[str, Any]:
    """``CognitoIdpBackend.respond_to_auth_challenge``: each challenge we model, or moto's own."""
    handler = _HANDLERS.get(challenge_name)
    if handler is None:
        return original("CognitoIdpBackend.respond_to_auth_challenge")(
            self, session, client_id, challenge_name, challenge_responses
        )
    responses = dict(challenge_responses or {})
    state = current()
    if challenge_name in ("PASSWORD_VERIFIER", "DEVICE_PASSWORD_VERIFIER"):
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
        session = state.srp_blocks.get(block) or session
    if challenge_name == "DEVICE_SRP_AUTH" and not session:  # the SDKs send no Session here
        session = _device_srp_session(state, client_id, responses)
    auth = live_session(state, session, challenge_name, client_id)
    pool, client = pool_and_client(self, client_id)
    user = pool._get_user(auth.username)
    if user is None:
        state.close_session(session)
        raise idp.UserNotFoundError("User does not exist.")
    named = responses.get("USERNAME")
    if named and pool._get_user(named) is not user:
        raise not_authorized(WRONG_PASSWORD)
    check_secret_hash(client, responses.get("SECRET_HASH"), [named or "", user.username])
    return handler(Answer(self, state, session, auth, pool, client, user, responses))


def _device_srp_session(state: EmulatorState, client_id: str, responses: dict[str, str]) -> str:
    """The open DEVICE_SRP_AUTH session of this client for the device named in the answer."""
    device_key = responses.get("DEVICE_KEY")
    with state.lock:
        for session_id, auth in state.sessions.items():
            if (
                auth.challenge == "DEVICE_SRP_AUTH"
                and auth.client_id == client_id
                and auth.device_key == device_key
            ):
                return session_id
    return ""


def _answer_password_verifier(a: Answer) -> dict[str, Any]:
    check_may_try_password(a.state, a.pool, a.user)
    assert a.auth.srp is not None
    signature_ok = srp.verify_password_claim(
        a.auth.srp, a.responses.get("TIMESTAMP", ""), a.responses.get("PASSWORD_CLAIM_SIGNATURE", "")
    )
    a.finish()
    if not signature_ok:
        password_failed(a.state, a.pool, a.user)
    a.state.password_ok((a.pool.id, a.user.username))
    return after_password(a.backend, a.state, a.pool, a.client, a.user, a.device_key)


def _answer_new_password(a: Answer) -> dict[str, Any]:
    new_password = required(a.responses, "NEW_PASSWORD")
    given = {
        key.removeprefix("userAttributes."): value
        for key, value in a.responses.items()
        if key.startswith("userAttributes.")
    }
    current_values = a.user.attribute_lookup
    missing = [
        name
        for name in a.state.pool_spec(a.pool.id).required_attributes
        if not current_values.get(name) and not given.get(name)
    ]
    if missing:
        raise idp.InvalidParameterException(f"Invalid attributes given, {', '.join(missing)} is missing")
    a.backend._validate_password(a.pool.id, new_password)
    if given:
        a.backend.admin_update_user_attributes(
            a.pool.id, a.user.username, [{"Name": k, "Value": v} for k, v in given.items()]
        )
    a.user.password = new_password
    a.user.status = UserStatus.CONFIRMED
    a.finish()
    return mfa_or_tokens(a.backend, a.state, a.pool, a.client, a.user, a.device_key)


def _answer_totp(a: Answer) -> dict[str, Any]:
    code = required(a.responses, "SOFTWARE_TOKEN_MFA_CODE")
    secret = a.state.totp_secrets.get((a.pool.id, a.user.username))
    if secret is None or not srp.totp_matches(secret, code, a.state.now()):
        raise error("CodeMismatchException", "Invalid code received for user")
    return a.signed_in()


def _answer_sms(a: Answer) -> dict[str, Any]:
    code = required(a.responses, "SMS_MFA_CODE")
    if not a.auth.sms_code or not secrets.compare_digest(a.auth.sms_code, code.strip()):
        raise error("CodeMismatchException", "Invalid code or auth state for the user.")
    return a.signed_in()


def _answer_email_otp(a: Answer) -> dict[str, Any]:
    """EMAIL_OTP (MFA, MFA setup, or a USER_AUTH first factor): the code that was emailed."""
    code = required(a.responses, "EMAIL_OTP_CODE")
    if not a.auth.email_code or not secrets.compare_digest(a.auth.email_code, code.strip()):
        raise error("CodeMismatchException", "Invalid code or auth state for the user.")
    if a.auth.email_setup:
        with a.state.lock:
            a.state.email_mfa.add((a.pool.id, a.user.username))
    return a.signed_in()


def _answer_mfa_setup(a: Answer) -> dict[str, Any]:
    """MFA_SETUP: done after a TOTP setup; or ``EMAIL`` given, which sends an EMAIL_OTP code."""
    email = a.responses.get("EMAIL")
    if email and "EMAIL" in a.state.pool_spec(a.pool.id).mfa_types:
        a.finish()
        a.backend.admin_update_user_attributes(
            a.pool.id, a.user.username, [{"Name": "email", "Value": email}]
        )
        code, parameters = email_code_sent(a.state, a.pool, a.user)
        return challenge(
            a.backend, a.state, a.pool, a.client, a.user, "EMAIL_OTP", parameters,
            email_code=code, email_setup=True, device_key=a.device_key,
        )  # fmt: skip
    if not a.auth.mfa_setup_done:
        raise idp.InvalidParameterException(
            "MFA setup is not complete: call AssociateSoftwareToken and VerifySoftwareToken first."
        )
    return a.signed_in()


def _answer_select_mfa(a: Answer) -> dict[str, Any]:
    answer = _MFA_ANSWERS.get(required(a.responses, "ANSWER"), "")
    if answer not in enabled_mfa(a.state, a.pool, a.user):
        raise idp.InvalidParameterException(f"{a.responses['ANSWER']} is not an MFA type set up for the user")
    a.finish()
    return mfa_challenge(a.backend, a.state, a.pool, a.client, a.user, answer, a.device_key)


def _answer_device_srp(a: Answer) -> dict[str, Any]:
    device_key = required(a.responses, "DEVICE_KEY")
    started, parameters = devices.start_device_srp(
        a.state, a.pool, a.user, device_key, required(a.responses, "SRP_A")
    )
    a.finish()
    return challenge(
        a.backend, a.state, a.pool, a.client, a.user, "DEVICE_PASSWORD_VERIFIER", parameters,
        srp=started, device_key=device_key,
    )  # fmt: skip


def _answer_device_password_verifier(a: Answer) -> dict[str, Any]:
    """DEVICE_PASSWORD_VERIFIER: the device's SRP signature, then the tokens (no MFA)."""
    assert a.auth.srp is not None
    ok = srp.verify_password_claim(
        a.auth.srp, a.responses.get("TIMESTAMP", ""), a.responses.get("PASSWORD_CLAIM_SIGNATURE", "")
    )
    a.finish()
    if not ok or a.responses.get("DEVICE_KEY", a.auth.device_key) != a.auth.device_key:
        raise not_authorized("Incorrect username or password.")
    return a.signed_in()


_HANDLERS: dict[str, Callable[[Answer], dict[str, Any]]] = {
    "PASSWORD_VERIFIER": _answer_password_verifier,
    "NEW_PASSWORD_REQUIRED": _answer_new_password,
    "SOFTWARE_TOKEN_MFA": _answer_totp,
    "SMS_MFA": _answer_sms,
    "EMAIL_OTP": _answer_email_otp,
    "MFA_SETUP": _answer_mfa_setup,
    "SELECT_MFA_TYPE": _answer_select_mfa,
    "DEVICE_SRP_AUTH": _answer_device_srp,
    "DEVICE_PASSWORD_VERIFIER": _answer_device_password_verifier,
    **user_auth.ANSWERS,
}
