"""The emulator models Cognito features a client needs (issue 14, item 7), each a ``LocalSpec`` option.

Every test drives the emulator with plain boto3 over HTTP (and pycognito's SRP maths where the
protocol needs it), never with nb_cognito's session, and cites the AWS page that documents the
behaviour it checks. When the emulator and the documentation disagree, the documentation wins.
"""

from __future__ import annotations

import base64
import json
import re
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
from pycognito.aws_srp import AWSSRP, generate_hash_device, long_to_hex

from nb_cognito.local import ClientSpec, LocalSpec, PoolSpec, UserSpec

NEW_PASSWORD = "Alice-N3w-Passw0rd!"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
EMAIL = "alice@example.com"
PHONE = "+15555550100"


_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 session for the module, so that service models load once."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def idp(local: Any) -> Any:
    """An unsigned cognito-idp client of the emulator, as an app would have one."""
    return _session().client(
        "cognito-idp",
        region_name=local.settings.region,
        endpoint_url=local.settings.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}, signature_version=UNSIGNED),
    )


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def password_auth(
    local: Any, username: str = "alice", password: str = PASSWORD, **extra: str
) -> dict[str, Any]:
    return idp(local).initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password, **extra},
    )


def respond(local: Any, answer: dict[str, Any], name: str, **responses: str) -> dict[str, Any]:
    return idp(local).respond_to_auth_challenge(
        ClientId=local.settings.client_id,
        ChallengeName=name,
        Session=answer["Session"],
        ChallengeResponses={"USERNAME": "alice", **responses},
    )


def totp_now(local: Any) -> str:
    return pyotp.TOTP(TOTP_SECRET).at(local.clock.time())


# -- a. the UPDATED issuer ----------------------------------------------------------------------


def test_updated_issuer_tokens_verify_against_the_served_jwks_and_open_the_identity_pool(make_local):
    """``IssuerConfiguration: UPDATED`` pools sign tokens with
    ``iss = https://issuer-cognito-idp.<region>.amazonaws.com/<pool>``; the JWKS is the pool's.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html
    """
    local = make_local(LocalSpec(pool=PoolSpec(issuer="updated"), users=(UserSpec("alice", PASSWORD),)))
    settings = local.settings
    result = password_auth(local)["AuthenticationResult"]
    expected = f"https://issuer-cognito-idp.{settings.region}.amazonaws.com/{settings.user_pool_id}"
    assert local.issuer == expected
    with urllib.request.urlopen(local.jwks_url, timeout=10) as answer:
        key_set = jwk.KeySet.import_key_set(json.load(answer))
    for kind in ("IdToken", "AccessToken"):
        token = jwt.decode(result[kind], key_set, algorithms=["RS256"])
        assert token.claims["iss"] == expected
    identity = _session().client(
        "cognito-identity",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    provider = f"cognito-idp.{settings.region}.amazonaws.com/{settings.user_pool_id}"
    logins = {provider: result["IdToken"]}
    identity_id = identity.get_id(IdentityPoolId=settings.identity_pool_id, Logins=logins)["IdentityId"]
    creds = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")


def test_the_original_issuer_stays_the_default(make_local):
    """https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html"""
    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),)))
    token = password_auth(local)["AuthenticationResult"]["IdToken"]
    assert claims(token)["iss"].startswith("https://cognito-idp.") and claims(token)["iss"] == local.issuer


# -- e. NEW_PASSWORD_REQUIRED with required attributes ------------------------------------------


