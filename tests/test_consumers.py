"""Each data library a data scientist uses reaches S3 with the session's Cognito credentials,
with no key passed by the test, before and after a refresh.

The emulator's S3 runs in strict mode (:mod:`nb_cognito.local.s3`): unsigned requests, keys it
never vended and expired credentials are refused as real S3 refuses them. So the key S3
received is the proof, and a consumer holding on to expired credentials fails the test.

Credentials live ``LIFETIME`` seconds on the test's clock. Advancing the clock past that makes
the first key expire for S3; the session refreshes when the next consumer asks. The libraries
cache credentials by their ``Expiration`` in real time, and a lifetime this short is inside
every one's refresh margin, so they ask again (botocore: 10 minutes; object_store: 5
minutes), as they would near the end of a real hour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import PASSWORD, missing, s3_from_the_emulator

from nb_cognito.local import IdentityPoolSpec, LocalSpec, UserSpec

CSV = b"species,petal_length\nsetosa,1.4\nvirginica,5.6\n"
LIFETIME = 4


@pytest.fixture
def world(make_local, new_session, monkeypatch, tmp_path):
    """(emulator, signed-in kernel session, default settings) with only S3's URL and region set."""
    session = new_session(attach=True)
    local = make_local(
        LocalSpec(
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(credentials_lifetime=LIFETIME),
            buckets={"data": {"iris.csv": CSV}},
            strict_s3=True,
        )
    )
    session.configure(**local.settings.as_config())
    s3_from_the_emulator(local, monkeypatch, tmp_path)
    session.sign_in("alice", PASSWORD)
    return local, session


class Keys:
    """What S3 received since the last look, against the session's current key."""

    def __init__(self, local, session):
        self.local, self.session = local, session
        self.seen = len(local.received_access_keys("s3"))

    def new(self) -> list[str]:
        keys = self.local.received_access_keys("s3")
        fresh, self.seen = keys[self.seen :], len(keys)
        return fresh

    def assert_all_current(self) -> str:
        current = self.session.current_credentials().access_key_id
        fresh = self.new()
        assert fresh, "S3 received no signed request"
        assert set(fresh) == {current}, (fresh, current)
        return current


def expire(clock) -> None:
    """Move past the credentials' expiry: S3 now refuses the old key with ExpiredToken."""
    clock.advance(LIFETIME + 1)


def before_and_after_a_refresh(world, clock, read, *, stale_retried: bool = False) -> tuple[str, str]:
    """``read()`` before and after the first key expires: S3 must receive the current key.

    ``stale_retried``: the library may send the expired key once more (S3 refuses it with
    ExpiredToken) and then retry by itself with the new one; no error reaches the caller.
    """
    local, session = world
    keys = Keys(local, session)
    read()
    first = keys.assert_all_current()
    expire(clock)
    read()
    if not stale_retried:
        second = keys.assert_all_current()
        assert local.s3_refusals() == []
    else:
        second = session.current_credentials().access_key_id
        received = keys.new()
        stale = [key for key in received if key != second]
        assert received[len(stale) :] == [second] * (len(received) - len(stale)), received
        assert set(stale) <= {first}
        assert local.s3_refusals() == [("ExpiredToken", first)] * len(stale)
    assert second != first
    return first, second


def test_boto3_default_session(world, clock):
    import boto3

    before_and_after_a_refresh(world, clock, lambda: boto3.client("s3").list_objects_v2(Bucket="data"))


def test_boto3_new_session_and_one_client_across_the_refresh(world, clock):
    import boto3

    s3 = boto3.Session().client("s3")  # made once, before the refresh (polars, Coiled do this)
    before_and_after_a_refresh(world, clock, lambda: s3.get_object(Bucket="data", Key="iris.csv"))


def test_pandas_s3fs(world, clock):
    import pandas as pd

    def read():
        frame = pd.read_csv("s3://data/iris.csv")
        assert list(frame["species"]) == ["setosa", "virginica"]

    before_and_after_a_refresh(world, clock, read)


# pyarrow, polars and duckdb run in a child process of their own, as the libraries do in a
# worker: their native threads read the environment (getenv) at any moment, and a C getenv
# racing a putenv in this process (every test's monkeypatch) can crash it. The child lives
# across the refresh, so each library's own credential caching is what is tested.


class Consumer:
    """A child Python process that runs ``setup`` once, then ``read`` at every ``read()``."""

    def __init__(self, setup: str, read: str) -> None:
        body = "\n".join("    " + line for line in read.strip().splitlines())
        loop = "for _ in sys.stdin:\n    read()\n    print('ok', flush=True)\n"
        script = f"import sys\n{setup}\ndef read():\n{body}\n{loop}"
        self.child = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )

    def read(self) -> None:
        child = self.child
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        line = child.stdout.readline()
        assert line == "ok\n", line if line else child.stderr.read()[-3000:]  # type: ignore[union-attr]

    def close(self) -> None:
        if self.child.stdin is not None:
            self.child.stdin.close()
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()


@pytest.fixture
def consumer():
    made: list[Consumer] = []

    def make(setup: str, read: str) -> Consumer:
        made.append(Consumer(setup, read))
        return made[-1]

    yield make
    for child in made:
        child.close()


