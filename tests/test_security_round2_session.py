"""Issue 15, the items that live in the session core: regression tests written ahead of the fix.

They were written as ``xfail(strict=True)`` tests that failed for the reason the issue gives,
and lost the mark as the session rewrite fixed each: item 1 (the login name is recorded only
when a sign-in completes), item 3 (a steady clock), item 9 (guests fetched outside the session
lock) and item 14 (a head start drawn from each lead). Item 10's session-level story (a server
issuing NaN times) holds through ``TokenVerifier`` and the emulator's ``ID_TOKEN_EXP_*`` modes.

Everything talks HTTP to the offline Cognito (through the FaultProxy for a slow network);
time is the injected ManualClock; no boto3 or pycognito is mocked.
"""

from __future__ import annotations

import threading

import pytest
from helpers import PASSWORD, delta, refresher_idle, wait_until

from nb_cognito import exceptions as errors
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.local import ClientSpec, FaultMode, IdentityPoolSpec, LocalSpec, PoolSpec, UserSpec
from nb_cognito.models import AuthEvent, SignInStep

BOB_PASSWORD = "Bob-Passw0rd!"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"


# -- item 1: an abandoned challenge must not make a later sign_in claim that user ------------------


def test_an_abandoned_challenge_does_not_sign_in_that_user_later(make_local, make_session):
    """Alice is signed in; bob's sign-in stops at TOTP and is abandoned. A later
    ``sign_in("bob", <wrong password>)`` must ask Cognito (and fail), not return DONE."""
    local = make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("alice", PASSWORD), UserSpec("bob", BOB_PASSWORD, totp_secret=TOTP_SECRET)),
        )
    )
    session = make_session()
    session.sign_in("alice", PASSWORD)
    started = session.sign_in("bob", BOB_PASSWORD)
    assert started.next_step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE
    before = local.request_counts()

    with pytest.raises(errors.NotAuthorizedError):
        session.sign_in("bob", "Wrong-Passw0rd!")

    assert delta(local, before, "InitiateAuth") == (1,), "no network call: the claim was not checked"
    assert not (session.is_signed_in and session.get_current_user().username == "bob")


# -- item 3: a wall-clock step after sign-in never hands out what the server sees as expired -------


@pytest.mark.parametrize("step", [-2 * 3600, 2 * 3600], ids=["back-2h", "forward-2h"])
@pytest.mark.parametrize("auto_refresh", [True, False], ids=["background", "lazy"])
def test_a_wall_clock_step_after_sign_in_never_hands_out_expired_credentials(
    make_local, make_session, clock, auto_refresh, step
):
    """The local wall clock steps (an NTP step, a restored VM) while real time and the server's
    clock go on (``ManualClock.step_wall``; the emulator reads ``true_time()``). For 2.5 hours
    after, nothing handed out has expired by the server's clock, and the session never ends."""
    lifetime = 900
    local = make_local(
        LocalSpec(
            client=ClientSpec(access_token_validity=lifetime, id_token_validity=lifetime),
            identity_pool=IdentityPoolSpec(credentials_lifetime=lifetime),
            users=(UserSpec("alice", PASSWORD),),
        )
    )
    session = make_session(auto_refresh=auto_refresh)
    session.sign_in("alice", PASSWORD)
    before = local.request_counts()

    clock.step_wall(step)
    seconds = 30.0
    for _ in range(int(2.5 * 3600 / seconds)):
        clock.advance(seconds)
        if auto_refresh:  # (refresher_idle() compares its plan with the stepped wall clock)
            assert wait_until(lambda: not session.describe().in_flight), (
                "the background refresher never settled"
            )
        creds = session.current_credentials()
        tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
        now = clock.true_time()
        assert creds.expiration.timestamp() > now, "handed out credentials the server sees as expired"
        assert tokens.expiration.timestamp() > now, "handed out tokens the server sees as expired"
    assert session.is_signed_in
    refreshes, fetches = delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity")
    assert refreshes <= 2.5 * 3600 / (0.75 * lifetime) + 2, f"{refreshes} refreshes: a loop"
    assert fetches <= 2.5 * 3600 / (0.75 * lifetime) + 2, f"{fetches} credential fetches: a loop"


# -- item 9: guest credentials are not fetched under the session lock -----------------------------


