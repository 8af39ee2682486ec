"""Dask workers follow a refresh, a sign-out and a sign-in as someone else at once.

Keys live an hour (Cognito's default), so botocore and s3fs on a worker would keep the key
they fetched first for 45 minutes. The worker's boto3 default session reads the pushed
credentials at every request, and s3fs's cached filesystems are forgotten at every push;
strict S3 says whose key each task used.
"""

from __future__ import annotations

import distributed
import pytest
from dask_world import BOB_PASSWORD, keys_after, pandas_task, s3_task
from helpers import PASSWORD, one_worker_cluster

pytest_plugins = ("dask_world",)
pytestmark = pytest.mark.timeout(180)

SPECIES = "setosa,virginica"


def on_the_worker(client, local, task):
    """(what the task returned on the one worker, the keys S3 received meanwhile)."""
    mark = len(local.received_access_keys("s3"))
    (answer,) = client.run(task).values()
    return answer, set(keys_after(local, mark))


def test_default_session_boto3_and_pandas_on_workers_follow_every_change(long_world):
    local, session = long_world
    with one_worker_cluster() as cluster, distributed.Client(cluster) as client:
        session.sign_in("alice", PASSWORD)
        alice = session.current_credentials().access_key_id
        assert on_the_worker(client, local, s3_task) == ("ok", {alice})
        assert on_the_worker(client, local, pandas_task) == (SPECIES, {alice})

        session.fetch_auth_session(force_refresh=True)  # the old key is still valid at AWS
        renewed = session.current_credentials().access_key_id
        assert renewed != alice
        assert on_the_worker(client, local, s3_task) == ("ok", {renewed})
        assert on_the_worker(client, local, pandas_task) == (SPECIES, {renewed})

        session.sign_out()
        answer, keys = on_the_worker(client, local, s3_task)
        assert "Nobody is signed in to nb_cognito" in answer and "sign in" in answer
        assert keys == set()
        answer, keys = on_the_worker(client, local, pandas_task)
        assert answer != SPECIES and keys == set()

        session.sign_in("bob", BOB_PASSWORD)
        bob = session.current_credentials().access_key_id
        assert on_the_worker(client, local, s3_task) == ("ok", {bob})
        assert on_the_worker(client, local, pandas_task) == (SPECIES, {bob})
