"""One policy for every wait: the refresh windows, a call's retries and the background backoff.

Each wait nb_cognito makes is read from one :class:`RefreshPolicy`: when a token enters its
advisory and mandatory windows, how long the callers wait after a failed advisory refresh,
how an AWS call backs off between attempts (:func:`nb_cognito.auth.aws_calls.call`), and how
the background refresher backs off after a failure (:mod:`nb_cognito.auth.background`).
The random source of every jitter is a constructor argument, as the clock is: a test pins
the jitter by passing its own source, never by patching the process-wide ``random`` module.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["RandomSource", "RefreshPolicy"]


class RandomSource(Protocol):
    """What the policy draws jitter from: a :class:`random.Random` or anything with ``uniform``."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class RefreshPolicy:
    """When to refresh something that lives ``lifetime`` seconds, and how to retry on failure.

    The advisory lead is 10 % of the lifetime, capped at ``max_lead`` (5 min for 1-hour
    tokens, 30 s for 5-minute ones), so short lifetimes never cause refresh storms and 1-hour
    tokens are refreshed about once an hour. The mandatory lead is 40 % of that.
    The background refresher starts up to ``jitter`` (a fraction) of each lead earlier. After a failed
    advisory refresh, callers are served from memory for ``retry_fraction`` of the lead (at
    most ``max_retry_delay``) before one of them tries again.

    An AWS call makes ``call_attempts`` attempts in all; attempt n waits a full-jitter
    ``uniform(0, min(call_max_delay, call_base_delay * 2**n))`` before the next. The background
    refresher waits ``min(max_backoff, 2**failures)`` seconds times ``uniform(0.5, 1)`` after a
    retryable failure, and about ``max_backoff`` after any other.
    """

    fraction: float = 0.10
    max_lead: float = 300.0
    min_lead: float = 1.0
    mandatory_fraction: float = 0.4
    jitter: float = 0.2
    retry_fraction: float = 0.25
    max_retry_delay: float = 30.0
    call_attempts: int = 3
    call_base_delay: float = 0.2
    call_max_delay: float = 5.0
    max_backoff: float = 60.0
    rng: RandomSource = field(default_factory=random.Random, repr=False, compare=False)

    # -- the refresh windows ---------------------------------------------------------------------

    def lead(self, lifetime: float) -> float:
        return max(self.min_lead, min(self.max_lead, lifetime * self.fraction))

    def mandatory_lead(self, lifetime: float) -> float:
        return self.lead(lifetime) * self.mandatory_fraction

    def retry_delay(self, lifetime: float) -> float:
        """How long a failed advisory refresh waits before the next caller tries again."""
        return min(self.max_retry_delay, self.lead(lifetime) * self.retry_fraction)

    def head_start(self) -> float:
        """The fraction of each lead the background refresh starts early, drawn per token generation."""
        return self.rng.uniform(0, self.jitter)

    # -- retries ------------------------------------------------------------------------------

    def call_delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (0-based) of one AWS call."""
        return self.rng.uniform(0, min(self.call_max_delay, self.call_base_delay * 2**attempt))

    def background_delay(self, failures: int, *, retryable: bool) -> float:
        """The background refresher's wait after ``failures`` failures in a row."""
        base = 2.0**failures if retryable else self.max_backoff
        return min(self.max_backoff, base) * self.rng.uniform(0.5, 1.0)


DEFAULT_POLICY = RefreshPolicy()
