"""%cognito_login / %cognito_logout / %cognito_session in a real IPython shell, against the emulator.

The story: load the extension, sign in (the password asked with hidden input or read from
NB_COGNITO_PASSWORD, never typed on the line), use boto3, look at the session, refresh it,
sign out. The shell is a real ``InteractiveShell`` with a SQLite history file; its
``run_cell`` raises the cell's error, so a test sees the exact exception IPython would show.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator

import pytest
from helpers import PASSWORD
from IPython.core.error import StdinNotImplementedError, UsageError
from testing_shell import TestingShell, close_shell, new_shell
from widget_driver import WidgetDriver

import nb_cognito
from nb_cognito import kernel
from nb_cognito.auth.session import CognitoSession
from nb_cognito.integrations import boto3_injection
from nb_cognito.local import LocalSpec, PoolSpec, UserSpec
from nb_cognito.notebook import extension, login_flow, magics
from nb_cognito.notebook.magic_line import MagicUsageError
from nb_cognito.settings.config import CognitoConfig

# Short on purpose: redact_text() hides 40+ character runs, which would hide a leak from the test.
CANARY = "Canary-7f3a-Pw!"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
REFRESHER = "nb-cognito-refresher"


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def shell(tmp_path) -> Iterator[TestingShell]:
    sh = new_shell(tmp_path)
    yield sh
    if "CognitoMagics" in sh.magics_manager.registry:
        extension.unload_extension(sh)
    close_shell(sh)


def our_hooks(shell) -> list:
    """nb_cognito's pre_run_cell hooks: bound methods of the registered CognitoMagics."""
    return [
        cb
        for cb in shell.events.callbacks["pre_run_cell"]
        if isinstance(getattr(cb, "__self__", None), magics.CognitoMagics)
    ]


def use_emulator(monkeypatch: pytest.MonkeyPatch, emulator) -> None:
    """Point NB_COGNITO_* at the emulator, as a user's environment would."""
    for name, value in emulator.settings.as_env().items():
        monkeypatch.setenv(name, value)


def kernel_session_on(clock, shell) -> CognitoSession:
    """What kernel_session() builds, on the test's clock."""
    return kernel.make_session(CognitoConfig(parent=shell), clock=clock)


@pytest.fixture
def session(shell, local, clock, monkeypatch, tmp_path) -> Iterator[CognitoSession]:
    """The kernel-wide session, on the test's clock."""
    use_emulator(monkeypatch, local)
    monkeypatch.setenv("NB_COGNITO_STORE_DIR", str(tmp_path / "store"))  # remembered sessions
    monkeypatch.setenv("NB_COGNITO_KEYRING", "0")
    s = kernel_session_on(clock, shell)
    previous = kernel.use_kernel_session(s)
    yield s
    kernel.use_kernel_session(previous)
    s.sign_out()
    s.close()


@pytest.fixture
def ext(shell, session) -> TestingShell:
    shell.run_cell("%load_ext nb_cognito")
    return shell


class Prompts:
    """Stand-ins for ``getpass.getpass`` and ``input``: queued answers, prompts recorded."""

    def __init__(self) -> None:
        self.secret: list[str | Callable[[], str]] = []
        self.text: list[str | Callable[[], str]] = []
        self.asked: list[str] = []

    def _next(self, queue: list, prompt: str) -> str:
        self.asked.append(prompt)
        if not queue:
            raise AssertionError(f"unexpected prompt {prompt!r}")
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer() if callable(answer) else answer

    def getpass(self, prompt: str = "Password: ", stream=None) -> str:
        return self._next(self.secret, prompt)

    def input(self, prompt: str = "") -> str:
        return self._next(self.text, prompt)


@pytest.fixture
def prompts(monkeypatch) -> Prompts:
    p = Prompts()
    monkeypatch.setattr(getpass, "getpass", p.getpass)
    monkeypatch.setattr("builtins.input", p.input)
    return p


def refresher_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == REFRESHER}


def wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def one_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


# -- loading ----------------------------------------------------------------------------------------


def test_load_registers_magics_and_hook_once(shell, session):
    for _ in range(2):
        shell.run_cell("%load_ext nb_cognito")
        extension.load_extension(shell)  # idempotent, even when called directly
    line_magics = shell.magics_manager.magics["line"]
    assert {"cognito_login", "cognito_logout", "cognito_session"} <= set(line_magics)
    hooks = our_hooks(shell)
    assert len(hooks) == 1
    assert sum(isinstance(c, magics.CognitoMagics) for c in shell.configurables) == 1


def test_unload_removes_magics_hook_and_boto3_provider_but_keeps_the_session(ext, session, monkeypatch):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    assert boto3_injection.is_installed()

    ext.run_cell("%unload_ext nb_cognito")
    assert not {"cognito_login", "cognito_logout", "cognito_session"} & set(ext.magics_manager.magics["line"])
    assert not our_hooks(ext)
    assert not boto3_injection.is_installed()
    assert session.is_signed_in
    with pytest.raises(UsageError):
        ext.run_cell("%cognito_session")

    ext.run_cell("%load_ext nb_cognito")  # a signed-in session gets its boto3 provider back
    assert boto3_injection.is_installed()


