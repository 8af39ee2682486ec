"""The secret registry behind the log filters: bounded, and a password leaves it with sign-in."""

from __future__ import annotations

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
    assert len(known_secrets) <= 64
    current = session.fetch_auth_session()
    assert current.user_pool_tokens_result.value.access_token in known_secrets
    assert current.aws_credentials_result.value.session_token in known_secrets
    assert "Alice-Passw0rd!" not in known_secrets  # the password leaves when sign-in is over
