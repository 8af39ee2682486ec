"""Staying signed in across kernel restarts (opt-in): sign in once with ``remember=True``, and
the next kernel resumes with one refresh, no password and no MFA.

Everything talks HTTP to the offline Cognito (``local``). The store is a directory under
``tmp_path`` and the OS keyring is off (``NB_COGNITO_KEYRING=0``), except where a test swaps in
an in-memory keyring through the store's own backend selection.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
import types

import pytest
from helpers import PASSWORD, counts

from nb_cognito import exceptions as errors
from nb_cognito import kernel, store
from nb_cognito.auth.session import CognitoSession
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.local import ClientSpec, LocalSpec, PoolSpec, UserSpec, default_test_spec
from nb_cognito.settings.config import Settings

BOB_PASSWORD = "Bob-Passw0rd!"


@pytest.fixture(autouse=True)
def _private_store(store_dir):
    """Every test here keeps remembered sessions in its own directory, never in the keyring."""


@pytest.fixture
def make_session(local, clock):
    made: list[CognitoSession] = []

    def make(*, remember: bool = True, settings=None) -> CognitoSession:
        session = kernel.make_session(clock=clock, auto_refresh=False, integrations=[RememberedSessions()])
        session.configure(**(settings or local.settings.as_config()), remember=remember)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def remembered(session) -> RememberedSessions:
    """The remembered-sessions integration the session owns."""
    return session.integrations.find(RememberedSessions)


def entry_files(directory):
    return sorted(p for p in directory.glob("*.json")) if directory.exists() else []


def refresh_token(session) -> str:
    return session.fetch_auth_session().user_pool_tokens_result.unwrap().refresh_token


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def child_env(local, store_dir, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NB_COGNITO_")}
    env.update(local.settings.as_env())
    env.update({store.ENV_DIR: str(store_dir), store.ENV_KEYRING: "0", **extra})
    return env


# -- the story: remember, restart, resume --------------------------------------------------------


def test_a_fresh_process_resumes_without_a_password(make_session, local, store_dir):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    assert len(entry_files(store_dir)) == 1
    local.reset_counts()

    child = textwrap.dedent(
        """
        import nb_cognito
        result = nb_cognito.sign_in()
        print(result.is_signed_in, nb_cognito.get_current_user().username)
        auth = nb_cognito.fetch_auth_session()
        print(auth.aws_credentials_result.value.access_key_id[:4])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child],
        env=child_env(local, store_dir, NB_COGNITO_REMEMBER="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "alice", "ASIA"]
    # One refresh (GetTokensFromRefreshToken), no sign-in, no password challenge, no MFA.
    assert counts(local, "GetTokensFromRefreshToken", "InitiateAuth", "RespondToAuthChallenge") == (1, 0, 0)
    assert PASSWORD not in done.stdout + done.stderr
    assert session.fetch_auth_session().user_pool_tokens_result.unwrap().refresh_token not in done.stderr


def test_a_new_session_resumes_in_process_and_sign_out_forgets(make_session, local, store_dir):
    make_session().sign_in("alice", PASSWORD)
    local.reset_counts()

    again = make_session()
    result = again.sign_in("alice")  # no password: the remembered session

    assert result.is_signed_in
    assert counts(local, "GetTokensFromRefreshToken", "InitiateAuth", "RespondToAuthChallenge") == (1, 0, 0)
    assert remembered(again).last_resume_failure is None
    assert remembered(again).describe() == f"remembered in {entry_files(store_dir)[0]}"

    again.sign_out()
    assert entry_files(store_dir) == []
    assert remembered(again).describe() is None


def test_the_typed_alias_finds_the_entry(make_local, make_session, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(username_attributes=("email",)),
            users=(UserSpec("alice@example.com", PASSWORD),),
        )
    )
    make_session().sign_in("alice@example.com", PASSWORD)
    entry = store.remembered(Settings(**local.settings.as_config()), "alice@example.com")
    assert entry is not None and entry.username == local.users.username_of("alice@example.com")

    again = make_session()
    assert again.sign_in("alice@example.com").is_signed_in
    # Stored again after the resume, still findable by what was typed.
    assert store.remembered(again.settings, "alice@example.com") is not None


