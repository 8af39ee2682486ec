"""The sign-in widget's story, without a browser: type into its fields, click its buttons.

Every test talks HTTP to the offline Cognito (``local``) through a real :class:`CognitoSession`;
time is the shared ``clock``. ipywidgets needs no kernel to build and click widgets.
"""

from __future__ import annotations

import importlib.util
import json
import threading

import ipywidgets
import pytest
from ipywidgets.widgets.widget import _instances

from nb_cognito.local import LocalSpec, PoolSpec, UserSpec
from nb_cognito.models import AuthEvent
from nb_cognito.notebook import widget as widget_module
from nb_cognito.notebook.widget import SignInWidget

PASSWORD = "Alice-Passw0rd!"
CANARY = "Canary-Passw0rd!-q7Zx"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def session(new_session):
    return new_session()


@pytest.fixture
def make_widget(session):
    made: list[SignInWidget] = []

    def make(on=None, **kwargs) -> SignInWidget:
        w = SignInWidget(session=on or session, **kwargs)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def sign_in(w: SignInWidget, username: str, password: str) -> None:
    w._username.value = username
    w._password.value = password  # what the frontend syncs on Enter (continuous_update=False)


def wrong_code(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def all_widget_state() -> str:
    """The state of every live widget, as the frontend (and a saved notebook) would get it."""
    return json.dumps({model_id: w.get_state() for model_id, w in list(_instances.items())}, default=repr)


def descendants(root: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found, stack = [], [root]
    while stack:
        w = stack.pop()
        found.append(w)
        stack.extend(getattr(w, "children", ()))
    return found


# -- signing in ----------------------------------------------------------------------------------


def test_sign_in_shows_who_and_until_when(make_widget, session):
    w = make_widget()
    assert w.view == "signed_out"

    w._username.value = "alice"
    w._password.value = PASSWORD
    w._sign_in_button.click()  # the click after the Enter/blur belongs to the same attempt

    assert session.is_signed_in
    assert w.view == "signed_in"
    assert w.message == ""
    status = w._status.value
    assert "alice" in status
    identity_id = session.fetch_auth_session().identity_id_result.value
    assert identity_id in status
    assert "tokens expire" in status and "AWS credentials expire" in status and "UTC" in status
    assert w._password.value == ""


def test_the_button_signs_in_and_is_busy_meanwhile(make_widget, session):
    w = make_widget()
    seen: list[tuple[bool, str]] = []
    session.on(
        AuthEvent.SIGNED_IN,
        lambda _: seen.append((w._sign_in_button.disabled, w._sign_in_button.description)),
    )
    w._username.value = "alice"
    with w._password.hold_trait_notifications():  # a value typed but not yet submitted
        w._password.set_trait("value", PASSWORD)
    w._password.unobserve_all()  # so that only the click submits
    w._sign_in_button.click()

    assert seen == [(True, "Signing in…")]
    assert w.view == "signed_in"
    assert not w._sign_in_button.disabled and w._sign_in_button.description == "Sign in"


def test_wrong_password_is_shown_and_cleared(make_widget, session):
    w = make_widget()
    sign_in(w, "alice", "Wrong-Passw0rd!")

    assert w.view == "signed_out"
    assert "Incorrect username or password" in w.message
    assert "role='alert'" in w._message.value
    assert w._password.value == ""
    assert not session.is_signed_in

    sign_in(w, "alice", PASSWORD)
    assert w.view == "signed_in" and w.message == ""


def test_unknown_user_reads_like_a_wrong_password(make_widget):
    w = make_widget()
    sign_in(w, "nobody", PASSWORD)
    assert "Incorrect username or password" in w.message


def test_lockout_is_said_in_plain_words(make_widget):
    w = make_widget()
    for _ in range(6):
        sign_in(w, "alice", "Wrong-Passw0rd!")
    assert "Password attempts exceeded" in w.message
    assert "Wait a few minutes" in w.message
    assert w._password.value == ""


def test_missing_username_or_password(make_widget, session):
    w = make_widget()
    w._username.value = ""
    w._password.value = PASSWORD
    assert w.message == "Enter your username."
    assert w._password.value == ""  # cleared even though nothing was sent

    w._username.value = "alice"
    w._last_submit = float("-inf")
    w._sign_in_button.click()
    assert w.message == "Enter your password."
    assert not session.is_signed_in


def test_unexpected_errors_are_shown_not_swallowed(make_widget, session, monkeypatch):
    def explode(*_args):
        raise RuntimeError(f"boom {CANARY}")

    monkeypatch.setattr(session, "sign_in", explode)
    w = make_widget()
    sign_in(w, "alice", CANARY)
    assert "Something went wrong (RuntimeError)" in w.message
    assert CANARY not in w.message
    assert w._sign_in_button.disabled is False


def test_network_failure_is_a_plain_error(new_session, make_widget, fault_proxy):
    session = new_session(endpoint_url=fault_proxy.url)
    w = make_widget(on=session)
    fault_proxy.set_down(True)
    sign_in(w, "alice", PASSWORD)

    assert w.view == "signed_out"
    assert "could not be reached" in w.message
    assert "Check the network connection and try again." in w.message
    assert "Traceback" not in w.message
    assert w._password.value == ""

    fault_proxy.set_down(False)
    sign_in(w, "alice", PASSWORD)
    assert w.view == "signed_in"


# -- challenges ---------------------------------------------------------------------------------


def test_new_password_mismatch_then_success(make_local, new_session, make_widget, local):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = new_session()
    w = make_widget(on=session)
    sign_in(w, "carol", "Temp-Passw0rd!")
    assert w.view == "new_password"

    before = local.request_counts()
    w._new_password.value = "Brand-New-Passw0rd!"
    w._confirm_password.value = "Brand-New-Passw0rd?"  # Enter in the confirmation field
    assert w.view == "new_password"
    assert "do not match" in w.message
    assert local.request_counts() == before  # nothing sent
    assert w._new_password.value == "" and w._confirm_password.value == ""

    w._new_password.value = "Brand-New-Passw0rd!"
    w._confirm_password.value = "Brand-New-Passw0rd!"
    assert w.view == "signed_in"
    assert session.get_current_user().username == "carol"


def test_new_password_refused_by_the_policy(make_local, new_session, make_widget):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = new_session()
    w = make_widget(on=session)
    sign_in(w, "carol", "Temp-Passw0rd!")

    w._new_password.value = "short"
    w._confirm_password.value = "short"
    assert "new password was refused" in w.message
    assert w._new_password.value == "" and w._confirm_password.value == ""
    assert w.view == "new_password"  # the same step, to answer again
    w._new_password.value = "Brand-New-Passw0rd!"
    w._confirm_password.value = "Brand-New-Passw0rd!"
    assert w.view == "signed_in"


def test_totp_challenge_with_a_real_code(make_local, new_session, make_widget, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    w = make_widget(on=new_session())
    sign_in(w, "dave", PASSWORD)
    assert w.view == "code"
    assert "authenticator app" in w._code_prompt.value
    assert w._setup_box.children == ()

    w._code.value = wrong_code(local.totp_code("dave"))
    assert w.view == "code"
    assert "code is wrong" in w.message
    assert w._code.value == ""

    w._code.value = local.totp_code("dave")
    assert w.view == "signed_in"
    assert w._code.value == ""


def test_totp_setup_shows_a_qr_code_then_asks_for_the_first_code(make_local, new_session, make_widget, local):
    make_local(LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("TOTP",)), users=(UserSpec("erin", PASSWORD),)))
    w = make_widget(on=new_session())
    sign_in(w, "erin", PASSWORD)

    assert w.view == "totp_setup"
    secret = local.totp_secret("erin")
    if importlib.util.find_spec("segno") or importlib.util.find_spec("qrcode"):
        assert w._setup_box.children == (w._qr,)
        assert len(w._qr.value) > 100
        assert "scan this QR code" in w._code_prompt.value
    else:
        assert w._setup_box.children == (w._totp_secret_text,)
        assert secret in w._totp_secret_text.value

    w._code.value = local.totp_code("erin")
    assert w.view == "signed_in"
    assert w._qr.value == b"" and w._totp_secret_text.value == ""  # the setup secret is gone
    assert secret not in all_widget_state()


def test_totp_setup_without_a_qr_package_shows_the_secret(
    make_local, new_session, make_widget, local, monkeypatch
):
    monkeypatch.setattr(widget_module, "_qr_image", lambda uri: None)
    make_local(LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("TOTP",)), users=(UserSpec("erin", PASSWORD),)))
    w = make_widget(on=new_session())
    sign_in(w, "erin", PASSWORD)

    assert w.view == "totp_setup"
    secret = local.totp_secret("erin")
    assert w._setup_box.children == (w._totp_secret_text,)
    assert secret in w._totp_secret_text.value
    assert "add this secret key" in w._code_prompt.value

    w._cancel_button.click()  # leaving the setup also forgets the secret
    assert w.view == "signed_out"
    assert secret not in all_widget_state()


