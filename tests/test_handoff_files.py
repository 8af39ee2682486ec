"""Files, locks, variables and settings another local user could use against a sign-in
(issue 21, items 6 to 9).

* the JWKS disk cache: a symbolic link, a directory or file of another user, or one others can
  write, is never trusted (a planted key would let a forged token in), on load as on save;
* the remembered sign-in's lock held by a stopped process: a bounded wait, then an error that
  names its pid and what to do, and the remembered session is kept;
* ``NB_COGNITO_PASSWORD`` leaves ``os.environ`` once read, so no child inherits it;
* ``oauth_domain`` over plain ``http://`` is refused unless it is this machine.

Real files, real processes, real sign-ins against the offline Cognito (``local``).
"""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import PASSWORD
from test_real_cognito import cache_dir
from test_store_hostile import _private_store, in_thread, make_session

from nb_cognito import store
from nb_cognito.auth import jwks
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.settings.config import CognitoConfig
from nb_cognito.store import lock
from nb_cognito.store.entry import entry_key

__all__ = ["_private_store", "make_session"]  # fixtures shared with the store suite

ROOT = Path(__file__).resolve().parents[1]


def other_uid() -> int:
    """A second local uid to give files to (we are root under CI); skip only when not root."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root (CI runs as root)")
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return 65534


def fingerprint(path: Path) -> tuple[int, int, int, int, bytes]:
    info = os.lstat(path)
    return info.st_ino, info.st_uid, stat.S_IMODE(info.st_mode), info.st_mtime_ns, path.read_bytes()


# -- 6. the JWKS cache ---------------------------------------------------------------------------


@pytest.fixture
def cached(local, new_session) -> Path:
    """The real keys cached on disk by a first sign-in, and a new kernel (nothing in memory)."""
    assert new_session().sign_in("alice", PASSWORD).is_signed_in
    (path,) = cache_dir().glob("*.json")
    jwks.forget_jwks()
    local.reset_counts()
    return path


def sign_in_fetches(local, new_session) -> int:
    """Sign in a new session; how many times it fetched the JWKS (0: it trusted the disk)."""
    assert new_session().sign_in("alice", PASSWORD).is_signed_in
    return local.request_counts()["GetJWKS"]


def test_a_trusted_cache_is_used(cached, local, new_session):
    """The control: the attacks below must fail because of what they change, not otherwise."""
    assert sign_in_fetches(local, new_session) == 0


def test_a_symlinked_cache_file_is_not_followed_on_load_or_save(cached, local, new_session, tmp_path):
    planted = tmp_path / "planted.json"
    planted.write_bytes(cached.read_bytes())  # the right keys even: a link is refused as such
    planted.chmod(0o600)
    cached.unlink()
    cached.symlink_to(planted)
    before = fingerprint(planted)

    assert sign_in_fetches(local, new_session) == 1

    assert fingerprint(planted) == before  # nothing written through the link
    assert not cached.is_symlink() and stat.S_IMODE(os.lstat(cached).st_mode) == 0o600


def test_a_symlinked_cache_directory_is_not_followed(cached, local, new_session, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    cached.parent.rename(elsewhere)
    cached.parent.symlink_to(elsewhere)
    before = fingerprint(elsewhere / cached.name)

    assert sign_in_fetches(local, new_session) == 1
    assert fingerprint(elsewhere / cached.name) == before


@pytest.mark.parametrize(
    ("what", "change"),
    [("directory", "another owner"), ("directory", 0o777), ("directory", 0o770), ("directory", 0o702)],
)
def test_a_cache_directory_not_private_to_us_is_ignored_on_load_and_on_save(
    cached, local, new_session, what, change
):
    directory = cached.parent
    if change == "another owner":
        os.chown(directory, other_uid(), -1)
    else:
        directory.chmod(change)
    before_dir, before_file = os.lstat(directory), fingerprint(cached)

    assert sign_in_fetches(local, new_session) == 1  # not trusted on load

    after_dir = os.lstat(directory)  # nor on save: nothing written, nothing "fixed"
    assert (after_dir.st_uid, after_dir.st_mode) == (before_dir.st_uid, before_dir.st_mode)
    assert fingerprint(cached) == before_file
    assert sorted(p.name for p in directory.iterdir()) == [cached.name]


@pytest.mark.parametrize("change", ["another owner", 0o666, 0o620, 0o602])
def test_a_cache_file_not_private_to_us_is_ignored_and_replaced(cached, local, new_session, change):
    if change == "another owner":
        os.chown(cached, other_uid(), -1)
    else:
        cached.chmod(change)

    assert sign_in_fetches(local, new_session) == 1

    info = os.lstat(cached)  # the fetched keys replaced it with a private file of ours
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o600


# -- 7. the store lock held by a stopped process ------------------------------------------------

HOLD = """
import sys
from pathlib import Path
from nb_cognito.store import lock
with lock.exclusive(Path(sys.argv[1]), sys.argv[2]) as held:
    print(held, flush=True)
    sys.stdin.read()
