"""``%xmode Verbose`` never shows a password or a code (issue 15, item 6).

A Verbose traceback prints the local variables of every frame it shows. From the moment a
password or code is read (``getpass``, the widget, ``NB_COGNITO_PASSWORD``) until it is sent,
it lives in a :class:`~nb_cognito.secret.Secret`, whose ``repr`` hides it; only the call that
sends it unwraps it. A real IPython shell in Verbose mode, failed sign-ins against the emulator,
and the canary must not appear in the traceback text.
"""

from __future__ import annotations

import getpass
import pickle

import pytest
from IPython.core.error import UsageError

from nb_cognito import exceptions as errors
from nb_cognito.local import LocalSpec, UserSpec

pytest_plugins = ["test_magics"]  # its fixtures: shell, session, ext, prompts

# Short on purpose (redaction hides 40+ character runs, which would hide a leak from the test).
CANARY = "Canary-9c1d-Pw!"
NEW_PASSWORD = "NewCanary-5e2b!"


@pytest.fixture
def verbose(ext):
    ext.run_cell("%xmode Verbose")
    ext.run_cell("from nb_cognito import kernel; import getpass")
    return ext


def traceback_of(shell, capsys, cell: str, expected: type[BaseException]) -> str:
    """Run ``cell``; it must fail with ``expected``; return what IPython printed."""
    capsys.readouterr()
    with pytest.raises(expected):
        shell.run_cell(cell)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" in text or expected.__name__ in text
    return text


def assert_verbose_and_clean(text: str, *canaries: str) -> None:
    assert "sign_in" in text  # the frames are shown ...
    assert "username = " in text or "username=" in text  # ... with their local variables
    for canary in canaries:
        assert canary not in text


@pytest.mark.parametrize("flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
def test_a_wrong_password_from_getpass(verbose, session, capsys, monkeypatch, flow):
    session.configure(auth_flow=flow)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": CANARY)
    text = traceback_of(
        verbose,
        capsys,
        "kernel.kernel_session().sign_in('alice', getpass.getpass())",
        errors.NotAuthorizedError,
    )
    assert_verbose_and_clean(text, CANARY)


@pytest.mark.parametrize("flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
def test_a_wrong_password_from_the_environment(verbose, session, capsys, monkeypatch, flow):
    session.configure(auth_flow=flow)
    monkeypatch.setenv("NB_COGNITO_PASSWORD", CANARY)
    text = traceback_of(
        verbose, capsys, "kernel.kernel_session().sign_in('alice')", errors.NotAuthorizedError
    )
    assert_verbose_and_clean(text, CANARY)


def test_a_password_refused_before_the_network(verbose, session, capsys, monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": CANARY + "\x07")
    text = traceback_of(
        verbose,
        capsys,
        "kernel.kernel_session().sign_in('alice', getpass.getpass())",
        errors.InvalidParameterError,
    )
    assert_verbose_and_clean(text, CANARY)


@pytest.mark.parametrize(
    ("new_password", "refused_by"),
    [
        (NEW_PASSWORD + "\x07", "nb_cognito"),  # a control character: refused before the network
        ("weakcanarypassword", "the server"),  # fails the pool's password policy
    ],
)
def test_a_refused_new_password(verbose, session, make_local, capsys, monkeypatch, new_password, refused_by):
    emulator = make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session.configure(**emulator.settings.as_config())
    session.sign_in("carol", "Temp-Passw0rd!")
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": new_password)
    text = traceback_of(
        verbose,
        capsys,
        "kernel.kernel_session().confirm_sign_in(getpass.getpass())",
        errors.AuthError,
    )
    assert "confirm_sign_in" in text
    assert new_password.rstrip("\x07") not in text


def test_the_magic_never_shows_it_either(verbose, session, prompts, capsys):
    prompts.secret.append(CANARY)
    with pytest.raises(UsageError):
        verbose.run_cell("%cognito_login alice")
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err


def test_the_secret_object_hides_its_value():
    from nb_cognito.secret import Secret

    secret = Secret(CANARY)
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]), repr({"p": secret})):
        assert CANARY not in shown
    assert secret.reveal() == CANARY
    assert secret == Secret(CANARY) and secret != Secret("other") and bool(secret)
    assert not Secret("")
    assert secret.strip() == secret and Secret(" 123456 ").strip().reveal() == "123456"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


