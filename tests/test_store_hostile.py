"""The remembered-session store against hostile or odd files (issue 15, item 5).

What is in the store directory is not trusted: a number too large for a float, a FIFO that
blocks whoever opens it, the user's own ``*.json`` files, or a directory that is in fact
someone's symbolic link. None of them may make the store unreadable, hang a sign-in, cost the
user a file, or leave a refresh token on disk after sign-out. Real files, real sign-ins
against the offline Cognito (``local``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading

import pytest
from helpers import PASSWORD

from nb_cognito import kernel, store
from nb_cognito.auth.session import CognitoSession
from nb_cognito.integrations.remembered import RememberedSessions

ENTRY_NAME = "0123456789abcdef0123456789abcdef01234567.json"  # the shape of our own file names


@pytest.fixture(autouse=True)
def _private_store(store_dir):
    """Every test here keeps remembered sessions in its own directory, never in the keyring."""


@pytest.fixture
def make_session(local, clock):
    made: list[CognitoSession] = []

    def make() -> CognitoSession:
        session = kernel.make_session(clock=clock, auto_refresh=False, integrations=[RememberedSessions()])
        session.configure(**local.settings.as_config(), remember=True)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def our_entries(directory) -> list[str]:
    """The refresh tokens of every entry file in ``directory``."""
    tokens = []
    for path in directory.glob("*.json"):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "refresh_token" in data:
            tokens.append(data["refresh_token"])
    return tokens


def write_private(path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def in_thread(function, seconds: float = 10.0):
    """Run ``function`` in a thread; fail (instead of hanging the suite) if it does not return."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function} did not return within {seconds} s"
    return result[0]


@pytest.mark.parametrize("saved_at", ["1" + "0" * 400, "1e400", "-1e400", "NaN", "true", '"yesterday"'])
def test_an_absurd_saved_at_neither_breaks_the_store_nor_keeps_a_token_after_sign_out(
    make_session, local, store_dir, saved_at, caplog
):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    (ours,) = our_entries(store_dir)
    (alice_file,) = store_dir.glob("*.json")
    data = {  # an entry that matches this pool, client, region and endpoint, but for mallory
        **json.loads(alice_file.read_text()),
        "username": "mallory",
        "refresh_token": "mallory-refresh-token",
        "saved_at": "SAVED_AT",
    }
    write_private(store_dir / ENTRY_NAME, json.dumps(data).replace('"SAVED_AT"', saved_at))

    entry = store.remembered(session.settings, "alice")
    assert entry is not None and entry.refresh_token == ours  # the store is still readable
    newest = store.remembered(session.settings)
    assert newest is not None and newest.username == "alice"  # an absurd date never wins

    session.sign_out()
    assert ours not in our_entries(store_dir)  # sign-out deleted alice's token
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_fifo_named_like_an_entry_does_not_block(make_session, store_dir, caplog):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    fifo = store_dir / ENTRY_NAME
    os.mkfifo(fifo, 0o600)
    try:
        entry = in_thread(lambda: store.remembered(session.settings, "alice"))
        assert entry is not None and entry.username == "alice"
        assert any("not a regular file" in r.getMessage() for r in caplog.records)
        in_thread(session.sign_out)
        assert our_entries_without(fifo, store_dir) == []
    finally:  # unblock a reader stuck in open() on today's code
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def our_entries_without(fifo, directory) -> list[str]:
    return [p.name for p in directory.glob("*.json") if p != fifo]


def test_forget_all_deletes_only_our_entries(make_session, store_dir):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    user_files = {"notes.json": '{"mine": true}', "package.json": "{}", "broken.json": "not json"}
    for name, text in user_files.items():
        write_private(store_dir / name, text)

    assert store.forget_all() == 1

    assert {p.name: p.read_text() for p in store_dir.iterdir()} == user_files


def test_a_store_directory_that_is_someone_elses_symlink_is_refused_not_followed(
    make_session, store_dir, tmp_path, caplog
):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    victims = {ENTRY_NAME: json.dumps({"version": 1}), "diary.json": '{"secret": 1}'}
    for name, text in victims.items():
        write_private(private / name, text)
    store_dir.symlink_to(private, target_is_directory=True)
    if os.getuid() == 0:  # as root we can make it truly another user's link
        os.lchown(store_dir, 4242, 4242)

    assert store.forget_all() == 0
    session = make_session()
    session.sign_in("alice", PASSWORD)  # the sign-in works; nothing is written through the link
    assert store.remembered(session.settings, "alice") is None
    session.sign_out()

    assert {p.name: p.read_text() for p in private.iterdir()} == victims
    assert any("symbolic link" in r.getMessage() for r in caplog.records)
