"""Trying AWS before signing in: ``%load_ext nb_cognito`` prepares the kernel, nothing is poisoned.

Loading the extension makes the kernel's session at once: its container endpoint runs, so a
child or pool started now inherits its address, and boto3's default session gets a standby
provider, so a client made now fails at once with an error naming sign-in (not botocore's
retries of the endpoint's 401) and the same client works as soon as someone signs in.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import PASSWORD, s3_from_the_emulator
from testing_shell import close_shell, new_shell

from nb_cognito import kernel
from nb_cognito.exceptions import SignedOutError
from nb_cognito.local import IdentityPoolSpec, LocalSpec, UserSpec
from nb_cognito.notebook import extension

CSV = b"a,b\n1,2\n"
CHILD = (
    "import boto3\n"
    "print(boto3.client('s3').get_object(Bucket='data', Key='t.csv')['Body'].read().decode(), end='')\n"
)


@pytest.fixture
def fresh_kernel(make_local, monkeypatch, tmp_path):
    """A shell with no kernel session yet, the environment pointing at a strict emulator."""
    local = make_local(
        LocalSpec(
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(),
            buckets={"data": {"t.csv": CSV}},
            strict_s3=True,
        )
    )
    for name, value in local.settings.as_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NB_COGNITO_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("NB_COGNITO_KEYRING", "0")
    s3_from_the_emulator(local, monkeypatch, tmp_path)
    previous = kernel.use_kernel_session(None)
    shell = new_shell(tmp_path)
    yield local, shell
    extension.unload_extension(shell)
    close_shell(shell)
    kernel.reset_kernel_session()
    kernel.use_kernel_session(previous)


def test_load_ext_makes_the_session_and_its_endpoint(fresh_kernel):
    local, shell = fresh_kernel
    assert kernel.existing_session() is None
    shell.run_cell("%load_ext nb_cognito")
    session = kernel.existing_session()
    assert session is not None and not session.is_signed_in
    assert os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "").startswith("http://127.0.0.1:")
    # A child started now (before sign-in) gets credentials once someone signs in.
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()\n" + CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    session.sign_in("alice", PASSWORD)
    out, err = child.communicate("go\n", timeout=120)
    assert out == CSV.decode(), err[-2000:]
    assert local.received_access_keys("s3")[-1] == session.current_credentials().access_key_id


def test_a_boto3_client_made_before_sign_in_fails_at_once_then_works(fresh_kernel):
    import boto3

    local, shell = fresh_kernel
    shell.run_cell("%load_ext nb_cognito")
    client = boto3.client("s3")  # made before sign-in: bound to the session by the standby
    with pytest.raises(SignedOutError, match="Sign in"):  # ours, not botocore's retried 401
        client.list_buckets()
    assert local.received_access_keys("s3") == []
    session = kernel.kernel_session()
    session.sign_in("alice", PASSWORD)
    assert client.get_object(Bucket="data", Key="t.csv")["Body"].read() == CSV
    assert local.received_access_keys("s3")[-1] == session.current_credentials().access_key_id
    session.sign_out()
    with pytest.raises(SignedOutError):
        client.list_buckets()


def test_the_standby_never_shadows_the_users_own_credentials(fresh_kernel, monkeypatch):
    """Keys the user put in the environment come first in botocore's chain: the standby,
    placed just before the container provider, is never asked."""
    import boto3

    _, shell = fresh_kernel
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSOWNKEY00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    shell.run_cell("%load_ext nb_cognito")
    credentials = boto3.client("s3")._request_signer._credentials
    assert credentials.access_key == "AKIAUSERSOWNKEY00001"


def test_pandas_tried_before_sign_in_works_after_it(fresh_kernel):
    """pandas' s3fs instance made before sign-in (its error names sign-in) is not kept."""
    import pandas as pd

    local, shell = fresh_kernel
    shell.run_cell("%load_ext nb_cognito")
    with pytest.raises(Exception, match="Sign in"):  # botocore's CredentialRetrievalError
        pd.read_csv("s3://data/t.csv")
    session = kernel.kernel_session()
    session.sign_in("alice", PASSWORD)
    assert list(pd.read_csv("s3://data/t.csv")["a"]) == [1]
    assert local.received_access_keys("s3")[-1] == session.current_credentials().access_key_id


def test_pandas_tried_before_load_ext_works_after_sign_in(fresh_kernel):
    """Before the extension, nothing serves credentials: s3fs reads anonymously, S3 says
    Forbidden, and pandas keeps that filesystem. Signing in drops it."""
    import pandas as pd

    local, shell = fresh_kernel
    with pytest.raises(PermissionError):
        pd.read_csv("s3://data/t.csv")
    shell.run_cell("%load_ext nb_cognito")
    session = kernel.kernel_session()
    session.sign_in("alice", PASSWORD)
    assert list(pd.read_csv("s3://data/t.csv")["a"]) == [1]
    assert local.received_access_keys("s3")[-1] == session.current_credentials().access_key_id
