"""Another local user and the kernel's own LocalCluster: what a foreign client can reach.

The attacker is a separate process with none of the kernel's environment (it stands for
another local user: no ``NB_COGNITO_DASK_KEY``, no endpoint variables), and not a child of the
kernel (another user's process is not; the kernel's key file is read only by the kernel's
children, and is 0600 besides). It knows the scheduler's address (a port scan of 127.0.0.1
finds it) and has Dask and nb_cognito installed.

* Plain TCP (LocalCluster's default): it can connect. What it reads without running code in
  the kernel (the scheduler's plugin list, the plugin a worker it starts itself receives) is
  sealed: no key, no secret, nothing it can open. Connecting also lets it run code in the
  scheduler, which for a LocalCluster is the kernel's own process: Dask gives that to anyone
  who can connect, and only TLS takes it away (docs/dask.md). The test shows it, so that the
  documentation stays true.
* TLS (``LocalCluster(security=True)``): it cannot connect at all, neither without a
  certificate nor with one of its own; the kernel's workers still get the credentials.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import distributed
import pytest
from dask_world import keys_after, s3_task
from helpers import PASSWORD, one_worker_cluster

pytest_plugins = ("dask_world",)
pytestmark = pytest.mark.timeout(180)

ATTACKER = r"""
import base64, json, os, pickle, sys
import distributed

address, mode = sys.argv[1], sys.argv[2]
security = distributed.security.Security.temporary() if mode == "own-certificate" else None
out = {"connected": False}
try:
    client = distributed.Client(address, timeout=10, security=security)
except Exception as error:
    out["error"] = type(error).__name__
    print(json.dumps(out))
    sys.exit(0)
out["connected"] = True
raw = client.run_on_scheduler(
    lambda dask_scheduler: pickle.dumps(dict(dask_scheduler.worker_plugins))
)
out["scheduler_plugins"] = base64.b64encode(raw).decode()
plugins = {name: pickle.loads(value) for name, value in pickle.loads(raw).items()}
from nb_cognito.dask.seal import unseal
for name, plugin in plugins.items():
    out["plugin"] = {
        "credentials": repr(getattr(plugin, "credentials", None)),
        "sealed": getattr(plugin, "sealed", None) is not None,
        "opened": unseal(plugin.sealed)[1] if getattr(plugin, "sealed", None) else None,
    }
