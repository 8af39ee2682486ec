"""Hostile and broken input: each is a clear, typed error, and no state is damaged.

* what a user can type: empty, huge, control characters, lone surrogates, non-text;
* what a configuration can hold: malformed Amplify files, bad pool/client/identity-pool ids;
* what a server can send: truncated JWTs, the wrong ``token_use``, audience or issuer,
  ``alg: none``, key confusion, foreign keys. Tokens are forged with the emulator's own
  private key (moto's ``jwks-private.json``) and with other keys, and checked by
  :class:`nb_cognito.auth.tokens.TokenVerifier` against the emulator's JWKS.
"""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import PASSWORD, Events, delta

from nb_cognito import exceptions as errors
from nb_cognito.auth.tokens import TokenVerifier
from nb_cognito.local import FaultMode, LocalSpec, UserSpec
from nb_cognito.models import AuthEvent
from nb_cognito.settings.config import Settings

HUGE = "x" * 1_000_000
BAD_TEXT = {
    "empty": "",
    "huge": HUGE,
    "nul": "al\x00ice",
    "newline": "ali\nce",
    "escape": "\x1b[31malice",
    "delete": "alice\x7f",
    "lone-surrogate": "al\ud800ice",
    "bytes": b"alice",
    "number": 12345,
}


@pytest.fixture
def signed_in(make_session):
    session = make_session()
    session.sign_in("alice", PASSWORD)
    return session


def unchanged(session, state, local, before):
    assert session.describe().state is state, "the session state was touched"
    assert session.is_signed_in and session.describe().pending is None
    assert local.request_counts() == before, "hostile input reached the network"
    assert session.current_credentials() is state.credentials


def test_hostile_username_or_password_is_refused_before_the_network(signed_in, local):
    session, state, before = signed_in, signed_in.describe().state, local.request_counts()
    for name, bad in BAD_TEXT.items():
        for username, password in ((bad, PASSWORD), ("mallory", bad)):
            with pytest.raises(errors.InvalidParameterError) as caught:
                session.sign_in(username, password)
            message = str(caught.value)
            assert len(message) < 300 and "\x00" not in message and "\ud800" not in message, name
            if isinstance(bad, str) and len(bad) > 4:
                assert bad not in message and bad not in repr(caught.value), name  # never echoed
            unchanged(session, state, local, before)


def test_hostile_answers_to_a_challenge_keep_the_step_open(make_local, make_session):
    local = make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = make_session(local.settings.as_config())
    session.sign_in("carol", "Temp-Passw0rd!")
    pending = session.describe().pending
    for bad in ("\x00", HUGE, "\ud800", 7, b"x"):
        with pytest.raises(errors.InvalidParameterError):
            session.confirm_sign_in(bad)
        assert session.describe().pending is pending and not session.is_signed_in
    assert session.confirm_sign_in("Brand-New-Passw0rd!").is_signed_in


AMPLIFY_FILES = {
    "not-json": "{ this is not json",
    "json-array": "[1, 2, 3]",
    "auth-not-object": '{"auth": "cognito"}',
    "wrong-types": '{"auth": {"user_pool_id": 5, "user_pool_client_id": ["x"]}}',
    "gen1-broken": '{"auth": {"plugins": {"awsCognitoAuthPlugin": []}}}',
    "empty": "",
    "not-utf8": b"\xff\xfe\x00{\x80",
}


def test_malformed_amplify_file_is_a_clear_error_and_changes_nothing(signed_in, local, tmp_path):
    session, state, before = signed_in, signed_in.describe().state, local.request_counts()
    settings = session.settings
    for name, data in AMPLIFY_FILES.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        with pytest.raises(errors.ConfigurationError) as caught:
            session.configure(amplify_config=str(path))
        assert "amplify" in str(caught.value).lower(), name
        assert session.settings == settings, name
        unchanged(session, state, local, before)


