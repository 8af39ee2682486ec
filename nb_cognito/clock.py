"""The one clock seam.

Everything in nb_cognito that asks "what time is it?" or "wake me at T" goes through a
:class:`Clock`. Production uses :class:`SystemClock`; tests and benchmarks pass a
:class:`ManualClock` and move time with :meth:`ManualClock.advance`, so that an hour of
token life takes no real time. The offline emulator accepts the same clock, so the server
and the client agree on what "now" is.

A wall clock can step (an NTP correction, a VM restored from a snapshot); a monotonic one
cannot. :class:`SteadyClock` reads the wall clock anchored to the monotonic one, so that a
step after the last contact with the server changes no expiry decision;
:meth:`ManualClock.step_wall` lets tests step the wall clock alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SteadyClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in epoch seconds, and waiting for a moment on that clock."""

    def time(self) -> float:
        """Seconds since the epoch (the wall clock: it may step)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never steps and keeps counting while the machine sleeps."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of this clock's time."""

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:
        """Block until ``time() >= deadline`` or ``wake`` is set; True if woken early."""

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Block for ``seconds`` of monotonic time or until ``wake`` is set; True if woken early."""


# Monotonic seconds that keep counting while the machine sleeps (a suspended laptop must see
# its tokens expire): Linux counts suspend only in CLOCK_BOOTTIME; macOS's CLOCK_MONOTONIC
# counts it (time.monotonic uses mach_absolute_time there, which does not); else time.monotonic.
_MONOTONIC_ID: int | None = getattr(time, "CLOCK_BOOTTIME", getattr(time, "CLOCK_MONOTONIC", None))


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.clock_gettime(_MONOTONIC_ID) if _MONOTONIC_ID is not None else time.monotonic()

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

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        return wake.wait(max(0.0, seconds))  # Event.wait counts monotonic time


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that only moves when told to; thread-safe.

    ``sleep`` advances the clock (time passes while you wait) and returns at once.
    Threads blocked in :meth:`wait_until` re-check their deadline on every :meth:`advance`.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._mono = 1_000.0
        self._stepped = 0.0
        self._lock = threading.Lock()
        self._waiters: set[threading.Event] = set()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def true_time(self) -> float:
        """The wall time without the steps of :meth:`step_wall`: what a server elsewhere reads."""
        return self._now - self._stepped

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter so it can check its deadline."""
        with self._lock:
            self._now += seconds
            self._mono += max(0.0, seconds)
            waiters = list(self._waiters)
        self._wake(waiters)

    def step_wall(self, seconds: float) -> None:
        """Step the wall clock alone (an NTP step, a restored VM): monotonic time stands still."""
        with self._lock:
            self._now += seconds
            self._stepped += seconds
            waiters = list(self._waiters)
        self._wake(waiters)

    @staticmethod
    def _wake(waiters: list[threading.Event]) -> None:
        for event in waiters:
            event.set()

    def set(self, timestamp: float) -> None:
        """Jump to an absolute time (forward or backward; monotonic time only moves forward)."""
        self.advance(timestamp - self._now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.advance(seconds)

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:
        return self._wait_for(lambda: self._now >= deadline, wake)

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        end = self._mono + seconds
        return self._wait_for(lambda: self._mono >= end, wake)

    def _wait_for(self, done: Callable[[], bool], wake: threading.Event) -> bool:
        tick = threading.Event()
        with self._lock:
            self._waiters.add(tick)
        try:
            while not done():
                if wake.is_set():
                    return True
                # Poll the wake event a few times a second; advance() sets ``tick`` at once.
                tick.wait(0.05)
                tick.clear()
            return wake.is_set()
        finally:
            with self._lock:
                self._waiters.discard(tick)


class SteadyClock:
    """``inner``'s wall time, never behind the monotonic time elapsed since :meth:`anchor`.

    :meth:`time` is the later of the wall clock and "the wall time at the last anchor plus the
    monotonic seconds since": a wall clock stepped back cannot make expired values look fresh,
    and one stepped forward only makes a refresh come early (the server's answer then sets the
    new anchor and drift). The session anchors at every sign-in and token refresh, where the
    drift from the server is measured.
    """

    def __init__(self, inner: Clock) -> None:
        self.inner = inner
        self._wall = inner.time()
        self._mono = inner.monotonic()

    def anchor(self) -> float:
        """Take the wall clock as it is now (after a contact with the server); returns it."""
        wall, mono = self.inner.time(), self.inner.monotonic()
        self._wall, self._mono = wall, mono
        return wall

    def time(self) -> float:
        steady = self._wall + (self.inner.monotonic() - self._mono)
        return max(self.inner.time(), steady)

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        return self.inner.wait(seconds, wake)

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:
        """Block until :meth:`time` reaches ``deadline`` or ``wake`` is set (re-checked each step)."""
        while True:
            remaining = deadline - self.time()
            if remaining <= 0:
                return wake.is_set()
            # Wait in monotonic seconds, at most a minute at a time, then look again: a step
            # of the wall clock meanwhile changes what remains.
            if self.inner.wait(min(remaining, 60.0), wake):
                return True
