"""Dask Gateway: a cluster the user starts from the kernel gets the credentials, and follows refreshes.

A real ``dask-gateway-server`` (its local backend, ``UnsafeLocalBackend``: clusters run as this
user, which is what a test needs; its Go proxy binary from the wheel) on a loopback port,
started by the test. The kernel-side session makes a cluster with
``dask_gateway.Gateway().new_cluster()``; the gateway starts its scheduler and worker
processes, which share nothing with the kernel but the gateway's TLS connection. Strict S3
says whose key each task used.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

import pytest
from dask_world import keys_after, s3_task
from helpers import PASSWORD, json_get, missing, no_aws_setup_env

pytest_plugins = ("dask_world",)
pytestmark = pytest.mark.timeout(240)

CONFIG = """
c.Gateway.address = "127.0.0.1:0"
c.Proxy.address = "127.0.0.1:{port}"
c.Gateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.Gateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.LocalBackend.clusters_directory = {clusters!r}
c.ClusterConfig.scheduler_cmd = [{dask!r}, "scheduler"]
c.ClusterConfig.worker_cmd = [{dask!r}, "worker"]
c.ClusterConfig.environment = {environment!r}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gateway_server(world, tmp_path):
    """The address of a dask-gateway-server on loopback (its clusters see the emulator's S3)."""
    local, _ = world
    server = os.path.join(os.path.dirname(sys.executable), "dask-gateway-server")
    if not os.path.exists(server) or importlib.util.find_spec("dask_gateway") is None:
        missing("dask-gateway and dask-gateway-server[local] (the test extra)")
    port = free_port()
    environment = no_aws_setup_env(local, tmp_path)
    config = tmp_path / "gateway_config.py"
    config.write_text(
        CONFIG.format(
            port=port,
            clusters=str(tmp_path / "clusters"),
            dask=os.path.join(os.path.dirname(sys.executable), "dask"),
            environment=environment,
        )
    )
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),  # the clusters' processes inherit it
        "HOME": str(tmp_path),
    }
    with open(tmp_path / "gateway.log", "wb") as log:
        process = subprocess.Popen(
            [server, "-f", str(config)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            address = f"http://127.0.0.1:{port}"
            json_get(f"{address}/api/health", wait=60)
            yield address
        finally:
            process.terminate()  # the gateway stops its clusters as it shuts down
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_gateway_cluster_made_in_the_kernel_reads_s3_with_the_users_key_across_a_refresh(
    world, gateway_server
):
    from dask_gateway import BasicAuth, Gateway

    local, session = world
    session.sign_in("alice", PASSWORD)
    gateway = Gateway(gateway_server, auth=BasicAuth("alice"))
    cluster = gateway.new_cluster()
    try:
        with cluster.get_client() as client:
            assert client.scheduler.address.startswith("gateway://")
            cluster.scale(1)
            client.wait_for_workers(1, timeout=120)
            key = session.current_credentials().access_key_id
            mark = len(local.received_access_keys("s3"))
            assert set(client.run(s3_task).values()) == {"ok"}
            assert set(keys_after(local, mark)) == {key}

            session.fetch_auth_session(force_refresh=True)
            renewed = session.current_credentials().access_key_id
            assert renewed != key
            mark = len(local.received_access_keys("s3"))
            assert set(client.run(s3_task).values()) == {"ok"}
            assert set(keys_after(local, mark)) == {renewed}

            # A worker that joins after the refresh gets the scheduler's copy.
            cluster.scale(2)
            client.wait_for_workers(2, timeout=120)
            mark = len(local.received_access_keys("s3"))
            results = client.run(s3_task)
            assert len(results) == 2 and set(results.values()) == {"ok"}
            assert set(keys_after(local, mark)) == {renewed}
    finally:
        cluster.shutdown()
        gateway.close()
        # dask_gateway's Gateway.__del__ closes again, after its loop stopped, and raises
        # (whenever it is collected, maybe in another test): closed already, it has no need to.
        for closed in (gateway, cluster.gateway):
            del closed._loop_runner
