"""The kernel-wide session's story: sign in (every challenge), fetch the session, refresh, sign out.

Everything talks HTTP to the offline Cognito (``local``); time is the shared ``clock``.
"""

from __future__ import annotations

import logging
import threading

import pyotp
import pytest
from helpers import PASSWORD, counts

from nb_cognito import exceptions as errors
from nb_cognito.local import ClientSpec, LocalSpec, PoolSpec, UserSpec
from nb_cognito.models import AuthEvent, AuthSessionResultType, SignInStep

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(int(at))


@pytest.fixture
def session(new_session):
    return new_session()


def recorder(session, *events):
    seen: list = []
    for event in events:
        session.on(event, seen.append)
    return seen


# -- signing in ------------------------------------------------------------------------------


def test_srp_sign_in_gives_tokens_identity_and_credentials(session, local):
    result = session.sign_in("alice", PASSWORD)

    assert result.is_signed_in
    assert result.next_step.sign_in_step is SignInStep.DONE
    auth = session.fetch_auth_session()
    assert auth.is_signed_in
    for field in (
        "user_sub_result",
        "identity_id_result",
        "aws_credentials_result",
        "user_pool_tokens_result",
    ):
        assert getattr(auth, field).type is AuthSessionResultType.SUCCESS, field
    assert session.get_current_user().username == "alice"
    assert auth.user_sub_result.value == session.get_current_user().user_id
    assert auth.aws_credentials_result.value.access_key_id.startswith("ASIA")
    assert counts(local, "InitiateAuth", "RespondToAuthChallenge", "GetId", "GetCredentialsForIdentity") == (
        1,
        1,
        1,
        1,
    )


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_wrong_password_and_unknown_user_read_the_same(session, username):
    with pytest.raises(errors.NotAuthorizedError) as caught:
        session.sign_in(username, "Wrong-Passw0rd!")
    assert "Incorrect username or password" in str(caught.value)
    assert not session.is_signed_in
    assert not session.fetch_auth_session().is_signed_in


def test_user_password_auth_flow(new_session, local):
    session = new_session({**local.settings.as_config(), "auth_flow": "USER_PASSWORD_AUTH"})
    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert counts(local, "RespondToAuthChallenge") == (0,)
    with pytest.raises(errors.NotAuthorizedError):
        new_session({**local.settings.as_config(), "auth_flow": "USER_PASSWORD_AUTH"}).sign_in(
            "alice", "nope-Passw0rd!"
        )


def test_client_secret_with_email_alias_refreshes_with_the_cognito_username(make_local, new_session, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(username_attributes=("email",)),
            client=ClientSpec(generate_secret=True),
            users=(UserSpec("bob@example.com", PASSWORD, attributes={"email": "bob@example.com"}),),
        )
    )
    session = new_session(local.settings.as_config())
    assert local.settings.client_secret
    assert session.sign_in("bob@example.com", PASSWORD).is_signed_in
    cognito_username = session.get_current_user().username
    assert cognito_username != "bob@example.com"  # an email-alias pool knows the user by its sub

    before = counts(local, "GetTokensFromRefreshToken")[0]
    auth = session.fetch_auth_session(force_refresh=True)
    assert auth.user_pool_tokens_result.is_success
    assert counts(local, "GetTokensFromRefreshToken")[0] == before + 1


def test_new_password_challenge(make_local, new_session, local):
    make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = new_session(local.settings.as_config())

    result = session.sign_in("carol", "Temp-Passw0rd!")
    assert not result.is_signed_in
    assert result.next_step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD

    with pytest.raises(errors.InvalidPasswordError):
        session.confirm_sign_in("short")
    done = session.confirm_sign_in("Brand-New-Passw0rd!")
    assert done.is_signed_in and done.next_step.sign_in_step is SignInStep.DONE

    session.sign_out()
    assert session.sign_in("carol", "Brand-New-Passw0rd!").is_signed_in