def test_sms_code_shows_the_masked_destination(make_local, new_session, make_widget, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("SMS",)),
            users=(UserSpec("frank", PASSWORD, phone_number="+15555550123", sms_mfa=True),),
        )
    )
    w = make_widget(on=new_session())
    sign_in(w, "frank", PASSWORD)
    assert w.view == "code"
    assert "SMS" in w._code_prompt.value and "0123" in w._code_prompt.value
    assert "555555" not in w._code_prompt.value

    w._code.value = wrong_code(local.last_sms_code("frank"))
    assert "code is wrong" in w.message and w.view == "code"

    w._code.value = local.last_sms_code("frank")
    w._code_button.click()  # same attempt: ignored, no "Enter the code." complaint
    assert w.view == "signed_in" and w.message == ""


def test_mfa_selection_then_totp(make_local, new_session, make_widget, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "SMS")),
            users=(
                UserSpec(
                    "gina", PASSWORD, totp_secret=TOTP_SECRET, phone_number="+15555550124", sms_mfa=True
                ),
            ),
        )
    )
    w = make_widget(on=new_session())
    sign_in(w, "gina", PASSWORD)
    assert w.view == "mfa_selection"
    assert set(w._mfa_choice.options) == {"TOTP", "SMS"}

    w._mfa_choice.value = "TOTP"
    w._mfa_button.click()
    assert w.view == "code"
    assert "authenticator app" in w._code_prompt.value

    w._code.value = local.totp_code("gina")
    assert w.view == "signed_in"