"""


def test_a_stopped_process_holding_the_lock_does_not_block_sign_in_forever(make_session, monkeypatch):
    first = make_session()
    assert first.sign_in("alice", PASSWORD).is_signed_in  # remembered
    settings = first.settings
    key = entry_key(settings.user_pool_id or "", settings.client_id or "", "alice")
    first.close()
    monkeypatch.setattr(lock, "WAIT_SECONDS", 1.0)

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store.store_directory()), key],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        os.kill(holder.pid, signal.SIGSTOP)

        session = make_session()
        outcome = in_thread(lambda: _error_of(lambda: session.sign_in("alice")))

        assert isinstance(outcome, lock.LockHeldError), outcome
        assert outcome.retryable
        assert f"pid {holder.pid}, stopped" in str(outcome)
        assert f"kill -CONT {holder.pid}" in (outcome.recovery_suggestion or "")
        assert store.remembered(settings, "alice") is not None  # kept, nobody signed out
        failure = session.integrations.find(RememberedSessions).last_resume_failure
        assert failure is not None and f"pid {holder.pid}" in failure and "reach Cognito" not in failure
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.kill()
        holder.communicate()

    assert session.sign_in("alice").is_signed_in  # the holder is gone: resumed at once


def _error_of(call):
    try:
        call()
    except Exception as error:
        return error
    return None


# -- 8. NB_COGNITO_PASSWORD ----------------------------------------------------------------------


def test_the_password_variable_is_removed_once_read_and_no_child_sees_it(local, new_session, monkeypatch):
    monkeypatch.setenv(Env.NB_COGNITO_PASSWORD, PASSWORD)
    session = new_session()

    assert session.sign_in("alice").is_signed_in  # the password came from the variable

    assert Env.NB_COGNITO_PASSWORD not in os.environ
    child = subprocess.run(
        [sys.executable, "-c", f"import os; print(os.environ.get({Env.NB_COGNITO_PASSWORD!r}, 'absent'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "absent"


def test_the_password_variable_is_removed_even_when_the_sign_in_does_not_need_it(
    local, new_session, monkeypatch
):
    session = new_session()
    assert session.sign_in("alice", PASSWORD).is_signed_in
    monkeypatch.setenv(Env.NB_COGNITO_PASSWORD, PASSWORD)

    assert session.sign_in("alice").is_signed_in  # already signed in: the variable is not used

    assert Env.NB_COGNITO_PASSWORD not in os.environ


# -- 9. oauth_domain over plain http -------------------------------------------------------------

POOL = {"user_pool_id": "us-east-1_AbC123", "client_id": "1example23456789"}


@pytest.mark.parametrize(
    "domain", ["http://myapp.auth.us-east-1.amazoncognito.com", "http://login.example.com:8080"]
)
def test_oauth_domain_over_http_to_another_host_is_refused(domain):
    with pytest.raises(ConfigurationError) as caught:
        CognitoConfig().update(**POOL, oauth_domain=domain)
    message = str(caught.value)
    assert message.startswith("oauth_domain from configure()") and "https://" in message
    assert "in clear" in message and caught.value.recovery_suggestion

    config = CognitoConfig()
    config.update(**POOL)
    with pytest.raises(
        ConfigurationError, match=r"oauth_domain from environment \(NB_COGNITO_OAUTH_DOMAIN\)"
    ):
        config.resolve({"NB_COGNITO_OAUTH_DOMAIN": domain})


@pytest.mark.parametrize(
    "domain", ["http://127.0.0.1:5000", "http://localhost:9229", "https://login.example.com"]
)
def test_oauth_domain_over_http_to_this_machine_or_https_is_allowed(domain):
    config = CognitoConfig()
    config.update(**POOL, oauth_domain=domain)
    assert config.resolve({}).oauth_domain == domain
