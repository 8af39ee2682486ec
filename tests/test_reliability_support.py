"""Shared helpers of the reliability suite (``tests/test_reliability_*.py``); no tests here.

Everything talks HTTP to the offline Cognito (``local``), through the ``fault_proxy`` when a
test needs faults; time is the injected ``clock``. Real waiting happens only for background
threads, always on an Event/Condition with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nb_cognito.auth.session import CognitoSession
from nb_cognito.models import AuthEvent, AWSCredentials

PASSWORD = "Alice-Passw0rd!"
WAIT = 15.0  # seconds of real time a background thread gets before a test gives up

Triple = tuple[str, str, str]


def triple(creds: AWSCredentials) -> Triple:
    return (creds.access_key_id, creds.secret_access_key, creds.session_token)


@pytest.fixture
def make_session(local: Any, clock: Any) -> Iterator[Callable[..., CognitoSession]]:
    """``make_session(settings=None, **options)``: a configured session on the test clock."""
    made: list[CognitoSession] = []

    def make(settings: dict[str, Any] | None = None, **options: Any) -> CognitoSession:
        options.setdefault("auto_refresh", False)
        session = CognitoSession(clock=clock, **options)
        session.configure(**(settings if settings is not None else local.settings.as_config()))
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()
        with contextlib.suppress(Exception):
            session.sign_out()


@pytest.fixture
def proxied_settings(local: Any, fault_proxy: Any) -> dict[str, Any]:
    """The emulator's settings with every client call going through the fault proxy."""
    return {**local.settings.as_config(), "endpoint_url": fault_proxy.url}


@pytest.fixture
def issued(emulator: Any) -> Iterator[set[Triple]]:
    """Every (key, secret, token) the emulator vends, recorded by the server as it issues them."""
    triples: set[Triple] = set()
    lock = threading.Lock()

    def record(event: Any) -> None:
        if event.kind == "credentials_issued":
            with lock:
                triples.add(event.credentials)

    unsubscribe = emulator.subscribe(record)
    yield triples
    unsubscribe()


class Events:
    """Records a session's events (with the real monotonic time) and waits for them."""

    def __init__(self, session: CognitoSession, *events: AuthEvent) -> None:
        self.payloads: dict[AuthEvent, list[Any]] = {event: [] for event in events}
        self.times: dict[AuthEvent, list[float]] = {event: [] for event in events}
        self._changed = threading.Condition()
        for event in events:
            session.on(event, lambda payload, event=event: self._record(event, payload))

    def _record(self, event: AuthEvent, payload: Any) -> None:
        with self._changed:
            self.payloads[event].append(payload)
            self.times[event].append(time.monotonic())
            self._changed.notify_all()

    def count(self, event: AuthEvent) -> int:
        with self._changed:
            return len(self.payloads[event])

    def wait(self, event: AuthEvent, count: int = 1, timeout: float = WAIT) -> bool:
        """True once ``event`` was seen ``count`` times in all (False after ``timeout``)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.payloads[event]) >= count, timeout)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Wait (real time, bounded) for a background thread to make ``predicate`` true."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.002)
    return True


def refresher_idle(session: CognitoSession) -> bool:
    """No refresh in flight and the background refresher's next attempt lies in the future."""
    if session._flight is not None:
        return False
    due = session._refresher.next_attempt
    return due is None or due > session.clock.time()


class CountingRefresh:
    """Wraps ``session._do_refresh``: how many refreshes ran, and the most at once."""

    def __init__(self, session: CognitoSession) -> None:
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._original = session._do_refresh
        session._do_refresh = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._original(*args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


def delta(local: Any, before: Any, *actions: str) -> tuple[int, ...]:
    """Requests the emulator received since ``before`` (a ``request_counts()``), per action."""
    now = local.request_counts()
    return tuple(now.get(action, 0) - before.get(action, 0) for action in actions)


def run_threads(count: int, work: Callable[[int], None], timeout: float = 60.0) -> None:
    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