# -- refresh tokens, codes, verifiers and client secrets (issue 21, item 3) -------------------------
#
# A failed refresh, under %xmode Verbose, must show no refresh token and no client secret, and a
# refused paste-back code neither the code nor the PKCE verifier: in none of the frames shown, ours
# or botocore's, urllib's or http.client's. The canaries are the real values the emulator issued.

CODE_CANARY = "Canary-code-4b7e-0a91"


def count_canaries(text: str, canaries: dict[str, str]) -> dict[str, int]:
    """How often each canary appears in ``text`` (all must be 0)."""
    return {name: text.count(value) for name, value in canaries.items() if value}


@pytest.fixture
def secret_client(make_local, free_callback):
    """An emulator whose app client has a secret and a loopback callback URL."""
    from dataclasses import replace

    from nb_cognito.local import ClientSpec, default_test_spec

    spec = replace(
        default_test_spec(), client=ClientSpec(generate_secret=True, callback_urls=(free_callback,))
    )
    return make_local(spec)


@pytest.fixture
def free_callback() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://localhost:{probe.getsockname()[1]}/"


def sign_in_as(kind: str, session, emulator, fault_proxy, callback: str) -> None:
    """Sign ``session`` in, its calls going through ``fault_proxy``: with the password (SRP),
    or through the hosted UI (paste-back of the redirected URL)."""
    import re

    from test_oauth_signin import Browser

    session.configure(**{**emulator.settings.as_config(), "endpoint_url": fault_proxy.url})
    if kind in ("password", "remembered"):
        session.configure(remember=kind == "remembered")  # remembered: its refresh guard's frames too
        session.sign_in("alice", "Alice-Passw0rd!")
        return
    session.configure(oauth_domain=fault_proxy.url, redirect_uri=callback)  # the hosted UI, proxied too
    written: list[str] = []
    session.sign_in_with_redirect(
        method="paste",
        prompt=lambda _: Browser(emulator).sign_in(re.search(r"http\S+", written[-1]).group(0)),
        write=written.append,
    )
    assert session.is_signed_in


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        *(("endpoint_down", kind) for kind in ("password", "remembered", "hosted_ui")),
        *(
            (failure, kind)
            for failure in ("token_revoked", "credentials_refused")
            for kind in ("password", "hosted_ui")
        ),
    ],
)
def test_a_failed_refresh_shows_no_refresh_token(
    verbose, session, secret_client, fault_proxy, free_callback, clock, capsys, kind, failure
):
    sign_in_as(kind, session, secret_client, fault_proxy, free_callback)
    canaries = {
        "refresh token": session.describe().state.tokens.refresh_token,
        "client secret": secret_client.settings.client_secret,
    }
    assert all(canaries.values())
    if failure == "endpoint_down":
        fault_proxy.set_down(True)
        expected: type[BaseException] = errors.ServiceUnavailableError
    elif failure == "token_revoked":
        secret_client.users.global_sign_out("alice")
        expected = errors.SessionExpiredError
    else:  # new tokens, then the identity pool fails: the new ID token is in those frames
        fault_proxy.inject("5xx", target="GetCredentialsForIdentity", times=None)
        expected = errors.ServiceUnavailableError
    clock.advance(2 * 3600)  # tokens and credentials expired: the refresh is mandatory
    text = traceback_of(verbose, capsys, "kernel.kernel_session().current_credentials()", expected)
    if failure == "credentials_refused":
        canaries["ID token"] = session.describe().state.tokens.id_token
        assert "credentials" in text and "id_token" in text
    assert "refresh" in text and "self = " in text  # the refresh's frames, with their locals
    assert count_canaries(text, canaries) == dict.fromkeys(canaries, 0)
    # Once more, through the result the session keeps: the same error, the same frames.
    text = traceback_of(
        verbose,
        capsys,
        "kernel.kernel_session().fetch_auth_session(force_refresh=True).%s.unwrap()"
        % ("aws_credentials_result" if failure == "credentials_refused" else "user_pool_tokens_result"),
        expected,
    )
    assert count_canaries(text, canaries) == dict.fromkeys(canaries, 0)


