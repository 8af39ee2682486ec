"""pandas ``s3://`` through s3fs, in the kernel's own process, with subprocess_credentials on.

s3fs builds its own (aiobotocore) session, which never sees boto3's default session; it finds
the credentials through the container-credentials endpoint that nb_cognito serves. The
emulator records the access key of every S3 request, so the test proves whose keys were used.
"""

from __future__ import annotations

import pandas as pd
import pytest
import s3fs
from helpers import PASSWORD

from nb_cognito.local import LocalSpec, UserSpec

CSV = b"species,petal_length\nsetosa,1.4\nvirginica,5.6\n"


@pytest.fixture
def signed_in(make_local, new_session):
    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),), buckets={"data": {"iris.csv": CSV}}))
    session = new_session(attach=True, subprocess_credentials=True)
    session.sign_in("alice", PASSWORD)
    return local, session


def test_pandas_reads_s3_with_the_sessions_credentials_and_follows_a_refresh(signed_in):
    local, session = signed_in
    options = {"client_kwargs": {"endpoint_url": local.endpoint_url}, "skip_instance_cache": True}

    frame = pd.read_csv("s3://data/iris.csv", storage_options=options)
    assert list(frame["species"]) == ["setosa", "virginica"]
    first = session.current_credentials().access_key_id
    assert local.received_access_keys("s3")[-1] == first

    session.fetch_auth_session(force_refresh=True)
    second = session.current_credentials().access_key_id
    assert second != first
    fs = s3fs.S3FileSystem(**options)
    assert fs.cat("data/iris.csv") == CSV
    assert local.received_access_keys("s3")[-1] == second


def test_after_sign_out_s3fs_finds_no_cognito_credentials(signed_in):
    local, session = signed_in
    session.sign_out()
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": local.endpoint_url}, skip_instance_cache=True)
    before = len(local.received_access_keys("s3"))
    with pytest.raises(Exception):  # noqa: B017 - botocore's NoCredentialsError, or s3fs's wrapper of it
        fs.cat("data/iris.csv")
    assert len(local.received_access_keys("s3")) == before  # nothing was signed with old keys