def test_identity_id_is_stored_once_known(make_session, store_dir):
    session = make_session()
    session.sign_in("alice", PASSWORD)

    entry = store.remembered(session.settings, "alice")
    assert entry.identity_id == session.status().identity_id is not None
    assert entry.identity_pool_id == session.settings.identity_pool_id
    data = json.loads(entry_files(store_dir)[0].read_text())
    assert data["identity_id"] == entry.identity_id
    assert data["region"] == session.settings.region and data["endpoint_url"] == session.settings.endpoint_url


def test_a_rotated_refresh_token_is_stored_before_use(make_local, make_session, local):
    make_local(LocalSpec(client=ClientSpec(refresh_token_rotation=True), users=default_test_spec().users))
    session = make_session()
    session.sign_in("alice", PASSWORD)
    first = refresh_token(session)

    session.fetch_auth_session(force_refresh=True)  # rotation: a new refresh token

    rotated = refresh_token(session)
    assert rotated != first
    assert store.remembered(session.settings, "alice").refresh_token == rotated
    session.close()

    again = make_session()  # a new session does not know the client rotates
    assert again.sign_in("alice").is_signed_in
    assert store.remembered(again.settings, "alice").refresh_token == refresh_token(again) != rotated


def test_remember_turned_on_after_sign_in(make_session, local, store_dir):
    session = make_session(remember=False)
    session.sign_in("alice", PASSWORD)
    assert entry_files(store_dir) == []

    session.configure(remember=True)
    assert store.remembered(session.settings, "alice").refresh_token == refresh_token(session)


# -- opt-in ------------------------------------------------------------------------------------


def test_nothing_is_stored_or_resumed_without_opt_in(make_session, local, store_dir):
    session = make_session(remember=False)
    session.sign_in("alice", PASSWORD)
    session.fetch_auth_session(force_refresh=True)
    assert not store_dir.exists()
    session.configure(remember=False)
    assert not store_dir.exists()

    make_session().sign_in("alice", PASSWORD)  # an entry, made with remember on
    assert len(entry_files(store_dir)) == 1
    off = make_session(remember=False)
    local.reset_counts()
    with pytest.raises(errors.InvalidParameterError, match="No password"):
        off.sign_in("alice")
    assert counts(local, "InitiateAuth", "GetTokensFromRefreshToken") == (0, 0)


# -- a token that no longer works ------------------------------------------------------------------


def test_revoked_token_is_forgotten_and_the_password_path_runs(
    make_session, local, store_dir, monkeypatch, caplog
):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    old_token = refresh_token(session)
    session.close()
    local.users.global_sign_out("alice")

    again = make_session()
    with pytest.raises(errors.InvalidParameterError, match="No password"):
        again.sign_in("alice")  # resume fails; no password anywhere
    assert entry_files(store_dir) == []
    assert "could not be resumed" in remembered(again).last_resume_failure
    assert "forgotten" in remembered(again).last_resume_failure
    assert any("could not be resumed" in text for text in warnings_in(caplog))

    # The next kernel: the entry is revoked again, and NB_COGNITO_PASSWORD takes over.
    make_session().sign_in("alice", PASSWORD)
    assert len(entry_files(store_dir)) == 1
    local.users.global_sign_out("alice")
    monkeypatch.setenv("NB_COGNITO_PASSWORD", PASSWORD)
    third = make_session()
    assert third.sign_in("alice").is_signed_in
    assert remembered(third).last_resume_failure is not None
    new_entry = store.remembered(third.settings, "alice")
    assert new_entry.refresh_token == refresh_token(third) != old_token

    assert "NB_COGNITO_PASSWORD" not in os.environ  # removed once read (issue 21, item 8)
    third.sign_out()
    fourth = make_session()
    with pytest.raises(errors.InvalidParameterError):
        fourth.sign_in("alice")  # nothing remembered now
    assert remembered(fourth).last_resume_failure is None  # the earlier reason is not shown again


