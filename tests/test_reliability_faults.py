"""Transient faults during a refresh, and a refresher that answers with bad credentials.

Faults come from the fault proxy between the client and the emulator: throttling
(``TooManyRequestsException``), a 5xx, a dropped connection, a server slower than
``network_timeout`` (read timeout), and a server that is down, then back. Whatever the fault,
the tokens are kept, retries are bounded (3 attempts per call, jittered backoff on the injected
clock), the error is typed and retryable, and recovery needs no user action.
"""

from __future__ import annotations

import logging

import pytest
from helpers import PASSWORD, Events, delta, refresher_idle, wait_until

from nb_cognito import exceptions as errors
from nb_cognito.local import ClientSpec, FaultMode, IdentityPoolSpec, LocalSpec, UserSpec
from nb_cognito.models import AuthEvent

FAULTS = ["throttle", "5xx", "drop", "timeout", "down"]
ATTEMPTS = 3  # aws_calls.call's bound for a refresh
TIMEOUT = 0.25  # network_timeout while the server is slow; the proxy holds requests twice as long


def inject(fault_proxy, fault: str, target: str = "GetTokensFromRefreshToken", session=None) -> None:
    if fault == "down":
        fault_proxy.set_down(True)
    elif fault == "timeout":  # a short network_timeout only while the server is slow
        session.configure(network_timeout=TIMEOUT)
        fault_proxy.inject("delay", target=target, times=None, delay=TIMEOUT * 2)
    else:
        fault_proxy.inject(fault, target=target, times=None)


def heal(fault_proxy, session) -> None:
    fault_proxy.clear()
    session.configure(network_timeout=10.0)


def attempts_seen(fault_proxy, fault: str, target: str = "GetTokensFromRefreshToken") -> int | None:
    """Requests that met the fault (None when the port was closed: nothing to count)."""
    return None if fault == "down" else fault_proxy.fault_counts()[target]


@pytest.fixture
def signed_in(make_session, proxied_settings):
    def make(**options):
        session = make_session(proxied_settings, **options)
        session.sign_in("alice", PASSWORD)
        return session

    return make


@pytest.mark.parametrize("fault", FAULTS)
def test_expired_tokens_and_a_fault_give_a_retryable_error_and_the_next_call_recovers(
    signed_in, fault_proxy, local, clock, fault
):
    session = signed_in()
    refresh_token = session.fetch_auth_session().user_pool_tokens_result.unwrap().refresh_token
    events = Events(session, AuthEvent.TOKEN_REFRESH_FAILURE, AuthEvent.SESSION_EXPIRED)
    clock.advance(60 * 60 + 5)  # tokens and credentials expired: the mandatory case
    inject(fault_proxy, fault, session=session)
    sleeps = len(clock.sleeps)
    at_fault = local.request_counts()

    for call in (1, 2):
        with pytest.raises(errors.ServiceUnavailableError) as caught:
            session.current_credentials()
        assert caught.value.retryable
        assert "sign in" not in str(caught.value).lower()  # not a "sign in again" error
        if fault != "down":
            assert attempts_seen(fault_proxy, fault) == ATTEMPTS * call, "retries are bounded"
    backoffs = clock.sleeps[sleeps:]
    assert len(backoffs) == 2 * (ATTEMPTS - 1)
    assert all(0 <= s <= 0.2 * 2**i for s, i in zip(backoffs, [0, 1, 0, 1], strict=True))
    assert len(set(backoffs)) == len(backoffs), "the backoff is jittered"

    assert session.is_signed_in and events.count(AuthEvent.SESSION_EXPIRED) == 0
    assert session.describe().state.tokens.refresh_token == refresh_token  # the refresh token is kept
    auth = session.fetch_auth_session()
    assert auth.is_signed_in
    assert isinstance(auth.user_pool_tokens_result.error, errors.ServiceUnavailableError)

    if fault == "timeout":  # the proxy still passes on what it held after the client gave up
        held = fault_proxy.fault_counts()["GetTokensFromRefreshToken"]
        assert wait_until(lambda: delta(local, at_fault, "GetTokensFromRefreshToken") == (held,))
    heal(fault_proxy, session)
    before = local.request_counts()
    creds = session.current_credentials()  # no sticky error: the next call just works
    assert creds.expiration.timestamp() > local.clock.time() + 50 * 60
    assert delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (1, 1)
    assert session.status().last_error is None


