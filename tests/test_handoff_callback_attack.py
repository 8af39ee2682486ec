"""Another local user against the hosted UI's loopback callback listener (issue 21, item 4).

One idle connection to ``http://localhost:PORT/`` used to hang ``sign_in_with_redirect`` forever
(``socketserver.shutdown`` waited for a handler blocked on that connection) and keep the port
bound; and with only ``127.0.0.1`` bound, another user could listen on ``[::1]:PORT`` and
receive the browser's redirect (the code) when ``localhost`` resolves to ``::1``. The sign-in
runs in a thread here so that a hang fails the test instead of hanging it; the bounds are
safety nets, not speed measurements (the clock is the injected one).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from test_handoff_endpoint_attack import other_uid, start_flood
from test_oauth_signin import Browser, callback, hosted, sso_session

from nb_cognito.auth.session import CognitoSession
from nb_cognito.clock import ManualClock
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.loopback_server import listen

__all__ = ["callback", "hosted", "sso_session"]  # fixtures shared with the hosted-UI suite

TIMEOUT = 8.0  # the sign-in's own deadline, in clock seconds
HANG = 20.0  # a sign-in still running after this (real seconds) hangs


def port_of(url: str) -> int:
    return int(urlsplit(url).port or 0)


def run_sign_in(session: CognitoSession, open_browser: Callable[[str], bool]) -> BaseException | None:
    """Run the loopback sign-in in a thread; its error (None: signed in). Fails if it hangs."""
    outcome: list[BaseException | None] = []

    def sign_in() -> None:
        try:
            session.sign_in_with_redirect(
                method="loopback", open_browser=open_browser, timeout=TIMEOUT, write=lambda _: None
            )
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=sign_in, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), "sign_in_with_redirect hangs past its deadline"
    return outcome[0]


def assert_port_released(port: int) -> None:
    for host in ("127.0.0.1", "::1"):
        listen(host, port).close()  # raises EADDRINUSE while the listener still holds it


@contextlib.contextmanager
def idle(port: int) -> Iterator[None]:
    """A connection that sends nothing."""
    with socket.create_connection(("127.0.0.1", port), timeout=30):
        yield


@contextlib.contextmanager
def slowloris(port: int) -> Iterator[None]:
    """A request that never ends: one header byte every 0.2 s."""
    stop = threading.Event()
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(b"GET / HTTP/1.1\r\nX-Padding: ")

    def trickle() -> None:
        with contextlib.suppress(OSError):
            while not stop.wait(0.2):
                conn.sendall(b"a")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        conn.close()


@contextlib.contextmanager
def flood(port: int) -> Iterator[None]:
    """Another local user's process flooding the port with connects (see the endpoint suite)."""
    process = start_flood("127.0.0.1", port, 4.0)
    try:
        yield
    finally:
        process.kill()
        process.communicate()


ATTACKS = {"idle": idle, "slowloris": slowloris, "flood": flood}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attacked_listener_still_ends_by_the_deadline_and_frees_the_port(
    sso_session: CognitoSession, clock: ManualClock, callback: str, attack: str
) -> None:
    with contextlib.ExitStack() as stack:

        def never_signs_in(url: str) -> bool:
            stack.enter_context(ATTACKS[attack](port_of(callback)))
            time.sleep(0.5)  # let the listener take the connection (not a timing assertion)
            clock.advance(TIMEOUT + 1)  # the user never comes back
            return True

        error = run_sign_in(sso_session, never_signs_in)

        assert isinstance(error, AuthError) and "No sign-in came back" in str(error), error
        assert "Sign in again" in (error.recovery_suggestion or "")
        assert_port_released(port_of(callback))  # even while the attacker still holds on


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_browser_gets_through_an_attacked_listener(
    sso_session: CognitoSession, hosted, callback: str, attack: str
) -> None:
    with contextlib.ExitStack() as stack:
        browser = Browser(
            hosted, before_callback=lambda _: stack.enter_context(ATTACKS[attack](port_of(callback)))
        )
        assert run_sign_in(sso_session, browser.open) is None
    assert browser.callback_status == 200 and sso_session.is_signed_in
    assert_port_released(port_of(callback))


# Another local user listening on [::1]:PORT (what a browser may try first for "localhost").
SQUAT = """
import os, socket, sys
port, uid = int(sys.argv[1]), int(sys.argv[2])
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
try:
    sock.bind(("::1", port))
    sock.listen(8)
    print("squatting", flush=True)
except OSError as error:
    print("refused", error.errno, flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def squatter(port: int) -> Iterator[str]:
    """A process, as another uid when we are root, that tries to listen on [::1]:port."""
    uid = other_uid()
    process = subprocess.Popen(
        [sys.executable, "-I", "-c", SQUAT, str(port), str(-1 if uid is None else uid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.communicate()


def test_localhost_is_held_on_both_loopback_addresses_while_signing_in(
    sso_session: CognitoSession, hosted, callback: str
) -> None:
    squatted: list[str] = []

    def try_to_squat(final: str) -> None:
        with squatter(port_of(callback)) as outcome:
            squatted.append(outcome)

    browser = Browser(hosted, before_callback=try_to_squat)
    assert run_sign_in(sso_session, browser.open) is None
    assert squatted and squatted[0].startswith("refused"), squatted  # [::1]:PORT was ours


def test_a_squatted_ipv6_loopback_port_is_refused_with_a_clear_error(
    sso_session: CognitoSession, callback: str
) -> None:
    port = port_of(callback)
    with squatter(port) as outcome:
        assert outcome == "squatting"
        error = run_sign_in(sso_session, lambda url: pytest.fail("the browser must not open"))  # type: ignore[arg-type,return-value]
    assert isinstance(error, ConfigurationError), error
    message = str(error)
    assert f"[::1]:{port}" in message and "another process" in message
    assert "redirect_uri" in (error.recovery_suggestion or "")
    assert_port_released(port)  # the 127.0.0.1 side it took first is given back
