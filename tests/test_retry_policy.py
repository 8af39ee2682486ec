"""One retry policy, one injected random source: the refresh window's head start, a call's
backoff and the background refresher's backoff all draw from the session's ``RefreshPolicy``.

A test pins the jitter by giving the session its own source, never by patching ``random``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import PASSWORD, Events, wait_until

from nb_cognito import exceptions as errors
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.models import AuthEvent

PACKAGE = Path(__file__).resolve().parent.parent / "nb_cognito"


class Fixed:
    """A random source that draws ``fraction`` of each range and records the ranges asked for."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return low + (high - low) * self.fraction


def test_the_policy_formulas_read_the_injected_source():
    policy = RefreshPolicy(rng=Fixed(1.0))
    assert policy.head_start() == policy.jitter
    assert [policy.call_delay(n) for n in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert policy.background_delay(1, retryable=True) == 2.0
    assert policy.background_delay(9, retryable=True) == policy.max_backoff
    assert policy.background_delay(1, retryable=False) == policy.max_backoff
    low = RefreshPolicy(rng=Fixed(0.0))
    assert low.head_start() == 0.0 and low.call_delay(3) == 0.0
    assert low.background_delay(1, retryable=True) == 1.0  # never less than half


def test_one_session_draws_every_jitter_from_its_own_source(
    make_session, proxied_settings, fault_proxy, clock
):
    source = Fixed(1.0)
    session = make_session(proxied_settings, auto_refresh=True, policy=RefreshPolicy(rng=source))
    session.sign_in("alice", PASSWORD)
    assert source.ranges == [(0, 0.2)], "the head start of the new tokens"

    # The refresh window: the background refresh starts the whole jitter (20 %) of the lead early.
    status = session.status()
    lead = (status.tokens_expiration - status.next_refresh).total_seconds()
    assert lead == pytest.approx(300 * 1.2, abs=2)  # 1-hour tokens: a 5 min lead, 20 % earlier

    # A failing call: its backoff is the policy's, drawn from the same source.
    events = Events(session, AuthEvent.TOKEN_REFRESH_FAILURE)
    fault_proxy.inject("5xx", target="GetTokensFromRefreshToken", times=None)
    sleeps = len(clock.sleeps)
    clock.advance(56 * 60)  # past the planned background refresh
    assert events.wait(AuthEvent.TOKEN_REFRESH_FAILURE)
    assert wait_until(lambda: session.status().next_refresh is not None and len(clock.sleeps) >= sleeps + 2)
    assert clock.sleeps[sleeps:] == [0.2, 0.4]  # 3 attempts, the largest full-jitter waits

    # The background refresher's backoff after one failure: 2 s times the source's 1.0.
    assert wait_until(lambda: abs(session.status().next_refresh.timestamp() - clock.time() - 2.0) < 1e-3)
    assert source.ranges[1:] == [(0, 0.2), (0, 0.4), (0.5, 1.0)]
    fault_proxy.clear()


def test_a_failed_call_waits_what_the_policy_says(make_session, proxied_settings, fault_proxy, clock):
    session = make_session(proxied_settings, policy=RefreshPolicy(rng=Fixed(0.5), call_attempts=4))
    session.sign_in("alice", PASSWORD)
    fault_proxy.inject("5xx", target="GetTokensFromRefreshToken", times=None)
    clock.advance(60 * 60 + 5)
    sleeps = len(clock.sleeps)
    with pytest.raises(errors.ServiceUnavailableError):
        session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.unwrap()
    assert clock.sleeps[sleeps:] == [0.1, 0.2, 0.4]  # call_attempts=4: three waits, half of each cap
    assert fault_proxy.fault_counts()["GetTokensFromRefreshToken"] == 4


def test_no_module_but_the_policy_draws_from_the_process_wide_random():
    """Every jitter goes through the injected source: only ``auth/policy.py`` imports ``random``
    (the emulator, which plays AWS, is not nb_cognito's client side)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "auth/policy.py" or relative.startswith("local/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if "random" in names:
                offenders.append(relative)
    assert not offenders, f"these modules use the process-wide random source: {offenders}"