BAD_SETTINGS = [
    {"user_pool_id": "us-east-1_"},
    {"user_pool_id": "x" * 10_000},
    {"user_pool_id": "us-east-1_abc\x00"},
    {"client_id": "bad id!"},
    {"client_id": ""},
    {"identity_pool_id": "not-an-identity-pool"},
    {"region": "mars-north-1\n"},
    {"endpoint_url": "ftp://127.0.0.1/"},
    {"network_timeout": -1},
    {"network_timeout": float("nan")},
    {"auth_flow": "CUSTOM_AUTH"},
    {"amplify_config": "/nonexistent/amplify_outputs.json"},
]


def test_bad_setting_is_a_clear_error_naming_it_and_changes_nothing(signed_in, local):
    session, state, before = signed_in, signed_in.describe().state, local.request_counts()
    settings = session.settings
    for bad in BAD_SETTINGS:
        (name,) = bad
        with pytest.raises(errors.ConfigurationError) as caught:
            session.configure(**bad)
        assert name in str(caught.value) or "Amplify" in str(caught.value), bad
        assert len(str(caught.value)) < 1000, bad  # a huge value is not repeated in full
        assert session.settings == settings, bad
        unchanged(session, state, local, before)


@pytest.mark.parametrize("field", ["user_pool_id", "client_id", "identity_pool_id"])
def test_well_formed_but_unknown_ids_are_a_configuration_error(make_session, local, field):
    fake = {
        "user_pool_id": "us-east-1_Nonexist1",
        "client_id": "1abcdefghijklmnopqrstuvwxy",
        "identity_pool_id": "us-east-1:00000000-0000-0000-0000-000000000000",
    }[field]
    # An unknown pool id is found before any password is sent (its JWKS answers 404), in both
    # flows: with SRP, Cognito itself could only say "incorrect username or password". (With
    # SRP the keys are fetched beside InitiateAuth, which carries no password, only SRP_A; the
    # proof made from the password is never sent.)
    flow = "USER_SRP_AUTH" if field == "user_pool_id" else "USER_PASSWORD_AUTH"
    session = make_session({**local.settings.as_config(), field: fake, "auth_flow": flow})
    if field == "identity_pool_id":  # signed in, but the identity pool is unknown
        assert session.sign_in("alice", PASSWORD).is_signed_in
        error = session.fetch_auth_session().aws_credentials_result.error
        assert isinstance(error, errors.ConfigurationError)
        assert session.fetch_auth_session().user_pool_tokens_result.is_success
        return
    with pytest.raises(errors.ConfigurationError, match=r"does not know|knows no user pool") as caught:
        session.sign_in("alice", PASSWORD)
    if field == "user_pool_id":
        assert "user_pool_id 'us-east-1_Nonexist1' from configure()" in str(caught.value)
        assert local.request_counts()["RespondToAuthChallenge"] == 0
    assert session.describe().state is None and not session.is_signed_in


# -- forged tokens against the emulator's JWKS ---------------------------------------------------


def _emulator_private_key():
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )


def _segment(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def keys():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    own = _emulator_private_key()
    public_pem = own.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"own": own, "other": other, "public_pem": public_pem}


@pytest.fixture
def verifier(local):
    return TokenVerifier.for_settings(Settings(**local.settings.as_config(), network_timeout=5))