def test_reload_keeps_one_session_and_one_refresher(ext, session, local, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    before_sign_in = refresher_threads()
    ext.run_cell("%cognito_login alice")
    threads = refresher_threads()
    assert len(threads - before_sign_in) == 1
    capsys.readouterr()

    ext.run_cell("%reload_ext nb_cognito")

    assert nb_cognito.session is session
    assert refresher_threads() == threads
    assert boto3_injection.is_installed()
    local.reset_counts()
    ext.run_cell("%cognito_login alice")
    assert one_line(capsys.readouterr().out) == "Already signed in as alice."
    assert sum(local.request_counts().values()) == 0


def test_extension_loads_from_ipython_config(tmp_path):
    code = (
        "ip = get_ipython(); "
        "print(sorted(m for m in ip.magics_manager.magics['line'] if m.startswith('cognito'))); "
        "print(ip.magics_manager.registry['CognitoMagics'].default_username)"
    )
    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "IPython",
            "--no-banner",
            "--HistoryManager.hist_file=:memory:",
            "--InteractiveShellApp.extensions=['nb_cognito']",
            "--CognitoMagics.default_username=alice",
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    assert "['cognito_login', 'cognito_logout', 'cognito_session']" in out
    assert "alice" in out


def test_help_has_usage_and_examples(ext):
    doc = ext.magics_manager.magics["line"]["cognito_login"].__doc__
    assert "--user-pool-id" in doc and "Examples" in doc and "%cognito_login alice" in doc
    assert "password" not in doc.split("options:")[1].lower()  # there is no password option


# -- signing in -------------------------------------------------------------------------------------


def test_login_with_env_password_then_boto3_uses_the_credentials(ext, session, local, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")

    line = one_line(capsys.readouterr().out)
    identity_id = session.status().identity_id
    assert identity_id
    assert line == (
        f"Signed in as alice (identity {identity_id}). "
        "boto3 now uses its AWS credentials; they refresh automatically."
    )
    ext.run_cell(f"import boto3; s3 = boto3.client('s3', endpoint_url={local.endpoint_url!r})")
    ext.run_cell("buckets = s3.list_buckets()")
    assert "nb-cognito-test" in [b["Name"] for b in ext.user_ns["buckets"]["Buckets"]]
    assert local.received_access_keys("s3")[-1] == session.current_credentials().access_key_id


def test_login_prompts_for_username_and_password(ext, session, prompts, capsys):
    prompts.text.append("alice")
    prompts.secret.append(PASSWORD)
    ext.run_cell("%cognito_login")
    assert session.get_current_user().username == "alice"
    assert prompts.asked == ["Cognito username: ", "Password for alice: "]
    assert one_line(capsys.readouterr().out).startswith("Signed in as alice (identity ")


def test_prompts_are_cleared_in_jupyter_once_signed_in(ext, session, prompts, monkeypatch, capsys):
    cleared: list[bool] = []
    monkeypatch.setattr("IPython.display.clear_output", lambda wait=False: cleared.append(wait))
    monkeypatch.setattr(ext, "kernel", object(), raising=False)  # as in ipykernel's shell
    prompts.secret.extend(["", PASSWORD])
    with pytest.raises(UsageError, match="No password entered"):
        ext.run_cell("%cognito_login alice")
    assert cleared == []  # an error keeps the prompts visible
    capsys.readouterr()
    ext.run_cell("%cognito_login alice")
    assert cleared == [False]
    assert one_line(capsys.readouterr().out).startswith("Signed in as alice")


def test_default_username_comes_from_config(ext, session, prompts, capsys):
    ext.run_cell("%config CognitoMagics.default_username = 'alice'")
    prompts.secret.append(PASSWORD)
    ext.run_cell("%cognito_login")
    assert session.get_current_user().username == "alice"
    assert prompts.asked == ["Password for alice: "]


def test_settings_on_the_line_configure_the_session(ext, session, local, prompts, monkeypatch, capsys):
    for name in local.settings.as_env():
        monkeypatch.delenv(name)
    s = local.settings
    prompts.secret.append(PASSWORD)
    ext.run_cell(
        f"%cognito_login alice --user-pool-id {s.user_pool_id} --client-id {s.client_id} "
        f"--identity-pool-id {s.identity_pool_id} --endpoint-url {s.endpoint_url} --region {s.region}"
    )
    assert session.is_signed_in
    assert session.settings.sources["user_pool_id"] == "configure()"
    assert session.settings.endpoint_url == s.endpoint_url


def test_missing_settings_are_reported_before_the_password_is_asked(
    ext, session, local, prompts, monkeypatch
):
    for name in local.settings.as_env():
        monkeypatch.delenv(name)
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    assert type(info.value) is MagicUsageError
    assert "user_pool_id" in str(info.value) and "client_id" in str(info.value)
    assert prompts.asked == []


def test_a_wrong_pool_id_is_reported_before_the_password_is_asked(ext, session, local, prompts, monkeypatch):
    """The pool's JWKS answers 404 for a pool the service does not know: the error names the
    setting and its source, and nobody types a password (with SRP, Cognito itself could only
    say "incorrect username or password")."""
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", "us-east-1_NoSuchPool")
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    message = str(info.value)
    assert "knows no user pool" in message
    assert "user_pool_id 'us-east-1_NoSuchPool' from environment (NB_COGNITO_USER_POOL_ID)" in message
    assert "session is kept" not in message
    assert prompts.asked == []
    assert local.request_counts()["InitiateAuth"] == 0


@pytest.mark.parametrize("password_from", ["prompt", "environment"])
def test_a_corrected_pool_id_is_read_at_the_next_login(
    ext, session, local, prompts, monkeypatch, capsys, password_from
):
    """A wrong pool id does not stick in a running kernel: once NB_COGNITO_USER_POOL_ID is
    corrected, the next %cognito_login checks and signs in to the corrected pool (the pool
    check used to run on the settings cached at the first, failed, attempt)."""
    right = os.environ["NB_COGNITO_USER_POOL_ID"]
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", "us-east-1_NoSuchPool")
    for _ in range(2):  # and again: still the wrong one, still named
        if password_from == "environment":  # set again each time: a sign-in removes it once read
            monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
        with pytest.raises(UsageError, match="us-east-1_NoSuchPool"):
            ext.run_cell("%cognito_login alice")

    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", right)
    if password_from == "prompt":
        prompts.secret.append(PASSWORD)
    else:
        monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    capsys.readouterr()
    ext.run_cell("%cognito_login alice")

    assert session.get_current_user().username == "alice"
    assert session.settings.user_pool_id == right
    assert "NoSuchPool" not in capsys.readouterr().out


def test_already_signed_in_makes_no_network_call(ext, session, local, prompts, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    capsys.readouterr()
    local.reset_counts()

    ext.run_cell("%cognito_login alice")

    assert one_line(capsys.readouterr().out) == "Already signed in as alice."
    assert sum(local.request_counts().values()) == 0
    assert prompts.asked == []


def test_wrong_password_is_a_plain_usage_error(ext, session, prompts, capsys):
    prompts.secret.append("Wrong-Passw0rd!")
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    assert type(info.value) is MagicUsageError  # one line in every frontend, no traceback
    assert str(info.value) == (
        "Sign-in failed: Incorrect username or password. Check the username and password."
    )
    assert "Wrong-Passw0rd!" not in capsys.readouterr().err
    assert not session.is_signed_in


def test_no_stdin_points_to_the_widget_and_the_environment(ext, session, prompts):
    prompts.secret.append(StdinNotImplementedError("getpass was called, but this frontend has no stdin."))
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    assert type(info.value) is MagicUsageError
    assert "--widget" in str(info.value) and "NB_COGNITO_PASSWORD" in str(info.value)


def test_no_stdin_for_the_username_either(ext, session, prompts):
    prompts.text.append(StdinNotImplementedError("raw_input was called, but this frontend has no stdin."))
    with pytest.raises(UsageError, match="--widget"):
        ext.run_cell("%cognito_login")


# -- challenges -------------------------------------------------------------------------------------


def test_new_password_is_asked_twice_and_must_match(ext, session, make_local, prompts, capsys):
    emulator = make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session.configure(**emulator.settings.as_config())
    prompts.secret.extend(["Temp-Passw0rd!", "New-Passw0rd!1", "New-Passw0rd!2"])  # the two differ
    prompts.secret.extend(["New-Passw0rd!1", "New-Passw0rd!1"])

    ext.run_cell("%cognito_login carol")

    assert session.get_current_user().username == "carol"
    out = capsys.readouterr().out
    assert "requires a new password" in out and "differ" in out
    assert out.strip().splitlines()[-1].startswith("Signed in as carol")
    assert prompts.asked == ["Password for carol: "] + ["New password: ", "New password again: "] * 2


def test_totp_code_is_asked_again_after_a_wrong_one(ext, session, make_local, prompts, capsys):
    emulator = make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    session.configure(**emulator.settings.as_config())
    prompts.secret.append(PASSWORD)
    prompts.text.extend(
        [lambda: wrong(emulator.users.totp_code("dave")), lambda: emulator.users.totp_code("dave")]
    )

    ext.run_cell("%cognito_login dave")

    assert session.get_current_user().username == "dave"
    assert prompts.asked[1:] == ["Code from your authenticator app: "] * 2
    out = capsys.readouterr().out
    assert "wrong" in out and "2 more tries" in out


def test_totp_codes_run_out(ext, session, make_local, prompts):
    emulator = make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    session.configure(**emulator.settings.as_config())
    prompts.secret.append(PASSWORD)
    prompts.text.extend([lambda: wrong(emulator.users.totp_code("dave"))] * 3)
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login dave")
    assert type(info.value) is MagicUsageError and "code is wrong" in str(info.value)
    assert not session.is_signed_in


def test_totp_setup_shows_the_secret_then_hides_it(ext, session, make_local, prompts, capsys):
    import pyotp

    emulator = make_local(
        LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("TOTP",)), users=(UserSpec("erin", PASSWORD),))
    )
    session.configure(**emulator.settings.as_config())
    prompts.secret.append(PASSWORD)
    seen: dict[str, str] = {}

    def code_from_the_shown_uri() -> str:
        out = capsys.readouterr().out
        uri = next(word for word in out.split() if word.startswith("otpauth://"))
        seen["secret"] = pyotp.parse_uri(uri).secret
        assert seen["secret"] in out
        return pyotp.TOTP(seen["secret"]).at(emulator.clock.time())

    prompts.text.append(code_from_the_shown_uri)
    ext.run_cell("%cognito_login erin")

    assert session.get_current_user().username == "erin"
    out = capsys.readouterr().out
    assert "no longer shown" in out and seen["secret"] not in out


def test_sms_code(ext, session, make_local, prompts, capsys):
    emulator = make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("SMS",)),
            users=(UserSpec("frank", PASSWORD, phone_number="+15555550123", sms_mfa=True),),
        )
    )
    session.configure(**emulator.settings.as_config())
    prompts.secret.append(PASSWORD)
    prompts.text.append(lambda: emulator.users.last_sms_code("frank"))
    ext.run_cell("%cognito_login frank")
    assert session.get_current_user().username == "frank"
    assert prompts.asked[1].startswith("SMS code sent to ")