@pytest.mark.parametrize("fault", ["throttle", "down"])
def test_advisory_window_fault_warns_keeps_the_old_credentials_and_retries_later(
    signed_in, fault_proxy, local, clock, caplog, fault
):
    session = signed_in()
    old = session.current_credentials()
    clock.advance(56 * 60)  # 4 min left: advisory
    inject(fault_proxy, fault, session=session)

    with caplog.at_level(logging.WARNING, logger="nb_cognito"):
        assert session.current_credentials() is old  # no error: the old ones are still valid
    assert any("advisory" in r.getMessage() for r in caplog.records if r.name.startswith("nb_cognito"))
    failed = attempts_seen(fault_proxy, fault)
    for _ in range(5):  # within the retry pause: memory reads, no hammering
        clock.advance(2)
        assert session.current_credentials() is old
    assert attempts_seen(fault_proxy, fault) == failed

    fault_proxy.clear()
    clock.advance(30)  # past the retry pause, still before the mandatory window
    before = local.request_counts()
    new = session.current_credentials()
    assert new != old and delta(local, before, "GetTokensFromRefreshToken") == (1,)


@pytest.mark.parametrize("fault", FAULTS)
def test_background_refresher_recovers_by_itself_once_the_fault_clears(
    signed_in, fault_proxy, local, clock, fault
):
    session = signed_in(auto_refresh=True)
    first = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    events = Events(
        session, AuthEvent.TOKEN_REFRESH, AuthEvent.TOKEN_REFRESH_FAILURE, AuthEvent.SESSION_EXPIRED
    )
    inject(fault_proxy, fault, session=session)
    clock.advance(56 * 60)  # past the planned background refresh

    assert events.wait(AuthEvent.TOKEN_REFRESH_FAILURE), "the background refresh was not attempted"
    assert wait_until(lambda: session.describe().background_retrying)
    assert session.describe().background_running
    assert session.fetch_auth_session().user_pool_tokens_result.unwrap() == first  # tokens kept
    if fault != "down":
        assert attempts_seen(fault_proxy, fault) == ATTEMPTS  # one bounded call, then a pause

    heal(fault_proxy, session)
    retry_at = session.describe().next_attempt
    assert 0 < retry_at - clock.time() <= 2.0  # jittered backoff: 2 s * [0.5, 1) after one failure
    clock.advance(retry_at - clock.time() + 0.01)
    assert events.wait(AuthEvent.TOKEN_REFRESH), "no recovery without user action"
    assert wait_until(lambda: refresher_idle(session))
    assert events.count(AuthEvent.SESSION_EXPIRED) == 0
    status = session.status()
    assert status.last_error is None and status.auto_refresh  # no sticky error
    assert session.fetch_auth_session().user_pool_tokens_result.unwrap().expiration > first.expiration


def test_throttled_identity_pool_keeps_the_tokens_and_recovers(signed_in, fault_proxy, local, clock):
    session = signed_in()
    tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    clock.advance(60 * 60 + 5)
    inject(fault_proxy, "throttle", target="GetCredentialsForIdentity")
    auth = session.fetch_auth_session()
    assert auth.user_pool_tokens_result.is_success  # the token refresh itself worked
    assert isinstance(auth.aws_credentials_result.error, errors.ServiceUnavailableError)
    assert attempts_seen(fault_proxy, "throttle", "GetCredentialsForIdentity") == ATTEMPTS
    assert auth.user_pool_tokens_result.unwrap().refresh_token == tokens.refresh_token
    fault_proxy.clear()
    assert session.current_credentials().expiration.timestamp() > local.clock.time()