def test_a_slow_guest_fetch_does_not_block_on_or_sign_out(make_local, make_session, fault_proxy):
    local = make_local(
        LocalSpec(
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(allow_unauthenticated=True),
        )
    )
    session = make_session(
        {**local.settings.as_config(), "endpoint_url": fault_proxy.url, "allow_guest": True}
    )
    fault_proxy.inject("delay", target="GetId", delay=6.0)
    fetching = threading.Thread(target=session.fetch_auth_session, daemon=True)
    fetching.start()
    assert wait_until(lambda: fault_proxy.fault_counts()["GetId"] >= 1), "the guest fetch never started"

    done = threading.Event()

    def subscribe_and_sign_out() -> None:
        session.on(AuthEvent.SIGNED_IN, lambda _: None)
        session.sign_out()
        done.set()

    threading.Thread(target=subscribe_and_sign_out, daemon=True).start()
    # A bound, not a speed measurement: the network takes 6 s; the lock must not be held for it.
    assert done.wait(3.0), "on()/sign_out() waited for the guest credentials' network call"
    fetching.join(15)


# -- item 10: a server issuing NaN times is a typed error at sign-in ------------------------------


@pytest.mark.parametrize(
    "mode",
    [
        FaultMode.ID_TOKEN_EXP_NAN,
        FaultMode.ID_TOKEN_EXP_INFINITY,
        FaultMode.ID_TOKEN_EXP_HUGE,
        FaultMode.ID_TOKEN_EXP_TRUE,
    ],
)
def test_a_server_issuing_absurd_times_is_a_typed_error_at_sign_in(make_session, local, mode):
    session = make_session()
    local.faults.enable(mode)

    with pytest.raises(errors.TokenValidationError, match="exp"):
        session.sign_in("alice", PASSWORD)

    assert not session.is_signed_in and session.describe().state is None


# -- item 14: no refresh storm, whatever the ratio of token to credential lifetime -----------------


@pytest.mark.parametrize(
    ("token_lifetime", "credentials_lifetime"),
    [(3600, 30), (3600, 60), (3600, 120)],
    ids=["1h-30s", "1h-60s", "1h-2min"],
)
def test_no_refresh_storm_when_credentials_live_shorter_than_the_head_start(
    make_local, make_session, clock, token_lifetime, credentials_lifetime
):
    _no_storm(make_local, make_session, clock, token_lifetime, credentials_lifetime)


@pytest.mark.parametrize(
    ("token_lifetime", "credentials_lifetime"),
    [(300, 30), (300, 3600), (3600, 3600), (3600, 43_200), (86_400, 300)],
    ids=["5min-30s", "5min-1h", "1h-1h", "1h-12h", "1d-5min"],
)
def test_no_refresh_storm_for_the_other_ratios(
    make_local, make_session, clock, token_lifetime, credentials_lifetime
):
    _no_storm(make_local, make_session, clock, token_lifetime, credentials_lifetime)


class _Largest:
    """A random source that always draws the largest value: the worst case of every jitter."""

    def uniform(self, low: float, high: float) -> float:
        return high


def _no_storm(make_local, make_session, clock, token_lifetime, credentials_lifetime) -> None:
    """Four of the shorter lifetimes with the background refresher: about one refresh per lifetime.

    The refresher's random head start is pinned to its largest value (the worst case) through
    the session's injected random source (the policy's ``rng``): nothing process-wide is patched.
    """
    local = make_local(
        LocalSpec(
            client=ClientSpec(access_token_validity=token_lifetime, id_token_validity=token_lifetime),
            identity_pool=IdentityPoolSpec(credentials_lifetime=credentials_lifetime),
            users=(UserSpec("alice", PASSWORD),),
        )
    )
    session = make_session(auto_refresh=True, policy=RefreshPolicy(rng=_Largest()))
    session.sign_in("alice", PASSWORD)
    before = local.request_counts()
    shortest = min(token_lifetime, credentials_lifetime)
    steps = 40
    for _ in range(steps):
        clock.advance(shortest / 10)
        assert wait_until(lambda: refresher_idle(session)), "the background refresher never settled"
    window = steps * shortest / 10
    tokens, credentials = delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity")
    assert credentials <= window / (0.75 * credentials_lifetime) + 2, f"{credentials} fetches: a storm"
    assert tokens <= window / (0.75 * token_lifetime) + 2, f"{tokens} token refreshes: a storm"
    assert session.is_signed_in
