"""``amplify_config`` paths that are not ordinary files (issue 15, item 13).

A FIFO would block the read forever, ``/dev/zero`` would read until memory runs out, and a NUL
or a lone surrogate in the path made ``open()`` raise a bare ``ValueError`` /
``UnicodeEncodeError``. Each is a :class:`ConfigurationError` that names the setting and where
it came from, raised at once; the session's settings stay as they were.
"""

from __future__ import annotations

import contextlib
import os
import threading

import pytest

from nb_cognito import exceptions as errors
from nb_cognito.settings.config import CognitoConfig


def resolve_in_thread(environ: dict[str, str] | None = None, **settings) -> BaseException | None:
    """Resolve the settings in a thread: a hang fails the test instead of the suite."""
    caught: list[BaseException | None] = []

    def run() -> None:
        try:
            CognitoConfig(**settings).resolve(environ or {})
        except BaseException as error:  # what the user would see
            caught.append(error)
        else:
            caught.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10.0)
    assert not thread.is_alive(), "reading the Amplify file hung"
    return caught[0]


def assert_clear_error(error: BaseException | None, source: str) -> str:
    assert isinstance(error, errors.ConfigurationError), repr(error)
    message = str(error)
    assert "amplify_config" in message
    assert source in message
    return message


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "amplify_outputs.json"
    os.mkfifo(fifo, 0o600)
    try:
        message = assert_clear_error(resolve_in_thread(amplify_config=str(fifo)), "CognitoConfig")
        assert "not a regular file" in message
    finally:  # unblock a reader stuck in open() on today's code
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_without_reading_it():
    message = assert_clear_error(resolve_in_thread(amplify_config="/dev/zero"), "CognitoConfig")
    assert "not a regular file" in message


def test_a_huge_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "amplify_outputs.json"
    with open(path, "wb") as file:
        file.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of zeros, no disk used
    message = assert_clear_error(resolve_in_thread(amplify_config=str(path)), "CognitoConfig")
    assert "too large" in message


@pytest.mark.parametrize("bad", ["amplify\x00outputs.json", "amplify_\ud800outputs.json"])
def test_a_nul_or_surrogate_in_the_path_is_a_configuration_error(tmp_path, bad):
    path = str(tmp_path / bad)
    assert_clear_error(resolve_in_thread(amplify_config=path), "CognitoConfig")
    error = resolve_in_thread({"NB_COGNITO_AMPLIFY_CONFIG": path})
    assert_clear_error(error, "NB_COGNITO_AMPLIFY_CONFIG")


def test_the_session_keeps_its_settings(new_session, tmp_path):
    session = new_session()
    settings = session.settings
    for path in (str(tmp_path / "a\x00b.json"), "/dev/zero"):
        with pytest.raises(errors.ConfigurationError, match="amplify_config"):
            session.configure(amplify_config=path)
        assert session.settings == settings