def test_mfa_selection_then_totp(ext, session, make_local, prompts, capsys):
    emulator = make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "SMS")),
            users=(
                UserSpec(
                    "gina", PASSWORD, totp_secret=TOTP_SECRET, phone_number="+15555550124", sms_mfa=True
                ),
            ),
        )
    )
    session.configure(**emulator.settings.as_config())
    prompts.secret.append(PASSWORD)
    prompts.text.extend(["carrier pigeon", "totp", lambda: emulator.users.totp_code("gina")])
    ext.run_cell("%cognito_login gina")
    assert session.get_current_user().username == "gina"
    choose, again, code = prompts.asked[1:]
    assert choose == again
    assert choose in ("Choose an MFA method (TOTP/SMS): ", "Choose an MFA method (SMS/TOTP): ")
    assert code == "Code from your authenticator app: "


# -- what must never be accepted or repeated ----------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f"alice --password {CANARY}",
        f"alice --password={CANARY}",
        f"alice --pw {CANARY}",
        f"alice --passwd {CANARY}",
        f"alice -p {CANARY}",
        f"alice -p{CANARY}",
        f"alice {CANARY}",
        f"alice password={CANARY}",
        f"--region us-east-1 alice {CANARY}",
    ],
)
def test_a_password_on_the_line_is_refused_without_echo(ext, session, local, prompts, capsys, line):
    local.reset_counts()
    with pytest.raises(UsageError) as info:
        ext.run_cell(f"%cognito_login {line}")
    assert type(info.value) is MagicUsageError
    message = str(info.value)
    assert CANARY not in message
    assert "hidden prompt" in message and "NB_COGNITO_PASSWORD" in message and "--widget" in message
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
    assert prompts.asked == [] and sum(local.request_counts().values()) == 0
    assert not session.is_signed_in
    # ... and the line is gone from the session's history
    assert "removed from this session's history" in message and "change it" in message
    assert "from this cell" not in message  # a terminal: the cell is not touched
    assert getattr(ext, "rl_next_input", None) is None
    assert CANARY not in inputs_seen(ext) + ext.history_text()


