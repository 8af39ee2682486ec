"""Magic lines that carry a secret by mistake (issue 15, item 12).

A ``%logstart`` log, a ``--secret`` / ``--token`` / ``--pin`` option, a ``user:password`` word
and a bad ``--region`` value: none of them may keep or repeat what was typed. A real IPython
shell with a SQLite history and a real log file, against the emulator.
"""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from test_magics import CANARY, inputs_seen

from nb_cognito.notebook.magic_line import MagicUsageError

pytest_plugins = ["test_magics"]  # its fixtures: shell, session, ext, prompts


def assert_refused_without_trace(ext, session, local, prompts, capsys, cell: str) -> str:
    """Run ``cell``; it must be refused, and the canary appear nowhere. Returns the message."""
    local.reset_counts()
    with pytest.raises(UsageError) as info:
        ext.run_cell(cell)
    assert type(info.value) is MagicUsageError  # one line in every frontend, no traceback
    message = str(info.value)
    captured = capsys.readouterr()
    assert CANARY not in message + captured.out + captured.err
    assert CANARY not in inputs_seen(ext) + ext.history_text()
    assert sum(local.request_counts().values()) == 0
    assert not session.is_signed_in
    return message


@pytest.mark.parametrize("raw", [False, True], ids=["parsed", "raw"])
@pytest.mark.parametrize("mode", ["over", "append", "backup"])
def test_a_logstart_log_does_not_keep_a_refused_line(ext, session, prompts, tmp_path, raw, mode):
    log = tmp_path / "session.log"
    ext.run_cell(f"%logstart {'-r ' if raw else ''}{log} {mode}")
    try:
        ext.run_cell("before = 1")
        with pytest.raises(UsageError):
            ext.run_cell(f"%cognito_login alice --password {CANARY}")
        ext.run_cell("after = 2")
    finally:
        ext.run_cell("%logstop")
    text = log.read_text()
    assert CANARY not in text
    assert "before = 1" in text and "after = 2" in text and "cognito_login" in text
    assert "\x00" not in text  # the logger's own file position still at the end


@pytest.mark.parametrize(
    "line",
    [
        f"alice --secret {CANARY}",
        f"alice --secret={CANARY}",
        f"alice --token {CANARY}",
        f"alice --client-secret {CANARY}",
        f"alice --id-token={CANARY}",
        f"alice --pin {CANARY}",
        f"alice --otp {CANARY}",
        f"alice token={CANARY}",
        f"alice secret: {CANARY}",
    ],
)
def test_secret_options_are_scrubbed_like_the_password(ext, session, local, prompts, capsys, line):
    message = assert_refused_without_trace(ext, session, local, prompts, capsys, f"%cognito_login {line}")
    assert "removed from this session's history" in message
    assert prompts.asked == []


def test_user_colon_password_is_refused_not_taken_as_a_username(ext, session, local, prompts, capsys):
    message = assert_refused_without_trace(
        ext, session, local, prompts, capsys, f"%cognito_login alice:{CANARY}"
    )
    assert "removed from this session's history" in message
    assert prompts.asked == []  # never "Password for alice:<password>: "


def test_user_colon_password_at_the_username_prompt_is_refused(ext, session, local, prompts, capsys):
    prompts.text.append(f"alice:{CANARY}")
    assert_refused_without_trace(ext, session, local, prompts, capsys, "%cognito_login")
    assert prompts.asked == ["Cognito username: "]  # no password prompt echoing it


@pytest.mark.parametrize("option", ["--region", "--user-pool-id", "--client-id", "--endpoint-url"])
def test_a_bad_setting_value_is_not_repeated(ext, session, local, prompts, capsys, option):
    local.reset_counts()
    with pytest.raises(UsageError) as info:
        ext.run_cell(f"%cognito_login alice {option} {CANARY}")
    message = str(info.value)
    assert CANARY not in message
    assert option.lstrip("-").replace("-", "_") in message  # it still names the setting
    assert prompts.asked == [] and sum(local.request_counts().values()) == 0