def claims_for(local, use: str, **changes):
    now = int(local.clock.time())
    claims = {
        "iss": local.issuer,
        "sub": "0f1e2d3c-0000-4000-8000-000000000000",
        "token_use": use,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "jti": "forged",
    }
    if use == "id":
        claims.update({"aud": local.settings.client_id, "cognito:username": "alice"})
    else:
        claims.update({"client_id": local.settings.client_id, "username": "alice"})
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims, key, *, kid="dummy", alg="RS256"):
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def forged_tokens(local, keys) -> dict[str, tuple[str, str]]:
    """name -> (token, the token_use it is verified as)."""
    own, other = keys["own"], keys["other"]
    good_id = sign(claims_for(local, "id"), own)
    header, payload, signature = good_id.split(".")
    unsigned = _segment({"alg": "none", "kid": "dummy"}) + "." + payload + "."
    confused = _hs256(claims_for(local, "id"), keys["public_pem"])
    now = int(local.clock.time())
    return {
        "truncated-signature": (good_id[:-12], "id"),
        "truncated-to-two-parts": (header + "." + payload, "id"),
        "truncated-mid-payload": (good_id[: len(header) + 20], "id"),
        "empty": ("", "id"),
        "garbage": ("not.a.jwt", "id"),
        "four-parts": (good_id + ".extra", "id"),
        "header-is-a-list": (_segment([1, 2]) + "." + payload + "." + signature, "id"),
        "payload-not-json": (header + "." + _segment(b"\xff\xfe") + "." + signature, "id"),
        "non-ascii": (good_id[:-3] + "é€", "id"),
        "lone-surrogate": (good_id[:-3] + "\ud800", "id"),
        "huge": (header + "." + _segment(b"{" + b" " * 500_000 + b"}") + "." + signature, "id"),
        "alg-none": (unsigned, "id"),
        "alg-hs256-key-confusion": (confused, "id"),
        "foreign-key-same-kid": (sign(claims_for(local, "id"), other), "id"),
        "unknown-kid": (sign(claims_for(local, "id"), other, kid="attacker"), "id"),
        "access-used-as-id": (sign(claims_for(local, "access"), own), "id"),
        "id-used-as-access": (sign(claims_for(local, "id"), own), "access"),
        "refresh-token-use": (sign(claims_for(local, "id", token_use="refresh"), own), "id"),
        "wrong-aud": (sign(claims_for(local, "id", aud="someone-else"), own), "id"),
        "aud-list": (sign(claims_for(local, "id", aud=[local.settings.client_id]), own), "id"),
        "wrong-client-id": (sign(claims_for(local, "access", client_id="someone-else"), own), "access"),
        "wrong-iss": (sign(claims_for(local, "id", iss=local.issuer + "x"), own), "id"),
        "updated-iss-other-region": (
            sign(
                claims_for(
                    local,
                    "id",
                    iss=local.issuer.replace("cognito-idp.us-east-1", "issuer-cognito-idp.eu-west-1"),
                ),
                own,
            ),
            "id",
        ),
        "endpoint-iss-other-pool": (
            sign(claims_for(local, "id", iss=local.jwks_url.rsplit("/.well-known", 1)[0] + "x"), own),
            "id",
        ),
        "iss-pointing-elsewhere": (sign(claims_for(local, "id", iss="http://127.0.0.1:9/evil"), own), "id"),
        "no-iss": (sign(claims_for(local, "id", iss=None), own), "id"),
        "no-exp": (sign(claims_for(local, "id", exp=None), own), "id"),
        "exp-string": (sign(claims_for(local, "id", exp=str(now + 3600)), own), "id"),
        "exp-before-iat": (sign(claims_for(local, "id", exp=now - 1), own), "id"),
        "expired": (sign(claims_for(local, "id", iat=now - 7200, exp=now - 3600), own), "id-now"),
    }