out["scheduler_pid"] = client.run_on_scheduler(os.getpid)
client.close()
print(json.dumps(out))
"""


LOOPBACK = ("--host", "127.0.0.1", "--no-dashboard")


def not_the_kernels_child(argv):
    """``argv`` run by a shell that waits for it: its parent is that shell, not the kernel."""
    return ["sh", "-c", '"$@" & wait $!', "sh", *argv]


def attack(address: str, mode: str, tmp_path) -> tuple[dict, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    done = subprocess.run(
        not_the_kernels_child([sys.executable, "-c", ATTACKER, address, mode]),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


def secrets_of(session) -> list[str]:
    creds = session.current_credentials()
    return [creds.access_key_id, creds.secret_access_key, creds.session_token]


def test_a_foreign_client_of_the_kernels_plain_tcp_cluster_reads_nothing_usable(world, tmp_path):
    local, session = world
    session.sign_in("alice", PASSWORD)
    with one_worker_cluster() as cluster, distributed.Client(cluster) as client:
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}  # the kernel's own workers have them
        assert set(keys_after(local, mark)) == {session.current_credentials().access_key_id}

        for _ in range(2):  # as pushed at sign-in, and again after a refresh
            found, output = attack(cluster.scheduler_address, "no-certificate", tmp_path)
            assert found["connected"]
            assert found["plugin"]["sealed"] and found["plugin"]["credentials"] == "None"
            assert found["plugin"]["opened"].startswith("This Dask worker got sealed credentials")
            for secret in secrets_of(session):
                assert secret not in output
            session.fetch_auth_session(force_refresh=True)

        # The limit Dask sets (docs/dask.md): a client of a plain-TCP scheduler runs code in the
        # scheduler, here the kernel itself. Only TLS (the next test) closes that.
        assert found["scheduler_pid"] == os.getpid()


def test_a_worker_started_by_another_user_gets_only_the_sealed_plugin(world, tmp_path):
    """Joining the kernel's scheduler as a worker hands the joiner every plugin: it gets the
    sealed one, cannot open it, and its S3 calls get a message, not a key."""
    local, session = world
    session.sign_in("alice", PASSWORD)
    dask_cli = os.path.join(os.path.dirname(sys.executable), "dask")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "AWS_CONFIG_FILE": str(tmp_path / "missing"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "missing"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": local.settings.region,
        "AWS_ENDPOINT_URL": local.endpoint_url,
    }
    with one_worker_cluster() as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(1, timeout=60)
        own = set(client.scheduler_info()["workers"])
        log = open(tmp_path / "foreign-worker.log", "wb")  # noqa: SIM115 - closed below
        foreign = subprocess.Popen(
            not_the_kernels_child(
                [dask_cli, "worker", cluster.scheduler_address, "--nthreads", "1", "--no-nanny", *LOOPBACK]
            ),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            client.wait_for_workers(2, timeout=60)
            (joined,) = set(client.scheduler_info()["workers"]) - own
            mark = len(local.received_access_keys("s3"))
            answer = client.run(s3_task, workers=[joined])[joined]
            assert "has no key to open them" in answer
            assert keys_after(local, mark) == []
        finally:
            os.killpg(foreign.pid, signal.SIGTERM)  # the shell and the worker
            foreign.wait(timeout=30)
            log.close()
        log_text = (tmp_path / "foreign-worker.log").read_text()
        for secret in secrets_of(session):
            assert secret not in log_text


def test_a_tls_cluster_refuses_a_foreign_client_and_still_supplies_the_kernels_workers(world, tmp_path):
    local, session = world
    session.sign_in("alice", PASSWORD)
    with one_worker_cluster(security=True) as cluster, distributed.Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tls://")
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {session.current_credentials().access_key_id}
        for mode in ("no-certificate", "own-certificate"):
            found, output = attack(cluster.scheduler_address, mode, tmp_path)
            assert found == {"connected": False, "error": found["error"]}, output
            for secret in secrets_of(session):
                assert secret not in output


def test_a_kernel_client_by_address_of_its_own_cluster_gets_the_sealed_credentials(world):
    """``Client("tcp://127.0.0.1:…")`` of a LocalCluster this kernel made: found by address,
    supplied (sealed), and no warning."""
    import warnings

    local, session = world
    with one_worker_cluster() as cluster, distributed.Client(cluster.scheduler_address) as client:
        assert client.cluster is None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            session.sign_in("alice", PASSWORD)
        assert [w for w in caught if "sent no AWS credentials" in str(w.message)] == []
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {session.current_credentials().access_key_id}


def test_workers_started_without_the_key_in_their_environment_read_the_kernels_key_file(world, monkeypatch):
    """The kernel's LocalCluster workers read the key from the kernel's key file, being its
    children, whenever they started (``Client(LocalCluster())`` before ``%cognito_login`` too)."""
    local, session = world
    with one_worker_cluster() as cluster, distributed.Client(cluster) as client:
        assert set(client.run(os.environ.get, "NB_COGNITO_DASK_KEY").values()) == {None}
        session.sign_in("alice", PASSWORD)  # the key is made now
        mark = len(local.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(keys_after(local, mark)) == {session.current_credentials().access_key_id}


def test_the_key_file_is_private_and_a_squatted_directory_is_refused(monkeypatch, tmp_path):
    import stat

    from nb_cognito.dask import seal as dask_seal

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("NB_COGNITO_DASK_KEY", raising=False)
    key = dask_seal.kernel_key()
    directory = tmp_path / f"nb-cognito-{os.getuid()}"
    path = directory / f"dask-{os.getpid()}.key"
    assert path.read_text() == key
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "NB_COGNITO_DASK_KEY" not in os.environ  # so no child, and no `!env`, shows it

    # Someone made the directory readable to others (or planted a symlink there): no key
    # file is written or read in it.
    squatted = tmp_path / "squatted"
    squatted.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(squatted))
    open_dir = squatted / f"nb-cognito-{os.getuid()}"
    open_dir.mkdir(mode=0o777)
    open_dir.chmod(0o777)
    assert dask_seal._key_directory() is None
    (squatted / "elsewhere").mkdir(mode=0o700)
    open_dir.rmdir()
    open_dir.symlink_to(squatted / "elsewhere")
    assert dask_seal._key_directory() is None
    assert dask_seal.kernel_key() == key  # still sealing, with the key in the environment instead
    assert os.environ["NB_COGNITO_DASK_KEY"] == key
    assert list((squatted / "elsewhere").iterdir()) == []
