"""The sign-in widget at the steps issue 14 adds: click its buttons, type into its fields.

EMAIL_OTP codes, email MFA setup (and choosing what to set up), the USER_AUTH flow (choose a
first factor, then a code or the password), a new password with required attributes, the
refusal of passkeys, and "Forget this device". Real HTTP to the offline Cognito, as in
``test_widget`` (whose fixtures these reuse).
"""

from __future__ import annotations

import test_widget
from emulator_checks import counts
from test_widget import PASSWORD, all_widget_state, sign_in, wrong_code

from nb_cognito.local import LocalSpec, PoolSpec, UserSpec

EMAIL = "alice@example.com"
PHONE = "+15555550100"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

session, make_widget = test_widget.session, test_widget.make_widget


def test_email_code_after_choosing_email_mfa(make_local, new_session, make_widget):
    pool = PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "EMAIL"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, totp_secret=TOTP_SECRET, email_mfa=True)
    local = make_local(LocalSpec(pool=pool, users=(user,)))
    w = make_widget(on=new_session())
    sign_in(w, "alice", PASSWORD)
    assert w.view == "mfa_selection" and set(w._mfa_choice.options) == {"TOTP", "EMAIL"}

    w._mfa_choice.value = "EMAIL"
    w._mfa_button.click()
    assert w.view == "code"
    assert "email" in w._code_prompt.value and EMAIL not in w._code_prompt.value

    w._code.value = wrong_code(local.last_email_code("alice"))
    assert "code is wrong" in w.message and w.view == "code"
    w._code.value = local.last_email_code("alice")
    assert w.view == "signed_in"


def test_email_mfa_setup_asks_for_the_address(make_local, new_session, make_widget):
    pool = PoolSpec(mfa="ON", mfa_types=("TOTP", "EMAIL"))
    local = make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),)))
    w = make_widget(on=new_session())
    sign_in(w, "alice", PASSWORD)
    assert w.view == "mfa_selection" and list(w._mfa_choice.options) == ["TOTP", "EMAIL"]
    assert "set up" in w.message

    w._mfa_choice.value = "EMAIL"
    w._mfa_button.click()
    assert w.view == "email_setup"
    w._email.value = "not an address"
    w._email_button.click()
    assert "email address" in w.message and w.view == "email_setup"
    w._email.value = EMAIL
    w._email_button.click()
    assert w.view == "code"
    w._code.value = local.last_email_code("alice")
    assert w.view == "signed_in"


def user_auth(make_local, factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")):
    pool = PoolSpec(allowed_first_auth_factors=factors)
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, phone_number=PHONE)
    return make_local(LocalSpec(pool=pool, users=(user,)))


def test_user_auth_signs_in_with_an_emailed_code_and_no_password(make_local, new_session, make_widget):
    local = user_auth(make_local)
    w = make_widget(on=new_session(auth_flow="USER_AUTH"))
    w._username.value = "alice"
    w._sign_in_button.click()  # no password: USER_AUTH offers a choice

    assert w.view == "first_factor"
    assert [value for _, value in w._factor_choice.options] == [
        "PASSWORD_SRP",
        "PASSWORD",
        "EMAIL_OTP",
        "SMS_OTP",
    ]
    w._factor_choice.value = "EMAIL_OTP"
    w._factor_button.click()
    assert w.view == "code" and "email" in w._code_prompt.value
    w._code.value = local.last_email_code("alice")
    assert w.view == "signed_in"


def test_user_auth_choosing_the_password_asks_for_it(make_local, new_session, make_widget):
    local = user_auth(make_local)
    w = make_widget(on=new_session(auth_flow="USER_AUTH"))
    w._username.value = "alice"
    w._sign_in_button.click()
    w._factor_choice.value = "PASSWORD_SRP"
    w._factor_button.click()
    assert w.view == "password"

    w._factor_password.value = "Wrong-Passw0rd!"
    assert "Incorrect username or password" in w.message
    assert w._factor_password.value == "" and w.view == "signed_out"  # Cognito ended the attempt
    w._last_submit = float("-inf")  # a later click, not the tail of the failed attempt
    w._sign_in_button.click()
    w._factor_choice.value = "PASSWORD"
    w._factor_button.click()
    before = counts(local, "RespondToAuthChallenge")
    w._factor_password.value = PASSWORD
    assert w.view == "signed_in"
    assert counts(local, "RespondToAuthChallenge") == (before[0] + 1,)
    assert PASSWORD not in all_widget_state()


def test_user_auth_sms_code_with_the_preferred_challenge(make_local, new_session, make_widget):
    local = user_auth(make_local)
    w = make_widget(on=new_session(auth_flow="USER_AUTH", preferred_challenge="SMS_OTP"))
    w._username.value = "alice"
    w._sign_in_button.click()
    assert w.view == "code" and "0100" in w._code_prompt.value
    w._code.value = local.last_sms_code("alice")
    assert w.view == "signed_in"


def test_web_authn_is_not_offered_and_a_password_factor_needs_the_password(
    make_local, new_session, make_widget
):
    user_auth(make_local, factors=("PASSWORD", "WEB_AUTHN"))
    session = new_session(auth_flow="USER_AUTH")
    w = make_widget(on=session)
    w._username.value = "alice"
    w._sign_in_button.click()
    assert w.view == "first_factor"
    assert [value for _, value in w._factor_choice.options] == ["PASSWORD_SRP", "PASSWORD"]  # no passkeys

    w._cancel_button.click()
    session.configure(preferred_challenge="PASSWORD")
    w._last_submit = float("-inf")
    w._sign_in_button.click()  # a password factor: the password is needed up front
    assert w.message == "Enter your password." and w.view == "signed_out"


def test_new_password_with_required_attributes(make_local, new_session, make_widget):
    pool = PoolSpec(required_attributes=("name",))
    make_local(LocalSpec(pool=pool, users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = new_session()
    w = make_widget(on=session)
    sign_in(w, "carol", "Temp-Passw0rd!")
    assert w.view == "new_password" and "requires: name" in w._new_password_prompt.value
    (name_field,) = w._attributes_box.children
    assert name_field.description == "name"

    w._new_password.value = "Brand-New-Passw0rd!"
    w._confirm_password.value = "Brand-New-Passw0rd!"
    assert "name" in w.message and w.view == "new_password"  # refused before anything was sent

    name_field.value = "Carol C."
    w._new_password.value = "Brand-New-Passw0rd!"
    w._confirm_password.value = "Brand-New-Passw0rd!"
    assert w.view == "signed_in" and session.get_current_user().username == "carol"
    assert w._attributes_box.children == ()


def test_forget_this_device(make_local, new_session, make_widget):
    pool = PoolSpec(device_tracking="always")
    local = make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),)))
    session = new_session()
    w = make_widget(on=session)
    assert w._forget_device_button.layout.display == "none"
    sign_in(w, "alice", PASSWORD)
    assert w.view == "signed_in" and "remembered" in w._status.value
    assert w._forget_device_button.layout.display == ""

    w._forget_device_button.click()

    assert "forgot this device" in w.message
    assert counts(local, "ForgetDevice") == (1,)
    assert w._forget_device_button.layout.display == "none" and session.is_signed_in
    assert session.device is not None and session.device.password is None