def test_totp_challenge_with_a_real_code(make_local, new_session, local, clock):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("dave", PASSWORD, totp_secret=TOTP_SECRET),),
        )
    )
    session = new_session(local.settings.as_config())
    result = session.sign_in("dave", PASSWORD)
    assert result.next_step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE

    wrong = str((int(totp_code(TOTP_SECRET, clock.time())) + 1) % 1_000_000).zfill(6)
    with pytest.raises(errors.CodeMismatchError):
        session.confirm_sign_in(wrong)
    assert session.confirm_sign_in(totp_code(TOTP_SECRET, clock.time())).is_signed_in


def test_totp_setup_then_first_code(make_local, new_session, local, clock):
    make_local(LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("TOTP",)), users=(UserSpec("erin", PASSWORD),)))
    session = new_session(local.settings.as_config())

    result = session.sign_in("erin", PASSWORD)
    step = result.next_step
    assert step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP
    assert step.totp_setup_uri.startswith("otpauth://totp/")
    assert step.totp_shared_secret in step.totp_setup_uri
    assert step.totp_shared_secret not in repr(result)

    assert session.confirm_sign_in(totp_code(step.totp_shared_secret, clock.time())).is_signed_in


def test_sms_challenge(make_local, new_session, local):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("SMS",)),
            users=(UserSpec("frank", PASSWORD, phone_number="+15555550123", sms_mfa=True),),
        )
    )
    session = new_session(local.settings.as_config())
    result = session.sign_in("frank", PASSWORD)
    assert result.next_step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE
    assert result.next_step.code_destination and "0123" in result.next_step.code_destination
    assert "555555" not in result.next_step.code_destination  # masked

    with pytest.raises(errors.CodeMismatchError):
        session.confirm_sign_in("000000" if local.users.last_sms_code("frank") != "000000" else "111111")
    assert session.confirm_sign_in(local.users.last_sms_code("frank")).is_signed_in


def test_mfa_selection(make_local, new_session, local, clock):
    make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "SMS")),
            users=(
                UserSpec(
                    "gina", PASSWORD, totp_secret=TOTP_SECRET, phone_number="+15555550124", sms_mfa=True
                ),
            ),
        )
    )
    session = new_session(local.settings.as_config())
    result = session.sign_in("gina", PASSWORD)
    assert result.next_step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION
    assert set(result.next_step.allowed_mfa_types) == {"TOTP", "SMS"}

    with pytest.raises(errors.InvalidParameterError):
        session.confirm_sign_in("carrier pigeon")
    step = session.confirm_sign_in("TOTP").next_step
    assert step.sign_in_step is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE
    assert session.confirm_sign_in(totp_code(TOTP_SECRET, clock.time())).is_signed_in


def test_already_signed_in_makes_no_network_call(session, local):
    session.sign_in("alice", PASSWORD)
    before = local.request_counts()
    assert session.sign_in("alice").is_signed_in
    assert local.request_counts() == before


def test_confirm_without_a_sign_in_in_progress(session):
    with pytest.raises(errors.AuthError, match="No sign-in"):
        session.confirm_sign_in("123456")


# -- fetch_auth_session and refresh -----------------------------------------------------------


def test_signed_out_session_is_all_failures(session):
    auth = session.fetch_auth_session()
    assert not auth.is_signed_in
    for result in (
        auth.user_sub_result,
        auth.identity_id_result,
        auth.aws_credentials_result,
        auth.user_pool_tokens_result,
    ):
        assert result.type is AuthSessionResultType.FAILURE
        assert isinstance(result.error, errors.SignedOutError)
    with pytest.raises(errors.SignedOutError):
        session.get_current_user()


def test_without_identity_pool_credentials_fail_with_configuration_error(new_session, local):
    config = {**local.settings.as_config()}
    config.pop("identity_pool_id")
    session = new_session(config)
    session.sign_in("alice", PASSWORD)
    auth = session.fetch_auth_session()
    assert auth.user_pool_tokens_result.is_success
    assert isinstance(auth.identity_id_result.error, errors.ConfigurationError)
    assert "identity pool" in str(auth.aws_credentials_result.error)