@pytest.mark.parametrize("pasted", ["bare code", "redirected URL"])
def test_a_refused_paste_back_code_shows_neither_code_nor_verifier(
    verbose, session, secret_client, fault_proxy, free_callback, capsys, monkeypatch, pasted
):
    import re
    import urllib.parse

    from nb_cognito.auth import oauth, oauth_callback

    settings = {**secret_client.settings.as_config(), "endpoint_url": fault_proxy.url}
    session.configure(**{**settings, "oauth_domain": fault_proxy.url, "redirect_uri": free_callback})
    seen: dict[str, str] = {}
    real_new_request = oauth.new_request

    def spy(*args, **kwargs):
        request = real_new_request(*args, **kwargs)
        seen.update(verifier=request.verifier, state=request.state)
        return request

    def paste(_: str) -> str:
        if pasted == "bare code":
            return CODE_CANARY
        state = urllib.parse.parse_qs(
            urllib.parse.urlsplit(re.search(r"http\S+", written[-1]).group(0)).query
        )
        return f"{free_callback}?code={CODE_CANARY}&state={state['state'][0]}"

    monkeypatch.setattr(oauth_callback, "new_request", spy)  # where the flow finds it
    written: list[str] = []
    verbose.push({"paste": paste, "write": written.append})
    text = traceback_of(
        verbose,
        capsys,
        "kernel.kernel_session().sign_in_with_redirect(method='paste', prompt=paste, write=write)",
        errors.NotAuthorizedError,
    )
    assert "sign_in_with_redirect" in text and "self = " in text
    canaries = {
        "code": CODE_CANARY,
        "verifier": seen["verifier"],
        "client secret": secret_client.settings.client_secret,
    }
    assert count_canaries(text, canaries) == dict.fromkeys(canaries, 0)


@pytest.mark.parametrize("kind", ["password", "hosted_ui"])
def test_a_refresh_interrupted_on_the_wire_shows_no_refresh_token(
    verbose, session, secret_client, fault_proxy, free_callback, capsys, kind
):
    """Ctrl-C while a refresh waits for a slow endpoint: the traceback then shows every frame
    down to the socket (botocore's, urllib3's, http.client's), each with its locals."""
    sign_in_as(kind, session, secret_client, fault_proxy, free_callback)
    canaries = {
        "refresh token": session.describe().state.tokens.refresh_token,
        "client secret": secret_client.settings.client_secret,
    }
    cell = "kernel.kernel_session().fetch_auth_session(force_refresh=True)"
    text = interrupted_on_the_wire(verbose, capsys, fault_proxy, cell)
    assert count_canaries(text, canaries) == dict.fromkeys(canaries, 0)


def test_a_sign_in_interrupted_on_the_wire_shows_no_password(
    verbose, session, fault_proxy, capsys, monkeypatch
):
    """USER_PASSWORD_AUTH sends the password itself: not in botocore's frames either. (No client
    secret here: the password is then at the end of the body, which a shortened repr still shows.)"""
    session.configure(endpoint_url=fault_proxy.url, auth_flow="USER_PASSWORD_AUTH")
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": CANARY)
    cell = "kernel.kernel_session().sign_in('alice', getpass.getpass())"
    text = interrupted_on_the_wire(verbose, capsys, fault_proxy, cell, target="InitiateAuth")
    assert "initiate_auth" in text
    assert text.count(CANARY) == 0


def interrupted_on_the_wire(shell, capsys, fault_proxy, cell: str, target: str | None = None) -> str:
    """Run ``cell``; its first request hangs at the fault proxy, and the test presses Ctrl-C
    (SIGINT to the main thread) once the request has arrived there. Returns the traceback."""
    import signal
    import threading

    from helpers import wait_until

    fault_proxy.inject("delay", target=target, delay=20.0)  # it hangs until the user interrupts

    def interrupt_when_sent() -> None:
        if wait_until(lambda: sum(fault_proxy.fault_counts().values()) == 1):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=interrupt_when_sent, daemon=True).start()
    text = traceback_of(shell, capsys, cell, KeyboardInterrupt)
    assert "http/client.py" in text and "urllib" in text  # the frames down to the socket
    return text
