"""The sign-in steps issue 14 adds (item 5): EMAIL_OTP as MFA, the choice-based USER_AUTH flow,
NEW_PASSWORD_REQUIRED with required attributes, and a clear refusal of what a kernel cannot
answer (passkeys, custom challenges). Step names are Amplify's ``AuthSignInStep``.

Everything talks HTTP to the offline Cognito (``local``); time is the shared ``clock``.
"""

from __future__ import annotations

import pyotp
import pytest
from helpers import PASSWORD, counts

from nb_cognito import exceptions as errors
from nb_cognito.auth.challenges import next_step
from nb_cognito.auth.session import service_clients
from nb_cognito.auth.userpool_calls import Challenge
from nb_cognito.local import LocalSpec, PoolSpec, UserSpec
from nb_cognito.models import SignInStep

NEW_PASSWORD = "Alice-N3w-Passw0rd!"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
EMAIL = "alice@example.com"
PHONE = "+15555550100"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


# -- EMAIL_OTP as an MFA method ------------------------------------------------------------------


def test_email_otp_is_chosen_at_mfa_selection_and_answered_with_the_emailed_code(make_local, new_session):
    pool = PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "EMAIL"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, totp_secret=TOTP_SECRET, email_mfa=True)
    local = make_local(LocalSpec(pool=pool, users=(user,)))
    session = new_session(local.settings.as_config())

    step = session.sign_in("alice", PASSWORD).next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION
    assert set(step.allowed_mfa_types) == {"TOTP", "EMAIL"}

    step = session.confirm_sign_in("email").next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE
    assert step.code_destination and EMAIL not in step.code_destination  # masked
    with pytest.raises(errors.CodeMismatchError):
        session.confirm_sign_in(wrong(local.users.last_email_code("alice")))
    assert session.confirm_sign_in(local.users.last_email_code("alice")).is_signed_in


def test_email_otp_alone_asks_for_the_code_at_once(make_local, new_session):
    pool = PoolSpec(mfa="ON", mfa_types=("EMAIL",))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, email_mfa=True)
    local = make_local(LocalSpec(pool=pool, users=(user,)))
    session = new_session(local.settings.as_config())
    step = session.sign_in("alice", PASSWORD).next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE
    assert session.confirm_sign_in(f" {local.users.last_email_code('alice')} ").is_signed_in


def test_mfa_setup_offering_only_email_asks_for_the_address_then_the_code(make_local, new_session):
    local = make_local(
        LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("EMAIL",)), users=(UserSpec("alice", PASSWORD),))
    )
    session = new_session(local.settings.as_config())

    step = session.sign_in("alice", PASSWORD).next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP
    assert counts(local, "AssociateSoftwareToken") == (0,)  # not a TOTP setup
    with pytest.raises(errors.InvalidParameterError, match="email address"):
        session.confirm_sign_in("not an address")
    step = session.confirm_sign_in(EMAIL).next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE
    assert session.confirm_sign_in(local.users.last_email_code("alice")).is_signed_in
    assert session.fetch_auth_session().user_pool_tokens_result.unwrap().id_token


def test_mfa_setup_offering_totp_and_email_asks_which(make_local, new_session, clock):
    pool = PoolSpec(mfa="ON", mfa_types=("TOTP", "EMAIL"))
    users = (UserSpec("alice", PASSWORD), UserSpec("bob", "Bob-Passw0rd!"))
    local = make_local(LocalSpec(pool=pool, users=users))
    session = new_session(local.settings.as_config())

    step = session.sign_in("alice", PASSWORD).next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION
    assert step.allowed_mfa_types == ("TOTP", "EMAIL")
    with pytest.raises(errors.InvalidParameterError):
        session.confirm_sign_in("SMS")
    step = session.confirm_sign_in("TOTP").next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP
    assert session.confirm_sign_in(pyotp.TOTP(step.totp_shared_secret).at(int(clock.time()))).is_signed_in

    session.sign_out()
    session.sign_in("bob", "Bob-Passw0rd!")
    step = session.confirm_sign_in("email").next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP


# -- the USER_AUTH flow ----------------------------------------------------------------------------


def user_auth_local(make_local, factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")):
    pool = PoolSpec(allowed_first_auth_factors=factors)
    users = (
        UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, phone_number=PHONE),
        UserSpec("bob", "Bob-Passw0rd!"),
    )
    return make_local(LocalSpec(pool=pool, users=users))


def test_user_auth_without_a_preference_offers_the_first_factors(make_local, new_session):
    local = user_auth_local(make_local)
    session = new_session(local.settings.as_config(), auth_flow="USER_AUTH")
    assert not session.settings.needs_password

    step = session.sign_in("alice").next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION
    assert step.available_challenges == ("PASSWORD_SRP", "PASSWORD", "EMAIL_OTP", "SMS_OTP")

    step = session.confirm_sign_in("email_otp").next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE
    assert session.confirm_sign_in(local.users.last_email_code("alice")).is_signed_in
    assert session.get_current_user().username == "alice"


@pytest.mark.parametrize("factor", ["PASSWORD_SRP", "PASSWORD"])
def test_choosing_a_password_factor_asks_for_the_password(make_local, new_session, factor):
    local = user_auth_local(make_local)
    session = new_session(local.settings.as_config(), auth_flow="USER_AUTH")
    session.sign_in("alice")
    local.reset_counts()

    step = session.confirm_sign_in(factor).next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_PASSWORD
    assert counts(local, "RespondToAuthChallenge") == (0,)  # nothing sent before the password
    with pytest.raises(errors.NotAuthorizedError):
        session.confirm_sign_in("Wrong-Passw0rd!")
    session.sign_in("alice")
    session.confirm_sign_in(factor)
    assert session.confirm_sign_in(PASSWORD).is_signed_in


