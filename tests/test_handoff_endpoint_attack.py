"""Another local user against the credentials endpoints (issue 21, item 1).

The kernel's container endpoint and each Dask worker's endpoint share one loopback server
(``make_server``). Anyone on the machine can connect to its port. A flood of plain connects,
with no token, from another process made ``serve_forever`` die with ``KeyError: <socket …
fd=-1>`` (a connection evicted to make room was still in the round's list of ready sockets),
and every child then timed out until the next sign-in. Here the flood comes from a separate
process, run as a second uid (``nobody``) when the tests run as root, and an honest request
must be answered during and after it. The patterns (``honest_get``, ``address``) are the ones
of ``tests/test_endpoint_hostile_clients.py``.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
import time

import pytest
from test_endpoint_hostile_clients import address, clean_state, honest_get, signed_in

from nb_cognito.dask.worker import PushedCredentials, WorkerEndpoint
from nb_cognito.integrations.container_endpoint import ContainerEndpoint
from nb_cognito.integrations.credentials_server import ENV_TOKEN_FILE

__all__ = ["clean_state", "signed_in"]  # fixtures shared with the hostile-clients suite

FLOOD_THREADS = 4
FLOOD_SECONDS = 10.0
WORKER_FLOOD_SECONDS = 4.0  # the same server: a shorter flood kills today's just as well

# The other local user: plain connects with no token, each held open a moment (so hundreds are
# pending at once and the server must evict some), from 4 threads.
FLOOD = """
import collections, os, socket, sys, threading, time
host = sys.argv[1]
port, seconds, threads, uid = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if uid >= 0:  # become the other user (the interpreter sits where only root can read: import first)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
end = time.monotonic() + seconds
connects = []
def flood():
    held, count = collections.deque(), 0
    while time.monotonic() < end:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(1)
        try:
            sock.connect((host, port))  # a numeric address: no lookup, no import
        except OSError:
            sock.close()
            continue
        count += 1
        held.append(sock)
        if len(held) > 100:
            held.popleft().close()
    connects.append(count)
workers = [threading.Thread(target=flood) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(f"uid {os.getuid()} connects {sum(connects)} threads {len(connects)}")
"""


def other_uid() -> int | None:
    """A second local uid to attack from, when we can become it (as root), else None (same uid)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return None


def start_flood(host: str, port: int, seconds: float) -> subprocess.Popen[str]:
    uid = other_uid()
    argv = [host, str(port), str(seconds), str(FLOOD_THREADS), str(-1 if uid is None else uid)]
    return subprocess.Popen([sys.executable, "-I", "-c", FLOOD, *argv], stdout=subprocess.PIPE, text=True)


def answered_through_a_flood(host: str, port: int, path: str, token: str, seconds: float) -> list[int]:
    """Honest GETs while another process floods the port; the statuses during, then one after."""
    flood = start_flood(host, port, seconds)
    during = []
    try:
        while flood.poll() is None:
            during.append(honest_get(host, port, path, token))
            time.sleep(0.2)
        out, _ = flood.communicate(timeout=30)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    uid, connects, threads = (int(word) for word in out.split()[1::2])
    assert flood.returncode == 0 and threads == FLOOD_THREADS and connects > 400, out
    assert uid == (os.getuid() if other_uid() is None else other_uid())  # really another user, if any
    return [*during, honest_get(host, port, path, token)]


def test_a_connect_flood_from_another_local_user_does_not_kill_the_kernel_endpoint(signed_in):
    host, port, path, token = address()
    httpd = signed_in.integrations.find(ContainerEndpoint).server._httpd

    statuses = answered_through_a_flood(host, port, path, token, FLOOD_SECONDS)

    assert 200 in statuses[:-1], f"no honest request was answered during the flood: {statuses}"
    assert statuses[-1] == 200, "the endpoint no longer answers after the flood"
    assert httpd.serving and httpd.restarts == 0  # survived in its loop, not by a restart


def test_a_connect_flood_does_not_kill_a_dask_worker_endpoint(monkeypatch):
    """A worker's endpoint is the same server (``make_server``): the same flood, shorter."""
    monkeypatch.delenv(ENV_TOKEN_FILE, raising=False)
    endpoint = WorkerEndpoint()
    endpoint.update(PushedCredentials("ASIAFLOODTEST", "secret-flood", "token-flood", time.time() + 900))
    try:
        host, port, path, token = address()
        statuses = answered_through_a_flood(host, port, path, token, WORKER_FLOOD_SECONDS)
        assert statuses[-1] == 200, f"the worker's endpoint died under the flood: {statuses}"
    finally:
        endpoint.close()


class _Crash(Exception):
    pass


def test_an_error_while_handling_one_connection_costs_only_that_connection(signed_in):
    host, port, path, token = address()
    httpd = signed_in.integrations.find(ContainerEndpoint).server._httpd
    real = httpd._readable
    failures: list[int] = []

    def fails_once(*args: object) -> None:
        if not failures:
            failures.append(1)
            raise _Crash("a fault in handling one event")
        real(*args)

    httpd._readable = fails_once  # a fault injected into our own loop, not into a consumer
    assert honest_get(host, port, path, token) == 0  # this one's connection is dropped
    assert honest_get(host, port, path, token) == 200  # and the loop serves the next one
    assert failures and httpd.serving


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the injected death
def test_a_dead_serving_thread_is_restarted_on_next_use_with_the_same_url(signed_in):
    host, port, path, token = address()
    integration = signed_in.integrations.find(ContainerEndpoint)
    httpd = integration.server._httpd
    thread = httpd._thread

    def dies(*args: object) -> None:
        raise SystemExit  # ends the serving thread (threading ignores SystemExit quietly)

    httpd._expire = dies  # runs at the end of every round of the loop
    httpd._wake_w.send(b"x")  # wake the loop: its next round dies
    thread.join(5.0)
    assert not thread.is_alive() and not integration.server.running
    assert honest_get(host, port, path, token) == 0  # dead: nobody answers

    del httpd._expire  # the fault is gone; the next use (a refresh, a sign-in) brings it back
    signed_in.fetch_auth_session(force_refresh=True)

    assert address() == (host, port, path, token)  # children keep the URL and token they have
    assert honest_get(host, port, path, token) == 200
    assert integration.server._httpd is httpd and httpd.restarts == 1


def test_shutdown_still_stops_the_restarting_loop(signed_in):
    integration = signed_in.integrations.find(ContainerEndpoint)
    httpd = integration.server._httpd
    thread = httpd._thread
    stopped = threading.Event()

    def stop() -> None:
        integration.stop()
        stopped.set()

    threading.Thread(target=stop, daemon=True).start()
    assert stopped.wait(5.0)
    thread.join(5.0)
    assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="shut down"):
        httpd.start("again")  # a deliberate stop is not undone by the watchdog
