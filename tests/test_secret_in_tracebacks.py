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
