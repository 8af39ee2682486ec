"""Thread races across a refresh, after botocore's ``TestCredentialRefreshRaces``.

The refresh is slowed down by the fault proxy ("delay"), so the race is real: 50 threads are
inside ``current_credentials()`` while the one network refresh is in flight. The emulator
records every (key, secret, token) it vends (the ``issued`` fixture), so a mixed triple, one
made of fields from two refreshes, shows at once.
"""

from __future__ import annotations

import threading
import time

import pytest
from helpers import PASSWORD, CountingRefresh, Events, delta, run_threads, triple

from nb_cognito import exceptions as errors
from nb_cognito.models import AuthEvent

THREADS = 50
REFRESH_DELAY = 1.5  # real seconds the proxy holds the refresh request


@pytest.fixture
def session(issued, make_session, proxied_settings):
    session = make_session(proxied_settings)
    session.sign_in("alice", PASSWORD)
    return session


def race(session, results):
    """50 threads through a barrier into ``current_credentials()``; (triple, return time) each."""
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def work(_: int) -> None:
        barrier.wait()
        creds = session.current_credentials()
        done = time.monotonic()
        with lock:
            results.append((triple(creds), done, creds))

    run_threads(THREADS, work)


def test_advisory_window_one_refresh_and_the_others_get_the_old_credentials_at_once(
    session, local, clock, fault_proxy, issued
):
    old = session.current_credentials()
    events = Events(session, AuthEvent.TOKEN_REFRESH, AuthEvent.CREDENTIALS_REFRESH)
    clock.advance(56 * 60)  # 4 min left of 60: advisory (5 min), not mandatory (2 min)
    fault_proxy.inject("delay", target="GetTokensFromRefreshToken", delay=REFRESH_DELAY)
    before = local.request_counts()

    results: list = []
    race(session, results)

    assert delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (1, 1)
    assert events.count(AuthEvent.TOKEN_REFRESH) == 1
    refreshed_at = events.times[AuthEvent.TOKEN_REFRESH][0]
    old_ones = [r for r in results if r[0] == triple(old)]
    new_ones = [r for r in results if r[0] != triple(old)]
    assert len(new_ones) == 1, "only the thread that refreshed waits for the new credentials"
    assert len(old_ones) == THREADS - 1
    # The others returned while the refresh was still held by the proxy: they never blocked.
    assert all(done < refreshed_at for _, done, _ in old_ones)
    assert old.expiration.timestamp() > local.clock.time()  # and what they got is still valid
    assert {r[0] for r in results} <= issued
    assert session.current_credentials() == new_ones[0][2]


def test_mandatory_window_everyone_waits_for_the_one_refresh_and_gets_the_new_credentials(
    session, local, clock, fault_proxy, issued
):
    old = session.current_credentials()
    events = Events(session, AuthEvent.CREDENTIALS_REFRESH)
    clock.advance(59 * 60)  # 1 min left: mandatory
    fault_proxy.inject("delay", target="GetTokensFromRefreshToken", delay=REFRESH_DELAY)
    before = local.request_counts()

    results: list = []
    race(session, results)

    assert delta(local, before, "GetTokensFromRefreshToken", "GetCredentialsForIdentity", "GetId") == (
        1,
        1,
        0,
    )
    assert len(results) == THREADS
    assert len({r[0] for r in results}) == 1, "every thread got the same, new, triple"
    assert results[0][0] != triple(old)
    assert results[0][0] in issued
    refreshed_at = events.times[AuthEvent.CREDENTIALS_REFRESH][0]
    assert all(done >= refreshed_at for _, done, _ in results), "nobody returned before the refresh"
    assert all(c.expiration.timestamp() > local.clock.time() + 50 * 60 for _, _, c in results)


