"""Where the AWS credentials come from, and where they go.

Routes: the identity pool (GetId once per user, then GetCredentialsForIdentity), STS
``AssumeRoleWithWebIdentity`` with ``role_arn`` and no identity pool, and guest credentials.
Destinations beside boto3's default session: ``export_env`` (``AWS_*`` variables).
Every assertion is on what the emulator received or on the variables themselves.
"""

from __future__ import annotations

import datetime as dt
import os

import boto3
import pytest
from helpers import PASSWORD, counts, s3_key

from nb_cognito.auth import identity
from nb_cognito.integrations import boto3_injection, env_export
from nb_cognito.integrations.boto3_injection import Boto3Injection
from nb_cognito.local import IdentityPoolSpec, LocalSpec, UserSpec
from nb_cognito.models import AuthSessionResultType

ROLE_ARN = "arn:aws:iam::123456789012:role/nb-cognito-analysts"
EXPORTED = env_export.NAMES
AWS_NAMES = (
    *EXPORTED,
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


def alice() -> UserSpec:
    return UserSpec("alice", PASSWORD, attributes={"email": "alice@example.com"})


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    for name in AWS_NAMES:
        monkeypatch.setenv(name, "x")  # record it, so that teardown restores the original
        monkeypatch.delenv(name)
    yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def session(new_session):
    return new_session(attach=True)


# -- the identity pool --------------------------------------------------------------------------


def test_force_refresh_gives_a_new_key_immediately(session, local):
    session.sign_in("alice", PASSWORD)
    first = session.current_credentials()

    auth = session.fetch_auth_session(force_refresh=True)

    second = auth.aws_credentials_result.unwrap()
    assert second.access_key_id != first.access_key_id
    assert session.current_credentials() is second
    assert counts(local, "GetCredentialsForIdentity") == (2,)


def test_get_id_is_called_once_per_user_across_refreshes_and_sign_ins(session, local, clock):
    identity.forget_identity_ids()
    session.sign_in("alice", PASSWORD)
    first_id = session.fetch_auth_session().identity_id_result.unwrap()

    session.fetch_auth_session(force_refresh=True)
    clock.advance(session.current_credentials().expiration.timestamp() - clock.time() - 60)
    session.current_credentials()  # a lazy refresh in the mandatory window
    session.sign_out()
    session.sign_in("alice", PASSWORD)
    session.fetch_auth_session(force_refresh=True)

    assert session.fetch_auth_session().identity_id_result.unwrap() == first_id
    assert counts(local, "GetId", "GetCredentialsForIdentity") == (1, 5)


def test_get_id_is_asked_again_for_another_user(make_local, new_session):
    identity.forget_identity_ids()
    server = make_local(LocalSpec(users=(alice(), UserSpec("bob", "Bob-Passw0rd!!"))))
    session = new_session(server.settings.as_config(), attach=True)
    session.sign_in("alice", PASSWORD)
    alice_id = session.fetch_auth_session().identity_id_result.unwrap()
    session.sign_out()
    session.sign_in("bob", "Bob-Passw0rd!!")

    assert session.fetch_auth_session().identity_id_result.unwrap() != alice_id
    assert counts(server, "GetId") == (2,)


# -- STS with role_arn ----------------------------------------------------------------------------


def test_role_arn_without_identity_pool_uses_sts_web_identity(make_local, new_session):
    server = make_local(LocalSpec(users=(alice(),), identity_pool=None))
    session = new_session(server.settings.as_config(), attach=True, role_arn=ROLE_ARN)
    assert session.settings.identity_pool_id is None

    session.sign_in("alice", PASSWORD)

    auth = session.fetch_auth_session()
    creds = auth.aws_credentials_result.unwrap()
    assert auth.identity_id_result.type is AuthSessionResultType.FAILURE  # no identity pool
    assert counts(server, "AssumeRoleWithWebIdentity", "GetId", "GetCredentialsForIdentity") == (1, 0, 0)
    client = boto3.client("s3", endpoint_url=server.endpoint_url)
    assert s3_key(server, client) == creds.access_key_id

    session.fetch_auth_session(force_refresh=True)
    assert counts(server, "AssumeRoleWithWebIdentity") == (2,)
    assert s3_key(server, client) == session.current_credentials().access_key_id


# -- guests -----------------------------------------------------------------------------------------


def test_guest_credentials_while_signed_out(make_local, new_session):
    server = make_local(
        LocalSpec(users=(alice(),), identity_pool=IdentityPoolSpec(allow_unauthenticated=True))
    )
    session = new_session(server.settings.as_config(), attach=True, allow_guest=True)

    auth = session.fetch_auth_session()

    assert not auth.is_signed_in
    assert auth.identity_id_result.type is AuthSessionResultType.SUCCESS
    assert auth.aws_credentials_result.type is AuthSessionResultType.SUCCESS
    assert auth.user_pool_tokens_result.type is AuthSessionResultType.FAILURE
    guest = auth.aws_credentials_result.value
    client = session.boto3_session().client("s3", endpoint_url=server.endpoint_url)
    assert s3_key(server, client) == guest.access_key_id
    assert counts(server, "GetId", "GetCredentialsForIdentity") == (1, 1)  # cached while fresh


def test_no_guest_credentials_unless_allowed(make_local, new_session):
    server = make_local(
        LocalSpec(users=(alice(),), identity_pool=IdentityPoolSpec(allow_unauthenticated=True))
    )
    session = new_session(server.settings.as_config(), attach=True)  # allow_guest defaults to False

    auth = session.fetch_auth_session()

    assert auth.aws_credentials_result.type is AuthSessionResultType.FAILURE
    assert counts(server, "GetId") == (0,)


# -- export_env ---------------------------------------------------------------------------------------


def test_export_env_writes_and_rewrites_the_variables(new_session):
    session = new_session(attach=True, export_env=True)
    session.sign_in("alice", PASSWORD)
    creds = session.current_credentials()

    assert os.environ["AWS_ACCESS_KEY_ID"] == creds.access_key_id
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == creds.secret_access_key
    assert os.environ["AWS_SESSION_TOKEN"] == creds.session_token
    expiration = dt.datetime.fromisoformat(os.environ["AWS_CREDENTIAL_EXPIRATION"].replace("Z", "+00:00"))
    assert abs(expiration - creds.expiration) < dt.timedelta(seconds=1)

    session.fetch_auth_session(force_refresh=True)
    renewed = session.current_credentials()
    assert renewed.access_key_id != creds.access_key_id
    assert os.environ["AWS_ACCESS_KEY_ID"] == renewed.access_key_id
    assert os.environ["AWS_SESSION_TOKEN"] == renewed.session_token

    session.sign_out()
    assert not any(name in os.environ for name in EXPORTED)


def test_export_env_turned_on_and_off_while_signed_in_applies_at_once(new_session):
    session = new_session(attach=True)
    session.sign_in("alice", PASSWORD)
    assert "AWS_ACCESS_KEY_ID" not in os.environ

    session.configure(export_env=True)
    assert os.environ["AWS_ACCESS_KEY_ID"] == session.current_credentials().access_key_id

    session.configure(export_env=False)
    assert not any(name in os.environ for name in EXPORTED)
    assert session.is_signed_in


def test_export_env_follows_a_lazy_refresh(new_session, clock):
    session = new_session(attach=True, export_env=True)
    session.sign_in("alice", PASSWORD)
    first = os.environ["AWS_ACCESS_KEY_ID"]

    clock.advance(session.current_credentials().expiration.timestamp() - clock.time() - 60)
    session.current_credentials()

    assert os.environ["AWS_ACCESS_KEY_ID"] == session.current_credentials().access_key_id != first


def test_exported_variables_are_not_mistaken_for_the_users_own(new_session, local):
    session = new_session(attach=True, export_env=True)
    session.sign_in("alice", PASSWORD)
    assert os.environ["AWS_ACCESS_KEY_ID"]
    boto3.setup_default_session()  # user code replaces the default session

    session.integrations.find(Boto3Injection).ensure_installed()  # must not skip: the env key is ours

    assert boto3_injection.is_installed()
    client = boto3.client("s3", endpoint_url=local.endpoint_url)
    assert s3_key(local, client) == os.environ["AWS_ACCESS_KEY_ID"]


def test_export_env_never_overwrites_the_users_credentials(new_session, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSEROWNKEY000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret-0000000000")
    session = new_session(attach=True, export_env=True, inject_boto3=False)

    with pytest.warns(UserWarning, match="did not export") as caught:
        session.sign_in("alice", PASSWORD)
        session.fetch_auth_session(force_refresh=True)

    assert len([w for w in caught if "did not export" in str(w.message)]) == 1
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAUSEROWNKEY000001"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "user-secret-0000000000"
    assert "AWS_SESSION_TOKEN" not in os.environ
    session.sign_out()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAUSEROWNKEY000001"  # never removed either


def test_export_env_is_off_by_default(session):
    session.sign_in("alice", PASSWORD)
    assert not any(name in os.environ for name in EXPORTED)
