"""Sign-in in round trips: how many requests wait on one another, not how long they take.

Every request goes through the fault proxy with the same delay injected, and the proxy writes
down when each arrived and was answered; :func:`round_trip_depth` reads the longest chain of
requests each sent after the previous one was answered. Nothing here is timed: the delay only
makes requests sent in parallel overlap, so that they count as one level.

* a first sign-in (SRP, identity pool, a new kernel: no keys, no identity id known): InitiateAuth
  with the JWKS fetched beside it, RespondToAuthChallenge, GetId, GetCredentialsForIdentity: 4;
* a remembered session resumed in a new kernel: one token refresh, then GetCredentialsForIdentity
  with the remembered identity id: 2 (and still 2 with no JWKS on disk: it is fetched beside).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import PASSWORD

from nb_cognito import kernel, store
from nb_cognito.auth.identity import forget_identity_ids
from nb_cognito.auth.jwks import cache_directory, forget_jwks
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.local.faults import Exchange, round_trip_depth

DELAY = 0.1  # real seconds added to every request: long enough for parallel requests to overlap


@pytest.fixture
def slow(fault_proxy):
    """The fault proxy with ``DELAY`` on every request; yields it."""
    fault_proxy.inject("delay", times=None, delay=DELAY)
    return fault_proxy


def new_kernel() -> None:
    """What a new kernel does not know: the keys in memory and the identity ids."""
    forget_jwks()
    forget_identity_ids()


def actions(proxy) -> list[str]:
    return [exchange.action for exchange in sorted(proxy.exchanges(), key=lambda e: e.started)]


def test_round_trip_depth_counts_what_waits_for_what():
    """The measure itself: requests in flight together are one level; a request sent after
    another was answered is the next."""
    serial = [Exchange("a", 0, 1), Exchange("b", 1, 2), Exchange("c", 2.5, 3)]
    assert round_trip_depth(serial) == 3
    beside = [Exchange("a", 0, 1), Exchange("jwks", 0.1, 1.2), Exchange("b", 1.1, 2)]
    assert round_trip_depth(beside) == 2
    after = [Exchange("a", 0, 1), Exchange("jwks", 1.05, 1.2), Exchange("b", 1.3, 2)]
    assert round_trip_depth(after) == 3
    assert round_trip_depth([]) == 0


def test_a_first_sign_in_is_four_round_trips_with_the_keys_fetched_beside(
    new_session, local, slow, proxied_settings
):
    new_kernel()
    assert not cache_directory().exists()  # this test's own cache: no keys on disk
    session = new_session(proxied_settings)
    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert session.fetch_auth_session().aws_credentials_result.is_success
    assert sorted(actions(slow)) == sorted(
        ["InitiateAuth", "http:GET", "RespondToAuthChallenge", "GetId", "GetCredentialsForIdentity"]
    )
    assert round_trip_depth(slow.exchanges()) == 4, actions(slow)


def test_the_keys_arrive_before_the_password_proof_is_sent(new_session, local, slow, proxied_settings):
    """The pool check still comes before anything derived from the password: the JWKS answer
    precedes RespondToAuthChallenge (SRP's InitiateAuth carries only the user name and SRP_A)."""
    new_kernel()
    session = new_session(proxied_settings)
    session.sign_in("alice", PASSWORD)
    by_action = {exchange.action: exchange for exchange in slow.exchanges()}
    assert by_action["http:GET"].ended <= by_action["RespondToAuthChallenge"].started


def _remember_then_restart(make, slow, *, keep_jwks_on_disk: bool):
    first = make()
    assert first.sign_in("alice", PASSWORD).is_signed_in
    assert first.fetch_auth_session().identity_id_result.is_success
    first.close()  # the kernel goes away; the entry stays
    new_kernel()
    if not keep_jwks_on_disk:
        shutil.rmtree(cache_directory())
    slow.clear()
    slow.inject("delay", times=None, delay=DELAY)
    again = make()
    assert again.sign_in("alice").is_signed_in  # no password: the remembered session
    assert again.fetch_auth_session().aws_credentials_result.is_success
    return again


@pytest.fixture
def remembering(local, clock, store_dir, proxied_settings):
    made = []

    def make():
        session = kernel.make_session(clock=clock, auto_refresh=False, integrations=[RememberedSessions()])
        session.configure(**proxied_settings, remember=True)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


@pytest.mark.parametrize("keep_jwks_on_disk", [True, False], ids=["jwks-on-disk", "no-jwks-on-disk"])
def test_a_remembered_session_resumes_in_two_round_trips(remembering, slow, keep_jwks_on_disk):
    again = _remember_then_restart(remembering, slow, keep_jwks_on_disk=keep_jwks_on_disk)
    assert "GetId" not in actions(slow)  # the identity id was remembered with the session
    assert round_trip_depth(slow.exchanges()) == 2, actions(slow)
    assert again.fetch_auth_session().identity_id_result.is_success


def test_an_entry_written_before_identity_ids_were_remembered_still_resumes(
    remembering, slow, store_dir: Path
):
    """Old entries (no ``identity_id`` key at all) stay readable: the resume asks GetId."""
    first = remembering()
    first.sign_in("alice", PASSWORD)
    identity_id = first.fetch_auth_session().identity_id_result.unwrap()
    first.close()
    for path in store_dir.glob("*.json"):
        document = json.loads(path.read_text())
        del document["identity_id"]
        path.write_text(json.dumps(document))
    new_kernel()
    slow.clear()
    again = remembering()
    assert again.sign_in("alice").is_signed_in
    assert again.fetch_auth_session().identity_id_result.unwrap() == identity_id
    assert "GetId" in actions(slow)


@pytest.mark.parametrize(
    "planted",
    ["us-east-1:00000000-0000-0000-0000-000000000000", "not an identity id", "x" * 5000],
    ids=["unknown", "malformed", "huge"],
)
def test_a_remembered_identity_id_the_pool_refuses_is_asked_for_again(
    remembering, slow, store_dir, local, planted
):
    """A remembered identity id that no longer works (a deleted identity, a hand-edited file)
    costs one GetId more, never the sign-in."""
    first = remembering()
    first.sign_in("alice", PASSWORD)
    good = first.fetch_auth_session().identity_id_result.unwrap()
    first.close()
    for path in store_dir.glob("*.json"):
        document = json.loads(path.read_text())
        document["identity_id"] = planted
        path.write_text(json.dumps(document))
    new_kernel()
    slow.clear()
    again = remembering()
    assert again.sign_in("alice").is_signed_in
    assert again.fetch_auth_session().aws_credentials_result.is_success
    assert again.fetch_auth_session().identity_id_result.unwrap() == good
    assert store.remembered(again.settings, "alice").identity_id == good  # written down again


@pytest.mark.parametrize(
    "flow, carries_the_password",
    [("USER_SRP_AUTH", "RespondToAuthChallenge"), ("USER_PASSWORD_AUTH", "InitiateAuth")],
)
def test_an_unknown_pool_is_named_before_the_password_goes_out(
    new_session, local, flow, carries_the_password
):
    """With the keys fetched beside InitiateAuth, a pool the service does not know is still
    named (not "incorrect username or password"), and nothing made from the password is sent."""
    session = new_session(user_pool_id="us-east-1_Nonexist1", auth_flow=flow)
    with pytest.raises(ConfigurationError, match="knows no user pool"):
        session.sign_in("alice", PASSWORD)
    assert local.request_counts()[carries_the_password] == 0
    assert not session.is_signed_in


def test_a_forked_child_does_not_wait_for_its_parents_key_fetch(tmp_path):
    """A fetch started by prefetch() runs on a thread of the parent; a child forked meanwhile
    fetches for itself instead of waiting forever for a thread it does not have."""
    import os
    import threading

    from nb_cognito.auth.tokens import TokenVerifier

    parent = os.getpid()
    release = threading.Event()
    document = {"keys": [{"kid": "k1", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]}

    def fetch(url: str, timeout: float) -> dict:
        if os.getpid() == parent:
            release.wait(30)  # the parent's fetch hangs until the end of the test
        return document

    forget_jwks()
    verifier = TokenVerifier(
        issuers=("https://issuer.example/pool",),
        user_pool_id="us-east-1_Pool",
        client_id="client",
        fetch_jwks=fetch,
        cache_directory=tmp_path,
    )
    verifier.prefetch()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit status is the assertion
        try:
            verifier.warm()
            os._exit(0)
        except BaseException:
            os._exit(1)
    try:
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
    verifier.warm()  # the parent's own fetch, now answered