def test_pyarrow_s3filesystem(world, clock, consumer):
    local, _ = world
    # pyarrow does not read AWS_ENDPOINT_URL: the endpoint (not a key) goes in by hand.
    child = consumer(
        "import pyarrow.fs as pafs\n"
        f"fs = pafs.S3FileSystem(endpoint_override={local.endpoint_url!r}, scheme='http', "
        "region='us-east-1')",
        f"with fs.open_input_stream('data/iris.csv') as stream:\n    assert stream.read() == {CSV!r}",
    )
    before_and_after_a_refresh(world, clock, child.read)


@pytest.mark.parametrize("spelling", ["aws_allow_http", "allow_http"])
def test_polars(world, clock, spelling, consumer):
    child = consumer(
        "import polars as pl",
        f"frame = pl.read_csv('s3://data/iris.csv', storage_options={{{spelling!r}: 'true'}})\n"
        "assert frame['species'].to_list() == ['setosa', 'virginica']",
    )
    # object_store reuses a token it fetched a moment (in real time) before; S3 refuses the
    # expired key and object_store retries with a fresh one.
    before_and_after_a_refresh(world, clock, child.read, stale_retried=True)


DUCKDB_SETUP = """
import duckdb, duckdb_extensions
connection = duckdb.connect(config={{"extension_directory": {directory!r}}})
for name in ("httpfs", "aws"):
    duckdb_extensions.import_extension(name, con=connection)
    connection.execute(f"LOAD {{name}}")
connection.execute(
    "CREATE SECRET cognito (TYPE s3, PROVIDER credential_chain, REFRESH auto, "
    "ENDPOINT '{host}', USE_SSL false, URL_STYLE 'path', REGION 'us-east-1')"
)
"""


def test_duckdb_credential_chain_with_refresh_auto(world, clock, consumer, tmp_path):
    local, session = world
    host = local.endpoint_url.removeprefix("http://")
    child = consumer(
        DUCKDB_SETUP.format(directory=str(tmp_path / "duckdb-extensions"), host=host),
        "query = \"SELECT species FROM read_csv('s3://data/iris.csv') ORDER BY 1\"\n"
        "rows = connection.execute(query).fetchall()\n"
        "assert rows == [('setosa',), ('virginica',)], rows",
    )
    keys = Keys(local, session)
    child.read()
    first = keys.assert_all_current()
    expire(clock)
    # duckdb resolved the chain when the secret was made; REFRESH auto makes it resolve again
    # after S3 refuses the expired key (a few refused requests, then the new key).
    child.read()
    current = session.current_credentials().access_key_id
    assert current != first
    received = keys.new()
    assert received[-1] == current
    assert set(received) <= {first, current}
    assert {code for code, _ in local.s3_refusals()} <= {"ExpiredToken"}


def _aws_cli() -> str:
    path = Path(sys.executable).with_name("aws")
    if not path.exists():
        missing("the AWS CLI (pip install awscli) is not installed")
    return str(path)


def test_aws_cli_subprocess(world, clock):
    aws = _aws_cli()

    def read():
        done = subprocess.run(
            [aws, "s3", "ls", "s3://data/"], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "iris.csv" in done.stdout

    before_and_after_a_refresh(world, clock, read)


CHILD = """
import sys, boto3
s3 = boto3.client("s3")
for line in sys.stdin:
    s3.get_object(Bucket="data", Key="iris.csv")["Body"].read()
    print("ok", flush=True)
"""


def test_a_child_python_process_outlives_a_refresh(world, clock):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:

        def read():
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("go\n")
            child.stdin.flush()
            line = child.stdout.readline()
            assert line == "ok\n", line if line else child.stderr.read()

        before_and_after_a_refresh(world, clock, read)
    finally:
        child.stdin.close()  # type: ignore[union-attr]
        child.wait(timeout=30)


# -- the user's own AWS settings win --------------------------------------------------------------

USERS_KEY = "AKIAUSERSOWNKEY00001"


def _users_choice(kind: str, monkeypatch, tmp_path) -> None:
    credentials = tmp_path / "aws-credentials"
    if kind == "static keys":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", USERS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
        return
    profile = "mine" if kind == "AWS_PROFILE" else "default"
    secret = "x" * 40
    lines = (f"[{profile}]", f"aws_access_key_id = {USERS_KEY}", f"aws_secret_access_key = {secret}")
    credentials.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    if kind == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", profile)


@pytest.mark.parametrize("kind", ["static keys", "AWS_PROFILE", "a default profile in ~/.aws"])
def test_the_users_own_aws_settings_win_over_the_endpoint(world, monkeypatch, tmp_path, kind):
    """SDK chains put the environment's keys and profiles before the container endpoint: a
    user who chose credentials keeps them. S3 (strict) then refuses that unknown key."""
    local, _ = world
    _users_choice(kind, monkeypatch, tmp_path)
    keys = Keys(local, world[1])
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input="go\n", capture_output=True, text=True, timeout=60, check=False
    )
    assert "InvalidAccessKeyId" in done.stderr
    import pandas as pd

    with pytest.raises(Exception):  # noqa: B017 - s3fs wraps the refusal in PermissionError/OSError
        pd.read_csv("s3://data/iris.csv", storage_options={"skip_instance_cache": True})
    assert set(keys.new()) == {USERS_KEY}  # every signed request: the user's key, none of Cognito's
    # s3fs tries once more unsigned after a refusal: AccessDenied
    assert {code for code, _ in local.s3_refusals()} <= {"InvalidAccessKeyId", "AccessDenied"}
    assert ("InvalidAccessKeyId", USERS_KEY) in local.s3_refusals()
