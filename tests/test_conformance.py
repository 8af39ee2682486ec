"""A second opinion: what the current session supports, against emulators we did not write too.

The same flows (USER_PASSWORD_AUTH sign-in, ``fetch_auth_session``, a forced refresh, sign-out)
run against our emulator (``nb_cognito.local``), plain moto (no patches, its own process) and
cognito-local (npm). A case appears only where the current client can work with that emulator;
each one left out names the client feature it waits for, so that the gap stays visible:

* cognito-local runs every session case: its ``local_<id>`` pool ids take the explicit
  ``region``, its tokens' ``iss = <endpoint_url>/<pool>`` is accepted because ``endpoint_url``
  names it, and the refresh falls back to REFRESH_TOKEN_AUTH because it answers
  GetTokensFromRefreshToken with ``Unsupported`` (issue 14, items 1, 2 and 4).
* cognito-local, AWS credentials: it has no identity pools at all (plain moto has them; its
  GetId/GetCredentialsForIdentity answer without checking the token).
* cognito-local, USER_SRP_AUTH: it has no SRP.

The fixtures start each emulator once per module; cognito-local needs ``make cognito-local``.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from helpers import missing
from joserfc import jwk, jwt
from second_opinions import (
    COGNITO_LOCAL_VERSION,
    PASSWORD,
    USERNAME,
    Provisioned,
    cognito_local,
    cognito_local_installed,
    plain_moto,
)

from nb_cognito.auth.session import CognitoSession, check_pool, service_clients
from nb_cognito.clock import SYSTEM_CLOCK, Clock
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.local import LocalSpec, UserSpec

#: The emulators the session runs against.
SESSION_EMULATORS = ["ours", "plain-moto", "cognito-local"]
#: Where the session can fetch AWS credentials (an identity pool exists).
CREDENTIAL_EMULATORS = ["ours", "plain-moto"]
#: Where USER_SRP_AUTH exists (cognito-local has no SRP; plain moto never checks the signature,
#: so there only the happy path says anything).
SRP_EMULATORS = ["ours", "plain-moto"]


@pytest.fixture(scope="module")
def moto_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:
    with plain_moto(tmp_path_factory.mktemp("plain-moto")) as provisioned:
        yield provisioned


@pytest.fixture(scope="module")
def cognito_local_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:
    installed = cognito_local_installed()
    if installed != COGNITO_LOCAL_VERSION:
        missing(
            f"cognito-local {COGNITO_LOCAL_VERSION} is not installed (found {installed}); "
            "run `make cognito-local`"
        )
    with cognito_local(tmp_path_factory.mktemp("cognito-local")) as provisioned:
        yield provisioned


@pytest.fixture
def target(request: pytest.FixtureRequest, make_local: Any, clock: Any) -> tuple[Provisioned, Clock]:
    """(the provisioned emulator, the clock its server keeps) for the parametrised name."""
    name = request.param
    if name == "ours":
        local = make_local(LocalSpec(users=(UserSpec(USERNAME, PASSWORD),)))
        settings = local.settings.as_config()
        return Provisioned("ours", local.endpoint_url, settings), clock
    if name == "plain-moto":
        return request.getfixturevalue("moto_process"), SYSTEM_CLOCK
    return request.getfixturevalue("cognito_local_process"), SYSTEM_CLOCK


@pytest.fixture
def session(target: tuple[Provisioned, Clock]) -> Iterator[CognitoSession]:
    provisioned, clock = target
    made = CognitoSession(clock=clock, auto_refresh=False)
    made.configure(**provisioned.settings, auth_flow="USER_PASSWORD_AUTH")
    yield made
    with contextlib.suppress(Exception):
        made.sign_out()
    made.close()


@pytest.mark.parametrize("target", SESSION_EMULATORS, indirect=True)
def test_sign_in_with_user_password_auth_gives_verified_tokens(target, session):
    provisioned, _ = target
    result = session.sign_in(provisioned.username, provisioned.password)
    assert result.is_signed_in and session.is_signed_in
    tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    assert tokens.id_token and tokens.access_token and tokens.refresh_token


@pytest.mark.parametrize("target", SRP_EMULATORS, indirect=True)
def test_sign_in_with_srp_gives_verified_tokens(target, session):
    provisioned, _ = target
    session.configure(auth_flow="USER_SRP_AUTH")
    assert session.sign_in(provisioned.username, provisioned.password).is_signed_in
    assert session.fetch_auth_session().user_pool_tokens_result.unwrap().id_token


@pytest.mark.parametrize("target", SESSION_EMULATORS, indirect=True)
def test_a_wrong_password_is_refused_and_nobody_is_signed_in(target, session):
    provisioned, _ = target
    with pytest.raises(Exception) as excinfo:
        session.sign_in(provisioned.username, "Wrong-Passw0rd!")
    assert "Wrong-Passw0rd!" not in str(excinfo.value)
    assert not session.is_signed_in


@pytest.mark.parametrize("target", SESSION_EMULATORS, indirect=True)
def test_a_forced_refresh_renews_the_tokens(target, session):
    provisioned, _ = target
    session.sign_in(provisioned.username, provisioned.password)
    before = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    refreshed = session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.unwrap()
    assert refreshed.access_token != before.access_token
    assert session.describe().refresh_count >= 1 and session.is_signed_in


@pytest.mark.parametrize("target", CREDENTIAL_EMULATORS, indirect=True)
def test_fetch_auth_session_gives_aws_credentials(target, session):
    provisioned, _ = target
    session.sign_in(provisioned.username, provisioned.password)
    auth = session.fetch_auth_session()
    credentials = auth.aws_credentials_result.unwrap()
    assert credentials.access_key_id and credentials.secret_access_key and credentials.session_token
    assert auth.identity_id_result.unwrap()


@pytest.mark.parametrize("target", SESSION_EMULATORS, indirect=True)
def test_sign_out_signs_out_locally_even_where_revocation_is_missing(target, session):
    provisioned, _ = target
    session.sign_in(provisioned.username, provisioned.password)
    session.sign_out()
    assert not session.is_signed_in
    assert not session.fetch_auth_session().is_signed_in


#: Which emulators know GetTokensFromRefreshToken (the others get REFRESH_TOKEN_AUTH, learned at
#: the first refresh from their answer's code: moto's bare HTTP 500, cognito-local's "Unsupported").
GET_TOKENS_EMULATORS = ["ours"]
#: Where the JWKS of an unknown pool answers 404, as the service does (moto and cognito-local
#: serve their one key set for any pool id, so a wrong pool id is not found before the password).
UNKNOWN_POOL_404_EMULATORS = ["ours"]


@pytest.mark.parametrize("target", SESSION_EMULATORS, indirect=True)
def test_the_refresh_uses_get_tokens_where_the_endpoint_knows_it(target, session):
    provisioned, _ = target
    session.sign_in(provisioned.username, provisioned.password)
    assert session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.is_success
    fell_back = service_clients(session).userpool._no_get_tokens
    assert fell_back is (provisioned.name not in GET_TOKENS_EMULATORS)


@pytest.mark.parametrize("target", SESSION_EMULATORS, indirect=True)
def test_the_pool_check_before_the_password(target, session):
    """The pool's JWKS answers for the configured pool everywhere; an unknown pool id is told
    apart from a wrong password only where its JWKS answers 404."""
    provisioned, _ = target
    check_pool(session)
    session.configure(user_pool_id=provisioned.settings["user_pool_id"][:-1] + "Q")
    if provisioned.name in UNKNOWN_POOL_404_EMULATORS:
        with pytest.raises(ConfigurationError, match="knows no user pool"):
            check_pool(session)
    else:
        check_pool(session)  # no 404: the emulator serves its keys for any pool id


# -- the second-opinion fixtures themselves: started, provisioned, and answering -----------------


def _sign_in(provisioned: Provisioned) -> dict[str, Any]:
    settings = provisioned.settings
    client = boto3.session.Session().client(
        "cognito-idp",
        region_name=settings["region"],
        endpoint_url=provisioned.endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    return client.initiate_auth(
        ClientId=settings["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": provisioned.username, "PASSWORD": provisioned.password},
    )["AuthenticationResult"]


@pytest.mark.parametrize("emulator", ["moto_process", "cognito_local_process"])
def test_each_second_opinion_signs_in_and_serves_its_jwks(request, emulator):
    """The fixture's emulator runs, is provisioned, and signs tokens its own JWKS verifies."""
    provisioned: Provisioned = request.getfixturevalue(emulator)
    result = _sign_in(provisioned)
    pool_id = provisioned.settings["user_pool_id"]
    url = f"{provisioned.endpoint_url}/{pool_id}/.well-known/jwks.json"
    with urllib.request.urlopen(url, timeout=10) as answer:
        key_set = jwk.KeySet.import_key_set(json.load(answer))
    token = jwt.decode(result["IdToken"], key_set, algorithms=["RS256"])
    assert token.claims["token_use"] == "id" and token.claims["cognito:username"] == USERNAME
    if emulator == "cognito_local_process":  # its quirks: a non-AWS pool id, the endpoint issuer
        assert pool_id.startswith("local_")
        assert token.claims["iss"] == f"{provisioned.endpoint_url}/{pool_id}"
    else:
        assert (
            token.claims["iss"]
            == f"https://cognito-idp.{provisioned.settings['region']}.amazonaws.com/{pool_id}"
        )


def test_plain_moto_is_not_our_patched_emulator(moto_process):
    """moto never checks the SRP signature, so a wrong password signs in over SRP there: proof
    that this process runs moto without ``nb_cognito.local``'s patches (which refuse it)."""
    from pycognito.aws_srp import AWSSRP

    settings = moto_process.settings
    client = boto3.session.Session().client(
        "cognito-idp",
        region_name=settings["region"],
        endpoint_url=moto_process.endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    wrong = AWSSRP(
        USERNAME, "Not-The-Passw0rd!", settings["user_pool_id"], settings["client_id"], client=client
    )
    assert "AuthenticationResult" in wrong.authenticate_user()
