"""Named fault modes: the emulator itself sends the garbage a real server could send.

Each mode is checked with plain boto3 over HTTP: while it is on, the answers are wrong in
exactly the documented way; once it is off (end of the ``with`` block, ``faults.clear()``,
``reset``) the server behaves again. Server events (``subscribe``) report what the server did.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from helpers import PASSWORD
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError

from nb_cognito.local import FaultMode, LocalSpec, UserSpec

_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 session for the module, so that service models load once."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def client(local: Any, service: str) -> Any:
    return _session().client(
        service,
        region_name=local.settings.region,
        endpoint_url=local.endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )


def sign_in(local: Any) -> dict[str, Any]:
    return client(local, "cognito-idp").initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]


def refresh(local: Any, token: str) -> dict[str, Any]:
    return client(local, "cognito-idp").initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": token},
    )["AuthenticationResult"]


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def credentials(local: Any, id_token: str) -> dict[str, Any]:
    identity = client(local, "cognito-identity")
    settings = local.settings
    logins = {f"cognito-idp.{settings.region}.amazonaws.com/{settings.user_pool_id}": id_token}
    identity_id = identity.get_id(IdentityPoolId=settings.identity_pool_id, Logins=logins)["IdentityId"]
    return identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]


@pytest.fixture
def alice(make_local):
    local = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),)))
    yield local
    local.faults.clear()


@pytest.mark.parametrize(
    ("mode", "claim", "lie"),
    [
        (FaultMode.ID_TOKEN_WRONG_AUDIENCE, "aud", "someone-else"),
        (FaultMode.ID_TOKEN_WRONG_ISSUER, "iss", "https://evil.example/pool"),
        (FaultMode.ID_TOKEN_WRONG_TOKEN_USE, "token_use", "access"),
    ],
)
def test_garbage_id_token_modes_change_only_the_id_token_and_only_while_on(alice, mode, claim, lie):
    normal = sign_in(alice)
    with alice.faults.mode(mode):
        result = sign_in(alice)
        assert claims(result["IdToken"])[claim] == lie != claims(normal["IdToken"])[claim]
        assert claims(result["AccessToken"]).get(claim) == claims(normal["AccessToken"]).get(claim)
    assert claims(sign_in(alice)["IdToken"])[claim] == claims(normal["IdToken"])[claim]


def test_bad_signature_mode_breaks_every_jwt_signature(alice):
    with urllib.request.urlopen(alice.jwks_url, timeout=10) as answer:
        key_set = jwk.KeySet.import_key_set(json.load(answer))
    with alice.faults.mode("tokens_bad_signature"):
        result = sign_in(alice)
    for kind in ("IdToken", "AccessToken"):
        with pytest.raises(BadSignatureError):
            jwt.decode(result[kind], key_set, algorithms=["RS256"])
    good = sign_in(alice)
    assert jwt.decode(good["IdToken"], key_set, algorithms=["RS256"]).claims["token_use"] == "id"


@pytest.mark.parametrize(
    ("mode", "missing"),
    [
        (FaultMode.REFRESH_WITHOUT_ID_TOKEN, "IdToken"),
        (FaultMode.REFRESH_WITHOUT_ACCESS_TOKEN, "AccessToken"),
    ],
)
def test_refresh_without_a_token_modes(alice, mode, missing):
    token = sign_in(alice)["RefreshToken"]
    alice.faults.enable(mode)
    assert missing not in refresh(alice, token) and "ExpiresIn" in refresh(alice, token)
    gtfrt = client(alice, "cognito-idp").get_tokens_from_refresh_token(
        ClientId=alice.settings.client_id, RefreshToken=token
    )["AuthenticationResult"]
    assert missing not in gtfrt
    assert sign_in(alice)[missing]  # a sign-in is not a refresh: untouched
    alice.faults.clear()
    assert refresh(alice, token)[missing]


def test_partial_credentials_mode_drops_the_session_token(alice):
    id_token = sign_in(alice)["IdToken"]
    with alice.faults.mode(FaultMode.CREDENTIALS_WITHOUT_SESSION_TOKEN):
        partial = credentials(alice, id_token)
    assert partial["AccessKeyId"].startswith("ASIA") and "SessionToken" not in partial
    assert credentials(alice, id_token)["SessionToken"]


@pytest.mark.parametrize(
    ("mode", "spoiled"),
    [
        (FaultMode.CREDENTIALS_WITHOUT_SECRET_KEY, lambda c, now: "SecretKey" not in c),
        (FaultMode.CREDENTIALS_BLANK_ACCESS_KEY, lambda c, now: c["AccessKeyId"] == ""),
        (FaultMode.CREDENTIALS_WITHOUT_EXPIRATION, lambda c, now: "Expiration" not in c),
        (FaultMode.CREDENTIALS_EMPTY, lambda c, now: c == {}),
        (FaultMode.CREDENTIALS_ALREADY_EXPIRED, lambda c, now: c["Expiration"].timestamp() <= now - 59),
        (FaultMode.CREDENTIALS_EXPIRING_NOW, lambda c, now: abs(c["Expiration"].timestamp() - now) < 1),
    ],
    ids=lambda value: value.value if isinstance(value, FaultMode) else "",
)
def test_credentials_modes_spoil_only_the_answers_given_while_on(alice, clock, mode, spoiled):
    id_token = sign_in(alice)["IdToken"]
    with alice.faults.mode(mode):
        assert spoiled(credentials(alice, id_token), clock.time())
    good = credentials(alice, id_token)
    assert good["AccessKeyId"] and good["SecretKey"] and good["SessionToken"]


def test_garbage_expiration_mode_is_an_answer_botocore_cannot_parse(alice):
    id_token = sign_in(alice)["IdToken"]
    with alice.faults.mode(FaultMode.CREDENTIALS_GARBAGE_EXPIRATION), pytest.raises(ValueError, match="soon"):
        credentials(alice, id_token)


def test_reset_clears_fault_modes_and_unknown_modes_are_refused(alice, make_local):
    alice.faults.enable(FaultMode.TOKENS_BAD_SIGNATURE)
    assert alice.faults.active == {FaultMode.TOKENS_BAD_SIGNATURE}
    make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),)))
    assert alice.faults.active == frozenset()
    with pytest.raises(ValueError, match=r"unknown fault mode 'garbage'.*tokens_bad_signature"):
        alice.faults.enable("garbage")


def test_subscribers_see_refreshes_login_checks_and_issued_credentials(alice):
    seen: list[Any] = []
    unsubscribe = alice.subscribe(seen.append)
    try:
        result = sign_in(alice)
        refresh(alice, result["RefreshToken"])
        issued = credentials(alice, result["IdToken"])
    finally:
        unsubscribe()
    kinds = [event.kind for event in seen]
    assert kinds == ["refresh_requested", "login_checked", "login_checked", "credentials_issued"]
    assert all(event.accepted for event in seen)
    assert seen[-1].credentials == (issued["AccessKeyId"], issued["SecretKey"], issued["SessionToken"])
    assert issued["SecretKey"] not in repr(seen[-1])  # events never show secrets
    sign_in(alice)
    refresh(alice, result["RefreshToken"])
    assert len(seen) == 4  # unsubscribed