# -- a refused line is taken out of the history -----------------------------------------------------


def inputs_seen(shell: TestingShell) -> str:
    """Every input IPython keeps in memory: In, _ih, the _i* variables and the write cache."""
    ns = shell.user_ns
    hm = shell.history_manager
    return repr(
        [
            ns["In"],
            ns["_ih"],
            {k: v for k, v in ns.items() if k.startswith("_i")},
            hm.input_hist_raw,
            hm.input_hist_parsed,
            hm.db_input_cache,
            hm._i00,
        ]
    )


def history_rows(shell: TestingShell, session_number: int) -> dict[int, tuple[str, str]]:
    """line -> (source, source_raw) of one session, as the SQLite file holds them."""
    with sqlite3.connect(shell.history_manager.hist_file) as db:
        rows = db.execute("SELECT line, source, source_raw FROM history WHERE session=?", (session_number,))
        return {line: (source, raw) for line, source, raw in rows}


def wait_for_the_saving_thread(shell: TestingShell) -> None:
    hm = shell.history_manager
    assert hm.save_thread is not None and hm.save_thread.is_alive()
    hm.save_flag.set()
    deadline = time.monotonic() + 10
    while hm.db_input_cache and time.monotonic() < deadline:
        time.sleep(0.01)
    with hm.db_input_cache_lock:  # the thread empties the cache after it has committed
        assert hm.db_input_cache == []


