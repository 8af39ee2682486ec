"""Definitive failures end the session exactly once, with one clear error for everyone.

The refresh token is revoked (a global sign-out from another client), it expires, or the user
is disabled, deleted or has the password reset by an administrator. Then ``SESSION_EXPIRED``
fires once, every thread waiting on the refresh gets the same "sign in again" error, nothing
is retried, and a new sign-in works afterwards.
"""

from __future__ import annotations

import threading

import pytest
from helpers import PASSWORD, Events, delta, run_threads, wait_until

from nb_cognito import exceptions as errors
from nb_cognito.local import ClientSpec, LocalSpec, UserSpec
from nb_cognito.models import AuthEvent

WAITERS = 10


def revoke(local):
    local.users.global_sign_out("alice")


def let_expire(local):
    """The spec gives the refresh token 50 min; the test then moves 59 min on."""


def disable(local):
    local.users.disable("alice")


def delete(local):
    local.users.delete("alice")


def reset_password(local):
    local.users.reset_password("alice")


CAUSES = {
    "revoked": (revoke, lambda local: None),
    "refresh-token-expired": (let_expire, lambda local: None),
    "user-disabled": (disable, lambda local: local.users.enable("alice")),
    "user-deleted": (delete, lambda local: local.users.add(UserSpec("alice", PASSWORD))),
    "password-reset": (reset_password, lambda local: local.users.set_password("alice", PASSWORD)),
}


@pytest.fixture
def server(local, make_local, request):
    if request.node.callspec.params.get("cause") == "refresh-token-expired":
        return make_local(
            LocalSpec(client=ClientSpec(refresh_token_validity=50 * 60), users=(UserSpec("alice", PASSWORD),))
        )
    return local


@pytest.mark.parametrize("cause", list(CAUSES))
def test_definitive_failure_ends_the_session_once_with_one_error_for_every_waiter(
    server, make_session, fault_proxy, clock, cause
):
    local = server
    session = make_session({**local.settings.as_config(), "endpoint_url": fault_proxy.url})
    session.sign_in("alice", PASSWORD)
    events = Events(session, AuthEvent.SESSION_EXPIRED, AuthEvent.TOKEN_REFRESH)
    end, restore = CAUSES[cause]
    end(local)
    clock.advance(59 * 60)  # mandatory window: everyone waits for the refresh
    fault_proxy.inject("delay", target="GetTokensFromRefreshToken", delay=0.5)  # so that they really wait
    before = local.request_counts()

    barrier = threading.Barrier(WAITERS)
    seen: list[BaseException] = []

    def work(_: int) -> None:
        barrier.wait()
        try:
            session.current_credentials()
        except BaseException as error:
            seen.append(error)

    run_threads(WAITERS, work)

    assert events.count(AuthEvent.SESSION_EXPIRED) == 1
    assert len(seen) == WAITERS
    first = seen[0]
    assert all(error is first for error in seen), "every waiter gets the very same error"
    assert isinstance(first, errors.SessionExpiredError) and not first.retryable
    assert str(first).count("Sign in again") == 1, str(first)  # one clear sentence, said once
    assert events.payloads[AuthEvent.SESSION_EXPIRED][0].error is first
    assert delta(local, before, "GetTokensFromRefreshToken") == (1,), "a definitive error is never retried"
    assert events.count(AuthEvent.TOKEN_REFRESH) == 0

    # Afterwards: the same error from memory, no network, no second event.
    after = local.request_counts()
    for _ in range(3):
        with pytest.raises(errors.SessionExpiredError) as caught:
            session.current_credentials()
        assert caught.value is first
        auth = session.fetch_auth_session()
        assert auth.aws_credentials_result.error is first
        assert auth.user_pool_tokens_result.error is first
        clock.advance(60)
    assert local.request_counts() == after
    assert events.count(AuthEvent.SESSION_EXPIRED) == 1
    assert not session.is_signed_in and session.status().expired

    restore(local)
    assert session.sign_in("alice", PASSWORD).is_signed_in  # a new sign-in works afterwards
    assert session.current_credentials().expiration.timestamp() > local.clock.time()
    assert not session.status().expired


def test_definitive_failure_in_the_background_fires_once_and_stops_the_refresher(make_session, local, clock):
    session = make_session(auto_refresh=True)
    session.sign_in("alice", PASSWORD)
    events = Events(session, AuthEvent.SESSION_EXPIRED, AuthEvent.TOKEN_REFRESH_FAILURE)
    local.users.global_sign_out("alice")
    clock.advance(56 * 60)  # past the planned background refresh

    assert events.wait(AuthEvent.SESSION_EXPIRED)
    assert wait_until(lambda: not session.describe().background_running), "the refresher keeps running"
    ended = events.payloads[AuthEvent.SESSION_EXPIRED][0].error
    assert isinstance(ended, errors.SessionExpiredError)
    before = local.request_counts()
    clock.advance(10 * 60)
    for _ in range(5):
        with pytest.raises(errors.SessionExpiredError) as caught:
            session.current_credentials()
        assert caught.value is ended
    assert local.request_counts() == before
    assert events.count(AuthEvent.SESSION_EXPIRED) == 1
    assert events.count(AuthEvent.TOKEN_REFRESH_FAILURE) == 1

    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert session.describe().background_running  # a new sign-in restarts background refresh


def test_foreground_and_background_racing_into_a_revoked_token_end_the_session_once(
    make_session, local, clock
):
    session = make_session(auto_refresh=True)
    session.sign_in("alice", PASSWORD)
    events = Events(session, AuthEvent.SESSION_EXPIRED)
    local.users.global_sign_out("alice")
    clock.advance(59 * 60)  # both the background thread and the foreground threads are due
    seen: list[BaseException] = []

    def work(_: int) -> None:
        with pytest.raises(errors.SessionExpiredError) as caught:
            session.current_credentials()
        seen.append(caught.value)

    run_threads(5, work)
    assert len(seen) == 5
    assert events.wait(AuthEvent.SESSION_EXPIRED)
    assert wait_until(lambda: not session.describe().background_running)
    assert events.count(AuthEvent.SESSION_EXPIRED) == 1
    assert len({str(error) for error in seen}) == 1