def test_an_expired_challenge_starts_over(make_local, new_session, make_widget, local, clock):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    w = make_widget(on=new_session())
    sign_in(w, "dave", PASSWORD)
    clock.advance(600)  # Cognito's sign-in sessions last 3 minutes

    w._code.value = local.totp_code("dave")

    assert w.view == "signed_out"
    assert "Sign in again" in w.message
    assert w._username.value == "dave"


def test_cancel_goes_back_to_the_form(make_local, new_session, make_widget):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    w = make_widget(on=new_session())
    sign_in(w, "carol", "Temp-Passw0rd!")
    w._new_password.value = "Half-Typed-Passw0rd!"
    w._cancel_button.click()
    assert w.view == "signed_out"
    assert w._new_password.value == ""
    assert w._username.value == "carol"


# -- signed in: refresh, events, sign out --------------------------------------------------------


def test_refresh_now_refreshes_and_the_view_follows(make_widget, session, local, clock):
    w = make_widget()
    sign_in(w, "alice", PASSWORD)
    before = w._status.value
    clock.advance(600)
    local.reset_counts()

    w._refresh_button.click()

    assert local.request_counts()["InitiateAuth"] >= 1
    assert local.request_counts()["GetCredentialsForIdentity"] == 1
    assert w._status.value != before
    assert w.message == "Refreshed."
    assert not w._refresh_button.disabled