def test_a_session_that_expires_forgets_its_entry(make_session, local, store_dir):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    local.users.global_sign_out("alice")

    with pytest.raises(errors.SessionExpiredError):
        session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.unwrap()
    assert entry_files(store_dir) == []


def test_an_entry_is_only_sent_to_the_endpoint_that_issued_it(make_session, local, fault_proxy):
    make_session().sign_in("alice", PASSWORD)
    elsewhere = make_session(settings={**local.settings.as_config(), "endpoint_url": fault_proxy.url})
    local.reset_counts()

    assert store.remembered(elsewhere.settings) is None
    with pytest.raises(errors.InvalidParameterError, match="No password"):
        elsewhere.sign_in("alice")
    assert fault_proxy.forwarded_counts() == {}


def test_an_unreachable_cognito_keeps_the_entry_and_says_so(make_session, local, store_dir, fault_proxy):
    through_proxy = {**local.settings.as_config(), "endpoint_url": fault_proxy.url}
    make_session(settings=through_proxy).sign_in("alice", PASSWORD)
    before = entry_files(store_dir)[0].read_bytes()
    fault_proxy.set_down(True)

    unreachable = make_session(settings=through_proxy)
    with pytest.raises(errors.ServiceUnavailableError):
        unreachable.sign_in("alice")
    assert entry_files(store_dir)[0].read_bytes() == before
    assert "Could not reach Cognito" in remembered(unreachable).last_resume_failure

    fault_proxy.set_down(False)
    assert unreachable.sign_in("alice").is_signed_in
    assert remembered(unreachable).last_resume_failure is None


# -- where and how it is stored ----------------------------------------------------------------