@pytest.mark.parametrize(
    ("cell", "redacted"),
    [
        (f"%cognito_login alice --password {CANARY}", "%cognito_login alice"),
        (f"%cognito_login alice -p {CANARY}", "%cognito_login alice"),
        (f"%cognito_login alice -p{CANARY}", "%cognito_login alice"),
        (f"%cognito_login alice password={CANARY}", "%cognito_login alice"),
        (f"%cognito_login alice {CANARY}", "%cognito_login alice"),
        (
            f"%cognito_login --password {CANARY} alice --region us-east-1",
            "%cognito_login alice --region us-east-1",
        ),
        (
            f"%cognito_login --region us-east-1 alice {CANARY} --widget",
            "%cognito_login --region us-east-1 alice --widget",
        ),
        (
            f"before = 1\n%cognito_login alice --password {CANARY}\nafter = 2",
            "before = 1\n%cognito_login alice\nafter = 2",
        ),
        (f"before = 1\n%cognito_login alice \\\n  --password {CANARY}", "before = 1\n%cognito_login alice"),
    ],
    ids=[
        "--password",
        "-p",
        "-pVALUE",
        "password=",
        "extra-word",
        "password-first",
        "options-kept",
        "multi-line-cell",
        "continued-line",
    ],
)
@pytest.mark.parametrize("flush", ["cached", "written", "saving-thread"])
def test_a_refused_line_is_removed_from_the_history(
    ext, session, prompts, monkeypatch, cell, redacted, flush
):
    hm = ext.history_manager
    if flush == "cached":  # nothing is written while the magic runs: the write cache is redacted
        hm.db_cache_size = 1000
        hm.writeout_cache()
        monkeypatch.setattr(hm, "writeout_cache", lambda conn=None: None)
    elif flush == "written":  # the row is already in the database when the magic runs
        cell = "get_ipython().history_manager.writeout_cache()\n" + cell
        redacted = "get_ipython().history_manager.writeout_cache()\n" + redacted
    number = len(hm.input_hist_raw)  # the line number this cell gets
    session_number = hm.session_number

    with pytest.raises(UsageError) as info:
        ext.run_cell(cell)

    assert "removed from this session's history" in str(info.value)
    assert CANARY not in str(info.value)
    assert prompts.asked == []
    assert hm.input_hist_raw[number] == ext.user_ns[f"_i{number}"] == redacted
    assert "cognito_login" in ext.user_ns["In"][number]
    assert ext.user_ns["In"] is ext.user_ns["_ih"] is hm.input_hist_parsed
    if flush == "cached":
        assert [entry[2] for entry in hm.db_input_cache if entry[0] == number] == [redacted]
        monkeypatch.undo()
    if flush == "written":
        assert hm.db_input_cache == []  # the UPDATE, not the cache, redacted the row
    if flush == "saving-thread":
        wait_for_the_saving_thread(ext)
    hm.writeout_cache()
    assert history_rows(ext, session_number)[number][1] == redacted
    assert CANARY not in inputs_seen(ext) + ext.history_text()

    for n in range(3):  # _i00 rotates into _i, _ii and _iii
        ext.run_cell(f"rotate = {n}")
        assert CANARY not in inputs_seen(ext)
    assert ext.user_ns["_iii"] == redacted
    wait_for_the_saving_thread(ext)
    hm.end_session()
    assert CANARY not in ext.history_text()
    rows = history_rows(ext, session_number)
    assert rows[number][1] == redacted and rows[number + 3][1] == "rotate = 2"
    if "before = 1" in cell:  # the rest of the cell ran and is kept
        assert ext.user_ns["before"] == 1 and "before = 1" in rows[number][0]


def test_in_jupyter_the_cell_itself_is_replaced(ext, session, prompts, monkeypatch):
    from ipykernel.zmqshell import ZMQInteractiveShell

    monkeypatch.setattr(ext, "kernel", object(), raising=False)  # as in ipykernel's shell
    monkeypatch.setattr(ext, "set_next_input", types.MethodType(ZMQInteractiveShell.set_next_input, ext))
    ext.payload_manager.clear_payload()
    with pytest.raises(UsageError) as info:
        ext.run_cell(f"x = 1\n%cognito_login alice --password {CANARY}\ny = 2")
    assert "and from this cell" in str(info.value)
    assert ext.payload_manager.read_payload() == [
        {"source": "set_next_input", "text": "x = 1\n%cognito_login alice\ny = 2", "replace": True}
    ]
    assert CANARY not in inputs_seen(ext) + ext.history_text()