def test_new_password_required_lists_missing_required_attributes_and_needs_them(make_local):
    """``requiredAttributes`` names what the user must give as ``userAttributes.<name>``; an
    answer without them is refused (InvalidParameterException).

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
    (ChallengeResponses, NEW_PASSWORD_REQUIRED) and API_InitiateAuth.html (ChallengeName).
    """
    pool = PoolSpec(required_attributes=("name", "email"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, must_change_password=True)
    local = make_local(LocalSpec(pool=pool, users=(user,)))
    answer = password_auth(local)
    assert answer["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    parameters = answer["ChallengeParameters"]
    assert json.loads(parameters["requiredAttributes"]) == ["userAttributes.name"]
    assert json.loads(parameters["userAttributes"])["email"] == EMAIL
    with pytest.raises(ClientError) as excinfo:
        respond(local, answer, "NEW_PASSWORD_REQUIRED", NEW_PASSWORD=NEW_PASSWORD)
    assert error_of(excinfo)[0] == "InvalidParameterException" and "name" in error_of(excinfo)[1]
    answer = password_auth(local)
    done = respond(
        local,
        answer,
        "NEW_PASSWORD_REQUIRED",
        NEW_PASSWORD=NEW_PASSWORD,
        **{"userAttributes.name": "Alice A."},
    )
    assert claims(done["AuthenticationResult"]["IdToken"])["name"] == "Alice A."
    assert "AuthenticationResult" in password_auth(local, password=NEW_PASSWORD)


# -- c. EMAIL_OTP as an MFA method -------------------------------------------------------------


def test_email_otp_is_offered_in_select_mfa_type_and_checks_the_emailed_code(make_local):
    """SELECT_MFA_TYPE lists EMAIL_OTP; the EMAIL_OTP challenge takes ``EMAIL_OTP_CODE``.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-sms-email-message.html
    """
    pool = PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "EMAIL"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, totp_secret=TOTP_SECRET, email_mfa=True)
    local = make_local(LocalSpec(pool=pool, users=(user,)))
    answer = password_auth(local)
    assert answer["ChallengeName"] == "SELECT_MFA_TYPE"
    assert set(json.loads(answer["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == {
        "SOFTWARE_TOKEN_MFA",
        "EMAIL_OTP",
    }
    answer = respond(local, answer, "SELECT_MFA_TYPE", ANSWER="EMAIL_OTP")
    assert answer["ChallengeName"] == "EMAIL_OTP"
    assert answer["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert EMAIL not in answer["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"]
    code = local.users.last_email_code("alice")
    wrong = f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
    with pytest.raises(ClientError) as excinfo:
        respond(local, answer, "EMAIL_OTP", EMAIL_OTP_CODE=wrong)
    assert error_of(excinfo)[0] == "CodeMismatchException"
    assert "AuthenticationResult" in respond(local, answer, "EMAIL_OTP", EMAIL_OTP_CODE=code)
    # The API reference spells the selection EMAIL_MFA; it selects the same challenge.
    answer = respond(local, password_auth(local), "SELECT_MFA_TYPE", ANSWER="EMAIL_MFA")
    assert answer["ChallengeName"] == "EMAIL_OTP"


def test_mfa_setup_offering_only_email_otp_is_answered_with_an_email(make_local):
    """MFA_SETUP lists EMAIL_OTP in MFAS_CAN_SETUP; answering with ``EMAIL`` sends a code, and the
    EMAIL_OTP answer turns email MFA on (Amplify's CONTINUE_SIGN_IN_WITH_EMAIL_SETUP).

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
    (ChallengeName: MFA_SETUP) and API_RespondToAuthChallenge.html.
    """
    local = make_local(
        LocalSpec(pool=PoolSpec(mfa="ON", mfa_types=("EMAIL",)), users=(UserSpec("alice", PASSWORD),))
    )
    answer = password_auth(local)
    assert answer["ChallengeName"] == "MFA_SETUP"
    assert json.loads(answer["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["EMAIL_OTP"]
    with pytest.raises(ClientError) as excinfo:
        respond(local, answer, "MFA_SETUP")
    assert error_of(excinfo)[0] == "InvalidParameterException"
    answer = respond(local, password_auth(local), "MFA_SETUP", EMAIL=EMAIL)
    assert answer["ChallengeName"] == "EMAIL_OTP"
    done = respond(local, answer, "EMAIL_OTP", EMAIL_OTP_CODE=local.users.last_email_code("alice"))
    assert claims(done["AuthenticationResult"]["IdToken"])["email"] == EMAIL
    assert password_auth(local)["ChallengeName"] == "EMAIL_OTP"  # set up: asked from now on


def test_email_mfa_is_turned_on_with_set_user_mfa_preference(make_local):
    """``EmailMfaSettings`` in SetUserMFAPreference turns email MFA on (and preferred); GetUser
    lists it; the next sign-in asks for the emailed code.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetUserMFAPreference.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetUser.html
    """
    pool = PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "EMAIL"))
    local = make_local(
        LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD, attributes={"email": EMAIL}),))
    )
    access = password_auth(local)["AuthenticationResult"]["AccessToken"]
    client = idp(local)
    client.set_user_mfa_preference(
        AccessToken=access, EmailMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    user = client.get_user(AccessToken=access)
    assert user["UserMFASettingList"] == ["EMAIL_OTP"] and user["PreferredMfaSetting"] == "EMAIL_OTP"
    assert password_auth(local)["ChallengeName"] == "EMAIL_OTP"
    client.set_user_mfa_preference(AccessToken=access, EmailMfaSettings={"Enabled": False})
    assert "AuthenticationResult" in password_auth(local)


# -- d. the choice-based USER_AUTH flow ---------------------------------------------------------


def user_auth_local(make_local: Any) -> Any:
    pool = PoolSpec(allowed_first_auth_factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"))
    user = UserSpec("alice", PASSWORD, attributes={"email": EMAIL}, phone_number=PHONE)
    return make_local(LocalSpec(pool=pool, users=(user,)))


def user_auth(local: Any, **parameters: str) -> dict[str, Any]:
    return idp(local).initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": "alice", **parameters},
    )


def test_user_auth_offers_select_challenge_and_each_first_factor_signs_in(make_local):
    """USER_AUTH without PREFERRED_CHALLENGE answers SELECT_CHALLENGE with AvailableChallenges;
    ANSWER=PASSWORD (with PASSWORD), PASSWORD_SRP (with SRP_A), EMAIL_OTP and SMS_OTP each sign in.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
    https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flows-selection-sdk.html
    """
    local = user_auth_local(make_local)
    answer = user_auth(local)
    assert answer["ChallengeName"] == "SELECT_CHALLENGE"
    assert answer["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"]

    with pytest.raises(ClientError) as excinfo:
        respond(local, user_auth(local), "SELECT_CHALLENGE", ANSWER="PASSWORD", PASSWORD="Wrong-Passw0rd!")
    assert error_of(excinfo) == ("NotAuthorizedException", "Incorrect username or password.")
    done = respond(local, answer, "SELECT_CHALLENGE", ANSWER="PASSWORD", PASSWORD=PASSWORD)
    assert "AuthenticationResult" in done

    helper = AWSSRP(
        "alice", PASSWORD, local.settings.user_pool_id, local.settings.client_id, client=idp(local)
    )
    srp_a = long_to_hex(helper.large_a_value)
    verifier = respond(local, user_auth(local), "SELECT_CHALLENGE", ANSWER="PASSWORD_SRP", SRP_A=srp_a)
    assert verifier["ChallengeName"] == "PASSWORD_VERIFIER"
    claim = helper.process_challenge(verifier["ChallengeParameters"], {"USERNAME": "alice"})
    assert "AuthenticationResult" in respond(local, verifier, "PASSWORD_VERIFIER", **claim)

    for factor, field, read in (
        ("EMAIL_OTP", "EMAIL_OTP_CODE", local.users.last_email_code),
        ("SMS_OTP", "SMS_OTP_CODE", local.users.last_sms_code),
    ):
        sent = respond(local, user_auth(local), "SELECT_CHALLENGE", ANSWER=factor)
        assert sent["ChallengeName"] == factor
        with pytest.raises(ClientError) as excinfo:
            respond(local, sent, factor, **{field: "00000000"})
        assert error_of(excinfo)[0] == "CodeMismatchException"
        assert "AuthenticationResult" in respond(local, sent, factor, **{field: read("alice")})


def test_user_auth_with_a_preferred_challenge_skips_the_selection(make_local):
    """PREFERRED_CHALLENGE=PASSWORD with PASSWORD signs in at once; EMAIL_OTP sends the code.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
    """
    local = user_auth_local(make_local)
    assert "AuthenticationResult" in user_auth(local, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=PASSWORD)
    assert user_auth(local, PREFERRED_CHALLENGE="EMAIL_OTP")["ChallengeName"] == "EMAIL_OTP"


def test_user_auth_web_authn_is_offered_but_cannot_be_answered_here(make_local):
    """The emulator holds no passkeys: WEB_AUTHN is listed (a client must refuse it itself) and
    choosing it is an InvalidParameterException, never a sign-in.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
    """
    local = user_auth_local(make_local)
    with pytest.raises(ClientError) as excinfo:
        respond(local, user_auth(local), "SELECT_CHALLENGE", ANSWER="WEB_AUTHN")
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_user_auth_lists_only_the_factors_a_user_can_use(make_local):
    """https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flows-selection-sdk.html"""
    pool = PoolSpec(allowed_first_auth_factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP"))
    local = make_local(LocalSpec(pool=pool, users=(UserSpec("alice", PASSWORD),)))
    assert user_auth(local)["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP"]


# -- b. device tracking ------------------------------------------------------------------------

DEVICE_KEY_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d_[0-9a-f-]{36}")


def device_local(make_local: Any, tracking: str, **pool: Any) -> Any:
    user = UserSpec("alice", PASSWORD, totp_secret=TOTP_SECRET if pool.get("mfa") else None)
    return make_local(
        LocalSpec(pool=PoolSpec(device_tracking=tracking, **pool), client=ClientSpec(), users=(user,))
    )


def confirm(local: Any, result: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """ConfirmDevice as the SDKs do it: (device key, group key, device password, the answer)."""
    metadata = result["NewDeviceMetadata"]
    device_password, verifier_config = generate_hash_device(metadata["DeviceGroupKey"], metadata["DeviceKey"])
    answer = idp(local).confirm_device(
        AccessToken=result["AccessToken"],
        DeviceKey=metadata["DeviceKey"],
        DeviceSecretVerifierConfig=verifier_config,
        DeviceName="laptop",
    )
    return metadata["DeviceKey"], metadata["DeviceGroupKey"], device_password, answer


def sign_in_with_totp(local: Any, **extra: str) -> dict[str, Any]:
    answer = password_auth(local, **extra)
    if answer.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
        answer = respond(local, answer, "SOFTWARE_TOKEN_MFA", SOFTWARE_TOKEN_MFA_CODE=totp_now(local))
    return answer


def device_srp(local: Any, answer: dict[str, Any], key: str, group: str, password: str) -> dict[str, Any]:
    """Answer DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER with pycognito's device maths."""
    settings = local.settings
    helper = AWSSRP(
        "alice", PASSWORD, settings.user_pool_id, settings.client_id, client=idp(local),
        device_key=key, device_group_key=group, device_password=password,
    )  # fmt: skip
    verifier = respond(
        local, answer, "DEVICE_SRP_AUTH", DEVICE_KEY=key, SRP_A=long_to_hex(helper.large_a_value)
    )
    assert verifier["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
    claim = helper.process_device_challenge(verifier["ChallengeParameters"])
    return respond(local, verifier, "DEVICE_PASSWORD_VERIFIER", **claim)


def test_device_tracking_binds_the_refresh_token_to_the_device_key(make_local):
    """With device tracking on, sign-in returns NewDeviceMetadata (DeviceKey ``<region>_<uuid>``),
    and a refresh of that token without the device key is NotAuthorizedException
    'Invalid Refresh Token'; with DEVICE_KEY (REFRESH_TOKEN_AUTH) or DeviceKey
    (GetTokensFromRefreshToken) it works.

    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_NewDeviceMetadataType.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
    (ChallengeName DEVICE_SRP_AUTH)
    """
    local = device_local(make_local, "always")
    result = password_auth(local)["AuthenticationResult"]
    key = result["NewDeviceMetadata"]["DeviceKey"]
    assert DEVICE_KEY_RE.fullmatch(key) and key.startswith(local.settings.region + "_")
    assert result["NewDeviceMetadata"]["DeviceGroupKey"]
    assert claims(result["AccessToken"])["device_key"] == key
    client, refresh = idp(local), result["RefreshToken"]
    client_id = local.settings.client_id
    with pytest.raises(ClientError) as excinfo:
        client.initiate_auth(
            ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh}
        )
    assert error_of(excinfo) == ("NotAuthorizedException", "Invalid Refresh Token")
    with pytest.raises(ClientError) as excinfo:
        client.get_tokens_from_refresh_token(ClientId=client_id, RefreshToken=refresh)
    assert error_of(excinfo) == ("NotAuthorizedException", "Invalid Refresh Token")
    renewed = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": refresh, "DEVICE_KEY": key},
    )["AuthenticationResult"]
    assert claims(renewed["AccessToken"])["device_key"] == key
    assert client.get_tokens_from_refresh_token(ClientId=client_id, RefreshToken=refresh, DeviceKey=key)
    _, group, device_password, confirmed = confirm(local, result)
    assert confirmed["UserConfirmationNecessary"] is False  # "Always": remembered at once
    # A sign-in that names the remembered device proves it with device SRP (DEVICE_SRP_AUTH is
    # returned once "the previous challenges were passed"), gets no new metadata, and its
    # token stays bound to the device.
    answer = password_auth(local, DEVICE_KEY=key)
    assert answer["ChallengeName"] == "DEVICE_SRP_AUTH"
    again = device_srp(local, answer, key, group, device_password)["AuthenticationResult"]
    assert "NewDeviceMetadata" not in again and claims(again["AccessToken"])["device_key"] == key


def test_a_remembered_device_signs_in_with_device_srp_instead_of_mfa(make_local):
    """On a pool with MFA on, a sign-in with the DEVICE_KEY of a remembered device answers
    DEVICE_SRP_AUTH instead of the MFA challenge; DEVICE_PASSWORD_VERIFIER checks the device's
    SRP signature against the verifier sent to ConfirmDevice.

    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeviceConfigurationType.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmDevice.html
    """
    local = device_local(make_local, "always", mfa="ON", mfa_types=("TOTP",))
    first = sign_in_with_totp(local)["AuthenticationResult"]
    key, group, device_password, _ = confirm(local, first)
    assert password_auth(local)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"  # no key: MFA as before
    answer = password_auth(local, DEVICE_KEY=key)
    assert answer["ChallengeName"] == "DEVICE_SRP_AUTH"
    done = device_srp(local, answer, key, group, device_password)["AuthenticationResult"]
    assert "NewDeviceMetadata" not in done and claims(done["AccessToken"])["device_key"] == key
    with pytest.raises(ClientError) as excinfo:  # a device password that is not the device's
        device_srp(local, password_auth(local, DEVICE_KEY=key), key, group, "not-the-device-password")
    assert error_of(excinfo)[0] == "NotAuthorizedException"


def test_user_opt_in_remembers_a_device_only_after_update_device_status(make_local):
    """ "User opt-in" (DeviceOnlyRememberedOnUserPrompt): ConfirmDevice answers
    UserConfirmationNecessary=true, and the device skips MFA only once UpdateDeviceStatus says
    ``remembered``; ``not_remembered`` and ForgetDevice take that back.

    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeviceConfigurationType.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateDeviceStatus.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgetDevice.html
    """
    local = device_local(make_local, "opt_in", mfa="ON", mfa_types=("TOTP",))
    first = sign_in_with_totp(local)["AuthenticationResult"]
    key, _, _, confirmed = confirm(local, first)
    assert confirmed["UserConfirmationNecessary"] is True
    client, access = idp(local), first["AccessToken"]
    assert password_auth(local, DEVICE_KEY=key)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    client.update_device_status(AccessToken=access, DeviceKey=key, DeviceRememberedStatus="remembered")
    assert password_auth(local, DEVICE_KEY=key)["ChallengeName"] == "DEVICE_SRP_AUTH"
    device = client.get_device(AccessToken=access, DeviceKey=key)["Device"]
    attributes = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}
    assert (
        attributes["device_name"] == "laptop" and attributes["dev:device_remembered_status"] == "remembered"
    )
    assert [d["DeviceKey"] for d in client.list_devices(AccessToken=access)["Devices"]] == [key]
    client.update_device_status(AccessToken=access, DeviceKey=key, DeviceRememberedStatus="not_remembered")
    assert password_auth(local, DEVICE_KEY=key)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    client.forget_device(AccessToken=access, DeviceKey=key)
    with pytest.raises(ClientError) as excinfo:
        client.get_device(AccessToken=access, DeviceKey=key)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    again = sign_in_with_totp(local, DEVICE_KEY=key)["AuthenticationResult"]
    assert again["NewDeviceMetadata"]["DeviceKey"] != key  # a forgotten device is a new one


def test_without_device_tracking_nothing_changes(make_local):
    """https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html"""
    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),)))
    result = password_auth(local)["AuthenticationResult"]
    assert "NewDeviceMetadata" not in result and "device_key" not in claims(result["AccessToken"])
    assert idp(local).initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )["AuthenticationResult"]