def test_file_is_0600_in_a_0700_directory_even_with_a_lax_umask(make_session, store_dir):
    old = os.umask(0)
    try:
        make_session().sign_in("alice", PASSWORD)
    finally:
        os.umask(old)
    (path,) = entry_files(store_dir)
    assert stat.S_IMODE(os.stat(store_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.location() == str(store_dir)


def test_default_directory_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(store.ENV_DIR)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert store.location() == str(tmp_path / "xdg" / "nb_cognito")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store.location() == str(tmp_path / "home" / ".local" / "share" / "nb_cognito")


def file_entry(user_pool_id: str, client_id: str, refresh_token: str, *, saved_at: float):
    """An entry for user alice in us-east-1, as the file backend stores it."""
    return store.RememberedEntry(
        user_pool_id=user_pool_id,
        client_id=client_id,
        username="alice",
        login_name=None,
        user_id=None,
        region="us-east-1",
        endpoint_url=None,
        identity_pool_id=None,
        identity_id=None,
        saved_at=saved_at,
        location="",
        refresh_token=refresh_token,
    )


_CRASH = """
import os, signal, sys
from nb_cognito import kernel, store
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.settings.config import Settings
from nb_cognito.store import file_backend

entry = store.RememberedEntry(
    user_pool_id="us-east-1_Crash", client_id="crashclient", username="alice", login_name=None,
    user_id=None, region="us-east-1", endpoint_url=None, identity_pool_id=None, identity_id=None,
    saved_at=2.0, location="", refresh_token=sys.argv[2],
)
real_write = file_backend._write_all
def crash(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1] == "mid-write":
    def half(fd, payload):
        real_write(fd, payload[: len(payload) // 2])
        crash()
    file_backend._write_all = half
else:
    os.replace = crash
store.FileStore(store.store_directory()).save(entry)
"""


@pytest.mark.parametrize("where", ["mid-write", "before-rename"])
def test_a_writer_killed_mid_write_leaves_the_old_entry_whole(store_dir, where):
    settings = Settings(user_pool_id="us-east-1_Crash", client_id="crashclient")
    store.FileStore(store_dir).save(
        file_entry("us-east-1_Crash", "crashclient", "old-token-old-token", saved_at=1.0)
    )
    env = {**os.environ, store.ENV_DIR: str(store_dir)}
    done = subprocess.run([sys.executable, "-c", _CRASH, where, "new-token-new-token"], env=env, timeout=60)

    assert done.returncode == -9  # SIGKILL
    leftovers = list(store_dir.glob(".*.tmp"))
    assert len(leftovers) == 1 and stat.S_IMODE(os.stat(leftovers[0]).st_mode) == 0o600
    entry = store.remembered(settings, "alice")
    assert entry.refresh_token == "old-token-old-token"
    assert len(entry_files(store_dir)) == 1
    assert store.forget_all() == 1
    assert list(store_dir.iterdir()) == []


def test_a_reader_never_sees_a_partial_file(store_dir):
    settings = Settings(user_pool_id="us-east-1_Race", client_id="raceclient")
    backend = store.FileStore(store_dir)

    def entry(i: int) -> store.RememberedEntry:
        return file_entry(
            "us-east-1_Race", "raceclient", f"token-{i}-" + "x" * (i % 7 * 3000), saved_at=float(i)
        )

    backend.save(entry(0))
    stop = threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            backend.save(entry(i))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen = [store.remembered(settings, "alice") for _ in range(300)]
    finally:
        stop.set()
        writer.join()
    assert all(e is not None and e.refresh_token.startswith("token-") for e in seen)


def test_a_file_others_can_read_is_refused(make_session, store_dir, caplog):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    (path,) = entry_files(store_dir)
    os.chmod(path, 0o644)
    before = path.read_bytes()

    again = make_session()
    with pytest.raises(errors.InvalidParameterError, match="No password"):
        again.sign_in("alice")  # not read, so not resumed
    assert store.remembered(again.settings, "alice") is None
    assert any("open to other users" in text for text in warnings_in(caplog))

    again.sign_in("alice", PASSWORD)  # and not written either
    assert path.read_bytes() == before
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644

    again.sign_out()  # deleting the exposed token is allowed
    assert entry_files(store_dir) == []


def test_a_directory_others_can_read_is_refused(make_session, store_dir, caplog):
    store_dir.mkdir(mode=0o700)
    os.chmod(store_dir, 0o755)
    make_session().sign_in("alice", PASSWORD)
    assert entry_files(store_dir) == []
    assert any("directory" in r.getMessage() and "0755" in r.getMessage() for r in caplog.records)


def test_a_store_owned_by_someone_else_is_refused(make_session, store_dir, monkeypatch, caplog):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(store_dir).st_uid + 1)
    assert store.remembered(session.settings) is None
    assert any("belongs to another user" in r.getMessage() for r in caplog.records)


# -- several pools and users --------------------------------------------------------------------


def test_two_pools_and_two_users_coexist(make_local, make_session, local, store_dir):
    first = make_session()
    first.sign_in("alice", PASSWORD)
    local.users.add(UserSpec("bob", BOB_PASSWORD))
    make_session().sign_in("bob", BOB_PASSWORD)
    first_settings = first.settings

    second_local = make_local(LocalSpec(pool=PoolSpec(name="second-pool"), users=default_test_spec().users))
    second = make_session(settings=second_local.settings.as_config())
    second.sign_in("alice", PASSWORD)

    assert len(entry_files(store_dir)) == 3
    a1 = store.remembered(first_settings, "alice")
    b1 = store.remembered(first_settings, "bob")
    a2 = store.remembered(second.settings, "alice")
    assert {a1.user_pool_id, a2.user_pool_id} == {first_settings.user_pool_id, second.settings.user_pool_id}
    assert b1.username == "bob" and a1.refresh_token != a2.refresh_token
    assert store.remembered(second.settings).username == "alice"  # the only one for this pool

    assert make_session().sign_in("alice").is_signed_in  # resumes in the second pool
    assert store.forget(first_settings, "bob")
    assert store.remembered(first_settings, "bob") is None
    assert store.forget_all() == 2
    assert entry_files(store_dir) == []


# -- the keyring ---------------------------------------------------------------------------------


class _MemoryKeyring:
    priority = 5

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        if self.items.pop((service, username), None) is None:
            raise _PasswordDeleteError(username)


class _PasswordDeleteError(Exception):
    pass


def _backend_class(module: str, name: str, priority: float = 5) -> type:
    return type(name, (), {"__module__": module, "priority": priority})


@pytest.mark.parametrize(
    ("module", "name", "secure"),
    [
        ("keyring.backends.SecretService", "Keyring", True),
        ("keyring.backends.macOS", "Keyring", True),
        ("keyring.backends.fail", "Keyring", False),
        ("keyring.backends.null", "Keyring", False),
        ("keyrings.alt.file", "PlaintextKeyring", False),
        ("keyrings.alt.file", "EncryptedKeyring", False),
        ("somewhere.else", "PlaintextKeyring", False),
    ],
)
def test_only_secure_keyring_backends_are_used(module, name, secure):
    assert store.is_secure_keyring(_backend_class(module, name)()) is secure


def test_a_chain_with_an_insecure_backend_is_refused():
    good = _backend_class("keyring.backends.SecretService", "Keyring")()
    bad = _backend_class("keyrings.alt.file", "PlaintextKeyring")()

    def make(inner):
        chainer = _backend_class("keyring.backends.chainer", "ChainerBackend")()
        chainer.backends = inner
        return chainer

    assert store.is_secure_keyring(make([good])) is True
    assert store.is_secure_keyring(make([good, bad])) is False
    assert store.is_secure_keyring(make([])) is False


def test_a_secure_keyring_is_used_instead_of_the_file(make_session, local, store_dir, monkeypatch):
    memory = _MemoryKeyring()
    module = types.SimpleNamespace(errors=types.SimpleNamespace(PasswordDeleteError=_PasswordDeleteError))
    monkeypatch.setattr(store, "keyring_store", lambda: store.KeyringStore(module, memory))
    session = make_session()
    session.sign_in("alice", PASSWORD)

    assert not store_dir.exists()
    assert store.location().startswith("keyring (")
    entry = store.remembered(session.settings, "alice")
    assert entry.refresh_token == refresh_token(session)
    assert remembered(session).describe().startswith("remembered in keyring (")

    local.reset_counts()
    assert make_session().sign_in("alice").is_signed_in
    assert counts(local, "RespondToAuthChallenge") == (0,)
    assert store.forget_all() == 1
    assert memory.items == {}


# -- secrets -------------------------------------------------------------------------------------


def test_no_secret_in_any_repr_or_log(make_session, local, store_dir, caplog):
    caplog.set_level(logging.DEBUG)
    session = make_session()
    session.sign_in("alice", PASSWORD)
    token = refresh_token(session)
    entry = store.remembered(session.settings, "alice")
    again = make_session()
    again.sign_in("alice")
    second = refresh_token(again)
    local.users.global_sign_out("alice")
    last = make_session()
    with pytest.raises(errors.InvalidParameterError):
        last.sign_in("alice")

    shown = [
        repr(entry),
        str(entry),
        remembered(session).describe() or "",
        store.location(),
        remembered(last).last_resume_failure or "",
        *(r.getMessage() for r in caplog.records),
    ]
    for text in shown:
        for secret in (token, second, PASSWORD):
            assert secret not in text
    assert "refresh_token" not in repr(entry)
