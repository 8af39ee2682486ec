"""boto3's default session signs with the Cognito credentials, and keeps doing so.

The story of a data-analysis notebook: sign in, ``boto3.client("s3")``, hours pass (the clock
moves), the same client keeps working; sign out and it stops. Every assertion is on what the
emulator's S3 *received* (the access key in the signature), not merely on a call succeeding.
"""

from __future__ import annotations

import threading
import warnings

import boto3
import pytest
from botocore.exceptions import CredentialRetrievalError, NoCredentialsError
from helpers import PASSWORD, s3_key

from nb_cognito.auth import botocore_adapter
from nb_cognito.exceptions import ServiceUnavailableError, SignedOutError
from nb_cognito.integrations import boto3_injection
from nb_cognito.integrations.boto3_injection import Boto3Injection
from nb_cognito.models import AuthEvent

USER_KEY = "AKIAUSEROWNKEY000001"
# Every variable these tests or nb_cognito may set; restored to "absent" after each test.
AWS_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture(autouse=True)
def clean_aws(monkeypatch, tmp_path):
    """No credentials from the machine: empty env, empty ~/.aws files, no instance metadata."""
    for name in AWS_NAMES:
        monkeypatch.setenv(name, "x")  # record it, so that teardown restores the original
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    boto3.DEFAULT_SESSION = None
    yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def session(new_session):
    return new_session(attach=True)


def injection(session) -> Boto3Injection:
    """The boto3 integration the session owns."""
    return session.integrations.find(Boto3Injection)


def s3(local):
    return boto3.client("s3", endpoint_url=local.endpoint_url)


def into_mandatory_window(session, clock) -> None:
    """Move the clock to 60 s before the credentials expire: every reader waits for one refresh."""
    left = session.current_credentials().expiration.timestamp() - clock.time()
    clock.advance(left - 60)


def provider_count() -> int:
    resolver = botocore_adapter.default_botocore_session().get_component("credential_provider")
    return sum(p.METHOD == boto3_injection.CANONICAL_NAME for p in resolver.providers)


# -- injection ---------------------------------------------------------------------------------


def test_after_sign_in_the_default_session_signs_with_the_cognito_key(session, local):
    assert boto3.DEFAULT_SESSION is None
    session.sign_in("alice", PASSWORD)

    assert boto3.DEFAULT_SESSION is not None  # created for the user
    assert boto3_injection.is_installed()
    assert s3_key(local, s3(local)) == session.current_credentials().access_key_id


def test_install_is_idempotent(session):
    session.sign_in("alice", PASSWORD)
    default = boto3.DEFAULT_SESSION

    assert injection(session).install() is True
    assert injection(session).install() is True
    assert boto3.DEFAULT_SESSION is default
    assert provider_count() == 1


def test_inject_boto3_false_leaves_boto3_alone(new_session, local):
    session = new_session(attach=True, inject_boto3=False, subprocess_credentials=False)
    session.sign_in("alice", PASSWORD)

    assert not boto3_injection.is_installed()
    with pytest.raises(NoCredentialsError):
        s3(local).list_buckets()
    assert local.received_access_keys("s3") == []


def test_inject_boto3_false_still_finds_the_container_endpoint(new_session, local):
    """Without injection, boto3's own chain reaches the container endpoint (the default)."""
    session = new_session(attach=True, inject_boto3=False)
    session.sign_in("alice", PASSWORD)

    assert not boto3_injection.is_installed()
    assert boto3.Session().get_credentials().method == "container-role"
    assert s3_key(local, s3(local)) == session.current_credentials().access_key_id


def test_inject_boto3_changed_while_signed_in_applies_at_once(new_session, local):
    session = new_session(attach=True, inject_boto3=False)
    session.sign_in("alice", PASSWORD)
    assert not boto3_injection.is_installed()

    session.configure(inject_boto3=True)
    assert boto3_injection.is_installed()
    assert s3_key(local, s3(local)) == session.current_credentials().access_key_id

    session.configure(inject_boto3=False)
    assert not boto3_injection.is_installed()


def test_user_env_credentials_take_precedence_with_one_warning(session, local, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", USER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret-0000000000")

    with pytest.warns(UserWarning, match="AWS_ACCESS_KEY_ID is set") as caught:
        session.sign_in("alice", PASSWORD)
        injection(session).install()  # again (as pre_run_cell would): no second warning
        injection(session).ensure_installed()

    assert len([w for w in caught if "AWS_ACCESS_KEY_ID" in str(w.message)]) == 1
    assert not boto3_injection.is_installed()
    assert s3_key(local, s3(local)) == USER_KEY