def test_lazy_refresh_only_inside_the_window(session, local, clock):
    session.sign_in("alice", PASSWORD)
    refreshed = recorder(session, AuthEvent.TOKEN_REFRESH)
    first = session.fetch_auth_session()
    base = local.request_counts()

    clock.advance(30 * 60)
    assert session.fetch_auth_session() is first  # fresh: a memory read
    assert local.request_counts() == base

    clock.advance(27 * 60)  # 3 min left of 60: inside the 6 -> 5 min advisory window
    second = session.fetch_auth_session()
    assert counts(local, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (
        base["GetTokensFromRefreshToken"] + 1,
        base["GetCredentialsForIdentity"] + 1,
    )
    assert second.user_pool_tokens_result.value.id_token != first.user_pool_tokens_result.value.id_token
    assert (
        second.aws_credentials_result.value.access_key_id != first.aws_credentials_result.value.access_key_id
    )
    assert len(refreshed) == 1
    assert counts(local, "GetId") == (1,)


def test_force_refresh_always_refreshes_tokens_and_credentials(session, local):
    session.sign_in("alice", PASSWORD)
    first = session.fetch_auth_session()
    before = counts(local, "GetTokensFromRefreshToken", "GetCredentialsForIdentity")
    second = session.fetch_auth_session(force_refresh=True)
    assert counts(local, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (
        before[0] + 1,
        before[1] + 1,
    )
    assert (
        second.user_pool_tokens_result.value.access_token != first.user_pool_tokens_result.value.access_token
    )
    assert second.aws_credentials_result.value != first.aws_credentials_result.value


def test_background_refresh_before_expiry(new_session, local, clock):
    session = new_session(auto_refresh=True)
    session.sign_in("alice", PASSWORD)
    refreshed = threading.Event()
    session.on(AuthEvent.CREDENTIALS_REFRESH, lambda _: refreshed.set())
    first = session.fetch_auth_session()
    assert session.status().auto_refresh

    clock.advance(56 * 60)  # past the planned refresh (5 min + jitter before expiry)
    assert refreshed.wait(10), "the background thread did not refresh"
    clock.advance(3 * 60)  # 1 min before the first tokens expire: nothing left to do in the foreground
    base = local.request_counts()
    second = session.fetch_auth_session()
    assert local.request_counts() == base
    assert second.user_pool_tokens_result.value.expiration > first.user_pool_tokens_result.value.expiration

    session.sign_out()
    assert not session.status().auto_refresh
    assert not [t for t in threading.enumerate() if t.name == "nb-cognito-refresher" and t.is_alive()]


def test_fifty_threads_in_the_mandatory_window_cause_one_refresh(session, local, clock):
    session.sign_in("alice", PASSWORD)
    clock.advance(59 * 60)  # 1 min left: mandatory
    before = counts(local, "GetTokensFromRefreshToken", "GetCredentialsForIdentity")
    barrier = threading.Barrier(50)
    seen: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        creds = session.current_credentials()
        with lock:
            seen.append((creds.access_key_id, creds.secret_access_key, creds.session_token))

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(seen) == 50
    assert len(set(seen)) == 1
    assert counts(local, "GetTokensFromRefreshToken", "GetCredentialsForIdentity") == (
        before[0] + 1,
        before[1] + 1,
    )


# -- failures ------------------------------------------------------------------------------------


@pytest.fixture
def proxied_session(new_session, local, fault_proxy):
    return new_session({**local.settings.as_config(), "endpoint_url": fault_proxy.url})


@pytest.mark.parametrize("fault", ["throttle", "5xx", "drop"])
def test_transient_refresh_failure_keeps_the_session(proxied_session, fault_proxy, clock, fault):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    failures = recorder(session, AuthEvent.TOKEN_REFRESH_FAILURE)
    expired = recorder(session, AuthEvent.SESSION_EXPIRED)

    clock.advance(60 * 60 + 5)  # tokens expired: mandatory
    fault_proxy.inject(fault, target="GetTokensFromRefreshToken", times=None)
    auth = session.fetch_auth_session()
    assert auth.is_signed_in
    assert isinstance(auth.user_pool_tokens_result.error, errors.ServiceUnavailableError)
    assert auth.user_pool_tokens_result.error.retryable
    with pytest.raises(errors.ServiceUnavailableError):
        session.current_credentials()
    assert failures and not expired

    fault_proxy.clear()
    auth = session.fetch_auth_session()  # no sticky error: the next call retries and succeeds
    assert auth.user_pool_tokens_result.is_success
    assert auth.aws_credentials_result.is_success
    assert session.get_current_user().username == "alice"


def test_retries_absorb_a_short_throttle(proxied_session, fault_proxy, local, clock):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    clock.advance(60 * 60 + 5)
    fault_proxy.inject("throttle", target="GetTokensFromRefreshToken", times=2)
    assert session.fetch_auth_session().user_pool_tokens_result.is_success
    assert clock.sleeps, "retries wait on the injected clock"


def test_advisory_failure_keeps_valid_tokens_without_error(proxied_session, fault_proxy, clock, caplog):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    first = session.fetch_auth_session()
    clock.advance(56 * 60)  # 4 min left: advisory, not mandatory
    fault_proxy.set_down(True)
    with caplog.at_level(logging.WARNING, logger="nb_cognito"):
        auth = session.fetch_auth_session()
    assert auth.user_pool_tokens_result.value == first.user_pool_tokens_result.value
    assert any("advisory" in r.getMessage() for r in caplog.records)
    fault_proxy.set_down(False)


def test_revoked_refresh_token_ends_the_session_once(session, local, clock):
    session.sign_in("alice", PASSWORD)
    expired = recorder(session, AuthEvent.SESSION_EXPIRED)
    local.users.global_sign_out("alice")  # from another client
    clock.advance(59 * 60)

    errors_seen: list[Exception] = []
    barrier = threading.Barrier(10)

    def worker():
        barrier.wait()
        try:
            session.current_credentials()
        except errors.AuthError as error:
            errors_seen.append(error)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(expired) == 1
    assert len(errors_seen) == 10
    assert all(isinstance(e, errors.SessionExpiredError) for e in errors_seen)
    assert "Sign in again" in str(errors_seen[0])
    with pytest.raises(errors.SessionExpiredError):
        session.get_current_user()
    auth = session.fetch_auth_session()
    assert isinstance(auth.user_pool_tokens_result.error, errors.SessionExpiredError)

    assert session.sign_in("alice", PASSWORD).is_signed_in  # a new sign-in works afterwards
    assert session.fetch_auth_session().aws_credentials_result.is_success


def test_clock_skew_is_estimated_from_iat(session, local, clock):
    from nb_cognito.clock import ManualClock

    server = ManualClock(clock.time() + 300)  # the server is 5 min ahead of us
    local.use_clock(server)
    session.sign_in("alice", PASSWORD)
    base = local.request_counts()
    for _ in range(20):
        session.fetch_auth_session()
    assert local.request_counts() == base  # no refresh loop

    clock.advance(50 * 60)
    server.advance(50 * 60)
    session.fetch_auth_session()
    assert local.request_counts() == base  # 10 min left on the server's clock: not yet due

    clock.advance(6 * 60)
    server.advance(6 * 60)  # 4 min left by the server's clock (9 by ours): due
    session.fetch_auth_session()
    assert local.request_counts()["GetTokensFromRefreshToken"] == base["GetTokensFromRefreshToken"] + 1


# -- sign-out ------------------------------------------------------------------------------------


def test_local_sign_out_revokes_and_fires_once(session, local):
    session.sign_in("alice", PASSWORD)
    refresh_token = session.fetch_auth_session().user_pool_tokens_result.value.refresh_token
    signed_out = recorder(session, AuthEvent.SIGNED_OUT)

    result = session.sign_out()
    assert result.global_sign_out_error is None
    assert len(signed_out) == 1
    assert not session.fetch_auth_session().is_signed_in
    assert counts(local, "RevokeToken") == (1,)
    assert local.users.refresh_token_revoked(refresh_token)
    session.sign_out()  # twice is harmless
    assert len(signed_out) == 1


def test_global_sign_out_is_best_effort(proxied_session, fault_proxy, local):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    fault_proxy.set_down(True)
    result = session.sign_out(global_sign_out=True)
    fault_proxy.set_down(False)
    assert isinstance(result.global_sign_out_error, errors.ServiceUnavailableError)
    assert not session.is_signed_in

    session.sign_in("alice", PASSWORD)
    assert session.sign_out(global_sign_out=True).global_sign_out_error is None
    assert local.request_counts()["GlobalSignOut"] >= 1


# -- events, configuration, secrets ----------------------------------------------------------------


def test_a_raising_listener_never_breaks_the_session(session, caplog):
    calls: list = []
    session.on(AuthEvent.SIGNED_IN, lambda _: 1 / 0)
    unsubscribe = session.on(AuthEvent.SIGNED_IN, lambda payload: calls.append(payload.user.username))
    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert calls == ["alice"]
    unsubscribe()
    session.sign_out()
    session.sign_in("alice", PASSWORD)
    assert calls == ["alice"]


def test_configure_updates_only_what_it_names(session, local):
    session.configure(network_timeout=3)
    assert session.settings.user_pool_id == local.settings.user_pool_id
    assert session.settings.network_timeout == 3
    with pytest.raises(errors.ConfigurationError, match="user_pool_id"):
        session.configure(user_pool_id="not-a-pool")
    assert session.settings.user_pool_id == local.settings.user_pool_id  # nothing lost


def test_canary_password_and_tokens_never_leak(session, local, caplog, capsys):
    canary = "Canary-Passw0rd-7f3a9!"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(errors.NotAuthorizedError) as caught:
        session.sign_in("alice", canary)
    assert canary not in str(caught.value) and canary not in repr(caught.value)

    session.sign_in("alice", PASSWORD)
    auth = session.fetch_auth_session(force_refresh=True)
    tokens = auth.user_pool_tokens_result.value
    creds = auth.aws_credentials_result.value
    secrets = [
        canary,
        PASSWORD,
        tokens.id_token,
        tokens.access_token,
        tokens.refresh_token,
        creds.secret_access_key,
        creds.session_token,
    ]
    shown = [
        repr(session),
        str(session.status()),
        session.status()._repr_html_(),
        repr(auth),
        str(auth),
        auth._repr_html_(),
        repr(tokens),
        str(tokens),
        repr(creds),
        str(creds),
        repr(session.settings),
    ]
    # The user's own S3 call, signed with our credentials, logs at DEBUG too (headers, bodies).
    s3 = session.boto3_session().client("s3", endpoint_url=local.settings.endpoint_url)
    s3.list_buckets()
    records = "\n".join(record.getMessage() for record in caplog.records)
    assert "botocore" in {r.name.split(".")[0] for r in caplog.records}  # DEBUG logging really was on
    captured = capsys.readouterr()
    for secret in secrets:
        for text in shown:
            assert secret not in text
        assert secret not in records
        assert secret not in captured.out + captured.err


def test_the_users_aws_profile_and_endpoint_settings_do_not_steer_our_calls(session, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "a-profile-that-does-not-exist")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert session.fetch_auth_session(force_refresh=True).aws_credentials_result.is_success


def test_settings_changed_in_the_environment_after_a_failed_sign_in_are_used(make_local, clock, monkeypatch):
    # A user fixes NB_COGNITO_* in a cell after a first attempt: the next sign-in uses the new value.
    from nb_cognito.auth.session import CognitoSession

    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),)))
    for name, value in local.settings.as_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NB_COGNITO_CLIENT_ID", "wrongclient123")
    session = CognitoSession(clock=clock, auto_refresh=False)
    with pytest.raises(errors.AuthError):
        session.sign_in("alice", PASSWORD)
    monkeypatch.setenv("NB_COGNITO_CLIENT_ID", local.settings.client_id)
    try:
        assert session.sign_in("alice", PASSWORD).is_signed_in
    finally:
        session.sign_out()
        session.close()
