"""The credentials endpoint under hostile local clients (issue 15, item 4).

Any local user can connect to ``127.0.0.1:PORT``. Without the token they must not be able to
starve the children that hold it: slow or idle connections cost the server a file descriptor,
not a handler thread; each request has one total deadline (not a timeout per ``recv``); the
token is checked as soon as the request line and headers are in; and stopping the endpoint
(sign-out) never waits for such clients. All sockets here are real, on 127.0.0.1.

The time bounds below are safety nets (a broken server would hang the test), not speed
measurements: the honest clients' own timeout is well under the endpoint's deadline, so a
server that makes them queue behind slow clients fails.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import ExitStack, suppress

import pytest
from helpers import PASSWORD

from nb_cognito.integrations import credentials_server
from nb_cognito.integrations.container_endpoint import ContainerEndpoint
from nb_cognito.integrations.credentials_server import ENV_TOKEN, ENV_URI

SLOW_CLIENTS = 50
HONEST_CLIENTS = 100
HONEST_TIMEOUT = 4.0  # well under the endpoint's REQUEST_TIMEOUT (10 s)


@pytest.fixture(autouse=True)
def clean_state(monkeypatch) -> None:
    for name in (ENV_URI, ENV_TOKEN):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)


@pytest.fixture
def signed_in(new_session):
    session = new_session(attach=True, subprocess_credentials=True)
    session.sign_in("alice", PASSWORD)
    return session


def address() -> tuple[str, int, str, str]:
    """(host, port, path, token) of the running endpoint, from the variables children get."""
    url, token = os.environ[ENV_URI], os.environ[ENV_TOKEN]
    host_port, path = url[len("http://") :].split("/", 1)
    host, port = host_port.split(":")
    return host, int(port), "/" + path, token


@pytest.fixture
def endpoint(signed_in) -> tuple[str, int, str, str]:
    return address()


def _connect(host: str, port: int) -> socket.socket:
    return socket.create_connection((host, port), timeout=HONEST_TIMEOUT)


def honest_get(host: str, port: int, path: str, token: str) -> int:
    """One GET as botocore's container provider sends it; the HTTP status, or 0 on timeout."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {token}\r\n\r\n"
    try:
        with _connect(host, port) as conn:
            conn.sendall(request.encode())
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
    except OSError:  # timeout, reset, refused: not served
        return 0
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    if status == 200:
        assert "AccessKeyId" in json.loads(body)
    return status


def open_slow_clients(stack: ExitStack, host: str, port: int, count: int) -> list[socket.socket]:
    """Connections that send half a request line, or nothing, and then wait."""
    clients = []
    for number in range(count):
        conn = stack.enter_context(socket.create_connection((host, port), timeout=5))
        if number % 2:
            conn.sendall(b"GET /nb-cognito/")  # an unfinished request line
        clients.append(conn)
    return clients


def test_fifty_slow_clients_do_not_starve_a_hundred_honest_ones(endpoint):
    host, port, path, token = endpoint
    with ExitStack() as stack:
        open_slow_clients(stack, host, port, SLOW_CLIENTS)
        statuses: list[int] = []
        lock = threading.Lock()

        def fetch() -> None:
            status = honest_get(host, port, path, token)
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=fetch, daemon=True) for _ in range(HONEST_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HONEST_TIMEOUT * 4)

        assert statuses.count(200) == HONEST_CLIENTS, sorted(set(statuses))


def test_a_client_trickling_its_headers_is_cut_off_at_one_total_deadline(new_session, monkeypatch):
    monkeypatch.setattr(credentials_server, "REQUEST_TIMEOUT", 1.0)
    session = new_session(attach=True, subprocess_credentials=True)
    session.sign_in("alice", PASSWORD)  # the endpoint starts with a 1 s deadline per request
    host, port, path, _ = address()

    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nX-Padding: ".encode())
        conn.settimeout(0.1)
        sent = 0
        for _ in range(60):  # one byte each 0.1 s: a timeout per recv would never fire
            sent += 1
            try:
                conn.sendall(b"a")
                answer = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # reset: cut off
                answer = b""
            break
        else:
            pytest.fail("a client trickling one byte at a time kept its connection for 6 s")
    assert sent < 40, f"cut off only after {sent / 10:.1f} s, with a 1 s deadline"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer


def test_shutdown_does_not_wait_for_idle_or_slow_clients(signed_in):
    host, port, _, _ = address()
    integration = signed_in.integrations.find(ContainerEndpoint)
    with ExitStack() as stack:
        clients = open_slow_clients(stack, host, port, SLOW_CLIENTS)
        time.sleep(0.2)  # let the server accept them all (not a timing assertion)
        stopped = threading.Event()

        def stop() -> None:
            integration.stop()
            stopped.set()

        threading.Thread(target=stop, daemon=True).start()

        assert stopped.wait(3.0), "stop() waited for clients that never finish their request"
        assert integration.server is None
        for conn in clients:  # their connections are closed, not left hanging
            conn.settimeout(5)
            with suppress(ConnectionResetError):
                assert conn.recv(1) == b""


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_the_token_is_checked_first_and_no_body_is_read(endpoint, method):
    """A client without the token learns nothing (not even which methods exist), at once."""
    host, port, path, _ = endpoint
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: wrong-token\r\n"
        "Content-Length: 100000000\r\n\r\n"  # a body that never comes
    )
    with socket.create_connection((host, port), timeout=HONEST_TIMEOUT) as conn:
        conn.sendall(head.encode())
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:40]


def test_oversized_headers_are_refused(endpoint):
    host, port, path, token = endpoint
    head = f"GET {path} HTTP/1.1\r\nAuthorization: {token}\r\nX-Padding: {'a' * 20000}\r\n\r\n"
    with socket.create_connection((host, port), timeout=HONEST_TIMEOUT) as conn:
        conn.sendall(head.encode())
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:40]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_stops_its_copy_at_once_and_the_parent_keeps_serving(signed_in):
    """The child has no serving thread: stopping must not wait for one, nor stop the parent's."""
    host, port, path, token = address()
    integration = signed_in.integrations.find(ContainerEndpoint)
    httpd = integration.server._httpd  # the loopback server, as the child inherits it
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 when everything returned within 2 s
        code = 1
        try:
            started = time.monotonic()
            httpd.shutdown()  # even called directly, it does not wait for the parent's thread
            integration.stop()
            signed_in.sign_out()  # and a child's sign-out neither hangs nor stops the parent's
            code = 0 if time.monotonic() - started < 2.0 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in stop()")
    assert os.waitstatus_to_exitcode(status) == 0
    assert honest_get(host, port, path, token) == 200  # the parent's endpoint still serves
