"""The widget's "Sign in with <provider>" buttons and the popup bridge, kernel side.

The front end's part (the popup, the callback page, postMessage) runs in Chromium in
test_oauth_browser.py. Here the test plays the front end at the comm: it reads the one-off
"open" message the bridge sends and answers with the callback's query, as the JS does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_oauth_signin import Browser

from nb_cognito.auth.session import CognitoSession
from nb_cognito.local import ClientSpec, LocalCognito, LocalSpec, default_test_spec
from nb_cognito.notebook.widget import SignInWidget

POPUP_CALLBACK = "http://127.0.0.1:8888/nb-cognito/callback"


@pytest.fixture
def hosted(make_local: Callable[[LocalSpec], LocalCognito]) -> LocalCognito:
    return make_local(replace(default_test_spec(), client=ClientSpec(callback_urls=(POPUP_CALLBACK,))))


def sso_session(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito, **extra: Any
) -> CognitoSession:
    return new_session(oauth_domain=hosted.endpoint_url, redirect_uri="http://localhost:9/", **extra)


def test_no_buttons_without_a_domain(new_session: Callable[..., CognitoSession]) -> None:
    widget = SignInWidget(new_session())
    assert widget._ui.sso.buttons == []
    widget.close()


def test_one_button_per_identity_provider(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito
) -> None:
    widget = SignInWidget(sso_session(new_session, hosted, identity_provider="Google,CorpOkta"))
    assert [b.description for b in widget._ui.sso.buttons] == ["Sign in with Google", "Sign in with CorpOkta"]
    widget.close()
    plain = SignInWidget(sso_session(new_session, hosted))
    assert [b.description for b in plain._ui.sso.buttons] == ["Sign in with SSO"]
    plain.close()


def test_without_popup_or_browser_the_widget_points_to_paste_back(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    widget = SignInWidget(sso_session(new_session, hosted))
    assert widget._ui.sso.popup is not None and not widget._ui.sso.popup.ready  # no front end rendered it
    widget._ui.sso.buttons[0].click()
    assert "%cognito_login --hosted-ui" in widget.message
    widget.close()


def test_the_popup_bridge_signs_in_and_keeps_secrets_out_of_widget_state(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito
) -> None:
    session = sso_session(new_session, hosted)
    widget = SignInWidget(session)
    bridge = widget._ui.sso.popup
    sent: list[dict[str, Any]] = []
    bridge.send = lambda content, buffers=None: sent.append(content)  # the comm, as the front end sees it
    bridge.callback_url, bridge.ready = POPUP_CALLBACK, True  # what the front end sets when rendered
    widget._ui.sso.buttons[0].click()
    assert [m["type"] for m in sent] == ["open"]
    final = Browser(hosted).sign_in(sent[0]["url"])  # the person signs in in the popup
    assert final.startswith(POPUP_CALLBACK + "?")
    state_value = json.dumps(widget.get_state()) + json.dumps(bridge.get_state())
    bridge._on_front_end_message(bridge, {"type": "callback", "query": urlsplit(final).query}, [])
    assert session.is_signed_in and widget.view == "signed_in"
    tokens = session.describe().state.tokens
    state_value += json.dumps(widget.get_state()) + json.dumps(bridge.get_state())
    code = urlsplit(final).query.split("code=")[1].split("&")[0]
    for secret in (code, tokens.id_token, tokens.access_token, tokens.refresh_token):
        assert secret not in state_value
    widget.close()


def test_the_bridge_refuses_an_answer_it_did_not_ask_for(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito
) -> None:
    session = sso_session(new_session, hosted)
    widget = SignInWidget(session)
    bridge = widget._ui.sso.popup
    sent: list[dict[str, Any]] = []
    bridge.send = lambda content, buffers=None: sent.append(content)
    bridge.callback_url, bridge.ready = POPUP_CALLBACK, True
    bridge._on_front_end_message(bridge, {"type": "callback", "query": "code=x&state=y"}, [])
    assert "No sign-in is waiting" in widget.message
    widget._ui.sso.buttons[0].click()
    final = Browser(hosted).sign_in(sent[0]["url"])
    forged = urlsplit(final).query.replace("state=", "state=forged")
    bridge._on_front_end_message(bridge, {"type": "callback", "query": forged}, [])
    assert "state" in widget.message and not session.is_signed_in
    widget.close()


def test_with_a_browser_on_the_kernel_s_machine_the_button_signs_in_through_the_loopback(
    new_session: Callable[..., CognitoSession],
    make_local: Callable[[LocalSpec], LocalCognito],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No popup front end, but a desktop: the click starts the loopback sign-in in a thread, and
    ``webbrowser`` starts the browser (here a program standing in for one, tests/fake_browser.py)."""
    import socket
    import sys
    import webbrowser
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        callback = f"http://localhost:{probe.getsockname()[1]}/"
    local = make_local(replace(default_test_spec(), client=ClientSpec(callback_urls=(callback,))))
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {Path(__file__).with_name('fake_browser.py')} %s")
    monkeypatch.setenv("FAKE_BROWSER_USER", "alice")
    monkeypatch.setenv("FAKE_BROWSER_PASSWORD", "Alice-Passw0rd!")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again (it is read once)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    session = new_session(local.settings.as_config())
    widget = SignInWidget(session)
    assert not widget._ui.sso.popup.ready  # no front end rendered the bridge (a classic notebook)
    thread = widget._ui.sso.click(None)
    assert thread is not None
    thread.join(60)
    assert not thread.is_alive()
    assert session.is_signed_in and widget.view == "signed_in", widget.message
    widget.close()