# -- a refresher that answers with partial or already-expired credentials -------------------------
#
# Answers no healthy server gives: the emulator's named fault modes produce them.
BAD_ANSWERS = {
    "no-session-token": FaultMode.CREDENTIALS_WITHOUT_SESSION_TOKEN,
    "no-secret": FaultMode.CREDENTIALS_WITHOUT_SECRET_KEY,
    "blank-key": FaultMode.CREDENTIALS_BLANK_ACCESS_KEY,
    "no-expiration": FaultMode.CREDENTIALS_WITHOUT_EXPIRATION,
    "garbage-expiration": FaultMode.CREDENTIALS_GARBAGE_EXPIRATION,
    "no-credentials": FaultMode.CREDENTIALS_EMPTY,
    "already-expired": FaultMode.CREDENTIALS_ALREADY_EXPIRED,
    "expires-now": FaultMode.CREDENTIALS_EXPIRING_NOW,
}


@pytest.fixture
def short_credentials(local, make_local):
    """Credentials that live 10 min, tokens 1 h: a credentials-only refresh is easy to reach."""
    return make_local(
        LocalSpec(
            identity_pool=IdentityPoolSpec(credentials_lifetime=600),
            client=ClientSpec(),
            users=(UserSpec("alice", PASSWORD),),
        )
    )


@pytest.mark.parametrize("answer", list(BAD_ANSWERS))
def test_partial_or_expired_credentials_are_a_clear_error_and_change_nothing(
    short_credentials, make_session, clock, answer
):
    local = short_credentials
    session = make_session()
    session.sign_in("alice", PASSWORD)
    events = Events(session, AuthEvent.CREDENTIALS_REFRESH, AuthEvent.SESSION_EXPIRED)
    state = session.describe().state
    local.faults.enable(BAD_ANSWERS[answer])

    clock.advance(9 * 60 + 50)  # 10 s left of 10 min: mandatory, but still valid
    assert session.current_credentials() is state.credentials  # MSAL: aging + failure -> old ones
    assert session.describe().state.credentials is state.credentials

    clock.advance(20)  # now expired: the failure must surface, typed and readable
    with pytest.raises(errors.AuthError) as caught:
        session.current_credentials()
    message = str(caught.value)
    assert "credentials" in message.lower()
    assert not isinstance(caught.value, errors.SessionExpiredError | errors.SignedOutError)
    after = session.describe().state
    assert after.credentials is state.credentials  # the previous state is unchanged
    assert after.tokens is state.tokens and after.identity_id == state.identity_id
    assert events.count(AuthEvent.CREDENTIALS_REFRESH) == 0
    assert events.count(AuthEvent.SESSION_EXPIRED) == 0 and session.is_signed_in
    auth = session.fetch_auth_session()
    assert auth.user_pool_tokens_result.is_success
    assert isinstance(auth.aws_credentials_result.error, errors.AuthError)


def test_background_refresher_survives_a_bad_answer_and_recovers(short_credentials, make_session, clock):
    local = short_credentials
    session = make_session(auto_refresh=True)
    session.sign_in("alice", PASSWORD)
    events = Events(session, AuthEvent.CREDENTIALS_REFRESH)
    local.faults.enable(BAD_ANSWERS["no-session-token"])
    old = session.current_credentials()

    # Past the planned background refresh of the credentials (at most 9 min: 10 % of their 600 s
    # early), plus the second the Date header's whole seconds can put on the measured drift.
    clock.advance(9 * 60 + 2)
    assert wait_until(lambda: session.describe().background_retrying), "no background attempt"
    assert session.describe().background_running, "a bad answer is no reason to stop refreshing for good"
    assert session.current_credentials() is old

    local.faults.disable(BAD_ANSWERS["no-session-token"])
    retry_at = session.describe().next_attempt
    assert 0 < retry_at - clock.time() <= 60  # a later retry, after the longest pause
    clock.advance(retry_at - clock.time() + 0.01)
    assert events.wait(AuthEvent.CREDENTIALS_REFRESH)
    assert events.count(AuthEvent.CREDENTIALS_REFRESH) == 1
    assert session.current_credentials() != old
    assert session.status().last_error is None
