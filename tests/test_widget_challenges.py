"""The sign-in widget at the steps issue 14 adds: click its buttons, type into its fields.

EMAIL_OTP codes, email MFA setup (and choosing what to set up), the USER_AUTH flow (choose a
first factor, then a code or the password), a new password with required attributes, the
refusal of passkeys, and "Forget this device". Real HTTP to the offline Cognito, driven through
:class:`widget_driver.WidgetDriver` as in ``test_widget`` (whose fixtures these reuse).
"""

from __future__ import annotations

import test_widget
from helpers import counts
from test_widget import PASSWORD, wrong_code
from widget_driver import all_widget_state

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
    w.sign_in("alice", PASSWORD)
    assert w.view == "mfa_selection" and set(w.options("mfa-choice")) == {"TOTP", "EMAIL"}

    w.choose("mfa-choice", "EMAIL")
    w.click("mfa")
    assert w.view == "code" and w.state == "signing_in"
    assert "email" in w.prompt_text and EMAIL not in w.prompt_text

    w.submit("code", wrong_code(local.users.last_email_code("alice")))
    assert "code is wrong" in w.message and w.view == "code"
    w.submit("code", local.users.last_email_code("alice"))
    assert w.view == "signed_in"


def test_email_mfa_setup_asks_for_the_address(make_local, new_session, make_widget):
    pool = PoolSpec(mfa="ON", mfa_types=("TOTP", "EMAIL"))
    local = make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),)))
    w = make_widget(on=new_session())
    w.sign_in("alice", PASSWORD)
    assert w.view == "mfa_selection" and w.options("mfa-choice") == ("TOTP", "EMAIL")
    assert "set up" in w.message

    w.choose("mfa-choice", "EMAIL")
    w.click("mfa")
    assert w.view == "email_setup"
    w.submit("email", "not an address")
    w.click("email")
    assert "email address" in w.message and w.view == "email_setup"
    w.submit("email", EMAIL)
    w.click("email")
    assert w.view == "code"
    w.submit("code", local.users.last_email_code("alice"))
    assert w.view == "signed_in"


def user_auth(make_local, factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")):
    pool = PoolSpec(allowed_first_auth_factors=factors)
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, phone_number=PHONE)
    return make_local(LocalSpec(pool=pool, users=(user,)))


def factors(w) -> list[str]:
    return [value for _, value in w.part("factor-choice").options]


def test_user_auth_signs_in_with_an_emailed_code_and_no_password(make_local, new_session, make_widget):
    local = user_auth(make_local)
    w = make_widget(on=new_session(auth_flow="USER_AUTH"))
    w.type("username", "alice")
    w.click("sign-in")  # no password: USER_AUTH offers a choice

    assert w.view == "first_factor" and w.state == "signing_in"
    assert factors(w) == ["PASSWORD_SRP", "PASSWORD", "EMAIL_OTP", "SMS_OTP"]  # no passkeys
    w.choose("factor-choice", "EMAIL_OTP")
    w.click("factor")
    assert w.view == "code" and "email" in w.prompt_text
    w.submit("code", local.users.last_email_code("alice"))
    assert w.view == "signed_in"


def test_user_auth_choosing_the_password_asks_for_it(make_local, new_session, make_widget, clock):
    local = user_auth(make_local)
    w = make_widget(on=new_session(auth_flow="USER_AUTH"))
    w.type("username", "alice")
    w.click("sign-in")
    w.choose("factor-choice", "PASSWORD_SRP")
    w.click("factor")
    assert w.view == "password"

    w.submit("factor-password", "Wrong-Passw0rd!")
    assert "Incorrect username or password" in w.message
    assert w.view == "signed_out"  # Cognito ended the attempt
    clock.advance(5)
    w.click("sign-in")
    w.choose("factor-choice", "PASSWORD")
    w.click("factor")
    before = counts(local, "RespondToAuthChallenge")[0]
    w.submit("factor-password", PASSWORD)
    assert w.view == "signed_in"
    assert counts(local, "RespondToAuthChallenge") == (before + 1,)
    assert PASSWORD not in all_widget_state()


def test_user_auth_sms_code_with_the_preferred_challenge(make_local, new_session, make_widget):
    local = user_auth(make_local)
    w = make_widget(on=new_session(auth_flow="USER_AUTH", preferred_challenge="SMS_OTP"))
    w.type("username", "alice")
    w.click("sign-in")
    assert w.view == "code" and "0100" in w.prompt_text
    w.submit("code", local.users.last_sms_code("alice"))
    assert w.view == "signed_in"


def test_a_password_factor_preferred_needs_the_password(make_local, new_session, make_widget):
    user_auth(make_local, factors=("PASSWORD", "WEB_AUTHN"))
    w = make_widget(on=new_session(auth_flow="USER_AUTH", preferred_challenge="PASSWORD"))
    w.type("username", "alice")
    w.click("sign-in")
    assert w.message == "Enter your password." and w.view == "signed_out"


def test_new_password_with_required_attributes(make_local, new_session, make_widget):
    pool = PoolSpec(required_attributes=("name",))
    make_local(LocalSpec(pool=pool, users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = new_session()
    w = make_widget(on=session)
    w.sign_in("carol", "Temp-Passw0rd!")
    assert w.view == "new_password" and "requires: name" in w.prompt_text
    name_field = w.part("attribute")
    assert name_field.description == "name"

    w.set_new_password("Brand-New-Passw0rd!")
    assert "name" in w.message and w.view == "new_password"  # refused before anything was sent

    w.part("attribute").value = "Carol C."
    w.set_new_password("Brand-New-Passw0rd!")
    assert w.view == "signed_in" and session.get_current_user().username == "carol"
    assert not w.shows("attribute")


def test_forget_this_device(make_local, new_session, make_widget):
    pool = PoolSpec(device_tracking="always")
    local = make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),)))
    session = new_session()
    w = make_widget(on=session)
    w.sign_in("alice", PASSWORD)
    assert w.view == "signed_in" and "This device: remembered" in w.status_text
    assert w.part("forget-device-button").layout.display == ""

    w.click("forget-device")

    assert "forgot this device" in w.message
    assert counts(local, "ForgetDevice") == (1,)
    assert w.part("forget-device-button").layout.display == "none" and session.is_signed_in
    assert session.device is not None and session.device.password is None


def test_no_device_no_forget_button(make_widget):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    assert w.part("forget-device-button").layout.display == "none"
    assert "This device" not in w.status_text