def test_other_usage_errors_leave_the_history_alone(ext, session, prompts, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(ext, "kernel", object(), raising=False)
    monkeypatch.setattr(ext, "set_next_input", lambda text, replace=False: calls.append(text))
    for cell in ["%cognito_login alice --bogus=1", "%cognito_logout extra", "%cognito_session --refresh"]:
        with pytest.raises(UsageError) as info:
            ext.run_cell(cell)
        assert "history" not in str(info.value).split("kept in")[-1]
        assert ext.history_manager.input_hist_raw[-1] == cell
    assert calls == []


def test_a_line_built_in_code_is_refused_but_the_cell_is_left(ext, session, prompts):
    cell = "words = ['alice', '-p', 'x' * 3]\nget_ipython().run_line_magic('cognito_login', ' '.join(words))"
    with pytest.raises(UsageError) as info:
        ext.run_cell(cell)
    assert "removed" not in str(info.value) and "change it" in str(info.value)
    assert ext.history_manager.input_hist_raw[-1] == cell


@pytest.mark.parametrize(
    "line",
    [
        f"alice --bogus {CANARY}",  # --secret is refused as a secret: test_magics_lines.py
        f"alice --bogus={CANARY}",
        f"--re={CANARY} alice",
        f"alice --{CANARY}",
        f"alice --widget={CANARY}",
        f"alice --widget='{CANARY}\\x'",
    ],
)
def test_a_bad_option_is_refused_without_echo(ext, session, prompts, capsys, line):
    with pytest.raises(UsageError) as info:
        ext.run_cell(f"%cognito_login {line}")
    assert type(info.value) is MagicUsageError
    assert CANARY not in str(info.value)
    assert "%cognito_login?" in str(info.value)
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
    assert info.value.__context__ is None  # no chained argparse error quoting the line
    assert prompts.asked == []


def test_variables_are_not_expanded_on_the_line(ext, session, prompts):
    ext.user_ns["secret"] = CANARY
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice $secret")
    assert CANARY not in str(info.value)


@pytest.mark.parametrize("via", ["getpass", "environment"])
def test_the_password_never_lands_in_history_outputs_or_logs(
    ext, session, local, prompts, monkeypatch, capsys, caplog, via
):
    local.users.add(UserSpec("canary", CANARY))
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "nb_cognito"):
        caplog.set_level(logging.DEBUG, logger=name)
    if via == "getpass":
        prompts.secret.append(CANARY)
    else:
        monkeypatch.setenv("NB_COGNITO_PASSWORD", CANARY)

    ext.run_cell("%cognito_login canary")
    ext.run_cell("%cognito_session")
    ext.run_cell("%cognito_session --refresh")
    ext.run_cell(f"import boto3; boto3.client('s3', endpoint_url={local.endpoint_url!r}).list_buckets()")
    ext.run_cell("nb_cognito_session = %cognito_session")
    ext.run_cell("import nb_cognito; nb_cognito.session")
    ext.run_cell("%cognito_logout")

    assert session.describe().refresh_count >= 1 and local.received_access_keys("s3")
    ns = ext.user_ns
    places = {
        "In": repr(ns["In"]),
        "_ih": repr(ns["_ih"]),
        "_i*": repr({k: v for k, v in ns.items() if k.startswith("_i")}),
        "Out": repr(ns["Out"]) + "".join(getattr(v, "_repr_html_", lambda: "")() for v in ns["Out"].values()),
        "_oh": repr(ns["_oh"]),
        "history.sqlite": ext.history_text(),
        "stdout+stderr": "".join(capsys.readouterr()),
        "log records": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
        "prompts": repr(prompts.asked),
    }
    assert "%cognito_login canary" in places["history.sqlite"]  # the database is really written
    assert caplog.records  # and DEBUG logging really was on
    leaked = [where for where, text in places.items() if CANARY in text]
    assert leaked == []


# -- the widget and the local emulator --------------------------------------------------------------


def test_widget_instead_of_prompts(ext, session, prompts, monkeypatch):
    from nb_cognito.notebook import widget

    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    try:
        ext.run_cell("%cognito_login --widget alice")
        ext.run_cell("%config CognitoMagics.widget_by_default = True")
        ext.run_cell("%cognito_login")
        assert [type(w) for w in shown] == [widget.SignInWidget] * 2
        assert WidgetDriver(shown[0]).value("username") == "alice"
        assert prompts.asked == []
    finally:
        for w in shown:
            w.close()


def test_local_starts_the_demo_and_signs_in(ext, session, prompts, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "restored-after-the-test")
    try:
        ext.run_cell("%cognito_login --local")
        out = capsys.readouterr().out
        emulator = login_flow._local_emulator
        assert emulator is not None and emulator.running
        assert os.environ["AWS_ENDPOINT_URL"] == emulator.endpoint_url
        assert session.get_current_user().username == "demo"
        assert out.strip().splitlines()[-1].startswith("Signed in as demo (identity ")
        ext.run_cell("import boto3; listing = boto3.client('s3').list_buckets()")
        names = [b["Name"] for b in ext.user_ns["listing"]["Buckets"]]
        assert "nb-cognito-demo" in names
        assert prompts.asked == []
    finally:
        session.sign_out()
        if login_flow._local_emulator is not None:
            login_flow._local_emulator.stop()
            login_flow._local_emulator = None