def test_choosing_sms_otp_sends_a_text(make_local, new_session):
    local = user_auth_local(make_local)
    session = new_session(local.settings.as_config(), auth_flow="USER_AUTH")
    session.sign_in("alice")
    step = session.confirm_sign_in("SMS_OTP").next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE and "0100" in step.code_destination
    assert session.confirm_sign_in(local.users.last_sms_code("alice")).is_signed_in


@pytest.mark.parametrize(
    ("preferred", "password", "step"),
    [
        ("EMAIL_OTP", None, SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE),
        ("SMS_OTP", None, SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE),
        ("PASSWORD", PASSWORD, SignInStep.DONE),
        ("PASSWORD_SRP", PASSWORD, SignInStep.DONE),
        (None, PASSWORD, SignInStep.DONE),  # a password given: PASSWORD_SRP
    ],
)
def test_user_auth_with_a_preferred_challenge(make_local, new_session, preferred, password, step):
    local = user_auth_local(make_local)
    settings = {"auth_flow": "USER_AUTH", **({"preferred_challenge": preferred} if preferred else {})}
    session = new_session(local.settings.as_config(), **settings)
    assert session.sign_in("alice", password).next_step.sign_in_step is step
    assert counts(local, "InitiateAuth") == (1,)


def test_a_password_factor_needs_the_password(make_local, new_session):
    local = user_auth_local(make_local)
    settings = {"auth_flow": "USER_AUTH", "preferred_challenge": "PASSWORD_SRP"}
    session = new_session(local.settings.as_config(), **settings)
    assert session.settings.needs_password
    with pytest.raises(errors.InvalidParameterError, match="No password"):
        session.sign_in("alice")


def test_web_authn_is_refused_clearly_and_changes_nothing(make_local, new_session):
    local = user_auth_local(make_local)
    session = new_session(local.settings.as_config(), auth_flow="USER_AUTH", preferred_challenge="PASSWORD")
    session.sign_in("bob", "Bob-Passw0rd!")
    session.configure(preferred_challenge=None)
    step = session.sign_in("alice").next_step
    assert "WEB_AUTHN" not in step.available_challenges  # offered by the pool, not answerable here

    with pytest.raises(errors.UnsupportedChallengeError, match="passkeys") as caught:
        session.confirm_sign_in("WEB_AUTHN")
    assert "Nothing was changed" in str(caught.value)
    assert session.is_signed_in_as("bob")  # the session is unchanged
    step = session.confirm_sign_in("EMAIL_OTP").next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE


def test_a_factor_not_offered_is_refused_locally(make_local, new_session):
    local = user_auth_local(make_local, factors=("PASSWORD",))
    session = new_session(local.settings.as_config(), auth_flow="USER_AUTH")
    step = session.sign_in("alice").next_step
    assert step.available_challenges == ("PASSWORD_SRP", "PASSWORD")
    with pytest.raises(errors.InvalidParameterError, match="PASSWORD_SRP, PASSWORD"):
        session.confirm_sign_in("EMAIL_OTP")


def test_web_authn_cannot_be_the_preferred_challenge(local, new_session):
    with pytest.raises(errors.ConfigurationError, match="WEB_AUTHN"):
        new_session(local.settings.as_config(), auth_flow="USER_AUTH", preferred_challenge="WEB_AUTHN")


@pytest.mark.parametrize("name", ["CUSTOM_CHALLENGE", "WEB_AUTHN", "SOMETHING_NEW"])
def test_challenges_a_kernel_cannot_answer_name_the_limit(local, new_session, name):
    """What Cognito would send for a CUSTOM_AUTH client or a passkey sign-in (the emulator models
    neither, so the step is built from the challenge as the user-pool client parses it)."""
    session = new_session(local.settings.as_config())
    challenge = Challenge(name=name, session="s", parameters={}, username="alice")
    with pytest.raises(errors.UnsupportedChallengeError, match=name):
        next_step(service_clients(session).userpool, challenge)


# -- NEW_PASSWORD_REQUIRED with required attributes ---------------------------------------------------


def test_new_password_with_required_attributes(make_local, new_session):
    pool = PoolSpec(required_attributes=("name", "email"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, must_change_password=True)
    local = make_local(LocalSpec(pool=pool, users=(user,)))
    session = new_session(local.settings.as_config())

    step = session.sign_in("alice", PASSWORD).next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD
    assert step.missing_attributes == ("name",)
    assert "missing_attributes=('name',)" in repr(step)

    local.reset_counts()
    with pytest.raises(errors.InvalidParameterError, match="name"):
        session.confirm_sign_in(NEW_PASSWORD)  # refused before anything is sent
    with pytest.raises(errors.InvalidParameterError, match="name"):
        session.confirm_sign_in(NEW_PASSWORD, user_attributes={"name": "  "})
    assert counts(local, "RespondToAuthChallenge") == (0,)

    assert session.confirm_sign_in(NEW_PASSWORD, user_attributes={"name": "Alice A."}).is_signed_in
    claims = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    assert claims.id_token
    session.sign_out()
    assert session.sign_in("alice", NEW_PASSWORD).is_signed_in
