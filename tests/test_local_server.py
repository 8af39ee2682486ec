"""LocalCognito's own surface: settings, life cycle, ports, resets and helpers."""

from __future__ import annotations

import socket

import pytest

from nb_cognito.clock import SYSTEM_CLOCK, ManualClock
from nb_cognito.local import ClientSpec, LocalCognito, LocalSpec, UserSpec, default_test_spec
from nb_cognito.local.server import LocalSettings


def test_settings_feed_configure_and_the_environment(make_local):
    local = make_local(LocalSpec(client=ClientSpec(generate_secret=True)))
    settings = local.settings
    config = settings.as_config()
    assert set(config) == {
        "region",
        "user_pool_id",
        "client_id",
        "client_secret",
        "identity_pool_id",
        "endpoint_url",
    }
    assert settings.as_env()["NB_COGNITO_CLIENT_SECRET"] == config["client_secret"]
    assert settings.as_env()["NB_COGNITO_ENDPOINT_URL"] == local.endpoint_url
    assert config["client_secret"] not in repr(settings)


def test_none_settings_are_left_out():
    settings = LocalSettings("us-east-1", "us-east-1_x", "client", None, None, "http://127.0.0.1:1")
    assert "client_secret" not in settings.as_config()
    assert set(settings.as_env()) == {
        "NB_COGNITO_REGION",
        "NB_COGNITO_USER_POOL_ID",
        "NB_COGNITO_CLIENT_ID",
        "NB_COGNITO_ENDPOINT_URL",
    }


def test_reset_provisions_a_new_spec_and_keeps_it(make_local, emulator):
    old_pool = emulator.settings.user_pool_id if emulator.running else None
    local = make_local(LocalSpec(users=(UserSpec("zed", "Zed-Passw0rd!"),), identity_pool=None))
    assert local.settings.user_pool_id != old_pool
    assert local.settings.identity_pool_id is None
    assert local.spec.user("zed")
    local.reset()
    assert local.users.username_of("zed") == "zed"
    with pytest.raises(KeyError):
        local.users.username_of("alice")


def test_the_emulator_uses_the_test_clock(local, clock):
    assert local.clock is clock
    local.use_clock(SYSTEM_CLOCK)
    assert local.clock is SYSTEM_CLOCK


def test_a_second_emulator_takes_a_free_port_when_asked_for_a_taken_one(emulator):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        second = LocalCognito(LocalSpec(), clock=ManualClock(), port=port)
        try:
            second.start()
            assert second.endpoint_url.startswith("http://127.0.0.1:")
            assert not second.endpoint_url.endswith(f":{port}")
            assert second.start() is second  # already running: no-op
        finally:
            second.stop()
            second.stop()
    assert not second.running
    with pytest.raises(RuntimeError, match="not running"):
        second.settings  # noqa: B018


def test_helpers_manage_users(local):
    local.users.add(UserSpec("bob", "Bob-Passw0rd!", phone_number="+15555550100"))
    assert local.users.username_of("bob") == "bob"
    with pytest.raises(ValueError, match="password"):
        local.users.add(UserSpec("weak", "weak"))
    with pytest.raises(LookupError):
        local.users.last_sms_code("bob")
    with pytest.raises(LookupError):
        local.users.totp_code("bob")
    assert local.users.totp_secret("bob") is None
    local.users.set_password("bob", "Other-Passw0rd!", permanent=False)
    local.users.enable("bob")
    local.users.delete("bob")
    with pytest.raises(KeyError):
        local.users.username_of("bob")
    assert local.request_counts() == {}  # helpers are not the code under test


def test_urls_point_at_the_pool(local):
    pool_id = local.settings.user_pool_id
    assert local.jwks_url == f"{local.endpoint_url}/{pool_id}/.well-known/jwks.json"
    assert local.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert repr(local) == f"LocalCognito({local.endpoint_url})"


def test_the_default_spec_is_the_demo():
    assert LocalCognito().spec.users[0].username == "demo"
    assert LocalCognito(default_test_spec()).spec.users[0].username == "alice"