# -- the session view, refresh, sign-out ----------------------------------------------------------------


def test_session_view_text_and_html(ext, session, local, monkeypatch, capsys):
    view = ext.run_cell("%cognito_session").result
    assert "signed out" in str(view) and "boto3 injection  off" in str(view)

    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    capsys.readouterr()
    result = ext.run_cell("%cognito_session")
    view = result.result
    text = str(view)
    status = session.status()
    creds = session.current_credentials()
    for expected in [
        "user                    alice",
        f"sub                     {status.user.user_id}",
        f"identity id             {status.identity_id}",
        f"access key              …{creds.access_key_id[-4:]}",
        "last refresh            just now",
        "boto3 injection         on",
    ]:
        assert expected in text
    assert re.search(r"tokens expire           in (59|60) min", text)
    assert "next refresh            in " in text and "AWS credentials expire  in " in text
    assert capsys.readouterr().out.strip().endswith(text.splitlines()[-1])  # shown as Out[n]
    page = view._repr_html_()
    assert page.startswith("<table") and "<th style='text-align:left'>identity id</th>" in page
    for secret in (creds.access_key_id, creds.secret_access_key, creds.session_token):
        assert secret not in text and secret not in page and secret not in repr(view)


def test_session_refresh(ext, session, local, clock, monkeypatch, capsys):
    with pytest.raises(UsageError, match="Nobody is signed in"):
        ext.run_cell("%cognito_session --refresh")
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    clock.advance(120)
    local.reset_counts()
    refreshes = session.describe().refresh_count

    view = ext.run_cell("%cognito_session --refresh").result

    assert session.describe().refresh_count == refreshes + 1
    counts = local.request_counts()
    assert counts["GetTokensFromRefreshToken"] == 1
    assert counts["GetCredentialsForIdentity"] == 1
    assert "last refresh            just now" in str(view)
    assert re.search(r"tokens expire           in (59|60) min", str(view))


