"""%cognito_login at the sign-in steps issue 14 adds, and %cognito_logout --forget-device.

A real IPython shell against the emulator, as in ``test_magics`` (whose fixtures these reuse):
EMAIL_OTP codes, email MFA setup, first-factor selection in the USER_AUTH flow, a password
asked after choosing it, a new password with required attributes, and device tracking.
"""

from __future__ import annotations

import pytest
import test_magics
from helpers import PASSWORD, counts
from IPython.core.error import UsageError

from nb_cognito.local import LocalSpec, PoolSpec, UserSpec

EMAIL = "alice@example.com"
PHONE = "+15555550100"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"

# The shell, the kernel session on the test's clock, the loaded extension and the prompts.
shell, session, ext, prompts = test_magics.shell, test_magics.session, test_magics.ext, test_magics.prompts


def use(session, emulator, **settings):
    session.configure(**emulator.settings.as_config(), **settings)
    return emulator


def test_email_code_after_choosing_email_mfa(ext, session, make_local, prompts, capsys):
    pool = PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "EMAIL"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, totp_secret=TOTP_SECRET, email_mfa=True)
    emulator = use(session, make_local(LocalSpec(pool=pool, users=(user,))))
    prompts.secret.append(PASSWORD)
    prompts.text.extend(["EMAIL", "000000", lambda: emulator.users.last_email_code("alice")])

    ext.run_cell("%cognito_login alice")

    assert session.get_current_user().username == "alice"
    choose, code, again = prompts.asked[1:]
    assert choose.startswith("Choose an MFA method (") and "EMAIL" in choose
    assert code == again and code.startswith("Email code sent to ") and EMAIL not in code
    assert "more tries" in capsys.readouterr().out


def test_email_mfa_setup_asks_for_the_address(ext, session, make_local, prompts):
    pool = PoolSpec(mfa="ON", mfa_types=("EMAIL",))
    emulator = use(session, make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),))))
    prompts.secret.append(PASSWORD)
    prompts.text.extend([EMAIL, lambda: emulator.users.last_email_code("alice")])

    ext.run_cell("%cognito_login alice")

    assert session.is_signed_in
    assert prompts.asked[1] == "Email address to send sign-in codes to: "
    assert prompts.asked[2].startswith("Email code sent to ")


def test_mfa_setup_selection(ext, session, make_local, prompts):
    pool = PoolSpec(mfa="ON", mfa_types=("TOTP", "EMAIL"))
    emulator = use(session, make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),))))
    prompts.secret.append(PASSWORD)
    prompts.text.extend(["email", EMAIL, lambda: emulator.users.last_email_code("alice")])
    ext.run_cell("%cognito_login alice")
    assert session.is_signed_in
    assert prompts.asked[1] == "Choose an MFA method to set up (TOTP/EMAIL): "


def user_auth(make_local):
    pool = PoolSpec(allowed_first_auth_factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, phone_number=PHONE)
    return make_local(LocalSpec(pool=pool, users=(user,)))


def test_user_auth_offers_the_first_factors_without_asking_a_password(
    ext, session, make_local, prompts, capsys
):
    emulator = use(session, user_auth(make_local), auth_flow="USER_AUTH")
    prompts.text.extend(["3", lambda: emulator.users.last_email_code("alice")])  # 3: EMAIL_OTP

    ext.run_cell("%cognito_login alice")

    assert session.is_signed_in
    assert prompts.asked[0] == "Your choice (1-4 or a name): "  # no password prompt before it
    out = capsys.readouterr().out
    assert "1. password (PASSWORD_SRP)" in out and "3. a code sent by email (EMAIL_OTP)" in out


def test_choosing_the_password_asks_for_it_hidden(ext, session, make_local, prompts):
    use(session, user_auth(make_local), auth_flow="USER_AUTH")
    prompts.text.append("PASSWORD_SRP")
    prompts.secret.append(PASSWORD)
    ext.run_cell("%cognito_login alice")
    assert session.is_signed_in
    assert prompts.asked == ["Your choice (1-4 or a name): ", "Password: "]


def test_preferred_challenge_on_the_line(ext, session, make_local, prompts):
    emulator = use(session, user_auth(make_local), auth_flow="USER_AUTH")
    prompts.text.append(lambda: emulator.users.last_sms_code("alice"))
    ext.run_cell("%cognito_login alice --preferred-challenge SMS_OTP")
    assert session.is_signed_in and prompts.asked[0].startswith("SMS code sent to ")


