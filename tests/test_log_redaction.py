"""The secret registry behind the log filters: bounded, and a password leaves it with sign-in."""

from __future__ import annotations

import logging

from nb_cognito.redaction import SecretRegistry, known_secrets


def test_scrubs_what_it_holds_and_forgets_on_discard():
    registry = SecretRegistry()
    registry.add("token-aaaaaaaa", "short", None)
    assert registry.scrub("x token-aaaaaaaa y short") == "x <redacted> y short"
    registry.discard("token-aaaaaaaa")
    assert registry.scrub("token-aaaaaaaa") == "token-aaaaaaaa"
    assert not registry


def test_is_bounded_keeping_the_most_recent():
    registry = SecretRegistry(capacity=4)
    for n in range(10):
        registry.add(f"secret-{n:04d}")
    assert len(registry) == 4
    assert "secret-0009" in registry and "secret-0006" in registry
    assert "secret-0005" not in registry
    registry.add("secret-0006")  # used again: now the most recent
    registry.add("secret-0010")
    assert "secret-0006" in registry and "secret-0007" not in registry


def test_a_kernel_that_refreshes_for_weeks_holds_a_bounded_number_of_secrets(new_session, local, clock):
    session = new_session()
    session.sign_in("alice", "Alice-Passw0rd!")
    for _ in range(40):
        session.fetch_auth_session(force_refresh=True)
    # Bounded: the transient values to the capacity, each session's pinned ones to what it holds now
    # (sessions of earlier tests may still pin theirs until they are garbage collected).
    assert len(known_secrets._values) <= 64
    assert all(len(pinned) <= 6 for pinned in known_secrets._pinned.values())
    current = session.fetch_auth_session()
    assert current.user_pool_tokens_result.value.access_token in known_secrets
    assert current.aws_credentials_result.value.session_token in known_secrets
    assert "Alice-Passw0rd!" not in known_secrets  # the password leaves when sign-in is over


def test_pinned_values_are_never_evicted_and_leave_when_replaced():
    class Owner:  # a session stands here: any object that can be weakly referenced
        pass

    registry, owner = SecretRegistry(capacity=4), Owner()
    registry.pin(owner, "live-token-1111", "live-key-22222")
    for n in range(100):
        registry.add(f"made-up-{n:04d}")
    assert "live-token-1111" in registry and "live-key-22222" in registry
    assert registry.scrub("a live-token-1111 b") == "a <redacted> b"
    registry.pin(owner, "live-token-3333")  # a refresh: the old values become transient
    assert "live-token-3333" in registry and "live-token-1111" in registry
    for n in range(4):
        registry.add(f"more-{n:04d}")
    assert "live-token-1111" not in registry and "live-token-3333" in registry
    registry.unpin(owner)  # signed out
    for n in range(4):
        registry.add(f"after-{n:04d}")
    assert "live-token-3333" not in registry


def test_refused_callbacks_cannot_push_the_live_session_out_of_redaction(
    new_session, local, make_local, caplog
):
    """Issue 21, item 5: requests with made-up code/state to the hosted-UI listener are refused
    and registered nowhere, and the live session's secrets stay scrubbed from DEBUG logs."""
    import secrets as random_values
    import socket
    from dataclasses import replace

    import requests
    from test_oauth_signin import Browser

    from nb_cognito.local import ClientSpec, default_test_spec

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        callback = f"http://localhost:{probe.getsockname()[1]}/"
    live = new_session()
    live.sign_in("alice", "Alice-Passw0rd!")
    state = live.describe().state
    canaries = {
        "session token": state.credentials.session_token,
        "secret key": state.credentials.secret_access_key,
        "refresh token": state.tokens.refresh_token,
        "access token": state.tokens.access_token,
    }

    hosted = make_local(replace(default_test_spec(), client=ClientSpec(callback_urls=(callback,))))
    other = new_session(hosted.settings.as_config(), oauth_domain=hosted.endpoint_url, redirect_uri=callback)
    refused: list[int] = []

    def flood(final_url: str) -> None:  # another local user, while the browser comes back
        for _ in range(48):
            forged = {"code": random_values.token_urlsafe(24), "state": random_values.token_urlsafe(24)}
            try:
                refused.append(requests.get(callback, params=forged, timeout=10).status_code)
            except requests.ConnectionError:  # a listener may also just hang up on a stranger
                refused.append(0)
        assert 200 not in refused
        for name, value in canaries.items():
            assert value in known_secrets, f"the {name} was pushed out of the registry"

    other.sign_in_with_redirect(
        method="loopback", open_browser=Browser(hosted, before_callback=flood).open, write=lambda _: None
    )
    assert other.is_signed_in and len(refused) == 48

    caplog.set_level(logging.DEBUG)
    s3 = live.boto3_session().client("s3", endpoint_url=local.endpoint_url)
    s3.list_buckets()  # botocore logs the signed request (with the session token) at DEBUG
    live.fetch_auth_session(force_refresh=True)
    s3.list_buckets()
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert "list_buckets" in logs.lower() or "ListBuckets" in logs  # the DEBUG records are there
    for name, value in canaries.items():
        assert value not in logs, f"the {name} leaked into a DEBUG log"
