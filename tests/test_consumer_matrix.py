"""Where your credentials go: every consumer, at every moment of a session, by the key S3 received.

One kernel-like session (made and prepared as ``%load_ext nb_cognito`` makes it), one strict
S3, and each consumer made *before* anyone signs in and kept: a client, a filesystem, a
connection, a pool, a child process. Then the moments, in order:

``before``      nobody signed in yet
``signed_in``   alice signed in
``refreshed``   the session renewed alice's credentials (her first key is still valid)
``signed_out``  alice signed out
``other_user``  bob signed in

At each, every consumer reads once, and the test records what S3 received from it: the
session's current key, an earlier key (alice's, kept by a cache nobody can reach from the
kernel), or nothing (an error, whose message names sign-in where the consumer can carry
one). The expected table is the one in ``docs/credentials.md``; a change in behaviour shows
as a cell that differs. Credentials live an hour here, as on AWS, so what a library caches
shows (``tests/test_consumers.py`` covers reading across an expiry).

pyarrow runs in a long-lived child of its own (its native threads read the environment at any
moment; see test_consumers.py). polars and duckdb run in this process, as in a kernel: nothing
writes the environment while they run.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import CSV, PASSWORD, duckdb_connection, missing, move_to, one_worker_cluster, two_user_world

from nb_cognito import kernel

TESTS = str(Path(__file__).parent)
MOMENTS = ("before", "signed_in", "refreshed", "signed_out", "other_user")

# What S3 received from a consumer at a moment:
CURRENT = "current key"  # the session's key at that moment
ALICE = "alice's last key"  # a key vended to alice before this moment: cached, still valid at AWS
SIGN_IN = "error naming sign-in"  # nothing signed reached S3; the error says to sign in
REFUSED = "refused"  # nothing signed reached S3; S3's refusal (the library carries no message)

#: consumer -> its outcome at each moment (``docs/credentials.md`` shows the same table).
EXPECTED: dict[str, tuple[str, ...]] = {
    "boto3 default session": (SIGN_IN, CURRENT, CURRENT, SIGN_IN, CURRENT),
    "boto3.Session()": (SIGN_IN, CURRENT, ALICE, ALICE, ALICE),
    "pandas (s3fs)": (SIGN_IN, CURRENT, ALICE, SIGN_IN, CURRENT),
    "pyarrow S3FileSystem": (REFUSED, CURRENT, ALICE, ALICE, ALICE),
    "polars": (SIGN_IN, CURRENT, ALICE, ALICE, ALICE),
    "nb_cognito.duckdb": (REFUSED, CURRENT, CURRENT, REFUSED, CURRENT),
    "aws CLI": (SIGN_IN, CURRENT, CURRENT, SIGN_IN, CURRENT),
    "child process": (SIGN_IN, CURRENT, ALICE, ALICE, ALICE),
    "spawn pool": (SIGN_IN, CURRENT, ALICE, ALICE, ALICE),
    "loky (joblib)": (SIGN_IN, CURRENT, ALICE, SIGN_IN, CURRENT),
}


class LineChild:
    """A child that runs ``setup`` once, then prints ``ok`` or ``error: ...`` at each read."""

    def __init__(self, setup: str, read: str) -> None:
        body = "\n".join("        " + line for line in read.strip().splitlines())
        script = (
            f"import sys\nsys.path.insert(0, {TESTS!r})\n{setup}\n"
            "for _ in sys.stdin:\n    try:\n"
            f"{body}\n"
            "    except Exception as error:\n"
            "        print('error:', type(error).__name__, str(error).replace('\\n', ' '), flush=True)\n"
            "    else:\n        print('ok', flush=True)\n"
        )
        self.child = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )

    def read(self) -> str:
        child = self.child
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        line = child.stdout.readline()
        assert line, child.stderr.read()[-3000:]  # type: ignore[union-attr]
        return line.strip()

    def close(self) -> None:
        if self.child.stdin is not None:
            self.child.stdin.close()
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait(timeout=30)
        for stream in (self.child.stdout, self.child.stderr):
            if stream is not None:
                stream.close()


def _outcome(read: Callable[[], object]) -> str:
    """ "ok" or "error: ..." for a read in this process."""
    try:
        result = read()
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"
    return result if isinstance(result, str) else "ok"


def _aws_cli() -> str:
    path = Path(sys.executable).with_name("aws")
    if not path.exists():
        missing("the AWS CLI (pip install awscli) is not installed")
    return str(path)


@pytest.fixture
def world(make_local, new_session, monkeypatch, tmp_path):
    """A kernel-like session (prepared as %load_ext prepares it) on a strict S3, nobody signed in."""
    local, session = two_user_world(make_local, new_session, monkeypatch, tmp_path, 3600)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")  # object_store (polars) refuses http otherwise
    previous = kernel.use_kernel_session(session)  # nb_cognito.session, as in a kernel
    kernel.prepare(session)  # what %load_ext and the kernel session's first use do
    yield local, session
    kernel.use_kernel_session(previous)


def test_every_consumer_at_every_moment(world, tmp_path):
    import boto3
    import pandas as pd
    import polars as pl
    from joblib.externals.loky import get_reusable_executor

    from nb_cognito import duckdb as nb_duckdb
    from nb_cognito.integrations.consumer_caches import reset_consumer_caches

    local, session = world
    aws = _aws_cli()
    reset_consumer_caches()  # nothing an earlier test left in this process
    children: list[LineChild] = []
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        # -- everything made before anyone signs in ------------------------------------------------
        default_client = boto3.client("s3")
        new_session = boto3.Session()
        pyarrow_child = LineChild(
            "import pyarrow.fs as pafs\n"
            f"fs = pafs.S3FileSystem(endpoint_override={local.endpoint_url!r}, scheme='http', "
            "region='us-east-1')",
            f"with fs.open_input_stream('data/iris.csv') as stream:\n    assert stream.read() == {CSV!r}",
        )
        boto3_child = LineChild(
            "from consumer_tasks import read_object",
            "result = read_object('data', 'iris.csv')\nassert result == 'ok', result",
        )
        children += [pyarrow_child, boto3_child]
        connection = nb_duckdb.attach(duckdb_connection(str(tmp_path / "duckdb")))
        query = "SELECT species FROM read_csv('s3://data/iris.csv') ORDER BY 1"

        from consumer_tasks import read_object

        reads: dict[str, Callable[[], str]] = {
            "boto3 default session": lambda: _outcome(
                lambda: default_client.get_object(Bucket="data", Key="iris.csv")
            ),
            "boto3.Session()": lambda: _outcome(
                lambda: new_session.client("s3").get_object(Bucket="data", Key="iris.csv")
            ),
            "pandas (s3fs)": lambda: _outcome(lambda: pd.read_csv("s3://data/iris.csv")),
            "pyarrow S3FileSystem": pyarrow_child.read,
            "polars": lambda: _outcome(
                lambda: pl.read_csv("s3://data/iris.csv", storage_options={"allow_http": "true"})
            ),
            "nb_cognito.duckdb": lambda: _outcome(lambda: connection.execute(query).fetchall()),
            "aws CLI": lambda: _cli(aws),
            "child process": boto3_child.read,
            "spawn pool": lambda: pool.apply(read_object, ("data", "iris.csv")),
            "loky (joblib)": lambda: (
                get_reusable_executor(max_workers=1).submit(read_object, "data", "iris.csv").result()
            ),
        }

        alice_keys: set[str] = set()
        observed: dict[str, list[str]] = {name: [] for name in reads}
        messages: dict[tuple[str, str], str] = {}
        for moment in MOMENTS:
            move_to(session, moment)
            current = session.current_credentials().access_key_id if session.is_signed_in else None
            if current is not None and moment != "other_user":
                alice_keys.add(current)
            if moment == "before":
                # Nothing may reach S3 signed yet, so the reads run at once (each waits for
                # botocore's 3 s of retries); any key S3 received is charged to all of them.
                seen = len(local.received_access_keys("s3"))
                with ThreadPoolExecutor(len(reads)) as threads:
                    outcomes = dict(zip(reads, threads.map(lambda read: read(), reads.values()), strict=True))
                received = local.received_access_keys("s3")[seen:]
                for name, outcome in outcomes.items():
                    observed[name].append(_classify(outcome, received, current, alice_keys))
                    messages[name, moment] = f"{outcome[:300]} {received}"
                continue
            for name, read in reads.items():  # one by one: the keys S3 received are this one's
                seen = len(local.received_access_keys("s3"))
                outcome = read()
                received = local.received_access_keys("s3")[seen:]
                observed[name].append(_classify(outcome, received, current, alice_keys))
                messages[name, moment] = f"{outcome[:300]} {received}"

        differences = [
            f"{name} at {moment}: expected {want!r}, got {got!r} ({messages[name, moment]})"
            for name, row in EXPECTED.items()
            for moment, want, got in zip(MOMENTS, row, observed[name], strict=True)
            if want != got
        ]
        assert not differences, "\n".join(differences)
        assert set(observed) == set(EXPECTED)
    finally:
        pool.terminate()
        pool.join()
        for child in children:
            child.close()
        reset_consumer_caches()  # shuts down loky's executor, forgets s3fs' instances


def _cli(aws: str) -> str:
    done = subprocess.run(
        [aws, "s3", "ls", "s3://data/"], capture_output=True, text=True, timeout=120, check=False
    )
    return "ok" if done.returncode == 0 else "error: " + done.stderr.strip().replace("\n", " ")


def _classify(outcome: str, received: list[str], current: str | None, alice_keys: set[str]) -> str:
    if outcome == "ok":
        if received and set(received) == {current}:
            return CURRENT
        if received and set(received) <= alice_keys and current not in received:
            return ALICE
        return f"ok with {received}"
    if received:
        return f"error after sending {received}"
    if "sign in" in outcome.lower():
        return SIGN_IN
    return REFUSED


# -- Dask workers -----------------------------------------------------------------------------------
# The worker side (what a push does on a worker) belongs to the Dask integration; these rows are a
# test of their own so that the two can be reconciled. "refreshed" accepts either key: the previous
# one is still valid, and a library on the worker may keep it until it nears its expiry.

EXPECTED_DASK: dict[str, tuple[frozenset[str], ...]] = {
    name: (
        frozenset({SIGN_IN}),
        frozenset({CURRENT}),
        frozenset({CURRENT, ALICE}),
        frozenset({SIGN_IN}),
        frozenset({CURRENT}),
    )
    for name in ("worker: boto3 default session, a kept client", "worker: pandas (s3fs)")
}


def _worker_pandas() -> str:
    try:
        import pandas as pd

        pd.read_csv("s3://data/iris.csv")
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"
    return "ok"


def _worker_boto3() -> str:
    from consumer_tasks import read_object

    return read_object("data", "iris.csv")


@pytest.mark.timeout(240)
def test_dask_workers_at_every_moment(world):
    import distributed

    local, session = world
    with (
        one_worker_cluster() as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(lambda: sys.path.insert(0, TESTS))  # consumer_tasks, on the worker
        reads: dict[str, Callable[[], str]] = {
            "worker: boto3 default session, a kept client": lambda: next(
                iter(client.run(_worker_boto3).values())
            ),
            "worker: pandas (s3fs)": lambda: next(iter(client.run(_worker_pandas).values())),
        }
        alice_keys: set[str] = set()
        differences = []
        for index, moment in enumerate(MOMENTS):
            move_to(session, moment)
            current = session.current_credentials().access_key_id if session.is_signed_in else None
            if current is not None and moment != "other_user":
                alice_keys.add(current)
            for name, read in reads.items():
                seen = len(local.received_access_keys("s3"))
                outcome = read()
                received = local.received_access_keys("s3")[seen:]
                got = _classify(outcome, received, current, alice_keys)
                if got not in EXPECTED_DASK[name][index]:
                    differences.append(f"{name} at {moment}: got {got!r} ({outcome[:300]} {received})")
        assert not differences, "\n".join(differences)


def test_credentials_max_age_makes_kept_clients_follow_sign_out_and_a_new_user(world):
    """With ``credentials_max_age`` under botocore's 10-minute margin, botocore asks the
    endpoint at every request: a kept ``boto3.Session()``, a kept s3fs filesystem and a child
    keeping a client follow a sign-out and a change of user at once (the matrix's **previous**
    cells, made exact)."""
    import boto3
    import s3fs

    local, session = world
    session.configure(credentials_max_age=60)
    kept_session = boto3.Session()
    kept_fs = s3fs.S3FileSystem(skip_instance_cache=True)
    child = LineChild(
        "from consumer_tasks import read_object",
        "result = read_object('data', 'iris.csv')\nassert result == 'ok', result",
    )
    try:
        reads: dict[str, Callable[[], str]] = {
            "boto3.Session()": lambda: _outcome(
                lambda: kept_session.client("s3").get_object(Bucket="data", Key="iris.csv")
            ),
            "s3fs.S3FileSystem": lambda: _outcome(lambda: kept_fs.cat("data/iris.csv")),
            "child process": child.read,
        }
        alice_keys: set[str] = set()
        differences = []
        for moment, action, want in (
            ("signed_in", lambda: session.sign_in("alice", PASSWORD), CURRENT),
            ("signed_out", session.sign_out, SIGN_IN),
            ("other_user", lambda: session.sign_in("bob", PASSWORD), CURRENT),
        ):
            action()
            current = session.current_credentials().access_key_id if session.is_signed_in else None
            if moment == "signed_in":
                alice_keys.add(current)  # type: ignore[arg-type]
            for name, read in reads.items():
                seen = len(local.received_access_keys("s3"))
                outcome = read()
                got = _classify(outcome, local.received_access_keys("s3")[seen:], current, alice_keys)
                if got != want:
                    differences.append(
                        f"{name} at {moment}: expected {want!r}, got {got!r} ({outcome[:300]})"
                    )
        assert not differences, "\n".join(differences)
    finally:
        child.close()


def test_credentials_max_age_caps_the_expiration_the_endpoint_announces(world):
    import datetime as dt
    import json
    import urllib.request

    _, session = world
    session.sign_in("alice", PASSWORD)

    def announced() -> float:
        request = urllib.request.Request(
            os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            body = json.load(response)
        expiration = dt.datetime.strptime(body["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
        return (
            expiration.replace(tzinfo=dt.timezone.utc).timestamp()
            - dt.datetime.now(dt.timezone.utc).timestamp()
        )

    assert announced() > 3000  # the credentials' own hour
    session.configure(credentials_max_age=60)
    assert 0 < announced() <= 60
