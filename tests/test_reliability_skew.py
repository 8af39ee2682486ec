"""Time: clock skew of +-5 min, the 5-minute minimum token lifetime, and no refresh loops.

The emulator's clock is the test clock plus an offset (``SkewedClock``), so one ``advance``
moves both. Hours of token life pass in steps of simulated time while the background
refresher runs for real; after each step the test waits (bounded) for the refresher to settle.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from helpers import (
    PASSWORD,
    CountingRefresh,
    Events,
    delta,
    refresher_idle,
    wait_until,
)

from nb_cognito.local import ClientSpec, IdentityPoolSpec, LocalSpec, UserSpec
from nb_cognito.models import AuthEvent

LIFETIME = 300  # the minimum Cognito allows, for ID/access tokens and the credentials here
STEP = 10.0


class SkewedClock:
    """The server's clock: ``base`` plus ``offset`` seconds (only ``time()`` is used)."""

    def __init__(self, base, offset: float) -> None:
        self.base, self.offset = base, offset

    def time(self) -> float:
        return self.base.time() + self.offset

    def sleep(self, seconds: float) -> None:  # pragma: no cover - the emulator never sleeps
        self.base.sleep(seconds)

    def wait_until(self, deadline: float, wake: threading.Event) -> bool:  # pragma: no cover
        return self.base.wait_until(deadline - self.offset, wake)


def short_lived_spec() -> LocalSpec:
    return LocalSpec(
        client=ClientSpec(access_token_validity=LIFETIME, id_token_validity=LIFETIME),
        identity_pool=IdentityPoolSpec(credentials_lifetime=LIFETIME),
        users=(UserSpec("alice", PASSWORD),),
    )


@pytest.mark.parametrize(
    ("skew", "auto_refresh"),
    [(-300, True), (0, True), (300, True), (-300, False), (300, False)],
    ids=["behind-bg", "exact-bg", "ahead-bg", "behind-lazy", "ahead-lazy"],
)
def test_two_hours_of_five_minute_tokens_under_skew(make_local, make_session, clock, skew, auto_refresh):
    local = make_local(short_lived_spec())
    server = SkewedClock(clock, skew)
    local.use_clock(server)
    session = make_session(auto_refresh=auto_refresh)
    session.sign_in("alice", PASSWORD)
    assert abs(session.describe().state.skew - skew) <= 1.0  # drift estimated from the server's iat
    events = Events(session, AuthEvent.TOKEN_REFRESH, AuthEvent.SESSION_EXPIRED)
    counter = CountingRefresh(session)
    before = local.request_counts()
    refreshed_at: list[float] = []
    session.on(AuthEvent.TOKEN_REFRESH, lambda _: refreshed_at.append(server.time()))

    for _ in range(20):  # right after sign-in: everything is fresh, so no refresh loop
        session.fetch_auth_session()
    assert delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (0, 0)

    hours = 2 * 3600
    for _ in range(int(hours / STEP)):
        clock.advance(STEP)
        if auto_refresh:
            assert wait_until(lambda: refresher_idle(session)), "the background refresher never settled"
        creds = session.current_credentials()
        tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
        now = server.time()
        assert creds.expiration.timestamp() > now, "handed out credentials the server sees as expired"
        assert tokens.expiration.timestamp() > now, "handed out tokens the server sees as expired"

    refreshes, vended = delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity")
    lifetimes = hours / LIFETIME
    assert lifetimes - 1 <= refreshes <= hours / (LIFETIME - 36 - STEP) + 1  # ~ one per lifetime
    assert vended == refreshes  # tokens and credentials refreshed together: one wake-up each
    gaps = [b - a for a, b in itertools.pairwise(refreshed_at)]
    assert min(gaps) >= LIFETIME - 36 - STEP - 1, "two refreshes within one lifetime: a storm"
    assert counter.calls <= refreshes + 2, "refresh attempts that refreshed nothing: a loop"
    assert counter.max_in_flight == 1
    assert events.count(AuthEvent.SESSION_EXPIRED) == 0
    assert delta(local, before, "GetId") == (0,)


def test_background_refresh_at_its_planned_moment_refreshes_once_without_spinning(make_session, local, clock):
    """The refresher wakes up to ``jitter`` before the advisory window; it must then refresh."""
    session = make_session(auto_refresh=True)
    session.sign_in("alice", PASSWORD)
    events = Events(session, AuthEvent.TOKEN_REFRESH)
    counter = CountingRefresh(session)
    planned = session.describe().next_attempt
    assert planned is not None
    clock.advance(planned - clock.time())  # exactly the planned moment, not a second more

    assert events.wait(AuthEvent.TOKEN_REFRESH), "the background refresher did not refresh"
    assert wait_until(lambda: refresher_idle(session))
    assert counter.calls == 1
    assert session.describe().next_attempt > clock.time() + 50 * 60  # next one: an hour later


@pytest.mark.parametrize("skew", [-300, 300])
def test_skewed_server_is_never_sent_a_token_it_sees_as_expired(make_local, make_session, clock, skew):
    """By our clock the tokens look fine; by the server's they have expired (or the reverse)."""
    local = make_local(short_lived_spec())
    server = SkewedClock(clock, skew)
    local.use_clock(server)
    session = make_session()
    session.sign_in("alice", PASSWORD)
    expires = session.fetch_auth_session().user_pool_tokens_result.unwrap().expiration.timestamp()
    clock.set(expires - skew - 5)  # 5 s left by the server's clock
    before = local.request_counts()
    creds = session.current_credentials()
    assert creds.expiration.timestamp() > server.time() + LIFETIME - 10
    assert delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (1, 1)
