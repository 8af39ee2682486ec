"""What ``%cognito_login`` asks for at each sign-in step, as text prompts.

One function per kind of step, chosen by :func:`ask_for`; the magic sends the answer with
``confirm_sign_in`` and asks again after a wrong code. Secrets (passwords) are read with
hidden input; codes, choices and attribute values with plain input. Nothing here talks to
Cognito, so a step the session can return but no prompt here answers is a bug the tests catch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nb_cognito.models import SignInStep
from nb_cognito.notebook.magic_line import MagicUsageError
from nb_cognito.secret import Secret

if TYPE_CHECKING:
    from nb_cognito.models import SignInNextStep

__all__ = ["FIRST_FACTOR_LABELS", "Answer", "ask_for"]

#: What each first factor is called when offered to the user.
FIRST_FACTOR_LABELS = {
    "PASSWORD_SRP": "password",
    "PASSWORD": "password (sent to Cognito)",
    "EMAIL_OTP": "a code sent by email",
    "SMS_OTP": "a code sent by SMS",
}

#: (the answer for ``confirm_sign_in``, its ``user_attributes``)
Answer = tuple[Secret | str, dict[str, str] | None]
Ask = Callable[[str], str]
AskSecret = Callable[[str], Secret]


def ask_for(step: SignInNextStep, ask: Ask, ask_secret: AskSecret, *, attempts: int = 3) -> Answer:
    """Ask for what ``step`` needs: ``ask`` reads plain input, ``ask_secret`` hidden input.

    Passwords and codes are :class:`~nb_cognito.secret.Secret` from the moment they are read.
    """
    kind = step.sign_in_step
    if kind is SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD:
        return _new_password(step, ask, ask_secret, attempts)
    if kind is SignInStep.CONFIRM_SIGN_IN_WITH_PASSWORD:
        password = ask_secret("Password: ")
        if not password:
            raise MagicUsageError("No password entered; nothing was sent. Run %cognito_login again.")
        return password, None
    if kind in (
        SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION,
        SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION,
    ):
        setup = " to set up" if kind is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION else ""
        return ask(f"Choose an MFA method{setup} ({'/'.join(step.allowed_mfa_types)}): ").strip(), None
    if kind is SignInStep.CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION:
        return _first_factor(step, ask), None
    if kind is SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP:
        return ask("Email address to send sign-in codes to: ").strip(), None
    if kind in (SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE, SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE):
        medium = "SMS" if kind is SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE else "Email"
        where = f" sent to {step.code_destination}" if step.code_destination else ""
        return Secret(ask(f"{medium} code{where}: ")).strip(), None
    if kind in (SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE, SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP):
        return Secret(ask("Code from your authenticator app: ")).strip(), None
    raise MagicUsageError(f"nb_cognito cannot answer the {kind.value} step here; use --widget.")


def _first_factor(step: SignInNextStep, ask: Ask) -> str:
    offered = step.available_challenges
    print("Choose how to sign in:")
    for number, factor in enumerate(offered, 1):
        print(f"  {number}. {FIRST_FACTOR_LABELS.get(factor, factor)} ({factor})")
    answer = ask(f"Your choice (1-{len(offered)} or a name): ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(offered):
        return offered[int(answer) - 1]
    return answer


def _new_password(step: SignInNextStep, ask: Ask, ask_secret: AskSecret, attempts: int) -> Answer:
    print("Cognito requires a new password for this account.")
    password = None
    for _ in range(attempts):
        first = ask_secret("New password: ")
        if first and first == ask_secret("New password again: "):
            password = first
            break
        print("The two passwords differ (or are empty); try again.")
    if password is None:
        raise MagicUsageError("The new passwords did not match. Run %cognito_login again.")
    if not step.missing_attributes:
        return password, None
    print(f"Cognito also requires: {', '.join(step.missing_attributes)}.")
    return password, {name: ask(f"{name}: ").strip() for name in step.missing_attributes}