def test_aws_profile_takes_precedence_too(session, monkeypatch, tmp_path):
    (tmp_path / "aws-credentials").write_text(
        f"[mine]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = s\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "mine")

    with pytest.warns(UserWarning, match="AWS_PROFILE"):
        session.sign_in("alice", PASSWORD)

    assert not boto3_injection.is_installed()


def test_inject_boto3_always_goes_first_and_says_so(new_session, local, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", USER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret-0000000000")
    session = new_session(attach=True, inject_boto3="always")
    early = s3(local)  # the default session has resolved (and cached) the env credentials
    assert s3_key(local, early) == USER_KEY

    with pytest.warns(UserWarning, match="before AWS_ACCESS_KEY_ID") as caught:
        session.sign_in("alice", PASSWORD)
        injection(session).install()

    assert len(caught) == 1
    key = s3_key(local, s3(local))
    assert key == session.current_credentials().access_key_id
    assert key != USER_KEY
    assert s3_key(local, early) == USER_KEY  # a client keeps what it was created with


# -- refresh -------------------------------------------------------------------------------------


def test_the_same_client_picks_up_refreshed_credentials_by_itself(session, local, clock):
    session.sign_in("alice", PASSWORD)
    client = s3(local)
    first = s3_key(local, client)
    issued = local.request_counts()["GetCredentialsForIdentity"]

    into_mandatory_window(session, clock)
    second = s3_key(local, client)

    assert second != first
    assert second == session.current_credentials().access_key_id
    assert local.request_counts()["GetCredentialsForIdentity"] == issued + 1


def test_force_refresh_reaches_an_existing_client_at_once(session, local):
    session.sign_in("alice", PASSWORD)
    client = s3(local)
    first = s3_key(local, client)

    session.fetch_auth_session(force_refresh=True)

    second = s3_key(local, client)
    assert second != first
    assert second == session.current_credentials().access_key_id


@pytest.mark.parametrize("window", ["advisory", "mandatory"])
def test_fifty_threads_across_a_refresh_never_see_a_mixed_triple(session, local, clock, window):
    session.sign_in("alice", PASSWORD)
    client = s3(local)
    credentials = client._request_signer._credentials

    def triple(creds):
        return (creds.access_key_id, creds.secret_access_key, creds.session_token)

    issued = {triple(session.current_credentials())}
    session.on(
        AuthEvent.CREDENTIALS_REFRESH, lambda _: issued.add(triple(session.describe().state.credentials))
    )
    before = local.request_counts()
    left = session.current_credentials().expiration.timestamp() - clock.time()
    clock.advance(left - (60 if window == "mandatory" else 200))  # leads: 300 s, mandatory 120 s

    start = threading.Barrier(50)
    seen: list[tuple[str, str, str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(3):
                frozen = credentials.get_frozen_credentials()
                seen.append((frozen.access_key, frozen.secret_key, frozen.token))
                client.list_buckets()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(seen) == 150
    assert len(issued) == 2
    assert set(seen) <= issued  # every triple is exactly one issued set, never a mix
    new_key = session.current_credentials().access_key_id
    after = local.request_counts()
    assert after["GetCredentialsForIdentity"] - before["GetCredentialsForIdentity"] == 1
    assert (
        after["GetTokensFromRefreshToken"] - before["GetTokensFromRefreshToken"] == 1
    )  # one token refresh too
    received = local.received_access_keys("s3")[-150:]
    assert set(received) <= {key for key, _, _ in issued}
    if window == "mandatory":  # everyone waited for the one refresh
        assert {key for key, _, _ in seen} == set(received) == {new_key}
    else:  # the others went on with the old, still valid, credentials; the next read is new
        assert s3_key(local, client) == new_key


# -- before sign-in, after sign-out --------------------------------------------------------------


def test_a_client_created_before_sign_in_never_gets_credentials(new_session, local):
    """botocore fact: a client keeps the credentials it was created with; here, none.

    Create clients after signing in (or re-create them); this test documents the limit.
    """
    session = new_session(attach=True, subprocess_credentials=False)
    early = s3(local)
    session.sign_in("alice", PASSWORD)

    with pytest.raises(NoCredentialsError):
        early.list_buckets()
    assert s3_key(local, s3(local)) == session.current_credentials().access_key_id


def test_a_client_created_before_sign_in_fails_at_once_saying_to_sign_in(session, local):
    """With the endpoint (the default), botocore asks it when the client is made; nobody is
    signed in, so the client is not made, and the error says what to do."""
    with pytest.raises(CredentialRetrievalError, match="Nobody is signed in to nb_cognito"):
        s3(local)
    session.sign_in("alice", PASSWORD)
    assert s3_key(local, s3(local)) == session.current_credentials().access_key_id


def test_after_sign_out_an_earlier_client_raises_signed_out_and_works_after_sign_in(session, local):
    session.sign_in("alice", PASSWORD)
    client = s3(local)
    first = s3_key(local, client)
    session.sign_out()
    received = len(local.received_access_keys("s3"))

    with pytest.raises(SignedOutError, match=r"(?i)sign in again"):
        client.list_buckets()
    assert len(local.received_access_keys("s3")) == received  # nothing was sent
    assert not boto3_injection.is_installed()

    session.sign_in("alice", PASSWORD)
    again = s3_key(local, client)
    assert again == session.current_credentials().access_key_id
    assert again != first


def test_a_replaced_default_session_is_reinstalled_before_the_next_cell(session, local):
    session.sign_in("alice", PASSWORD)
    boto3.setup_default_session()  # user code replaces boto3.DEFAULT_SESSION
    assert not boto3_injection.is_installed()

    injection(session).ensure_installed()  # what the pre_run_cell hook runs

    assert boto3_injection.is_installed()
    assert s3_key(local, s3(local)) == session.current_credentials().access_key_id


def test_ensure_installed_does_nothing_when_signed_out(session):
    session.sign_in("alice", PASSWORD)
    session.sign_out()
    boto3.DEFAULT_SESSION = None

    injection(session).ensure_installed()

    assert boto3.DEFAULT_SESSION is None


# -- an independent session -------------------------------------------------------------------------


def test_boto3_session_is_independent_and_refreshing(new_session, local):
    session = new_session(attach=True, inject_boto3=False)
    session.sign_in("alice", PASSWORD)
    own = session.boto3_session()
    client = own.client("s3", endpoint_url=local.endpoint_url)

    first = s3_key(local, client)
    assert first == session.current_credentials().access_key_id
    assert own.region_name == local.settings.region
    assert boto3.DEFAULT_SESSION is None or not boto3_injection.is_installed()

    session.fetch_auth_session(force_refresh=True)
    second = s3_key(local, client)
    assert second != first
    assert second == session.current_credentials().access_key_id


def test_credentials_repr_hides_the_secret(session, local):
    session.sign_in("alice", PASSWORD)
    credentials = s3(local)._request_signer._credentials
    creds = session.current_credentials()

    text = repr(credentials)
    assert creds.secret_access_key not in text
    assert creds.session_token not in text
    assert creds.access_key_id not in text


def test_no_warning_without_env_credentials(session):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.sign_in("alice", PASSWORD)
    assert boto3_injection.is_installed()


def test_no_injection_when_the_session_earns_no_aws_credentials(make_local, new_session, tmp_path):
    """User-pool sign-in only (no identity pool, no role): boto3 keeps the machine's own chain."""
    from nb_cognito.local import LocalSpec, UserSpec

    server = make_local(LocalSpec(users=(UserSpec("alice", PASSWORD),), identity_pool=None))
    (tmp_path / "aws-credentials").write_text(
        f"[default]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = s\n"
    )
    session = new_session(attach=True, **server.settings.as_config())
    session.sign_in("alice", PASSWORD)

    assert not boto3_injection.is_installed()
    assert s3_key(server, s3(server)) == USER_KEY


def test_while_credentials_are_unavailable_a_new_client_does_not_fall_back(
    new_session, local, fault_proxy, clock, tmp_path
):
    """Signed in, Cognito unreachable: a new client must not silently use ~/.aws instead."""
    (tmp_path / "aws-credentials").write_text(
        f"[default]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = s\n"
    )
    session = new_session(attach=True, endpoint_url=fault_proxy.url)
    session.sign_in("alice", PASSWORD)
    clock.advance(session.current_credentials().expiration.timestamp() - clock.time() + 1)
    fault_proxy.set_down(True)

    client = s3(local)  # created during the outage
    with pytest.raises(ServiceUnavailableError):
        client.list_buckets()
    assert USER_KEY not in local.received_access_keys("s3")

    fault_proxy.set_down(False)
    assert s3_key(local, client) == session.current_credentials().access_key_id
