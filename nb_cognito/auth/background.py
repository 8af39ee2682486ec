"""The one background thread that refreshes a session before anything expires.

The session tells it *when* (``next_due``) and *how* (``refresh_due``); the refresher only
waits on the injected clock and calls back. A failed refresh is retried with bounded,
jittered exponential backoff (the session's :class:`~nb_cognito.auth.policy.RefreshPolicy`);
only the end of the session (expired or signed out) stops the thread.
The thread is a daemon, so it never keeps the interpreter alive, and a forked child starts
without one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from nb_cognito import forksafe
from nb_cognito.auth.policy import DEFAULT_POLICY, RefreshPolicy
from nb_cognito.clock import Clock
from nb_cognito.exceptions import AuthError, SessionExpiredError, SignedOutError

__all__ = ["BackgroundRefresher"]

log = logging.getLogger("nb_cognito.auth.background")


class BackgroundRefresher:
    """Calls ``refresh_due()`` at the local time ``next_due()`` returns (None: nothing to do)."""

    def __init__(
        self,
        *,
        clock: Clock,
        next_due: Callable[[], float | None],
        refresh_due: Callable[[], None],
        policy: RefreshPolicy = DEFAULT_POLICY,
        name: str = "nb-cognito-refresher",
    ) -> None:
        self._clock = clock
        self._policy = policy
        self._next_due = next_due
        self._refresh_due = refresh_due
        self._name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = forksafe.Lock()
        self._failures = 0
        self._retry_at: float | None = None
        self.last_error: AuthError | None = None
        forksafe.register(self)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def retrying(self) -> bool:
        """A failed refresh is waiting to be retried."""
        return self._retry_at is not None

    @property
    def lock_free(self) -> bool:
        """No other thread holds the refresher's lock right now (a forked child: always)."""
        if not self._lock.acquire(blocking=False):
            return False
        self._lock.release()
        return True

    @property
    def next_attempt(self) -> float | None:
        """Local time of the next planned refresh, if any."""
        return self._retry_at if self._retry_at is not None else self._next_due()

    def start(self) -> None:
        """Start the thread if it is not running (idempotent)."""
        with self._lock:
            if self.running:
                self.poke()
                return
            self._stop.clear()
            self._wake.clear()
            self._failures, self._retry_at = 0, None
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Re-read ``next_due`` now (the session changed)."""
        self._failures, self._retry_at = 0, None
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (unless called from the thread itself)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            due = self._retry_at if self._retry_at is not None else self._next_due()
            if due is None:
                self._wake.wait()
                self._wake.clear()
                continue
            if self._clock.wait_until(due, self._wake):
                self._wake.clear()
                continue
            if self._stop.is_set():
                return
            self._attempt()

    def _attempt(self) -> None:
        try:
            self._refresh_due()
        except AuthError as error:
            self.last_error = error
            if isinstance(error, SessionExpiredError | SignedOutError):  # the session has ended
                log.info("Background refresh stopped: %s", error)
                self._retry_at = None
                self._stop.set()
                return
            # Anything else (a transient fault, a malformed answer) is never a reason to stop
            # for good: retry, sooner for a retryable error, after the longest pause otherwise.
            self._failures += 1
            delay = self._policy.background_delay(self._failures, retryable=error.retryable)
            self._retry_at = self._clock.time() + delay
            log.warning("Background refresh failed (%s); retrying in %.0f s.", error, delay)
        except Exception:  # never let the thread die silently on a bug
            log.exception("Unexpected error in the background refresh; retrying later.")
            self._failures += 1
            self._retry_at = self._clock.time() + self._policy.max_backoff
        else:
            self._failures, self._retry_at, self.last_error = 0, None, None
            due = self._next_due()
            if due is not None and due <= self._clock.time():
                # The refresh left nothing later to wait for: never spin, look again shortly.
                self._retry_at = self._clock.time() + 1.0

    def after_fork_in_child(self) -> None:
        # The thread does not exist in the child; let the next start() make a new one.
        self._thread = None
        self._wake = threading.Event()
        self._stop = threading.Event()
