"""The sign-in challenge protocol: the step each Cognito challenge asks of the user, and the
ChallengeResponses that carry the user's answer back.

It holds no session state: the session keeps the :class:`PendingSignIn` between the calls.
Steps follow Amplify's names (``AuthSignInStep``). Some steps are the client's own, as in
Amplify: choosing ``PASSWORD`` at first-factor selection asks for the password
(``CONFIRM_SIGN_IN_WITH_PASSWORD``) before anything is sent, and an ``MFA_SETUP`` that offers
TOTP and email first asks which (``CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from nb_cognito.exceptions import InvalidParameterError, UnsupportedChallengeError
from nb_cognito.models import SignInNextStep, SignInStep
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.auth.userpool_calls import AuthTokens, Challenge, UserPoolClient
    from nb_cognito.models import TrackedDevice

__all__ = ["FIRST_FACTORS", "PendingSignIn", "challenge_responses", "next_step", "respond", "unsupported"]

#: Cognito's MFA names -> the user's (Amplify's ``allowedMFATypes``).
_MFA_TYPES = {"SOFTWARE_TOKEN_MFA": "TOTP", "SMS_MFA": "SMS", "EMAIL_OTP": "EMAIL"}
_ANSWER_FIELD = {
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "SMS_MFA": "SMS_MFA_CODE",
    "EMAIL_OTP": "EMAIL_OTP_CODE",
    "SMS_OTP": "SMS_OTP_CODE",
}
#: The USER_AUTH first factors nb_cognito can answer, in the order it offers them.
FIRST_FACTORS = ("PASSWORD_SRP", "PASSWORD", "EMAIL_OTP", "SMS_OTP")
_NOT_HERE = {
    "WEB_AUTHN": "passkeys (WEB_AUTHN) need a browser's WebAuthn API, which a kernel does not have",
    "CUSTOM_CHALLENGE": "custom challenges (CUSTOM_CHALLENGE, Lambda-defined) are not supported",
}


@dataclass
class PendingSignIn:
    """A challenge waiting for the user's answer, and the user-pool client that will send it.

    ``login_name`` is the name the user typed; it becomes theirs only when the sign-in completes.
    ``step`` is the step shown for it; ``factor`` the first factor chosen at a SELECT_CHALLENGE
    still to be answered with the password; ``device`` the device the sign-in named.
    """

    client: UserPoolClient
    challenge: Challenge = field(repr=False)
    login_name: str | None = None
    totp_secret: str | None = field(default=None, repr=False)
    totp_session: str | None = field(default=None, repr=False)
    step: SignInNextStep | None = None
    factor: str | None = None
    device: TrackedDevice | None = field(default=None, repr=False)


def unsupported(name: str) -> UnsupportedChallengeError:
    reason = _NOT_HERE.get(name, f"nb_cognito cannot answer the {name} challenge")
    return UnsupportedChallengeError(f"Cognito asked for {name}: {reason}. Nothing was changed.")


def next_step(client: UserPoolClient, challenge: Challenge) -> tuple[SignInNextStep, PendingSignIn]:
    """The step that asks the user to answer ``challenge``, and what to keep until they do.

    A TOTP-only ``MFA_SETUP`` first asks Cognito for a TOTP secret (one call). A challenge
    nb_cognito does not support raises :class:`UnsupportedChallengeError`.
    """
    params = challenge.parameters
    pending = PendingSignIn(client, challenge)
    name = challenge.name
    if name == "NEW_PASSWORD_REQUIRED":
        required = _json_list(params.get("requiredAttributes"))
        step = SignInNextStep(
            SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD,
            missing_attributes=tuple(a.removeprefix("userAttributes.") for a in required),
        )
    elif name == "SOFTWARE_TOKEN_MFA":
        step = SignInNextStep(SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE)
    elif name in ("SMS_MFA", "SMS_OTP"):
        step = SignInNextStep(
            SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE, code_destination=params.get("CODE_DELIVERY_DESTINATION")
        )
    elif name == "EMAIL_OTP":
        step = SignInNextStep(
            SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE,
            code_destination=params.get("CODE_DELIVERY_DESTINATION"),
        )
    elif name == "SELECT_MFA_TYPE":
        allowed = tuple(_MFA_TYPES.get(m, m) for m in _json_list(params.get("MFAS_CAN_CHOOSE")))
        step = SignInNextStep(
            SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION, allowed_mfa_types=allowed or ("TOTP", "SMS")
        )
    elif name == "MFA_SETUP":
        can_setup = [_MFA_TYPES.get(m, m) for m in _json_list(params.get("MFAS_CAN_SETUP"))]
        setup = tuple(kind for kind in ("TOTP", "EMAIL") if kind in can_setup) or ("TOTP",)
        if len(setup) > 1:
            step = SignInNextStep(
                SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION, allowed_mfa_types=setup
            )
        elif setup == ("EMAIL",):
            step = SignInNextStep(SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP)
        else:
            return _totp_setup(pending)
    elif name == "SELECT_CHALLENGE":
        offered = challenge.available_challenges
        available = tuple(f for f in FIRST_FACTORS if f in offered) if offered else FIRST_FACTORS
        if not available:
            raise unsupported(offered[0] if len(offered) == 1 else "SELECT_CHALLENGE")
        step = SignInNextStep(
            SignInStep.CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION, available_challenges=available
        )
    else:
        raise unsupported(name)
    pending.step = step
    return step, pending


def _totp_setup(pending: PendingSignIn) -> tuple[SignInNextStep, PendingSignIn]:
    client, challenge = pending.client, pending.challenge
    secret, session = client.associate_software_token(challenge)
    step = SignInNextStep(
        SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP,
        totp_setup_uri=client.totp_uri(secret, challenge.username),
        totp_shared_secret=secret,
    )
    return step, replace(pending, totp_secret=secret, totp_session=session, step=step)


def _said(answer: Secret | str) -> str:
    """A choice or an address (never a password or a code) as plain text."""
    return answer.reveal() if isinstance(answer, Secret) else answer


def challenge_responses(
    name: str,
    answer: Secret | str,
    user_attributes: dict[str, str] | None = None,
    required: tuple[str, ...] = (),
) -> dict[str, Secret | str]:
    """The ChallengeResponses (besides USERNAME) that answer challenge ``name`` with ``answer``.

    A new password or a code stays a :class:`Secret` until the request is sent.
    """
    if name == "NEW_PASSWORD_REQUIRED":
        attributes = {k: v for k, v in (user_attributes or {}).items() if v is not None}
        missing = [a for a in required if not str(attributes.get(a, "")).strip()]
        if missing:
            raise InvalidParameterError(
                f"Cognito requires {', '.join(missing)} with the new password.",
                recovery_suggestion="Pass them as confirm_sign_in(new_password, user_attributes={...}).",
            )
        for key, value in attributes.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidParameterError("user_attributes must map attribute names to text.")
        answers: dict[str, Secret | str] = {f"userAttributes.{k}": v for k, v in attributes.items()}
        return {"NEW_PASSWORD": answer, **answers}
    if name in _ANSWER_FIELD:
        return {_ANSWER_FIELD[name]: answer}
    if name == "SELECT_MFA_TYPE":  # "TOTP", "SMS" or "EMAIL": not a secret
        said = _said(answer).upper()
        choice = {user: cognito for cognito, user in _MFA_TYPES.items()}.get(said, said)
        if choice not in _MFA_TYPES:
            raise InvalidParameterError("Answer 'TOTP', 'SMS' or 'EMAIL' to choose an MFA method.")
        return {"ANSWER": choice}
    raise unsupported(name)  # pragma: no cover - next_step refuses it first


def respond(
    pending: PendingSignIn, answer: Secret | str, user_attributes: dict[str, str] | None = None
) -> AuthTokens | Challenge | tuple[SignInNextStep, PendingSignIn]:
    """Send the user's ``answer`` to the pending challenge; returns Cognito's next outcome, or
    the next step of the client's own (a choice made before anything is sent)."""
    client, challenge = pending.client, pending.challenge
    step = pending.step.sign_in_step if pending.step is not None else None
    name = challenge.name
    if name != "NEW_PASSWORD_REQUIRED" and step is not SignInStep.CONFIRM_SIGN_IN_WITH_PASSWORD:
        answer = answer.strip()  # a password is taken as typed
    if name == "SELECT_CHALLENGE":
        return _first_factor(pending, answer)
    if step is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION:
        choice = _said(answer).upper()
        if choice == "TOTP":
            return _totp_setup(pending)
        if choice == "EMAIL":
            step_ = SignInNextStep(SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP)
            return step_, replace(pending, step=step_)
        raise InvalidParameterError("Answer 'TOTP' or 'EMAIL' to choose the MFA method to set up.")
    if step is SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP:
        address = _said(answer)
        if "@" not in address:
            raise InvalidParameterError("Answer with the email address to send the sign-in codes to.")
        return client.respond(challenge, {"EMAIL": address})
    if name == "MFA_SETUP":
        session = client.verify_software_token(pending.totp_session, answer)
        return client.respond(replace(challenge, session=session), {})
    required = pending.step.missing_attributes if pending.step is not None else ()
    return client.respond(challenge, challenge_responses(name, answer, user_attributes, required))


def _first_factor(
    pending: PendingSignIn, answer: Secret | str
) -> AuthTokens | Challenge | tuple[SignInNextStep, PendingSignIn]:
    """SELECT_CHALLENGE: a one-time code is sent at once; a password factor asks for it first."""
    client, challenge = pending.client, pending.challenge
    if pending.factor is not None:  # the password, for the factor chosen before
        if not answer:
            raise InvalidParameterError("The password is empty.")
        return client.answer_with_password(challenge, pending.factor, answer, pending.device)
    choice = _said(answer).upper()
    available = pending.step.available_challenges if pending.step is not None else FIRST_FACTORS
    if choice in _NOT_HERE or (choice not in FIRST_FACTORS and choice in challenge.available_challenges):
        raise unsupported(choice)
    if choice not in available:
        raise InvalidParameterError(f"Choose one of {', '.join(available)}.")
    if choice in ("PASSWORD", "PASSWORD_SRP"):
        step = SignInNextStep(SignInStep.CONFIRM_SIGN_IN_WITH_PASSWORD)
        return step, replace(pending, step=step, factor=choice)
    return client.respond(challenge, {"ANSWER": choice})


def _json_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
