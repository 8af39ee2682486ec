"""Device tracking from the session's side (issue 14, item 3), against the emulator's device model.

A pool that tracks devices binds each refresh token to a device key: the session confirms the
new device (ConfirmDevice with an SRP verifier), sends the key with every refresh, proves a
remembered device with device SRP instead of asking for MFA, and keeps the device with the
remembered session. Everything talks HTTP to the offline Cognito; time is the shared ``clock``.

https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import PASSWORD, counts

from nb_cognito import exceptions as errors
from nb_cognito import kernel, store
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.local import ClientSpec, LocalSpec, PoolSpec, UserSpec
from nb_cognito.models import SignInStep
from nb_cognito.redaction import redact_text

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def _private_store(store_dir):
    """Every test here keeps remembered sessions in its own directory, never in the keyring."""


def device_local(make_local, tracking: str, *, mfa: bool = True):
    pool = PoolSpec(device_tracking=tracking, **({"mfa": "ON", "mfa_types": ("TOTP",)} if mfa else {}))
    user = UserSpec("alice", PASSWORD, totp_secret=TOTP_SECRET if mfa else None)
    return make_local(LocalSpec(pool=pool, users=(user,)))


@pytest.fixture
def make_session(clock):
    made = []

    def make(local, *, remember: bool = False, **settings):
        session = kernel.make_session(clock=clock, auto_refresh=False, integrations=[RememberedSessions()])
        session.configure(**local.settings.as_config(), remember=remember, **settings)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def sign_in_with_mfa(session, local):
    result = session.sign_in("alice", PASSWORD)
    if result.next_step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE:
        result = session.confirm_sign_in(local.users.totp_code("alice"))
    assert result.is_signed_in
    return result


def test_a_session_with_device_tracking_survives_refresh_past_the_first_token_lifetime(
    make_local, make_session, clock
):
    local = device_local(make_local, "always", mfa=False)
    session = make_session(local)
    sign_in_with_mfa(session, local)
    device = session.device
    assert device is not None and device.remembered and device.can_prove
    assert counts(local, "ConfirmDevice") == (1,)
    first = session.fetch_auth_session().user_pool_tokens_result.unwrap()

    clock.advance(60 * 60 + 5)  # the first tokens have expired: a refresh is mandatory
    auth = session.fetch_auth_session()

    tokens = auth.user_pool_tokens_result.unwrap()
    assert tokens.access_token != first.access_token
    assert auth.aws_credentials_result.value is not None
    assert session.describe().refresh_count == 1 and session.device == device
    clock.advance(2 * 60 * 60)  # and again: the key goes with every refresh
    assert session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.value is not None


def test_a_remembered_device_skips_mfa_at_the_next_password_sign_in(make_local, make_session):
    local = device_local(make_local, "always")
    session = make_session(local)
    sign_in_with_mfa(session, local)
    session.sign_out()
    local.reset_counts()

    result = session.sign_in("alice", PASSWORD)  # DEVICE_SRP_AUTH instead of the TOTP code

    assert result.is_signed_in
    assert counts(local, "RespondToAuthChallenge", "ConfirmDevice") == (3, 0)  # SRP, device SRP x2


def test_user_opt_in_remembers_only_when_asked(make_local, make_session):
    local = device_local(make_local, "opt_in")
    session = make_session(local)
    sign_in_with_mfa(session, local)
    assert session.device is not None and not session.device.remembered
    session.sign_out()
    step = session.sign_in("alice", PASSWORD).next_step  # not remembered: MFA as before
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE
    assert session.confirm_sign_in(local.users.totp_code("alice")).is_signed_in

    session.remember_device()  # Amplify's rememberDevice: UpdateDeviceStatus(remembered)
    assert session.device.remembered
    session.sign_out()
    assert session.sign_in("alice", PASSWORD).is_signed_in  # no MFA prompt now


def test_the_remember_device_setting_opts_in_at_sign_in(make_local, make_session):
    local = device_local(make_local, "opt_in")
    session = make_session(local, remember_device=True)
    sign_in_with_mfa(session, local)
    assert session.device.remembered
    assert counts(local, "UpdateDeviceStatus") == (1,)
    session.sign_out()
    assert session.sign_in("alice", PASSWORD).is_signed_in


def test_forget_device_brings_mfa_back_and_keeps_the_session(make_local, make_session, clock):
    local = device_local(make_local, "always")
    session = make_session(local)
    sign_in_with_mfa(session, local)
    key = session.device.key

    session.forget_device()

    assert session.is_signed_in and not session.device.can_prove
    clock.advance(60 * 60 + 5)
    assert session.fetch_auth_session().user_pool_tokens_result.value is not None  # still renews
    session.sign_out()
    step = session.sign_in("alice", PASSWORD).next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE  # a new device: MFA again
    session.confirm_sign_in(local.users.totp_code("alice"))
    assert session.device.key != key


def test_forget_and_remember_need_a_tracked_device(local, make_session):
    session = make_session(local)
    with pytest.raises(errors.SignedOutError):
        session.forget_device()
    session.sign_in("alice", "Alice-Passw0rd!")
    with pytest.raises(errors.AuthError, match="no tracked device"):
        session.remember_device()


def test_the_device_password_never_shows(make_local, make_session):
    local = device_local(make_local, "always", mfa=False)
    session = make_session(local, remember=True)
    sign_in_with_mfa(session, local)
    device = session.device
    assert device.password not in repr(device) + repr(session) + repr(store.remembered(session.settings))
    assert device.password not in redact_text(f"oops {device.password}")


def test_a_remembered_session_with_device_tracking_resumes_in_a_new_kernel_with_no_mfa_prompt(
    make_local, make_session, store_dir, clock
):
    """The issue's Done-when: a fresh process resumes (its refresh carries the device key, which
    the pool demands) without a password or an MFA code, and its device still skips MFA."""
    local = device_local(make_local, "always")
    session = make_session(local, remember=True)
    sign_in_with_mfa(session, local)
    entry = store.remembered(session.settings, "alice")
    assert entry.device_key == session.device.key and entry.device_password == session.device.password
    mode = os.stat(next(store_dir.glob("*.json"))).st_mode & 0o777
    assert mode == 0o600
    local.reset_counts()

    child = textwrap.dedent(
        """
        import nb_cognito
        result = nb_cognito.sign_in()
        print(result.is_signed_in, result.next_step.sign_in_step.value)
        session = nb_cognito.session
        print(session.device.key)
        print(session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.value is not None)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NB_COGNITO_")}
    env.update(local.settings.as_env())
    env.update({store.ENV_DIR: str(store_dir), store.ENV_KEYRING: "0", "NB_COGNITO_REMEMBER": "1"})
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "DONE", session.device.key, "True"]
    # Two refreshes (the resume and the forced one), each with the key; no challenge, no MFA.
    assert counts(local, "GetTokensFromRefreshToken", "InitiateAuth", "RespondToAuthChallenge") == (2, 0, 0)
    assert session.device.password not in done.stdout + done.stderr


