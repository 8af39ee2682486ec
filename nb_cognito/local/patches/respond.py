"""RespondToAuthChallenge: each answer checked against the live sign-in session it answers.

moto accepted any SRP signature, any SMS code, and an MFA_SETUP answer before the setup was
done. Here PASSWORD_VERIFIER checks the SRP signature (:mod:`nb_cognito.local.srp`), MFA codes
are checked at the emulator clock, a session takes one answer only and expires with the app
client's AuthSessionValidity; the next step comes from :mod:`.steps`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.cognitoidp import models as idp

from .. import srp
from ..state import AuthSession, EmulatorState, current
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
    after_password,
    check_may_try_password,
    enabled_mfa,
    live_session,
    mfa_challenge,
    mfa_or_tokens,
    password_failed,
)

__all__ = ["Answer", "respond_to_auth_challenge"]


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

    def signed_in(self) -> dict[str, Any]:
        self.finish()
        return self.backend._log_user_in(self.pool, self.client, self.user.username)


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
    if challenge_name == "PASSWORD_VERIFIER":
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
        session = state.srp_blocks.get(block) or session
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
    return after_password(a.backend, a.state, a.pool, a.client, a.user)


def _answer_new_password(a: Answer) -> dict[str, Any]:
    new_password = required(a.responses, "NEW_PASSWORD")
    a.backend._validate_password(a.pool.id, new_password)
    a.user.password = new_password
    a.user.status = UserStatus.CONFIRMED
    a.finish()
    return mfa_or_tokens(a.backend, a.state, a.pool, a.client, a.user)


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


def _answer_mfa_setup(a: Answer) -> dict[str, Any]:
    if not a.auth.mfa_setup_done:
        raise idp.InvalidParameterException(
            "MFA setup is not complete: call AssociateSoftwareToken and VerifySoftwareToken first."
        )
    return a.signed_in()


def _answer_select_mfa(a: Answer) -> dict[str, Any]:
    answer = required(a.responses, "ANSWER")
    if answer not in enabled_mfa(a.state, a.pool, a.user):
        raise idp.InvalidParameterException(f"{answer} is not an MFA type set up for the user")
    a.finish()
    return mfa_challenge(a.backend, a.state, a.pool, a.client, a.user, answer)


_HANDLERS: dict[str, Callable[[Answer], dict[str, Any]]] = {
    "PASSWORD_VERIFIER": _answer_password_verifier,
    "NEW_PASSWORD_REQUIRED": _answer_new_password,
    "SOFTWARE_TOKEN_MFA": _answer_totp,
    "SMS_MFA": _answer_sms,
    "MFA_SETUP": _answer_mfa_setup,
    "SELECT_MFA_TYPE": _answer_select_mfa,
}