def _hs256(claims, secret: bytes) -> str:
    """HS256 with the pool's *public* key as the HMAC secret (the classic key confusion)."""
    import hashlib
    import hmac

    signing_input = _segment({"alg": "HS256", "kid": "dummy", "typ": "JWT"}) + "." + _segment(claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_forged_tokens_signed_with_the_emulator_key_really_verify(local, verifier, keys):
    """The control: our forgery machinery makes tokens the verifier accepts."""
    claims = verifier.verify(
        sign(claims_for(local, "id"), keys["own"]), token_use="id", now=local.clock.time()
    )
    assert claims["cognito:username"] == "alice"
    assert verifier.verify(sign(claims_for(local, "access"), keys["own"]), token_use="access")
    # Every issuer the service can write for this pool verifies: the UPDATED form, and (with an
    # endpoint set, as here) <endpoint>/<pool>, as cognito-local writes it.
    pool = local.settings.user_pool_id
    for iss in (
        f"https://issuer-cognito-idp.{local.settings.region}.amazonaws.com/{pool}",
        f"{local.endpoint_url}/{pool}",
    ):
        assert verifier.verify(sign(claims_for(local, "id", iss=iss), keys["own"]), token_use="id")


def test_every_forged_or_broken_token_is_refused(local, verifier, keys):
    started = time.monotonic()
    for name, (token, use) in forged_tokens(local, keys).items():
        now = local.clock.time() if use == "id-now" else None
        with pytest.raises(errors.TokenValidationError) as caught:
            verifier.verify(token, token_use=use.removesuffix("-now"), now=now)
        message = str(caught.value)
        assert len(message) < 300, name
        if len(token) > 20:
            assert token not in message and token[-20:] not in message, name
    for not_text in (None, b"a.b.c", 42):
        with pytest.raises(errors.TokenValidationError):
            verifier.verify(not_text, token_use="id")
    assert time.monotonic() - started < 20


# -- garbage tokens from the server, through the session ----------------------------------------

SERVER_LIES = {
    "wrong-aud": FaultMode.ID_TOKEN_WRONG_AUDIENCE,
    "wrong-iss": FaultMode.ID_TOKEN_WRONG_ISSUER,
    "wrong-token-use": FaultMode.ID_TOKEN_WRONG_TOKEN_USE,
}


@pytest.fixture
def server_lies(local):
    """Make the emulator put a wrong claim into the ID tokens it issues from now on."""
    yield local.faults.enable
    local.faults.clear()


@pytest.mark.parametrize("lie", list(SERVER_LIES))
def test_garbage_tokens_from_the_server_during_a_refresh_keep_the_session(
    signed_in, local, clock, server_lies, lie
):
    session = signed_in
    state = session.describe().state
    events = Events(session, AuthEvent.SESSION_EXPIRED, AuthEvent.TOKEN_REFRESH)
    clock.advance(60 * 60 + 5)
    server_lies(SERVER_LIES[lie])
    with pytest.raises(errors.TokenValidationError):
        session.current_credentials()
    assert session.is_signed_in and session.describe().state.tokens is state.tokens  # nothing replaced
    assert events.count(AuthEvent.SESSION_EXPIRED) == 0 and events.count(AuthEvent.TOKEN_REFRESH) == 0

    local.faults.clear()  # the server behaves again: the next call recovers
    assert session.current_credentials().expiration.timestamp() > local.clock.time()
    assert events.count(AuthEvent.TOKEN_REFRESH) == 1


def test_garbage_tokens_at_sign_in_leave_nobody_signed_in(make_session, local, server_lies):
    session = make_session()
    server_lies(SERVER_LIES["wrong-aud"])
    before = local.request_counts()
    with pytest.raises(errors.TokenValidationError):
        session.sign_in("alice", PASSWORD)
    assert session.describe().state is None and not session.is_signed_in
    assert delta(local, before, "GetId", "GetCredentialsForIdentity") == (0, 0)


WITHOUT = {
    "IdToken": FaultMode.REFRESH_WITHOUT_ID_TOKEN,
    "AccessToken": FaultMode.REFRESH_WITHOUT_ACCESS_TOKEN,
}


@pytest.mark.parametrize("missing", list(WITHOUT))
def test_a_refresh_answer_without_a_token_is_a_clear_error_and_keeps_the_session(
    signed_in, local, clock, missing
):
    local.faults.enable(WITHOUT[missing])
    session, state = signed_in, signed_in.describe().state
    clock.advance(60 * 60 + 5)
    with pytest.raises(errors.TokenValidationError, match="without"):
        session.current_credentials()
    assert session.is_signed_in and session.describe().state.tokens is state.tokens
    local.faults.clear()
    assert session.current_credentials().expiration.timestamp() > local.clock.time()
