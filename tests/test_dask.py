"""Dask workers get the kernel session's credentials: pushed over Dask's own connection.

A real ``LocalCluster(processes=True)``: worker processes, the scheduler, pickled plugins.
The workers' source is the plugin (it replaces, in each worker process, any endpoint
variables inherited from the kernel); the emulator's strict S3 says whose key each task used.
The kernel's own endpoint (the default) serves ``dd.read_csv``'s sample read in the kernel.
Credentials live ``LIFETIME`` seconds on the test's clock; the worker processes run on real
time, and the lifetime is inside botocore's 10-minute refresh margin, so every task's
client asks the worker's endpoint again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import distributed
import pytest
from dask import dataframe as dd
from dask_world import BOB_PASSWORD, LIFETIME, keys_after, s3_task
from helpers import PASSWORD, one_worker_cluster

pytest_plugins = ("dask_world",)
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def cluster(world):
    """A LocalCluster with one worker process, started before anyone signed in."""
    with (
        one_worker_cluster() as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


def run_everywhere(client, function):
    return client.run(function)


def test_workers_started_before_sign_in_get_credentials_refresh_resign_in_and_sign_out(world, cluster, clock):
    local, session = world
    cluster_, client = cluster
    assert set(run_everywhere(client, s3_task).values()) != {"ok"}  # nobody signed in yet

    session.sign_in("alice", PASSWORD)
    first = session.current_credentials().access_key_id
    mark = len(local.received_access_keys("s3"))
    assert set(run_everywhere(client, s3_task).values()) == {"ok"}
    assert set(keys_after(local, mark)) == {first}

    # A worker that joins after sign-in gets the scheduler's copy.
    cluster_.scale(2)
    client.wait_for_workers(2, timeout=60)
    mark = len(local.received_access_keys("s3"))
    results = run_everywhere(client, s3_task)
    assert len(results) == 2 and set(results.values()) == {"ok"}
    assert set(keys_after(local, mark)) == {first}

    # Past the expiry: the kernel refreshes (the background refresher's job) and pushes.
    clock.advance(LIFETIME + 1)
    second = session.current_credentials().access_key_id
    assert second != first
    mark = len(local.received_access_keys("s3"))
    assert set(run_everywhere(client, s3_task).values()) == {"ok"}
    assert set(keys_after(local, mark)) == {second}

    # dask.dataframe through s3fs on the workers.
    mark = len(local.received_access_keys("s3"))
    frame = dd.read_csv("s3://data/iris.csv").compute()
    assert sorted(frame["species"]) == ["setosa", "virginica"]
    assert set(keys_after(local, mark)) == {second}

    # Another user signs in: the same workers now use bob's key.
    session.sign_out()
    session.sign_in("bob", BOB_PASSWORD)
    bobs = session.current_credentials().access_key_id
    mark = len(local.received_access_keys("s3"))
    assert set(run_everywhere(client, s3_task).values()) == {"ok"}
    assert set(keys_after(local, mark)) == {bobs}

    # Sign-out withdraws them: the workers get a readable refusal and S3 gets nothing.
    session.sign_out()
    mark = len(local.received_access_keys("s3"))
    answers = set(run_everywhere(client, s3_task).values())
    assert len(answers) == 1
    (answer,) = answers
    assert "Nobody is signed in to nb_cognito" in answer
    assert keys_after(local, mark) == []
    assert local.s3_refusals() == []


def test_a_client_created_after_sign_in_gets_the_credentials_at_once(world):
    local, session = world
    session.sign_in("alice", PASSWORD)
    key = session.current_credentials().access_key_id
    with (
        one_worker_cluster() as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {key}


def test_only_aws_credentials_leave_the_kernel(world):
    import pickle

    from nb_cognito.dask import CognitoCredentials, PushedCredentials

    _, session = world
    session.sign_in("alice", PASSWORD)
    plugin = CognitoCredentials(PushedCredentials.from_session(session))
    data = pickle.dumps(plugin)
    tokens = session.fetch_auth_session().user_pool_tokens_result.value
    for secret in (tokens.refresh_token, tokens.id_token, tokens.access_token):
        assert secret.encode() not in data
    creds = session.current_credentials()
    assert creds.secret_access_key not in repr(plugin)
    assert creds.session_token not in repr(plugin)

    # Sealed for the kernel's own workers: nothing of the credentials in clear, not even the key id.
    sealed = pickle.dumps(CognitoCredentials.sealed_for_own_workers(PushedCredentials.from_session(session)))
    for secret in (creds.access_key_id, creds.secret_access_key, creds.session_token):
        assert secret.encode() not in sealed


def _start(argv, env, log_path):
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the test's finally
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT), log


@pytest.fixture
def cli_scheduler(world, tmp_path):
    """A scheduler and a worker started from the command line, not by the kernel: they stand for
    someone else's plain-TCP cluster (or other machines): no variable of the kernel's."""
    local, _ = world
    dask_cli = os.path.join(os.path.dirname(sys.executable), "dask")
    scheduler_file = tmp_path / "scheduler.json"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "AWS_CONFIG_FILE": str(tmp_path / "missing-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "missing-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": local.settings.region,
        "AWS_ENDPOINT_URL": local.endpoint_url,
    }
    common = ["--host", "127.0.0.1", "--no-dashboard"]
    processes = []
    try:
        processes.append(
            _start(
                [dask_cli, "scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), *common],
                env,
                tmp_path / "scheduler.log",
            )
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()
        worker = [
            dask_cli,
            "worker",
            "--scheduler-file",
            str(scheduler_file),
            "--nthreads",
            "1",
            "--no-nanny",
        ]
        processes.append(_start([*worker, *common], env, tmp_path / "worker.log"))
        yield str(scheduler_file)
    finally:
        for process, log in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def our_plugins(client):
    from nb_cognito.dask import PLUGIN_NAME

    return [name for name in client.run_on_scheduler(_plugin_names) if name == PLUGIN_NAME]


def _plugin_names(dask_scheduler):
    return list(dask_scheduler.worker_plugins)


def nb_cognito_warnings(caught):
    return [str(w.message) for w in caught if "sent no AWS credentials" in str(w.message)]


def test_a_scheduler_the_kernel_did_not_start_gets_nothing_until_the_user_names_it(world, cli_scheduler):
    """Someone else's plain-TCP scheduler: its owner would read the plugin. Nothing is sent,
    one warning says why and how to opt in; ``dask_clusters`` opts in (and out again)."""
    local, session = world
    with distributed.Client(scheduler_file=cli_scheduler) as client:
        client.wait_for_workers(1, timeout=60)
        address = client.scheduler.address
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            session.sign_in("alice", PASSWORD)
            session.fetch_auth_session(force_refresh=True)  # a refresh: still nothing, no new warning
        (message,) = nb_cognito_warnings(caught)
        assert address in message and "dask_clusters" in message and "register_plugin" in message
        assert our_plugins(client) == []
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"NoCredentialsError: Unable to locate credentials"}
        assert keys_after(local, mark) == []

        # Named in the setting: the credentials go now, and follow a refresh.
        session.configure(dask_clusters=address)
        key = session.current_credentials().access_key_id
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {key}
        session.fetch_auth_session(force_refresh=True)
        new_key = session.current_credentials().access_key_id
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {new_key}

        # No longer named: withdrawn from its workers, and a refresh sends nothing there.
        session.configure(dask_clusters=None)
        session.fetch_auth_session(force_refresh=True)
        mark = len(local.received_access_keys("s3"))
        assert "Nobody is signed in to nb_cognito" in set(client.run(s3_task).values()).pop()
        assert keys_after(local, mark) == []


def test_register_plugin_opts_a_scheduler_in_for_every_refresh(world, cli_scheduler):
    import nb_cognito

    local, session = world
    session.sign_in("alice", PASSWORD)
    with distributed.Client(scheduler_file=cli_scheduler) as client:
        client.wait_for_workers(1, timeout=60)
        assert our_plugins(client) == []
        nb_cognito.dask.register_plugin(client)
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {session.current_credentials().access_key_id}
        session.fetch_auth_session(force_refresh=True)
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {session.current_credentials().access_key_id}


def test_the_preload_is_configured_when_distributed_is_imported_later():
    """A kernel signs in first and imports distributed afterwards: clients still get reported."""
    code = (
        "import sys\n"
        "from nb_cognito.dask.integration import DaskIntegration\n"
        "from nb_cognito.kernel import make_session\n"
        "make_session(integrations=[DaskIntegration()])\n"
        "assert 'distributed' not in sys.modules\n"
        "import dask.config, distributed\n"
        "print(dask.config.get('distributed.client.preload'))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "nb_cognito.dask.preload" in done.stdout


def test_registered_by_hand_without_the_integration(world, make_local, new_session, monkeypatch):
    """``client.register_plugin(nb_cognito.dask.CognitoCredentials())`` pushes the kernel
    session's current credentials once, with no Dask integration in the session."""
    import nb_cognito
    from nb_cognito import kernel

    local, _ = world
    bare = new_session(attach=False)  # no integrations at all
    bare.configure(**local.settings.as_config())
    bare.sign_in("alice", PASSWORD)
    previous = kernel.use_kernel_session(bare)
    try:
        with (
            one_worker_cluster() as cluster,
            distributed.Client(cluster, set_as_default=False) as client,
        ):
            assert set(client.run(s3_task).values()) != {"ok"}  # nothing pushed yet
            client.register_plugin(nb_cognito.dask.CognitoCredentials())
            mark = len(local.received_access_keys("s3"))
            assert set(client.run(s3_task).values()) == {"ok"}
            assert set(keys_after(local, mark)) == {bare.current_credentials().access_key_id}
    finally:
        kernel.use_kernel_session(previous)
