"""The sign-in challenge protocol: the step each Cognito challenge asks of the user, and the
ChallengeResponses that carry the user's answer back.

It holds no session state: the session keeps the :class:`PendingSignIn` between the calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from nb_cognito.exceptions import AuthError, InvalidParameterError
from nb_cognito.models import SignInNextStep, SignInStep
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.auth.userpool import AuthTokens, Challenge, UserPoolClient

__all__ = ["PendingSignIn", "challenge_responses", "next_step", "respond"]

_MFA_TYPES = {"SOFTWARE_TOKEN_MFA": "TOTP", "SMS_MFA": "SMS"}  # Cognito's name -> the user's
_ANSWER_FIELD = {
    "NEW_PASSWORD_REQUIRED": "NEW_PASSWORD",
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "SMS_MFA": "SMS_MFA_CODE",
}


@dataclass
class PendingSignIn:
    """A challenge waiting for the user's answer, and the user-pool client that will send it.

    ``login_name`` is the name the user typed; it becomes theirs only when the sign-in completes.
    """

    client: UserPoolClient
    challenge: Challenge = field(repr=False)
    login_name: str | None = None
    totp_secret: str | None = field(default=None, repr=False)
    totp_session: str | None = field(default=None, repr=False)


def next_step(client: UserPoolClient, challenge: Challenge) -> tuple[SignInNextStep, PendingSignIn]:
    """The step that asks the user to answer ``challenge``, and what to keep until they do.

    ``MFA_SETUP`` first asks Cognito for a TOTP secret (one call). A challenge nb_cognito does
    not support raises :class:`AuthError`.
    """
    params = challenge.parameters
    pending = PendingSignIn(client, challenge)
    if challenge.name == "NEW_PASSWORD_REQUIRED":
        required = _json_list(params.get("requiredAttributes"))
        step = SignInNextStep(
            SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD,
            missing_attributes=tuple(a.removeprefix("userAttributes.") for a in required),
        )
    elif challenge.name == "SOFTWARE_TOKEN_MFA":
        step = SignInNextStep(SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE)
    elif challenge.name == "SMS_MFA":
        step = SignInNextStep(
            SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE,
            code_destination=params.get("CODE_DELIVERY_DESTINATION"),
        )
    elif challenge.name == "SELECT_MFA_TYPE":
        allowed = tuple(_MFA_TYPES.get(m, m) for m in _json_list(params.get("MFAS_CAN_CHOOSE")))
        step = SignInNextStep(
            SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION, allowed_mfa_types=allowed or ("TOTP", "SMS")
        )
    elif challenge.name == "MFA_SETUP":
        secret, session = client.associate_software_token(challenge)
        pending.totp_secret, pending.totp_session = secret, session
        step = SignInNextStep(
            SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP,
            totp_setup_uri=client.totp_uri(secret, challenge.username),
            totp_shared_secret=secret,
        )
    else:
        raise AuthError(
            f"Cognito asked for the {challenge.name} challenge, which nb_cognito does not support.",
            recovery_suggestion="Use a different app client or sign-in flow.",
        )
    return step, pending


def challenge_responses(name: str, answer: Secret | str) -> dict[str, Secret | str]:
    """The ChallengeResponses (besides USERNAME) that answer challenge ``name`` with ``answer``.

    A new password or a code stays a :class:`Secret` until the request is sent.
    """
    if name in _ANSWER_FIELD:
        return {_ANSWER_FIELD[name]: answer}
    if name == "SELECT_MFA_TYPE":  # "TOTP" or "SMS": not a secret
        said = answer.reveal() if isinstance(answer, Secret) else answer
        choice = {user: cognito for cognito, user in _MFA_TYPES.items()}.get(said.upper(), said)
        if choice not in _MFA_TYPES:
            raise InvalidParameterError("Answer 'TOTP' or 'SMS' to choose an MFA method.")
        return {"ANSWER": choice}
    raise AuthError(f"Unsupported challenge {name}.")  # pragma: no cover - next_step refuses it


def respond(pending: PendingSignIn, answer: Secret | str) -> AuthTokens | Challenge:
    """Send the user's ``answer`` to the pending challenge; returns Cognito's next outcome."""
    client, challenge = pending.client, pending.challenge
    if challenge.name != "NEW_PASSWORD_REQUIRED":  # a password is taken as typed
        answer = answer.strip()
    if challenge.name == "MFA_SETUP":
        session = client.verify_software_token(pending.totp_session, answer)
        return client.respond(replace(challenge, session=session), {})
    return client.respond(challenge, challenge_responses(challenge.name, answer))


def _json_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