def test_logout(ext, session, local, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    capsys.readouterr()
    ext.run_cell("%cognito_logout")
    assert one_line(capsys.readouterr().out) == "Signed out alice."
    assert not session.is_signed_in and not boto3_injection.is_installed()

    ext.run_cell("%cognito_logout")
    assert one_line(capsys.readouterr().out) == "Nobody was signed in."


def test_global_logout_and_forget_all(ext, session, local, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    ext.run_cell("%cognito_login alice")
    capsys.readouterr()
    local.reset_counts()
    ext.run_cell("%cognito_logout --global --forget-all")
    line = one_line(capsys.readouterr().out)
    assert line.startswith("Signed out alice everywhere. ")
    assert line.endswith(("Forgot 0 remembered sessions.", "not available in this version."))
    assert local.request_counts()["GlobalSignOut"] == 1


def test_logout_refuses_extra_words_without_echo(ext, session):
    with pytest.raises(UsageError) as info:
        ext.run_cell(f"%cognito_logout {CANARY}")
    assert type(info.value) is MagicUsageError and CANARY not in str(info.value)


def test_remembered_session_resumes_in_a_new_kernel_without_password(
    ext, session, local, clock, prompts, monkeypatch, capsys
):
    prompts.secret.append(PASSWORD)
    ext.run_cell("%cognito_login alice --remember")
    assert "remembered in " in str(ext.run_cell("%cognito_session").result)
    session.close()  # the kernel restarts: the old session is gone without signing out

    restarted = kernel_session_on(clock, ext)
    kernel.use_kernel_session(restarted)
    try:
        capsys.readouterr()
        local.reset_counts()
        ext.run_cell("%cognito_login --remember")
        line = one_line(capsys.readouterr().out)
        assert line.startswith("Signed in as alice (remembered session) (identity ")
        assert prompts.asked == ["Password for alice: "]  # only the first time
        assert local.request_counts()["RespondToAuthChallenge"] == 0  # no password sign-in

        ext.run_cell("%cognito_logout --forget-all")
        assert one_line(capsys.readouterr().out) == "Signed out alice. Forgot 0 remembered sessions."
    finally:
        restarted.sign_out()
        restarted.close()


def test_remember_while_signed_in_saves_the_session(ext, session, prompts, capsys):
    prompts.secret.append(PASSWORD)
    ext.run_cell("%cognito_login alice")
    capsys.readouterr()
    ext.run_cell("%cognito_login alice --remember")
    assert one_line(capsys.readouterr().out) == "Already signed in as alice; this session is now remembered."
    ext.run_cell("%cognito_logout --forget-all")
    # sign-out already forgot this user's entry, so forget-all finds none left
    assert one_line(capsys.readouterr().out) == "Signed out alice. Forgot 0 remembered sessions."


# -- a newcomer's first hour: every message names the cause, the setting and the next step ----------


def test_no_identity_pool_is_named_by_login_and_session(ext, session, prompts, monkeypatch, capsys):
    monkeypatch.delenv("NB_COGNITO_IDENTITY_POOL_ID")  # read again: nobody is signed in
    prompts.secret.append(PASSWORD)
    ext.run_cell("%cognito_login alice")
    out = one_line(capsys.readouterr().out)
    assert out.startswith("Signed in as alice, but there are no AWS credentials: no identity pool is")
    assert "identity_pool_id is not set in any source" in out and "nor is role_arn" in out
    assert "boto3 has nothing to sign with" in out  # what the user will see: NoCredentialsError
    assert "%cognito_login --identity-pool-id ID." in out

    ext.run_cell("report = %cognito_session")
    report = ext.user_ns["report"]
    rows = dict(report.rows())
    assert rows["AWS credentials"].startswith("none: no identity pool is configured (identity_pool_id")
    assert rows["boto3 injection"] == "off (no AWS credentials)"
    assert "AWS credentials expire" not in rows
    assert "identity_pool_id is not set" in report._repr_html_()


def test_an_unknown_client_id_names_the_setting_and_its_source(ext, session, prompts, monkeypatch):
    monkeypatch.setenv("NB_COGNITO_CLIENT_ID", "0unknownclient0000000000a")
    prompts.secret.append(PASSWORD)
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    message = str(info.value)
    assert message.startswith(
        "Sign-in failed: Cognito does not know the app client id '0unknownclient0000000000a' "
        "(client_id, from environment (NB_COGNITO_CLIENT_ID)) in region us-east-1"
    )
    assert "(endpoint_url, from environment (NB_COGNITO_ENDPOINT_URL))." in message
    assert "Check client_id, and that region, endpoint_url and user_pool_id belong with it;" in message
    assert message.endswith("shows each value and where it came from.")


def test_an_unknown_identity_pool_names_the_setting_and_its_source(new_session):
    unknown = "us-east-1:00000000-0000-0000-0000-000000000000"
    session = new_session(identity_pool_id=unknown)
    session.sign_in("alice", PASSWORD)
    error = session.fetch_auth_session().aws_credentials_result.error
    assert str(error).startswith(
        f"Cognito does not know the identity pool {unknown!r} (identity_pool_id, from configure())"
    )
    assert session.is_signed_in  # a configuration problem does not sign out


def test_a_usage_error_is_one_line_in_every_frontend(ext, session, prompts):
    prompts.secret.append("")
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    # IPython shows _render_traceback_'s lines instead of a Python traceback; ipykernel sends
    # them as an error output, which papermill and nbclient print (tests/test_papermill.py).
    assert info.value._render_traceback_() == [
        "\x1b[0;31mUsageError\x1b[0m: No password entered; nothing was sent. Run %cognito_login again."
    ]


def test_ctrl_c_at_the_prompt_cancels_on_a_line_of_its_own(ext, session, prompts, capsys, monkeypatch):
    prompts.secret.append(KeyboardInterrupt())
    with pytest.raises(UsageError) as info:
        ext.run_cell("%cognito_login alice")
    assert str(info.value) == "Sign-in cancelled."
    # The "Password for alice: ^C" line is ended first; the error then shows on a line of its own.
    assert capsys.readouterr().out == "\n\x1b[0;31mUsageError\x1b[0m: Sign-in cancelled.\n"
    assert not session.is_signed_in

    monkeypatch.setattr(ext, "kernel", object(), raising=False)  # Jupyter: its prompt box goes away
    prompts.secret.append(KeyboardInterrupt())
    with pytest.raises(UsageError, match=r"^Sign-in cancelled\.$"):
        ext.run_cell("%cognito_login alice")
    assert capsys.readouterr().out == "\x1b[0;31mUsageError\x1b[0m: Sign-in cancelled.\n"
    assert not session.is_signed_in


def test_the_password_refusal_is_one_tidy_sentence(ext, session, prompts):
    for line, why in (
        (
            f"alice --password {CANARY}",
            "looks like it holds a password or another secret (a token, PIN or code)",
        ),
        (f"alice {CANARY}", "has a second word, which may be a password (it takes only the username)"),
    ):
        with pytest.raises(UsageError) as info:
            ext.run_cell(f"%cognito_login {line}")
        message = str(info.value)
        assert message == (
            f"This %cognito_login line {why}, so it was refused and removed from this session's "
            "history; type the password at the hidden prompt of `%cognito_login USERNAME`, use "
            "`%cognito_login --widget`, or set NB_COGNITO_PASSWORD (and if it was a real password, "
            "change it if the notebook was saved or shared before now)."
        )


def test_no_configuration_points_to_the_local_emulator(shell, monkeypatch, clock):
    for name in list(os.environ):
        if name.startswith("NB_COGNITO_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(kernel, "_session", kernel_session_on(clock, shell))
    shell.run_cell("%load_ext nb_cognito")
    with pytest.raises(UsageError) as info:
        shell.run_cell("%cognito_login alice")
    message = str(info.value)
    assert message.startswith("Signing in needs user_pool_id and client_id, which are not set.")
    assert "No pool yet? `%cognito_login --local` signs in to an offline Cognito on this machine." in message