def test_events_from_another_thread_update_the_view(make_widget, session, clock):
    w = make_widget()
    sign_in(w, "alice", PASSWORD)
    before = w._status.value
    clock.advance(900)

    worker = threading.Thread(target=session.fetch_auth_session, kwargs={"force_refresh": True})
    worker.start()
    worker.join(timeout=30)

    assert w._status.value != before
    expires = session.status().tokens_expiration.strftime("%Y-%m-%d %H:%M:%S")
    assert expires in w._status.value


def test_refresh_failure_is_shown_and_cleared_by_the_next_refresh(
    new_session, make_widget, fault_proxy, clock
):
    session = new_session(endpoint_url=fault_proxy.url)
    w = make_widget(on=session)
    sign_in(w, "alice", PASSWORD)

    fault_proxy.set_down(True)
    w._refresh_button.click()
    assert w.view == "signed_in"  # the session is kept
    assert "could not be reached" in w.message and "session is kept" in w.message

    fault_proxy.set_down(False)
    w._refresh_button.click()
    assert w.message == "Refreshed."


def test_revoked_session_shows_the_form_with_the_reason(make_widget, session, local):
    w = make_widget()
    sign_in(w, "alice", PASSWORD)
    local.global_sign_out("alice")

    w._refresh_button.click()

    assert w.view == "signed_out"
    assert "sign in again" in w.message.lower()
    assert w._username.value == "alice"


def test_sign_out(make_widget, session, local):
    w = make_widget()
    sign_in(w, "alice", PASSWORD)
    local.reset_counts()

    w._sign_out_button.click()

    assert not session.is_signed_in
    assert w.view == "signed_out"
    assert w.message == "Signed out."
    assert local.request_counts()["RevokeToken"] == 1
    assert w._username.value == "alice"


def test_two_widgets_follow_the_python_api_and_each_other(make_widget, session):
    first, second = make_widget(), make_widget()

    session.sign_in("alice", PASSWORD)
    assert first.view == second.view == "signed_in"
    assert "alice" in first._status.value and "alice" in second._status.value

    first._sign_out_button.click()
    assert first.view == second.view == "signed_out"

    sign_in(second, "alice", PASSWORD)
    assert first.view == "signed_in"

    session.sign_out()
    assert first.view == second.view == "signed_out"
    assert first.message == second.message == "Signed out."
    assert first._username.value == "alice"  # ready to sign in again


def test_a_new_widget_shows_an_existing_session(make_widget, session):
    session.sign_in("alice", PASSWORD)
    assert make_widget().view == "signed_in"


def test_close_unsubscribes(make_widget, session):
    w = make_widget()
    listeners = sum(len(v) for v in session._listeners.values())
    w.close()
    assert sum(len(v) for v in session._listeners.values()) == listeners - len(AuthEvent)
    session.sign_in("alice", PASSWORD)
    assert w.view == "signed_out"


def test_default_is_the_kernel_session(monkeypatch, session):
    from nb_cognito import kernel

    monkeypatch.setattr(kernel, "_session", session)
    w = SignInWidget()
    try:
        assert w._session is session
    finally:
        w.close()


# -- secrets ------------------------------------------------------------------------------------


def test_no_canary_in_any_widget_state(make_local, new_session, make_widget, local):
    make_local(LocalSpec(users=(UserSpec("carol", CANARY, must_change_password=True),)))
    new_canary = CANARY + "-new"
    session = new_session()
    w = make_widget(on=session)

    sign_in(w, "carol", "Wrong-" + CANARY)  # a failed attempt
    sign_in(w, "carol", CANARY)
    assert w.view == "new_password"
    w._new_password.value = new_canary
    w._confirm_password.value = new_canary + "x"  # mismatch
    w._new_password.value = new_canary
    w._confirm_password.value = new_canary
    assert w.view == "signed_in"

    for part in descendants(w) + w._parts():
        state = json.dumps(part.get_state(), default=repr)
        assert CANARY not in state, type(part).__name__
    assert CANARY not in all_widget_state()
    assert CANARY not in repr(w)
    assert CANARY not in w.message and CANARY not in w._status.value