def test_web_authn_is_refused_with_the_limit_named(ext, session, make_local, prompts):
    pool = PoolSpec(allowed_first_auth_factors=("PASSWORD", "WEB_AUTHN"))
    use(
        session, make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),))), auth_flow="USER_AUTH"
    )
    prompts.text.append("WEB_AUTHN")
    with pytest.raises(UsageError, match="passkeys"):
        ext.run_cell("%cognito_login alice")
    assert not session.is_signed_in


def test_new_password_with_required_attributes(ext, session, make_local, prompts, capsys):
    pool = PoolSpec(required_attributes=("name",))
    user = UserSpec("carol", "Temp-Passw0rd!", must_change_password=True)
    use(session, make_local(LocalSpec(pool=pool, users=(user,))))
    prompts.secret.extend(["Temp-Passw0rd!", "New-Passw0rd!1", "New-Passw0rd!1"])
    prompts.text.append("Carol C.")

    ext.run_cell("%cognito_login carol")

    assert session.get_current_user().username == "carol"
    assert prompts.asked[-1] == "name: "
    assert "Cognito also requires: name." in capsys.readouterr().out


def test_logout_forget_device(ext, session, make_local, prompts, capsys):
    pool = PoolSpec(device_tracking="always", mfa="ON", mfa_types=("TOTP",))
    emulator = use(
        session,
        make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD, totp_secret=TOTP_SECRET),))),
    )
    prompts.secret.extend([PASSWORD, PASSWORD])
    prompts.text.append(lambda: emulator.users.totp_code("alice"))
    ext.run_cell("%cognito_login alice")
    ext.run_cell("%cognito_logout")
    ext.run_cell("%cognito_login alice")  # the remembered device: no MFA prompt
    assert session.is_signed_in and len(prompts.asked) == 3
    capsys.readouterr()

    ext.run_cell("%cognito_logout --forget-device")

    out = capsys.readouterr().out.strip()
    assert out == "Signed out alice. Cognito forgot this device; the next sign-in asks for MFA."
    assert counts(emulator, "ForgetDevice") == (1,)
    prompts.secret.append(PASSWORD)
    prompts.text.append(lambda: emulator.users.totp_code("alice"))
    ext.run_cell("%cognito_login alice")
    assert prompts.asked[-1] == "Code from your authenticator app: "  # MFA again


def test_logout_forget_device_without_a_device(ext, session, local, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    capsys.readouterr()
    ext.run_cell("%cognito_logout --forget-device")
    assert capsys.readouterr().out.strip() == "Signed out alice. No device was tracked for this session."


def test_user_auth_with_remember_and_nothing_remembered_starts_one_sign_in(ext, session, make_local, prompts):
    emulator = use(session, user_auth(make_local), auth_flow="USER_AUTH", preferred_challenge="EMAIL_OTP")
    prompts.text.append(lambda: emulator.users.last_email_code("alice"))
    ext.run_cell("%cognito_login alice --remember")
    assert session.is_signed_in
    assert counts(emulator, "InitiateAuth") == (1,)  # one sign-in, one code sent


def test_session_report_shows_the_device(ext, session, make_local, monkeypatch):
    pool = PoolSpec(device_tracking="opt_in")
    use(session, make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),))))
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    assert dict(ext.run_cell("%cognito_session").result.rows())["device"] == "tracked, not remembered"
    session.remember_device()
    assert dict(ext.run_cell("%cognito_session").result.rows())["device"] == "remembered: sign-ins skip MFA"
    assert session.device.password not in str(ext.run_cell("%cognito_session").result)


def test_remember_device_on_the_line_opts_in(ext, session, make_local, prompts):
    pool = PoolSpec(device_tracking="opt_in", mfa="ON", mfa_types=("TOTP",))
    users = (UserSpec("alice", PASSWORD, totp_secret=TOTP_SECRET),)
    emulator = use(session, make_local(LocalSpec(pool=pool, users=users)))
    prompts.secret.extend([PASSWORD, PASSWORD])
    prompts.text.append(lambda: emulator.users.totp_code("alice"))
    ext.run_cell("%cognito_login alice --remember-device")
    assert session.device.remembered and counts(emulator, "UpdateDeviceStatus") == (1,)
    ext.run_cell("%cognito_logout")
    ext.run_cell("%cognito_login alice")
    assert session.is_signed_in and len(prompts.asked) == 3  # no second TOTP prompt
