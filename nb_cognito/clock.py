"""The one clock seam.

Everything in nb_cognito that asks "what time is it?" or "wake me at T" goes through a
:class:`Clock`. Production uses :class:`SystemClock`; tests and benchmarks pass a
:class:`ManualClock` and move time with :meth:`ManualClock.advance`, so that an hour of
token life takes no real time. The offline emulator accepts the same clock, so the server
and the client agree on what "now" is.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in epoch seconds, and waiting for a moment on that clock."""

    def time(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of this clock's time."""

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:
        """Block until ``time() >= deadline`` or ``wake`` is set; True if woken early."""


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                return wake.is_set()
            # Wake at least once a minute so that a suspended laptop notices the time jump.
            if wake.wait(min(remaining, 60.0)):
                return True


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that only moves when told to; thread-safe.

    ``sleep`` advances the clock (time passes while you wait) and returns at once.
    Threads blocked in :meth:`wait_until` re-check their deadline on every :meth:`advance`.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()
        self._waiters: set[threading.Event] = set()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter so it can check its deadline."""
        with self._lock:
            self._now += seconds
            waiters = list(self._waiters)
        for event in waiters:
            event.set()

    def set(self, timestamp: float) -> None:
        """Jump to an absolute time (forward or backward)."""
        self.advance(timestamp - self._now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.advance(seconds)

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:
        tick = threading.Event()
        with self._lock:
            self._waiters.add(tick)
        try:
            while self._now < deadline:
                if wake.is_set():
                    return True
                # Poll the wake event a few times a second; advance() sets ``tick`` at once.
                tick.wait(0.05)
                tick.clear()
            return wake.is_set()
        finally:
            with self._lock:
                self._waiters.discard(tick)
