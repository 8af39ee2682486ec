"""The sign-in widget's story, without a browser: type into its fields, click its buttons.

Every test talks HTTP to the offline Cognito (``local``) through a real :class:`CognitoSession`;
time is the shared ``clock``. ipywidgets needs no kernel to build and click widgets. The
tests drive the widget through :class:`widget_driver.WidgetDriver`, as a person would.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading

import ipywidgets
import pytest
from helpers import PASSWORD
from widget_driver import WidgetDriver, all_widget_state

from nb_cognito.local import LocalSpec, PoolSpec, UserSpec
from nb_cognito.models import AuthEvent
from nb_cognito.notebook import widget_look
from nb_cognito.notebook.widget import SignInWidget

CANARY = "Canary-Passw0rd!-q7Zx"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def session(new_session):
    return new_session()


@pytest.fixture
def make_widget(session):
    made: list[SignInWidget] = []

    def make(on=None, **kwargs) -> WidgetDriver:
        w = SignInWidget(session=on or session, **kwargs)
        made.append(w)
        return WidgetDriver(w)

    yield make
    for w in made:
        w.close()


def wrong_code(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


# -- signing in ----------------------------------------------------------------------------------


def test_sign_in_shows_who_and_how_long_in_relative_times(make_widget, session):
    w = make_widget()
    assert (w.view, w.state, w.chip_text) == ("signed_out", "signed_out", "Signed out")

    w.sign_in_with_the_button("alice", PASSWORD)  # the click after the blur belongs to the same attempt

    assert session.is_signed_in
    assert (w.view, w.state, w.chip_text) == ("signed_in", "signed_in", "Signed in as alice")
    assert w.message == ""
    assert w.status_row("User") == "alice"
    identity_id = session.fetch_auth_session().identity_id_result.value
    assert w.status_row("Identity") == identity_id
    assert re.fullmatch(r"expire in (1 h 00 min|59 min)", w.status_row("Tokens"))
    credentials = w.status_row("AWS credentials")
    assert re.fullmatch(r"expire in (1 h 00 min|59 min) · key …\w{4}", credentials), credentials
    assert w.status_row("boto3 injection").startswith(("on", "off"))
    assert "UTC" in w.status_html  # the absolute time is the tooltip
    assert PASSWORD not in all_widget_state()


def test_the_button_signs_in_and_is_busy_meanwhile(make_widget, session):
    seen: list[tuple[str, bool, str]] = []
    shown: list[WidgetDriver] = []

    def look(_payload) -> None:  # subscribed before the widget: runs before it redraws
        button = shown[0].part("sign-in-button")
        seen.append((button.description, button.disabled, shown[0].state))

    session.on(AuthEvent.SIGNED_IN, look)
    w = make_widget()
    shown.append(w)
    w.sign_in("alice", PASSWORD)

    assert seen == [("Signing in…", True, "signing_in")]
    assert w.view == "signed_in" and w.state == "signed_in"
    assert w.button("refresh") == ("Refresh now", False)


def test_wrong_password_is_shown_and_cleared(make_widget, session):
    w = make_widget()
    w.sign_in("alice", "Wrong-Passw0rd!")

    assert w.view == "signed_out" and w.state == "signed_out"
    assert "Incorrect username or password" in w.message
    assert "role='alert'" in w.message_html
    assert w.value("password") == ""
    assert not session.is_signed_in

    w.sign_in("alice", PASSWORD)
    assert w.view == "signed_in" and w.message == ""


def test_a_click_a_moment_after_a_failed_attempt_is_not_ignored(make_widget, clock):
    w = make_widget()
    w.sign_in_with_the_button("alice", "Wrong-Passw0rd!")  # blur, then the click: one attempt
    assert "Incorrect username or password" in w.message

    clock.advance(1.3)
    w.click("sign-in")  # the user's own click, with the password field empty
    assert w.message == "Enter your password."  # not silently ignored, and the old error is gone

    clock.advance(1.3)
    w.sign_in_with_the_button("alice", PASSWORD)  # the blur's own click after it changes nothing
    assert w.view == "signed_in" and w.message == ""


def test_unknown_user_reads_like_a_wrong_password(make_widget):
    w = make_widget()
    w.sign_in("nobody", PASSWORD)
    assert "Incorrect username or password" in w.message


def test_lockout_is_said_in_plain_words(make_widget):
    w = make_widget()
    for _ in range(6):
        w.sign_in("alice", "Wrong-Passw0rd!")
    assert "Password attempts exceeded" in w.message
    assert "Wait a few minutes" in w.message
    assert w.value("password") == ""


def test_missing_username_or_password(make_widget, session, clock):
    w = make_widget()
    w.type("username", "")
    w.submit("password", PASSWORD)
    assert w.message == "Enter your username."
    assert w.value("password") == ""  # cleared even though nothing was sent

    w.type("username", "alice")
    clock.advance(5)
    w.click("sign-in")
    assert w.message == "Enter your password."
    assert not session.is_signed_in


def test_unexpected_errors_are_shown_not_swallowed(make_widget, session, monkeypatch):
    def explode(*_args):
        raise RuntimeError(f"boom {CANARY}")

    monkeypatch.setattr(session, "sign_in", explode)
    w = make_widget()
    w.sign_in("alice", CANARY)
    assert "Something went wrong (RuntimeError)" in w.message
    assert CANARY not in w.message
    assert w.button("sign-in") == ("Sign in", False)
    assert w.state == "signed_out"


def test_network_failure_is_a_plain_error(new_session, make_widget, fault_proxy):
    session = new_session(endpoint_url=fault_proxy.url)
    w = make_widget(on=session)
    fault_proxy.set_down(True)
    w.sign_in("alice", PASSWORD)

    assert w.view == "signed_out"
    assert "could not be reached" in w.message
    assert "Check the network connection and try again." in w.message
    assert "Traceback" not in w.message
    assert w.value("password") == ""

    fault_proxy.set_down(False)
    w.sign_in("alice", PASSWORD)
    assert w.view == "signed_in"


# -- challenges ---------------------------------------------------------------------------------


def test_new_password_mismatch_then_success(make_local, new_session, make_widget, local):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = new_session()
    w = make_widget(on=session)
    w.sign_in("carol", "Temp-Passw0rd!")
    assert w.view == "new_password" and w.state == "signing_in" and w.chip_text == "Signing in"
    assert "Choose a new password" in w.prompt_text

    before = local.request_counts()
    w.set_new_password("Brand-New-Passw0rd!", "Brand-New-Passw0rd?")
    assert w.view == "new_password"
    assert "do not match" in w.message
    assert local.request_counts() == before  # nothing sent
    assert w.value("new-password") == "" and w.value("confirm-password") == ""

    w.set_new_password("Brand-New-Passw0rd!")
    assert w.view == "signed_in"
    assert session.get_current_user().username == "carol"


def test_new_password_refused_by_the_policy(make_local, new_session, make_widget):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    w = make_widget(on=new_session())
    w.sign_in("carol", "Temp-Passw0rd!")

    w.set_new_password("short")
    assert "new password was refused" in w.message
    assert w.value("new-password") == "" and w.value("confirm-password") == ""
    assert w.view == "new_password"  # the same step, to answer again
    w.set_new_password("Brand-New-Passw0rd!")
    assert w.view == "signed_in"


def test_totp_challenge_with_a_real_code(make_local, new_session, make_widget, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    w = make_widget(on=new_session())
    w.sign_in("dave", PASSWORD)
    assert w.view == "code" and w.state == "signing_in"
    assert "authenticator app" in w.prompt_text
    assert not w.shows("qr") and not w.shows("totp-secret")

    w.submit("code", wrong_code(local.users.totp_code("dave")))
    assert w.view == "code"
    assert "code is wrong" in w.message
    assert w.value("code") == ""

    w.submit("code", local.users.totp_code("dave"))
    assert w.view == "signed_in"


def test_totp_setup_shows_a_qr_code_then_asks_for_the_first_code(make_local, new_session, make_widget, local):
    make_local(LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("TOTP",)), users=(UserSpec("erin", PASSWORD),)))
    w = make_widget(on=new_session())
    w.sign_in("erin", PASSWORD)

    assert w.view == "totp_setup"
    secret = local.users.totp_secret("erin")
    if importlib.util.find_spec("segno") or importlib.util.find_spec("qrcode"):
        assert len(w.part("qr").value) > 100
        assert "scan this QR code" in w.prompt_text
    else:
        assert secret in w.part("totp-secret").value

    w.submit("code", local.users.totp_code("erin"))
    assert w.view == "signed_in"
    assert not w.shows("qr") and not w.shows("totp-secret")
    assert secret not in all_widget_state()  # the setup secret is gone from every part


def test_totp_setup_without_a_qr_package_shows_the_secret(
    make_local, new_session, make_widget, local, monkeypatch
):
    monkeypatch.setattr(widget_look, "qr_image", lambda uri: None)
    make_local(LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("TOTP",)), users=(UserSpec("erin", PASSWORD),)))
    w = make_widget(on=new_session())
    w.sign_in("erin", PASSWORD)

    assert w.view == "totp_setup"
    secret = local.users.totp_secret("erin")
    assert secret in w.part("totp-secret").value and not w.shows("qr")
    assert "add this secret key" in w.prompt_text

    w.click("cancel")  # leaving the setup also forgets the secret
    assert w.view == "signed_out" and w.state == "signed_out"
    assert secret not in all_widget_state()


def test_sms_code_shows_the_masked_destination(make_local, new_session, make_widget, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("SMS",)),
            users=(UserSpec("frank", PASSWORD, phone_number="+15555550123", sms_mfa=True),),
        )
    )
    w = make_widget(on=new_session())
    w.sign_in("frank", PASSWORD)
    assert w.view == "code"
    assert "SMS" in w.prompt_text and "0123" in w.prompt_text
    assert "555555" not in w.prompt_text

    w.submit("code", wrong_code(local.users.last_sms_code("frank")))
    assert "code is wrong" in w.message and w.view == "code"

    w.submit("code", local.users.last_sms_code("frank"))
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
    w.sign_in("gina", PASSWORD)
    assert w.view == "mfa_selection" and w.state == "signing_in"
    assert set(w.options("mfa-choice")) == {"TOTP", "SMS"}

    w.choose("mfa-choice", "TOTP")
    w.click("mfa")
    assert w.view == "code"
    assert "authenticator app" in w.prompt_text

    w.submit("code", local.users.totp_code("gina"))
    assert w.view == "signed_in"


def test_an_expired_challenge_starts_over(make_local, new_session, make_widget, local, clock):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    w = make_widget(on=new_session())
    w.sign_in("dave", PASSWORD)
    clock.advance(600)  # Cognito's sign-in sessions last 3 minutes

    w.submit("code", local.users.totp_code("dave"))

    assert w.view == "signed_out"
    assert "Sign in again" in w.message
    assert w.value("username") == "dave"


def test_cancel_goes_back_to_the_form(make_local, new_session, make_widget):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    w = make_widget(on=new_session())
    w.sign_in("carol", "Temp-Passw0rd!")
    w.submit("new-password", "Half-Typed-Passw0rd!")
    w.click("cancel")
    assert w.view == "signed_out" and w.state == "signed_out"
    assert w.value("username") == "carol"
    assert "Half-Typed-Passw0rd!" not in all_widget_state()


# -- signed in: the countdown, refresh, events, sign out ------------------------------------------


def test_the_times_count_down_and_the_bar_shrinks(make_widget, session, clock):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    clock.advance(120)  # under the hour: whole minutes
    w.tick()
    first = w.status_row("AWS credentials")
    bar = re.search(r"width:([\d.]+)%", w.status_html)
    assert bar and 96 < float(bar.group(1)) < 97

    clock.advance(61)
    w.tick()
    later = w.status_row("AWS credentials")
    assert later != first
    left = [int(re.search(r"in (\d+) min ·", text).group(1)) for text in (first, later)]
    assert left[0] - left[1] in (1, 2)  # 61 s later: one minute less, or two across a boundary
    assert float(re.search(r"width:([\d.]+)%", w.status_html).group(1)) < 96

    clock.advance(48 * 60)  # the last tenth of the lifetime: the bar turns to the warning colour
    w.tick()
    assert "nbc-low" in w.status_html


def test_the_countdown_runs_on_its_own_thread_and_stops_when_closed(make_widget, session, clock):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    tickers = [t for t in threading.enumerate() if t.name == "nb-cognito-widget-countdown"]
    assert len(tickers) == 1 and tickers[0].daemon
    w.widget.close()
    tickers[0].join(timeout=10)
    assert not tickers[0].is_alive()


def test_boto3_injection_row(new_session, make_widget):
    session = new_session(attach=True)
    w = make_widget(on=session)
    w.sign_in("alice", PASSWORD)
    assert w.status_row("boto3 injection") == "on · boto3 signs with these credentials"


def test_no_identity_pool_says_why_there_are_no_credentials(new_session, make_widget, local):
    settings = {k: v for k, v in local.settings.as_config().items() if k != "identity_pool_id"}
    w = make_widget(on=new_session(settings))
    w.sign_in("alice", PASSWORD)
    assert w.status_row("AWS credentials").startswith(
        "none: no identity pool is configured (identity_pool_id"
    )
    assert w.status_row("boto3 injection") == "off · no AWS credentials"


def test_refresh_now_refreshes_and_the_view_follows(make_widget, session, local, clock):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    before = w.status_row("AWS credentials")
    clock.advance(600)
    local.reset_counts()

    w.click("refresh")

    assert local.request_counts()["GetTokensFromRefreshToken"] >= 1
    assert local.request_counts()["GetCredentialsForIdentity"] == 1
    assert w.status_row("AWS credentials") != before
    assert w.message == "Refreshed: new tokens and AWS credentials."
    assert w.button("refresh") == ("Refresh now", False)


def test_events_from_another_thread_update_the_view(make_widget, session, clock):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    before = w.status_html
    clock.advance(900)

    worker = threading.Thread(target=session.fetch_auth_session, kwargs={"force_refresh": True})
    worker.start()
    worker.join(timeout=30)

    assert w.status_html != before
    expires = session.status().tokens_expiration.strftime("%Y-%m-%d %H:%M:%S")
    assert expires in w.status_html  # the tooltip
    assert re.fullmatch(r"expire in (1 h 00 min|59 min)", w.status_row("Tokens"))


def test_refresh_failure_is_shown_and_cleared_by_the_next_refresh(new_session, make_widget, fault_proxy):
    session = new_session(endpoint_url=fault_proxy.url)
    w = make_widget(on=session)
    w.sign_in("alice", PASSWORD)

    fault_proxy.set_down(True)
    w.click("refresh")
    assert w.view == "signed_in" and w.state == "signed_in"  # the session is kept
    assert "could not be reached" in w.message and "session is kept" in w.message

    fault_proxy.set_down(False)
    w.click("refresh")
    assert w.message == "Refreshed: new tokens and AWS credentials."


def test_revoked_session_shows_the_form_with_the_reason(make_widget, session, local):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    local.users.global_sign_out("alice")

    w.click("refresh")

    assert w.view == "signed_out"
    assert (w.state, w.chip_text) == ("expired", "Session expired")
    assert "sign in again" in w.message.lower()
    assert w.value("username") == "alice"


def test_sign_out(make_widget, session, local):
    w = make_widget()
    w.sign_in("alice", PASSWORD)
    local.reset_counts()

    w.click("sign-out")

    assert not session.is_signed_in
    assert (w.view, w.state) == ("signed_out", "signed_out")
    assert w.message == ""  # the chip says it; a note would say it twice
    assert w.chip_text == "Signed out"
    assert w.screen_text.lower().count("signed out") == 1, w.screen_text
    assert local.request_counts()["RevokeToken"] == 1
    assert w.value("username") == "alice"


def test_two_widgets_follow_the_python_api_and_each_other(make_widget, session):
    first, second = make_widget(), make_widget()

    session.sign_in("alice", PASSWORD)
    assert first.view == second.view == "signed_in"
    assert first.status_row("User") == second.status_row("User") == "alice"

    first.click("sign-out")
    assert first.view == second.view == "signed_out"

    second.sign_in("alice", PASSWORD)
    assert first.view == "signed_in"

    session.sign_out()
    assert first.view == second.view == "signed_out"
    assert first.message == second.message == ""  # the chips say "Signed out"
    assert first.chip_text == second.chip_text == "Signed out"
    assert first.screen_text.lower().count("signed out") == 1, first.screen_text
    assert first.value("username") == "alice"  # ready to sign in again


def test_a_new_widget_shows_an_existing_session(make_widget, session):
    session.sign_in("alice", PASSWORD)
    assert make_widget().view == "signed_in"


def test_close_unsubscribes(make_widget, session):
    w = make_widget()
    listeners = session.describe().listeners
    w.widget.close()
    assert session.describe().listeners == listeners - len(AuthEvent)
    session.sign_in("alice", PASSWORD)
    assert w.view == "signed_out"


def test_default_is_the_kernel_session(monkeypatch, session):
    from nb_cognito import kernel

    monkeypatch.setattr(kernel, "_session", session)
    w = SignInWidget()
    try:
        session.sign_in("alice", PASSWORD)
        assert w.view == "signed_in"
    finally:
        w.close()


# -- the look ------------------------------------------------------------------------------------


def test_the_header_says_who_is_signed_in(make_local, new_session, make_widget):
    make_local(LocalSpec(users=(UserSpec("alice", PASSWORD), UserSpec("bob", "Bob-Passw0rd!-9x"))))
    session = new_session()
    w = make_widget(on=session)
    w.sign_in("alice", PASSWORD)
    assert w.chip_text == "Signed in as alice"
    assert "title='alice'" in w.part("chip").value  # a long name is cut short; the tooltip has it all
    session.sign_out()
    session.sign_in("bob", "Bob-Passw0rd!-9x")  # another user, signed in from Python
    assert w.chip_text == "Signed in as bob"
    session.sign_out()
    assert w.chip_text == "Signed out"


def test_the_chip_escapes_the_user_name():
    chip = widget_look.chip_html("signed_in", "<img src=x onerror=alert(1)>&'")
    assert "<img" not in chip and "&lt;img" in chip and "&#x27;" in chip
    assert "alice" not in widget_look.chip_html("signed_out", "alice")


def test_labels_align_the_same_way_in_every_view(make_widget):
    """The form's labels and the status table's row labels: one width, one gap, left-aligned, so
    fields and values start at the same column in every view (the browser test measures it)."""
    w = make_widget()
    labelled = [
        part
        for part in w.widget._parts()  # every view's parts, shown or not
        if getattr(part, "description", "")
        and hasattr(part.style, "description_width")
        and any(c.startswith("nb-cognito-") for c in part._dom_classes)
        and not isinstance(part, ipywidgets.Button)
    ]
    assert len(labelled) >= 6  # username, password, new password twice, code, factor password...
    assert {part.style.description_width for part in labelled} == {widget_look.LABEL_WIDTH}
    style = " ".join(widget_look.STYLE.split())
    width, gap = widget_look.LABEL_WIDTH, widget_look.LABEL_GAP
    label_rule = style.split(".widget-inline-hbox > .widget-label {", 1)[1].split("}", 1)[0]
    assert "text-align: left;" in label_rule and f"margin: 0 {gap} 0 0;" in label_rule
    assert f"flex: 0 0 {width};" in label_rule
    th_rule = style.split("table.nb-cognito-widget-status th {", 1)[1].split("}", 1)[0]
    assert "text-align: left;" in th_rule and f"width: {width};" in th_rule
    assert f"padding: 3px {gap} 3px 0;" in th_rule
    assert f"padding-left: calc({width} + {gap});" in style  # the buttons under the fields
    # The longest row label fits the width (a generous 0.6 em per character of a UI font).
    longest = max(
        ["User", "Identity", "Tokens", "AWS credentials", "boto3 injection", "Next refresh"], key=len
    )
    assert len(longest) * 0.6 <= float(width.removesuffix("em"))


def test_a_card_with_a_title_a_chip_aligned_fields_and_three_kinds_of_button(make_widget):
    w = make_widget()
    assert {"nb-cognito-card", "nb-cognito-sign-in"} <= set(w.widget._dom_classes)
    assert "AWS Cognito" in w.part("title").value
    assert "nbc-chip-out" in w.part("chip").value
    labels = {w.part(name).style.description_width for name in ("username", "password")}
    assert labels == {widget_look.LABEL_WIDTH}  # the fields line up...
    assert f"padding-left: calc({widget_look.LABEL_WIDTH} + 8px)" in widget_look.STYLE  # ...and the button
    assert w.part("sign-in-button").button_style == "primary"

    w.sign_in("alice", PASSWORD)
    assert "nb-cognito-secondary" in w.part("refresh-button")._dom_classes
    assert "nb-cognito-danger" in w.part("sign-out-button")._dom_classes


def test_the_stylesheet_follows_jupyterlabs_theme_variables():
    style = widget_look.STYLE
    for variable in ("--jp-layout-color1", "--jp-ui-font-color1", "--jp-border-color2", "--jp-error-color1"):
        assert f"var({variable}," in style  # with a fallback for frontends without them
    assert "<script" not in style
    outside_qr = style.replace(
        ".nb-cognito-card .nb-cognito-qr img { border-radius: 4px; background: #fff; }", ""
    )
    assert not re.findall(r"(?<!, )#[0-9a-fA-F]{3,6}\b", outside_qr)  # colours only as fallbacks


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3599, "in 59 min"),
        (3600, "in 1 h 00 min"),
        (3900, "in 1 h 05 min"),
        (54 * 60 + 30, "in 54 min"),
        (60, "in 1 min"),
        (59, "in 59 s"),
        (1, "in 1 s"),
        (0, "now"),
        (-75, "1 min ago"),
        (-12, "12 s ago"),
    ],
)
def test_countdown_words(seconds, text):
    import datetime as dt

    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert widget_look.countdown(now + dt.timedelta(seconds=seconds), now) == text


# -- secrets ------------------------------------------------------------------------------------


def test_no_canary_in_any_widget_state(make_local, new_session, make_widget, local):
    make_local(LocalSpec(users=(UserSpec("carol", CANARY, must_change_password=True),)))
    new_canary = CANARY + "-new"
    w = make_widget(on=new_session())

    w.sign_in("carol", "Wrong-" + CANARY)  # a failed attempt
    w.sign_in("carol", CANARY)
    assert w.view == "new_password"
    w.set_new_password(new_canary, new_canary + "x")  # mismatch
    w.set_new_password(new_canary)
    assert w.view == "signed_in"

    state = all_widget_state()
    assert CANARY not in state
    assert CANARY not in json.dumps(w.widget.get_state(), default=repr)
    assert CANARY not in repr(w.widget)
    assert CANARY not in w.message and CANARY not in w.status_html
