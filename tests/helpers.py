"""What tests share besides fixtures (those are in conftest.py): the test user's password,
questions to the emulator (request counts, the key S3 received), events, waiting, threads.

Everything talks HTTP to the offline Cognito; time is the injected ``clock``. Real waiting
happens only for background threads, always on an Event with a bounded timeout.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

from nb_cognito.auth.session import CognitoSession
from nb_cognito.local import LocalCognito
from nb_cognito.models import AuthEvent, AWSCredentials

PASSWORD = "Alice-Passw0rd!"
WAIT = 15.0  # seconds of real time a background thread gets before a test gives up

Triple = tuple[str, str, str]


def triple(creds: AWSCredentials) -> Triple:
    return (creds.access_key_id, creds.secret_access_key, creds.session_token)


class Events:
    """Records a session's events (with the real monotonic time) and waits for them."""

    def __init__(self, session: CognitoSession, *events: AuthEvent) -> None:
        self.payloads: dict[AuthEvent, list[Any]] = {event: [] for event in events}
        self.times: dict[AuthEvent, list[float]] = {event: [] for event in events}
        self._changed = threading.Condition()
        for event in events:
            session.on(event, lambda payload, event=event: self._record(event, payload))

    def _record(self, event: AuthEvent, payload: Any) -> None:
        with self._changed:
            self.payloads[event].append(payload)
            self.times[event].append(time.monotonic())
            self._changed.notify_all()

    def count(self, event: AuthEvent) -> int:
        with self._changed:
            return len(self.payloads[event])

    def wait(self, event: AuthEvent, count: int = 1, timeout: float = WAIT) -> bool:
        """True once ``event`` was seen ``count`` times in all (False after ``timeout``)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.payloads[event]) >= count, timeout)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Wait (real time, bounded) for a background thread to make ``predicate`` true."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.002)
    return True


def refresher_idle(session: CognitoSession) -> bool:
    """No refresh in flight and the background refresher's next attempt lies in the future."""
    view = session.describe()
    if view.in_flight:
        return False
    due = view.next_attempt
    return due is None or due > session.clock.time()


class CountingRefresh:
    """Wraps the refresh engine's one network refresh: how many ran, and the most at once."""

    def __init__(self, session: CognitoSession) -> None:
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        engine = session._engine
        self._original = engine._do_refresh
        engine._do_refresh = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._original(*args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


def delta(local: Any, before: Any, *actions: str) -> tuple[int, ...]:
    """Requests the emulator received since ``before`` (a ``request_counts()``), per action."""
    now = local.request_counts()
    return tuple(now.get(action, 0) - before.get(action, 0) for action in actions)


def run_threads(count: int, work: Callable[[int], None], timeout: float = 60.0) -> None:
    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"


def counts(local: LocalCognito, *actions: str) -> tuple[int, ...]:
    """How many requests the emulator received for each action, in the order asked."""
    snapshot = local.request_counts()
    return tuple(snapshot.get(action, 0) for action in actions)


def s3_key(local: LocalCognito, client: Any) -> str:
    """Make one S3 call with ``client``; return the access key the server received for it."""
    before = len(local.received_access_keys("s3"))
    client.list_buckets()
    keys = local.received_access_keys("s3")
    assert len(keys) == before + 1
    return keys[-1]


def forget_cached_s3fs() -> None:
    """s3fs caches filesystems per process; one made in an earlier test asks that test's
    (closed) endpoint. A kernel has one session, and one endpoint, for its life."""
    s3fs = sys.modules.get("s3fs")
    if s3fs is not None:
        s3fs.S3FileSystem.clear_instance_cache()


def json_get(url: str, wait: float = 30) -> dict:
    """GET ``url`` (no proxy), retrying while the server is not accepting yet."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + wait
    while True:
        try:
            with direct.open(url, timeout=30) as response:
                return json.load(response)
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def jupyter_dirs(tmp_path: Any) -> dict[str, str]:
    """Environment for a Jupyter server or kernel that touches nothing of the machine's own."""
    return {
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def s3_from_the_emulator(local: LocalCognito, monkeypatch: Any, tmp_path: Any) -> None:
    """Point every SDK's S3 at the emulator (its URL and region; never a key) in a clean HOME."""
    forget_cached_s3fs()
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", local.settings.region)
    monkeypatch.setenv("HOME", str(tmp_path))


def no_aws_setup_env(local: LocalCognito, tmp_path: Any) -> dict[str, str]:
    """The AWS variables of a child that must find no credentials of the machine's (no config
    files, no instance metadata), with S3 and the region pointed at the emulator."""
    return {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "missing-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "missing-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": local.settings.region,
        "AWS_ENDPOINT_URL": local.endpoint_url,
    }


def missing(what: str) -> NoReturn:
    """``what`` the test needs is not on this machine: skip here, but fail in CI, where
    ``make test`` installs everything (a skip there would hide a broken install step)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI installs it: make test)")
    pytest.skip(what)


# -- two users on a strict S3, and what they use there (consumer, duckdb and Dask tests) --------------

CSV = b"species,petal_length\nsetosa,1.4\nvirginica,5.6\n"


def two_user_world(
    make_local: Any, new_session: Any, monkeypatch: Any, tmp_path: Any, lifetime: int, **spec: Any
):
    """A kernel-like session (its integrations attached) and an emulator with alice and bob, an
    identity pool whose credentials live ``lifetime`` seconds, and a strict S3 with
    ``s3://data/iris.csv``; AWS SDKs in this process and its children point at that S3."""
    from nb_cognito.local import IdentityPoolSpec, LocalSpec, UserSpec

    session = new_session(attach=True)
    users = (UserSpec("alice", PASSWORD), UserSpec("bob", spec.pop("bob_password", PASSWORD)))
    local = make_local(
        LocalSpec(
            users=users,
            identity_pool=IdentityPoolSpec(credentials_lifetime=lifetime),
            buckets={"data": {"iris.csv": CSV}},
            strict_s3=True,
        )
    )
    session.configure(**local.settings.as_config())
    s3_from_the_emulator(local, monkeypatch, tmp_path)
    return local, session


def duckdb_connection(directory: str) -> Any:
    """A duckdb connection with the httpfs and aws extensions loaded from their PyPI packages."""
    import duckdb

    try:
        import duckdb_extensions
    except ImportError:
        missing("duckdb-extensions (the httpfs and aws extensions) is not installed")
    connection = duckdb.connect(config={"extension_directory": directory})
    for name in ("httpfs", "aws"):
        duckdb_extensions.import_extension(name, con=connection)
        connection.execute(f"LOAD {name}")
    return connection


def one_worker_cluster(**options: Any) -> Any:
    """A LocalCluster of one worker process, on loopback, without dashboards."""
    import distributed

    return distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
        **options,
    )


def move_to(session: Any, moment: str, password: str = PASSWORD) -> None:
    """Bring ``session`` to ``moment`` of the consumer matrix (``before`` changes nothing)."""
    if moment == "signed_in":
        session.sign_in("alice", password)
    elif moment == "refreshed":
        session.fetch_auth_session(force_refresh=True)
    elif moment == "signed_out":
        session.sign_out()
    elif moment == "other_user":
        session.sign_in("bob", password)
