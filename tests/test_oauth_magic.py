"""``%cognito_login --hosted-ui [--idp NAME]`` in a real IPython shell, against the emulator.

No browser on this "machine" (no DISPLAY), so the magic chooses paste-back: it prints the URL,
the test's "person" signs in over HTTP and pastes the final URL at the hidden prompt.
"""

from __future__ import annotations

import getpass
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from IPython.core.error import UsageError
from test_oauth_signin import Browser
from testing_shell import TestingShell, close_shell, new_shell

from nb_cognito import kernel
from nb_cognito.clock import ManualClock
from nb_cognito.local import ClientSpec, LocalCognito, LocalSpec, default_test_spec
from nb_cognito.local.oidc_idp import IdpUser, LocalOidcIdp
from nb_cognito.notebook import extension
from nb_cognito.settings.config import CognitoConfig


@pytest.fixture
def hosted(make_local: Callable[[LocalSpec], LocalCognito]) -> tuple[LocalCognito, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        callback = f"http://localhost:{probe.getsockname()[1]}/"
    return make_local(replace(default_test_spec(), client=ClientSpec(callback_urls=(callback,)))), callback


@pytest.fixture
def shell(
    tmp_path: Any, hosted: tuple[LocalCognito, str], clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestingShell]:
    local, callback = hosted
    for name, value in local.settings.as_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NB_COGNITO_OAUTH_DOMAIN", local.endpoint_url)
    monkeypatch.setenv("NB_COGNITO_REDIRECT_URI", callback)
    monkeypatch.delenv("DISPLAY", raising=False)  # a machine with no browser: paste-back
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("NB_COGNITO_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("NB_COGNITO_KEYRING", "0")
    sh = new_shell(tmp_path)
    session = kernel.make_session(CognitoConfig(parent=sh), clock=clock)
    previous = kernel.use_kernel_session(session)
    sh.run_cell("%load_ext nb_cognito")
    yield sh
    kernel.use_kernel_session(previous)
    session.sign_out()
    session.close()
    extension.unload_extension(sh)
    close_shell(sh)


def paste_after_signing_in(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, browser: Browser, asked: list[str]
) -> None:
    def fake_getpass(prompt: str = "", stream: Any = None) -> str:
        asked.append(prompt)
        url = re.search(r"http\S+/oauth2/authorize\S+", capsys.readouterr().out)
        assert url is not None
        return browser.sign_in(url.group(0))

    monkeypatch.setattr(getpass, "getpass", fake_getpass)


def test_hosted_ui_magic_signs_in_by_paste_back(
    shell: TestingShell, hosted: tuple[LocalCognito, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    local, _ = hosted
    asked: list[str] = []
    paste_after_signing_in(monkeypatch, capsys, Browser(local), asked)
    shell.run_cell("%cognito_login --hosted-ui")
    assert asked == ["Paste the URL your browser was sent to (or just the code): "]
    assert "Signed in as alice" in capsys.readouterr().out
    cell = (
        f"import boto3; body = boto3.client('s3', endpoint_url={local.endpoint_url!r})"
        ".get_object(Bucket='nb-cognito-test', Key='hello.txt')['Body'].read()"
    )
    shell.run_cell(cell)
    assert shell.user_ns["body"].startswith(b"hello")
    history = shell.history_text()
    session = kernel.kernel_session()
    for secret in (
        session.describe().state.tokens.refresh_token,
        session.describe().state.tokens.access_token,
    ):
        assert secret not in history


def test_idp_magic_federates(
    shell: TestingShell,
    hosted: tuple[LocalCognito, str],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    local, _ = hosted
    user = IdpUser("erin", "Erin-IdP-Passw0rd!", sub="erin-0001", claims={"email": "erin@corp.example"})
    with LocalOidcIdp([user], clock=clock) as idp:
        idp.register_with(local, "CorpIdP")
        paste_after_signing_in(
            monkeypatch, capsys, Browser(local, username="erin", idp_password=user.password), []
        )
        shell.run_cell("%cognito_login --idp CorpIdP")
    assert "Signed in as CorpIdP_erin-0001" in capsys.readouterr().out


def test_a_refused_paste_is_a_usage_error(
    shell: TestingShell, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(
        getpass, "getpass", lambda prompt="", stream=None: "http://localhost:1/?code=x&state=forged"
    )
    with pytest.raises(UsageError, match=r"Sign-in failed: .*state"):
        shell.run_cell("%cognito_login --hosted-ui")
    assert not kernel.kernel_session().is_signed_in


@pytest.mark.kernel
@pytest.mark.timeout(120)
def test_terminal_ipython_signs_in_through_the_loopback(
    hosted: tuple[LocalCognito, str], tmp_path: Any
) -> None:
    """A terminal IPython on a machine with a browser: %cognito_login --hosted-ui opens it (here a
    program standing in for one, started by ``webbrowser``), the loopback listener takes the code,
    and boto3 works in the next line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from nb_cognito.clock import SYSTEM_CLOCK

    local, callback = hosted
    local.use_clock(SYSTEM_CLOCK)  # another process, on the real clock
    fake = Path(__file__).with_name("fake_browser.py")
    env = {
        **os.environ,
        **local.settings.as_env(),
        "NB_COGNITO_OAUTH_DOMAIN": local.endpoint_url,
        "NB_COGNITO_REDIRECT_URI": callback,
        "AWS_ENDPOINT_URL": local.endpoint_url,
        "AWS_DEFAULT_REGION": local.settings.region,
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "DISPLAY": ":99",  # "a desktop": webbrowser may start BROWSER
        "BROWSER": f"{sys.executable} {fake} %s",
        "FAKE_BROWSER_USER": "alice",
        "FAKE_BROWSER_PASSWORD": "Alice-Passw0rd!",
    }
    code = (
        "ip = get_ipython(); ip.run_line_magic('load_ext', 'nb_cognito'); "
        "ip.run_line_magic('cognito_login', '--hosted-ui'); "
        "import boto3; print('BUCKET', boto3.client('s3').list_buckets()['Buckets'][0]['Name'])"
    )
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--quick", "-c", code],
        env=env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "Signed in as alice" in done.stdout, done.stdout + done.stderr
    assert "BUCKET nb-cognito-test" in done.stdout
    assert "code=" not in done.stdout + done.stderr