def test_with_refresh_token_rotation_the_device_key_goes_to_get_tokens_from_refresh_token(
    make_local, make_session, clock
):
    """https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
    (DeviceKey: required when the token was issued to a tracked device)."""
    pool = PoolSpec(device_tracking="always")
    spec = LocalSpec(
        pool=pool, client=ClientSpec(refresh_token_rotation=True), users=(UserSpec("alice", PASSWORD),)
    )
    local = make_local(spec)
    session = make_session(local)
    sign_in_with_mfa(session, local)
    first = session.fetch_auth_session().user_pool_tokens_result.unwrap().refresh_token

    for _ in range(2):
        clock.advance(60 * 60 + 5)
        tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    assert tokens.refresh_token != first  # rotated, twice, each time with the device key
    assert counts(local, "GetTokensFromRefreshToken")[0] >= 2


@pytest.mark.parametrize("factor", ["PASSWORD_SRP", "PASSWORD"])
def test_a_remembered_device_skips_mfa_in_the_user_auth_flow_too(make_local, make_session, factor):
    local = device_local(make_local, "always")
    session = make_session(local, auth_flow="USER_AUTH", preferred_challenge=factor)
    sign_in_with_mfa(session, local)
    session.sign_out()
    assert session.sign_in("alice", PASSWORD).is_signed_in  # device SRP, no TOTP code

    session.sign_out()
    session.configure(preferred_challenge=None)
    session.sign_in("alice")  # the choice, then the password: the device still stands in for MFA
    session.confirm_sign_in(factor)
    assert session.confirm_sign_in(PASSWORD).is_signed_in


def test_amplify_names_at_the_top_level_act_on_the_kernel_session(make_local, make_session):
    import nb_cognito

    local = device_local(make_local, "opt_in", mfa=False)
    session = make_session(local)
    previous = kernel.use_kernel_session(session)
    try:
        nb_cognito.sign_in("alice", PASSWORD)
        assert not session.device.remembered
        nb_cognito.remember_device()
        assert session.device.remembered and counts(local, "UpdateDeviceStatus") == (1,)
        nb_cognito.forget_device()
        assert not session.device.can_prove and counts(local, "ForgetDevice") == (1,)
    finally:
        kernel.use_kernel_session(previous)


def test_a_sign_in_another_kernel_stored_is_taken_over_with_its_device(make_local, make_session, clock):
    """Two kernels of one user sign in with a password, each as its own device; the second one
    stores its sign-in. When the first refreshes, it takes over the stored sign-in (its refresh
    token, bound to the second kernel's device key): the key must come with it."""
    local = device_local(make_local, "always", mfa=False)
    first = make_session(local, remember=True)
    sign_in_with_mfa(first, local)
    second = make_session(local, remember=True)
    second.sign_in("alice", PASSWORD)  # a new device, stored over the first kernel's entry
    assert second.device.key != first.device.key

    clock.advance(60 * 60 + 5)
    tokens = first.fetch_auth_session().user_pool_tokens_result

    assert tokens.value is not None, tokens.error
    assert first.device.key == second.device.key  # the stored sign-in's device came with its token
    assert store.remembered(first.settings, "alice").device_key == second.device.key
