"""The offline Cognito tells the truth where moto alone lies (one test per fix in the patches package).

Every test talks HTTP to the emulator with boto3 (and pycognito's SRP client), as our client does.
Time moves only through the shared ManualClock.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import boto3
import pyotp
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import PASSWORD
from joserfc import jwk, jwt
from pycognito.aws_srp import AWSSRP

from nb_cognito.local import (
    ClientSpec,
    IdentityPoolSpec,
    LocalSpec,
    PoolSpec,
    UserSpec,
    default_test_spec,
    patches,
    srp,
)

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NO_RETRY = {"total_max_attempts": 1}


_SESSIONS: list[boto3.session.Session] = []


def client(local: Any, service: str, credentials: dict[str, str] | None = None) -> Any:
    """A boto3 client of the emulator: unsigned, or signed with vended ``credentials``."""
    if not _SESSIONS:  # one session for the module, so service models load once
        _SESSIONS.append(boto3.session.Session())
    settings = local.settings
    if credentials is None:
        config = Config(retries=NO_RETRY, signature_version=UNSIGNED)
        keys: dict[str, str] = {}
    else:
        config = Config(retries=NO_RETRY, s3={"addressing_style": "path"})
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return _SESSIONS[0].client(
        service, region_name=settings.region, endpoint_url=settings.endpoint_url, config=config, **keys
    )


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def password_auth(local: Any, username: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
    return client(local, "cognito-idp").initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )


def tokens(local: Any, username: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
    return password_auth(local, username, password)["AuthenticationResult"]


def refresh(local: Any, refresh_token: str) -> dict[str, Any]:
    return client(local, "cognito-idp").initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": refresh_token},
    )


def provider(local: Any) -> str:
    settings = local.settings
    return f"cognito-idp.{settings.region}.amazonaws.com/{settings.user_pool_id}"


def get_id(local: Any, id_token: str | None) -> str:
    logins = {provider(local): id_token} if id_token else {}
    identity = client(local, "cognito-identity")
    return identity.get_id(IdentityPoolId=local.settings.identity_pool_id, Logins=logins)["IdentityId"]


def credentials_for(local: Any, identity_id: str, id_token: str | None) -> dict[str, Any]:
    logins = {provider(local): id_token} if id_token else {}
    identity = client(local, "cognito-identity")
    return identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]


def srp_client(local: Any, password: str, username: str = "alice", secret: str | None = None) -> AWSSRP:
    settings = local.settings
    return AWSSRP(
        username,
        password,
        settings.user_pool_id,
        settings.client_id,
        client=client(local, "cognito-idp"),
        client_secret=secret,
    )


# -- SRP: the password is really checked ----------------------------------------------------------


def test_srp_signs_in_with_the_right_password(local):
    result = srp_client(local, PASSWORD).authenticate_user()["AuthenticationResult"]
    assert claims(result["IdToken"])["cognito:username"] == "alice"
    assert local.request_counts()["RespondToAuthChallenge"] == 1


def test_srp_refuses_a_wrong_password(local):
    with pytest.raises(ClientError) as excinfo:
        srp_client(local, "Wrong-Passw0rd!").authenticate_user()
    assert error_of(excinfo) == ("NotAuthorizedException", "Incorrect username or password.")


def test_srp_maths_agrees_with_pycognito_for_many_random_values():
    for attempt in range(4):
        password = f"Pw-{attempt}-x!"
        client_side = AWSSRP("bob", password, "eu-west-1_Pool", "cid", client=object())
        challenge = srp.start_challenge(f"{client_side.large_a_value:x}", "eu-west-1_Pool", "bob", password)
        assert challenge is not None
        for typed, expected in ((password, True), (password + "?", False)):
            client_side.password = typed
            answer = client_side.process_challenge(
                {
                    "USER_ID_FOR_SRP": "bob",
                    "SALT": challenge.salt_hex,
                    "SRP_B": challenge.srp_b_hex,
                    "SECRET_BLOCK": challenge.secret_block_b64,
                },
                {"USERNAME": "bob"},
            )
            signature = answer["PASSWORD_CLAIM_SIGNATURE"]
            assert srp.verify_password_claim(challenge, answer["TIMESTAMP"], signature) is expected


def test_srp_refuses_an_unsafe_srp_a():
    assert srp.start_challenge(f"{srp.N:x}", "us-east-1_x", "bob", "pw") is None
    assert srp.start_challenge("not hex", "us-east-1_x", "bob", "pw") is None


def test_srp_checks_the_secret_hash_of_a_client_with_a_secret(make_local):
    local = make_local(LocalSpec(client=ClientSpec(generate_secret=True), users=default_test_spec().users))
    secret = local.settings.client_secret
    assert secret and secret not in repr(local.settings)
    srp_client(local, PASSWORD, secret=secret).authenticate_user()
    with pytest.raises(ClientError) as excinfo:
        srp_client(local, PASSWORD, secret="not-the-secret").authenticate_user()
    assert error_of(excinfo)[0] == "NotAuthorizedException"


def test_srp_works_for_a_pool_that_signs_in_with_email(make_local):
    local = make_local(
        LocalSpec(
            pool=PoolSpec(username_attributes=("email",)),
            users=(UserSpec("bob@example.com", PASSWORD),),
        )
    )
    result = srp_client(local, PASSWORD, "bob@example.com").authenticate_user()
    id_claims = claims(result["AuthenticationResult"]["IdToken"])
    assert id_claims["email"] == "bob@example.com"
    assert id_claims["cognito:username"] == local.users.username_of("bob@example.com") == id_claims["sub"]


# -- token validity and the emulator clock ------------------------------------------------------


def test_tokens_follow_the_client_validity_in_seconds_and_the_emulator_clock(make_local, clock):
    clock.set(1_800_000_000)
    spec = LocalSpec(
        client=ClientSpec(access_token_validity=60, id_token_validity=120),
        users=default_test_spec().users,
    )
    result = tokens(make_local(spec))
    access, id_token = claims(result["AccessToken"]), claims(result["IdToken"])
    assert result["ExpiresIn"] == 60
    assert (access["iat"], access["exp"]) == (1_800_000_000, 1_800_000_060)
    assert (id_token["iat"], id_token["exp"]) == (1_800_000_000, 1_800_000_120)
    assert id_token["email"] == "alice@example.com" and id_token["email_verified"] is True


def test_refresh_keeps_auth_time_and_uses_the_clock(local, clock):
    first = tokens(local)
    clock.advance(1000)
    renewed = refresh(local, first["RefreshToken"])["AuthenticationResult"]
    assert "RefreshToken" not in renewed
    renewed_claims = claims(renewed["IdToken"])
    assert renewed_claims["iat"] == claims(first["IdToken"])["iat"] + 1000
    assert renewed_claims["auth_time"] == claims(first["IdToken"])["auth_time"]


def test_an_expired_refresh_token_is_refused(make_local, clock):
    spec = LocalSpec(client=ClientSpec(refresh_token_validity=600), users=default_test_spec().users)
    local = make_local(spec)
    refresh_token = tokens(local)["RefreshToken"]
    clock.advance(599)
    refresh(local, refresh_token)
    clock.advance(1)
    with pytest.raises(ClientError) as excinfo:
        refresh(local, refresh_token)
    assert error_of(excinfo) == ("NotAuthorizedException", "Refresh Token has expired")


def test_an_expired_access_token_is_refused(make_local, clock):
    local = make_local(
        LocalSpec(client=ClientSpec(access_token_validity=300), users=default_test_spec().users)
    )
    access_token = tokens(local)["AccessToken"]
    idp = client(local, "cognito-idp")
    assert idp.get_user(AccessToken=access_token)["Username"] == "alice"
    clock.advance(300)
    with pytest.raises(ClientError) as excinfo:
        idp.get_user(AccessToken=access_token)
    assert error_of(excinfo) == ("NotAuthorizedException", "Access Token has expired")


# -- refresh for users who changed ----------------------------------------------------------------


def test_refresh_of_a_disabled_user_is_refused(local):
    refresh_token = tokens(local)["RefreshToken"]
    local.users.disable("alice")
    with pytest.raises(ClientError) as excinfo:
        refresh(local, refresh_token)
    assert error_of(excinfo) == ("NotAuthorizedException", "User is disabled.")


def test_refresh_of_a_deleted_user_is_refused(local):
    refresh_token = tokens(local)["RefreshToken"]
    local.users.delete("alice")
    with pytest.raises(ClientError) as excinfo:
        refresh(local, refresh_token)
    assert error_of(excinfo)[0] == "NotAuthorizedException"  # moto alone answers HTTP 500


def test_refresh_after_an_admin_password_reset_requires_a_reset(local):
    refresh_token = tokens(local)["RefreshToken"]
    local.users.reset_password("alice")
    with pytest.raises(ClientError) as excinfo:
        refresh(local, refresh_token)
    assert error_of(excinfo)[0] == "PasswordResetRequiredException"
    with pytest.raises(ClientError) as excinfo:
        password_auth(local)
    assert error_of(excinfo)[0] == "PasswordResetRequiredException"


def test_global_sign_out_revokes_the_refresh_token(local):
    refresh_token = tokens(local)["RefreshToken"]
    local.users.global_sign_out("alice")
    assert local.users.refresh_token_revoked(refresh_token)
    with pytest.raises(ClientError) as excinfo:
        refresh(local, refresh_token)
    assert error_of(excinfo) == ("NotAuthorizedException", "Refresh Token has been revoked")


def test_an_unknown_refresh_token_is_invalid(local):
    with pytest.raises(ClientError) as excinfo:
        refresh(local, "not-a-token")
    assert error_of(excinfo) == ("NotAuthorizedException", "Invalid Refresh Token")


# -- lockout --------------------------------------------------------------------------------------


def wrong_password_error(local: Any) -> str:
    with pytest.raises(ClientError) as excinfo:
        password_auth(local, password="Wrong-Passw0rd!")
    return error_of(excinfo)[1]


def test_five_wrong_passwords_lock_the_user_for_doubling_times(local, clock):
    for _ in range(5):
        assert wrong_password_error(local) == "Incorrect username or password."
    with pytest.raises(ClientError) as excinfo:
        password_auth(local)  # even the right password, during the lock
    assert error_of(excinfo) == ("NotAuthorizedException", "Password attempts exceeded")

    clock.advance(1.0)  # 2^(5-5) s
    assert wrong_password_error(local) == "Incorrect username or password."  # 6th: 2 s lock
    clock.advance(1.5)
    assert wrong_password_error(local) == "Password attempts exceeded"
    clock.advance(0.5)
    assert tokens(local)["AccessToken"]  # a right password resets the count
    assert wrong_password_error(local) == "Incorrect username or password."
    assert tokens(local)["AccessToken"]


def test_the_lock_is_capped_at_fifteen_minutes(local, clock):
    for _ in range(20):
        wrong_password_error(local)
        clock.advance(16 * 60)
    assert wrong_password_error(local) == "Incorrect username or password."
    clock.advance(15 * 60 - 1)
    assert wrong_password_error(local) == "Password attempts exceeded"


def test_srp_wrong_passwords_count_towards_the_lockout(local):
    for _ in range(5):
        with pytest.raises(ClientError):
            srp_client(local, "Wrong-Passw0rd!").authenticate_user()
    with pytest.raises(ClientError) as excinfo:
        srp_client(local, PASSWORD).authenticate_user()
    assert error_of(excinfo) == ("NotAuthorizedException", "Password attempts exceeded")


def test_reset_forgets_lockouts(local, emulator):
    for _ in range(5):
        wrong_password_error(local)
    emulator.reset()
    assert tokens(local)["AccessToken"]


# -- identity pools ------------------------------------------------------------------------------


def test_get_id_returns_one_identity_per_user(local):
    local.users.add(UserSpec("bob", "Bob-Passw0rd!"))
    first = get_id(local, tokens(local)["IdToken"])
    again = get_id(local, tokens(local)["IdToken"])
    other = get_id(local, tokens(local, "bob", "Bob-Passw0rd!")["IdToken"])
    assert first == again != other
    assert first.startswith(local.settings.region + ":")


@pytest.mark.parametrize("tamper", ["signature", "payload"])
def test_get_id_refuses_a_forged_token(local, tamper):
    header, payload, signature = tokens(local)["IdToken"].split(".")
    if tamper == "signature":
        signature = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    else:
        forged = {**claims(f"{header}.{payload}.x"), "sub": "someone-else"}
        payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    with pytest.raises(ClientError) as excinfo:
        get_id(local, f"{header}.{payload}.{signature}")
    assert error_of(excinfo)[0] == "NotAuthorizedException"


def test_get_id_refuses_an_access_token_and_an_expired_id_token(local, clock):
    result = tokens(local)
    with pytest.raises(ClientError) as excinfo:
        get_id(local, result["AccessToken"])
    assert error_of(excinfo)[0] == "NotAuthorizedException"
    clock.advance(3600)
    with pytest.raises(ClientError) as excinfo:
        get_id(local, result["IdToken"])
    assert error_of(excinfo)[1].startswith("Invalid login token. Token expired")


def test_guests_are_refused_unless_the_pool_allows_them(local, make_local):
    with pytest.raises(ClientError) as excinfo:
        get_id(local, None)
    assert error_of(excinfo)[0] == "NotAuthorizedException"

    make_local(LocalSpec(identity_pool=IdentityPoolSpec(allow_unauthenticated=True)))
    guest = get_id(local, None)
    assert credentials_for(local, guest, None)["AccessKeyId"].startswith("ASIA")
    assert get_id(local, None) != guest  # each guest GetId is a new identity


def test_credentials_are_fresh_each_call_and_last_the_pool_lifetime(make_local, clock):
    spec = LocalSpec(
        identity_pool=IdentityPoolSpec(credentials_lifetime=900), users=default_test_spec().users
    )
    local = make_local(spec)
    id_token = tokens(local)["IdToken"]
    identity_id = get_id(local, id_token)
    first, second = (credentials_for(local, identity_id, id_token) for _ in range(2))
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert first["SecretKey"] != second["SecretKey"]
    assert all(c["AccessKeyId"].startswith("ASIA") for c in (first, second))
    assert first["Expiration"].timestamp() == pytest.approx(clock.time() + 900, abs=1)


def test_credentials_need_a_live_token_of_the_same_user(local, clock):
    local.users.add(UserSpec("bob", "Bob-Passw0rd!"))
    id_token = tokens(local)["IdToken"]
    identity_id = get_id(local, id_token)
    bob_token = tokens(local, "bob", "Bob-Passw0rd!")["IdToken"]
    for logins_token in (None, bob_token):
        with pytest.raises(ClientError) as excinfo:
            credentials_for(local, identity_id, logins_token)
        assert error_of(excinfo)[0] == "NotAuthorizedException"
    clock.advance(3600)
    with pytest.raises(ClientError) as excinfo:
        credentials_for(local, identity_id, id_token)
    code, message = error_of(excinfo)
    assert code == "NotAuthorizedException"
    assert message.startswith("Invalid login token. Token expired")


def test_credentials_for_an_unknown_identity_are_refused(local):
    with pytest.raises(ClientError) as excinfo:
        credentials_for(local, f"{local.settings.region}:00000000-0000-0000-0000-000000000000", None)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_s3_receives_the_vended_credentials(local):
    id_token = tokens(local)["IdToken"]
    creds = credentials_for(local, get_id(local, id_token), id_token)
    body = client(local, "s3", creds).get_object(Bucket="nb-cognito-test", Key="hello.txt")["Body"]
    assert body.read() == b"hello from nb_cognito.local\n"
    assert local.received_access_keys("s3") == [creds["AccessKeyId"]]
    assert local.request_counts()["s3:GET"] == 1


# -- GetTokensFromRefreshToken and RevokeToken ----------------------------------------------------


def get_tokens_from_refresh(local: Any, refresh_token: str) -> dict[str, Any]:
    return client(local, "cognito-idp").get_tokens_from_refresh_token(
        ClientId=local.settings.client_id, RefreshToken=refresh_token
    )["AuthenticationResult"]


def test_get_tokens_from_refresh_token_without_rotation(local):
    refresh_token = tokens(local)["RefreshToken"]
    result = get_tokens_from_refresh(local, refresh_token)
    assert "RefreshToken" not in result and result["AccessToken"]
    assert get_tokens_from_refresh(local, refresh_token)["IdToken"]
    assert local.request_counts()["GetTokensFromRefreshToken"] == 2


def test_rotation_issues_a_new_refresh_token_and_refuses_reuse(make_local):
    spec = LocalSpec(client=ClientSpec(refresh_token_rotation=True), users=default_test_spec().users)
    local = make_local(spec)
    old = tokens(local)["RefreshToken"]
    new = get_tokens_from_refresh(local, old)["RefreshToken"]
    assert new != old
    with pytest.raises(ClientError) as excinfo:
        get_tokens_from_refresh(local, old)
    assert error_of(excinfo)[0] == "RefreshTokenReuseException"
    assert get_tokens_from_refresh(local, new)["RefreshToken"] not in (old, new)
    with pytest.raises(ClientError) as excinfo:
        refresh(local, new)  # REFRESH_TOKEN_AUTH is not for rotating clients
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_revoke_token_revokes_the_refresh_token_and_its_access_tokens(local):
    result = tokens(local)
    idp = client(local, "cognito-idp")
    answer = idp.revoke_token(Token=result["RefreshToken"], ClientId=local.settings.client_id)
    assert {k: v for k, v in answer.items() if k != "ResponseMetadata"} == {}
    assert local.users.refresh_token_revoked(result["RefreshToken"])
    with pytest.raises(ClientError) as excinfo:
        refresh(local, result["RefreshToken"])
    assert error_of(excinfo) == ("NotAuthorizedException", "Refresh Token has been revoked")
    with pytest.raises(ClientError):
        idp.get_user(AccessToken=result["AccessToken"])


# -- MFA ------------------------------------------------------------------------------------------


def mfa_spec(mfa: str = "OPTIONAL", **user: Any) -> LocalSpec:
    return LocalSpec(
        pool=PoolSpec(mfa=mfa, mfa_types=("TOTP", "SMS")), users=(UserSpec("alice", PASSWORD, **user),)
    )


def answer(local: Any, name: str, session: str, **responses: str) -> dict[str, Any]:
    return client(local, "cognito-idp").respond_to_auth_challenge(
        ClientId=local.settings.client_id,
        ChallengeName=name,
        Session=session,
        ChallengeResponses={"USERNAME": "alice", **responses},
    )


def test_totp_codes_are_checked_at_the_emulator_clock(make_local, clock):
    clock.set(1_700_000_000)
    local = make_local(mfa_spec(totp_secret=TOTP_SECRET))
    challenge = password_auth(local)
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    session = challenge["Session"]
    right = pyotp.TOTP(TOTP_SECRET).at(int(clock.time()))
    for wrong in (pyotp.TOTP(TOTP_SECRET).at(int(clock.time()) - 3600), f"{(int(right) + 1) % 10**6:06d}"):
        with pytest.raises(ClientError) as excinfo:
            answer(local, "SOFTWARE_TOKEN_MFA", session, SOFTWARE_TOKEN_MFA_CODE=wrong)
        assert error_of(excinfo)[0] == "CodeMismatchException"
    assert local.users.totp_code("alice") == right
    result = answer(local, "SOFTWARE_TOKEN_MFA", session, SOFTWARE_TOKEN_MFA_CODE=right)
    assert result["AuthenticationResult"]["AccessToken"]


def test_totp_registration_uses_a_random_secret_and_checks_the_code(local, clock):
    idp = client(local, "cognito-idp")
    access_token = tokens(local)["AccessToken"]
    secrets = {idp.associate_software_token(AccessToken=access_token)["SecretCode"] for _ in range(2)}
    assert len(secrets) == 2 and "asdfasdfasdf" not in secrets
    secret = idp.associate_software_token(AccessToken=access_token)["SecretCode"]
    assert len(secret) >= 16 and local.users.totp_secret("alice") == secret
    with pytest.raises(ClientError) as excinfo:
        idp.verify_software_token(
            AccessToken=access_token,
            UserCode="000000" if pyotp.TOTP(secret).at(int(clock.time())) != "000000" else "111111",
        )
    assert error_of(excinfo)[0] == "EnableSoftwareTokenMFAException"
    code = pyotp.TOTP(secret).at(int(clock.time()))
    assert idp.verify_software_token(AccessToken=access_token, UserCode=code)["Status"] == "SUCCESS"


def test_mfa_setup_is_required_when_the_pool_requires_mfa(make_local, clock):
    local = make_local(mfa_spec("ON"))
    challenge = password_auth(local)
    assert challenge["ChallengeName"] == "MFA_SETUP"
    idp = client(local, "cognito-idp")
    associated = idp.associate_software_token(Session=challenge["Session"])
    code = pyotp.TOTP(associated["SecretCode"]).at(int(clock.time()))
    verified = idp.verify_software_token(Session=associated["Session"], UserCode=code)
    result = answer(local, "MFA_SETUP", verified["Session"])
    assert result["AuthenticationResult"]["IdToken"]
    assert password_auth(local)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"  # now set up


def test_sms_codes_are_checked(make_local):
    local = make_local(mfa_spec(phone_number="+15555550100", sms_mfa=True))
    challenge = password_auth(local)
    assert challenge["ChallengeName"] == "SMS_MFA"
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"].endswith("0100")
    code = local.users.last_sms_code("alice")
    assert len(code) == 6 and code.isdigit()
    with pytest.raises(ClientError) as excinfo:
        answer(local, "SMS_MFA", challenge["Session"], SMS_MFA_CODE=f"{(int(code) + 1) % 10**6:06d}")
    assert error_of(excinfo)[0] == "CodeMismatchException"
    result = answer(local, "SMS_MFA", challenge["Session"], SMS_MFA_CODE=code)
    assert result["AuthenticationResult"]["AccessToken"]


def test_a_user_with_two_mfa_kinds_chooses_one(make_local, clock):
    local = make_local(mfa_spec(totp_secret=TOTP_SECRET, phone_number="+15555550100", sms_mfa=True))
    challenge = password_auth(local)
    assert challenge["ChallengeName"] == "SELECT_MFA_TYPE"
    assert set(json.loads(challenge["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == {
        "SMS_MFA",
        "SOFTWARE_TOKEN_MFA",
    }
    chosen = answer(local, "SELECT_MFA_TYPE", challenge["Session"], ANSWER="SOFTWARE_TOKEN_MFA")
    assert chosen["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    done = answer(
        local, "SOFTWARE_TOKEN_MFA", chosen["Session"], SOFTWARE_TOKEN_MFA_CODE=local.users.totp_code("alice")
    )
    assert done["AuthenticationResult"]["AccessToken"]


def test_challenge_sessions_expire(make_local, clock):
    local = make_local(mfa_spec(phone_number="+15555550100", sms_mfa=True))
    challenge = password_auth(local)
    clock.advance(3 * 60)
    with pytest.raises(ClientError) as excinfo:
        answer(local, "SMS_MFA", challenge["Session"], SMS_MFA_CODE=local.users.last_sms_code("alice"))
    assert error_of(excinfo)[0] == "NotAuthorizedException"


# -- other sign-in states -------------------------------------------------------------------------


def test_new_password_required_enforces_the_policy(make_local):
    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD, must_change_password=True),)))
    challenge = password_auth(local)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(ClientError) as excinfo:
        answer(local, "NEW_PASSWORD_REQUIRED", challenge["Session"], NEW_PASSWORD="short")
    assert error_of(excinfo)[0] == "InvalidPasswordException"
    result = answer(local, "NEW_PASSWORD_REQUIRED", challenge["Session"], NEW_PASSWORD="New-Passw0rd!")
    assert result["AuthenticationResult"]["AccessToken"]
    assert tokens(local, password="New-Passw0rd!")["AccessToken"]


def test_an_unconfirmed_user_cannot_sign_in(make_local):
    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD, confirmed=False),)))
    with pytest.raises(ClientError) as excinfo:
        password_auth(local)
    assert error_of(excinfo)[0] == "UserNotConfirmedException"


# -- STS, JWKS, and the request log ---------------------------------------------------------------


def test_assume_role_with_web_identity_vends_distinct_credentials(local, clock):
    sts = client(local, "sts")
    token = tokens(local)["IdToken"]
    issued = [
        sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::123456789012:role/nb-cognito-local",
            RoleSessionName="alice",
            WebIdentityToken=token,
            DurationSeconds=900,
        )["Credentials"]
        for _ in range(2)
    ]
    assert issued[0]["AccessKeyId"] != issued[1]["AccessKeyId"]
    assert issued[0]["Expiration"].timestamp() == pytest.approx(clock.time() + 900, abs=1)
    assert local.request_counts()["AssumeRoleWithWebIdentity"] == 2


def test_id_tokens_verify_against_the_served_jwks(local):
    with urllib.request.urlopen(local.jwks_url, timeout=10) as response:
        key_set = jwk.KeySet.import_key_set(json.load(response))
    token = jwt.decode(tokens(local)["IdToken"], key_set, algorithms=["RS256"])
    assert token.header["kid"] == "dummy"
    assert token.claims["iss"] == local.issuer
    assert token.claims["aud"] == local.settings.client_id
    assert local.request_counts()["GetJWKS"] == 1


def test_provisioning_is_not_in_the_request_log(local):
    assert local.request_counts() == {}
    assert local.received_access_keys() == []
    local.users.add(UserSpec("bob", "Bob-Passw0rd!"))
    local.users.disable("bob")
    assert local.request_counts() == {}
    tokens(local)
    assert local.request_counts() == {"InitiateAuth": 1}
    local.reset_counts()
    assert local.request_counts() == {}


def test_patches_apply_once_and_check_the_moto_version():
    from moto.cognitoidp.models import CognitoIdpBackend

    patches.apply()
    patches.apply()
    assert CognitoIdpBackend.initiate_auth is patches.initiate.initiate_auth
    assert patches.version_tuple("5.2.5") == (5, 2)
    assert patches.SUPPORTED_MOTO[0] <= patches.version_tuple("5.1.0.dev3") < patches.SUPPORTED_MOTO[1]
    assert not patches.version_tuple("5.3.0") < patches.SUPPORTED_MOTO[1]


def test_a_pool_outside_us_east_1_works_end_to_end(make_local):
    local = make_local(
        LocalSpec(
            region="eu-west-1",
            users=default_test_spec().users,
            buckets={"nb-cognito-eu": {"k.txt": b"eu"}},
        )
    )
    assert local.settings.user_pool_id.startswith("eu-west-1_")
    result = srp_client(local, PASSWORD).authenticate_user()["AuthenticationResult"]
    assert claims(result["IdToken"])["iss"] == local.issuer
    identity_id = get_id(local, result["IdToken"])
    assert identity_id.startswith("eu-west-1:")
    creds = credentials_for(local, identity_id, result["IdToken"])
    s3 = client(local, "s3", creds)
    assert s3.get_object(Bucket="nb-cognito-eu", Key="k.txt")["Body"].read() == b"eu"
    assert get_tokens_from_refresh(local, result["RefreshToken"])["AccessToken"]


def test_the_date_header_tells_the_emulator_clock(local, clock):
    """Every AWS response carries a ``Date`` header with the server's time (RFC 9110 §6.6.1);
    nb_cognito re-measures its drift from it, so it must follow the emulator's clock."""
    import email.utils

    import boto3

    clock.set(1_800_000_000)
    client = boto3.client(
        "cognito-identity",
        endpoint_url=local.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="example",
    )
    headers = client.list_identity_pools(MaxResults=1)["ResponseMetadata"]["HTTPHeaders"]
    assert email.utils.parsedate_to_datetime(headers["date"]).timestamp() == 1_800_000_000


def test_the_signing_keys_of_an_unknown_pool_are_not_found(local):
    """A pool's JWKS is at ``https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json``
    (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html);
    for a pool that does not exist there is none, and the emulator answers 404 (moto served its
    one key set for any pool id). Clients tell a wrong pool id from a wrong password by it."""
    import http.client
    import json
    from urllib.parse import urlsplit

    endpoint = urlsplit(local.endpoint_url)
    for pool, status in ((local.settings.user_pool_id, 200), ("us-east-1_NoSuchPool", 404)):
        connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
        connection.request("GET", f"/{pool}/.well-known/jwks.json")
        answer = connection.getresponse()
        body = json.loads(answer.read())
        connection.close()
        assert answer.status == status
        assert ("keys" in body) is (status == 200)