def test_no_reader_ever_sees_a_mixed_triple_across_many_refreshes(session, local, clock, issued):
    """Readers of the session and of botocore's frozen credentials, while refreshes run."""
    botocore_creds = session.boto3_session()._session.get_credentials()
    stop = threading.Event()
    seen: set = set()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def read(index: int) -> None:
        try:
            while not stop.is_set():
                if index % 2:
                    got = triple(session.current_credentials())
                else:
                    frozen = botocore_creds.get_frozen_credentials()
                    got = (frozen.access_key, frozen.secret_key, frozen.token)
                with lock:
                    seen.add(got)
                stop.wait(0.001)
        except BaseException as error:
            failures.append(error)

    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(8)]
    for reader in readers:
        reader.start()
    for round_ in range(12):
        if round_ % 3 == 0:
            session.fetch_auth_session(force_refresh=True)
        else:  # into the mandatory window: a lazy refresh the readers themselves trigger
            left = session.current_credentials().expiration.timestamp() - clock.time()
            clock.advance(left - 30)
            session.current_credentials()
    stop.set()
    for reader in readers:
        reader.join(10)

    assert failures == []
    assert len(issued) >= 13
    assert seen, "the readers read"
    assert seen <= issued, "a triple that the emulator never issued together"


def test_first_credentials_fetched_by_many_threads_call_get_id_once(
    make_session, proxied_settings, local, fault_proxy
):
    """Identity-pool calls are single-flight too (amplify-js #13499: GetId got throttled)."""
    session = make_session(proxied_settings)
    fault_proxy.inject("throttle", target="GetId", times=None)
    session.sign_in("alice", PASSWORD)  # signed in, but no AWS credentials yet
    assert not session.fetch_auth_session().aws_credentials_result.is_success
    assert fault_proxy.fault_counts()["GetId"] == 6  # bounded: 3 attempts at sign-in, 3 in the fetch
    fault_proxy.clear()
    before = local.request_counts()

    got: list = []
    run_threads(20, lambda _: got.append(triple(session.current_credentials())))

    assert delta(local, before, "GetId", "GetCredentialsForIdentity") == (1, 1)
    assert len(set(got)) == 1
    session.fetch_auth_session(force_refresh=True)
    assert delta(local, before, "GetId") == (1,)  # cached from now on


def test_force_refresh_from_many_threads_never_overlaps(session, local):
    before = local.request_counts()
    seen_errors: list = []

    def work(_: int) -> None:
        try:
            session.fetch_auth_session(force_refresh=True)
        except errors.AuthError as error:  # pragma: no cover - reported below
            seen_errors.append(error)

    counter = CountingRefresh(session)
    run_threads(10, work)
    assert seen_errors == []
    assert counter.max_in_flight == 1
    refreshes = delta(local, before, "GetTokensFromRefreshToken")[0]
    assert 1 <= refreshes == counter.calls <= 10


def test_a_reader_that_read_the_previous_users_credentials_never_hands_them_out(make_local, make_session):
    """Issue 15 item 8: a botocore read that fetched alice's credentials, then lost the race
    to a read made after bob signed in, must not write (and return) alice's key."""
    from nb_cognito.local import LocalSpec, UserSpec

    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD), UserSpec("bob", PASSWORD))))
    session = make_session(local.settings.as_config())
    session.sign_in("alice", PASSWORD)
    botocore_creds = session.boto3_session()._session.get_credentials()
    session.fetch_auth_session(force_refresh=True)  # alice's second set: unseen by botocore yet
    read, release = threading.Event(), threading.Event()
    ask = session.current_credentials

    def slow_for_the_first_reader():  # the first reader stalls right after reading alice's
        creds = ask()
        if threading.current_thread().name == "first-reader" and not read.is_set():
            read.set()
            release.wait(10)
        return creds

    session.current_credentials = slow_for_the_first_reader  # our own object: no AWS mock
    returned = {}
    first = threading.Thread(
        target=lambda: returned.update(first=botocore_creds.get_frozen_credentials()), name="first-reader"
    )
    first.start()
    assert read.wait(10)
    session.sign_in("bob", PASSWORD)  # bob's credentials arrive while the first reader stalls
    bob_key = ask().access_key_id
    assert botocore_creds.get_frozen_credentials().access_key == bob_key
    release.set()
    first.join(10)

    assert returned["first"].access_key == bob_key  # the newest, not the stale read
    assert botocore_creds.get_frozen_credentials().access_key == bob_key
