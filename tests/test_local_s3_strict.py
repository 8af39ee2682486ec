"""Fidelity of the emulator's strict S3 (``LocalSpec(strict_s3=True)``) against real S3.

Each refusal follows the S3 error code list,
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList :
``AccessDenied`` 403, ``InvalidAccessKeyId`` 403, ``InvalidToken`` 400, ``ExpiredToken`` 400.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import PASSWORD

from nb_cognito.local import IdentityPoolSpec, LocalSpec, UserSpec

LIFETIME = 900


@pytest.fixture
def strict(make_local, new_session):  # new_session first: its `local` resets the emulator
    return make_local(
        LocalSpec(
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(credentials_lifetime=LIFETIME),
            buckets={"data": {"a.txt": b"A"}},
            strict_s3=True,
        )
    )


def _client(local, **credentials):
    return boto3.client(
        "s3",
        endpoint_url=local.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
        **credentials,
    )


def _code(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def _vended(local, new_session):
    session = new_session()
    session.sign_in("alice", PASSWORD)
    creds = session.current_credentials()
    return session, creds


def test_an_unsigned_request_is_access_denied_403(strict):
    """S3: an anonymous request to a bucket that is not public is refused with AccessDenied
    (403). https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList"""
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{strict.endpoint_url}/data/a.txt", timeout=10)
    assert caught.value.code == 403
    body = caught.value.read().decode()
    assert "<Code>AccessDenied</Code>" in body
    assert strict.s3_refusals() == [("AccessDenied", None)]


def test_a_key_the_emulator_never_vended_is_invalid_access_key_id_403(strict):
    """S3: "The AWS access key ID you provided does not exist in our records." is
    InvalidAccessKeyId, 403. https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html"""
    s3 = _client(strict, aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="data", Key="a.txt")
    assert _code(caught.value) == ("InvalidAccessKeyId", 403)


def test_vended_credentials_are_served_until_they_expire_then_expired_token_400(strict, new_session, clock):
    """S3: a request signed with expired temporary credentials is refused with ExpiredToken,
    "The provided token has expired.", 400. The expiry is the emulator's clock.
    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList"""
    _, creds = _vended(strict, new_session)
    s3 = _client(
        strict,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
    )
    assert s3.get_object(Bucket="data", Key="a.txt")["Body"].read() == b"A"
    clock.advance(LIFETIME - 1)
    assert s3.get_object(Bucket="data", Key="a.txt")["Body"].read() == b"A"
    clock.advance(1)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="data", Key="a.txt")
    assert _code(caught.value) == ("ExpiredToken", 400)
    with pytest.raises(ClientError) as caught:  # HEAD: status only, no body, as S3
        s3.head_object(Bucket="data", Key="a.txt")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # botocore's region redirector may ask again after a 400 on HEAD: every answer is the same
    assert {code for code, _ in strict.s3_refusals()} == {"ExpiredToken"}


def test_a_vended_key_with_a_wrong_or_missing_session_token_is_refused(strict, new_session):
    """S3: a session token that does not belong to the key is InvalidToken (400); a temporary
    key without its token is not a key S3 knows, InvalidAccessKeyId (403).
    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList"""
    _, creds = _vended(strict, new_session)
    wrong = _client(
        strict,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token="not-" + creds.session_token,
    )
    with pytest.raises(ClientError) as caught:
        wrong.list_objects_v2(Bucket="data")
    assert _code(caught.value) == ("InvalidToken", 400)
    missing = _client(
        strict, aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key
    )
    with pytest.raises(ClientError) as caught:
        missing.list_objects_v2(Bucket="data")
    assert _code(caught.value) == ("InvalidAccessKeyId", 403)


def test_strict_mode_leaves_cognito_and_the_admin_calls_alone(strict, new_session):
    session, _ = _vended(strict, new_session)  # GetId, GetCredentialsForIdentity: unsigned, not S3
    assert strict.admin("s3").get_object(Bucket="data", Key="a.txt")["Body"].read() == b"A"
    assert session.fetch_auth_session(force_refresh=True).is_signed_in
    assert strict.s3_refusals() == []


def test_without_strict_mode_s3_answers_any_key(make_local):
    local = make_local(LocalSpec(buckets={"data": {"a.txt": b"A"}}))
    s3 = _client(local, aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    assert s3.get_object(Bucket="data", Key="a.txt")["Body"].read() == b"A"


def test_the_hosted_ui_is_not_s3_in_strict_mode(make_local):
    """A browser's unsigned GET of the login page is the hosted UI's, never refused as S3's."""
    from dataclasses import replace

    from nb_cognito.local import ClientSpec, default_test_spec

    callback = "http://127.0.0.1:9/callback"
    local = make_local(
        replace(default_test_spec(), client=ClientSpec(callback_urls=(callback,)), strict_s3=True)
    )
    query = urllib.parse.urlencode(
        {"response_type": "code", "client_id": local.settings.client_id, "redirect_uri": callback}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{local.endpoint_url}/login?{query}", timeout=10) as page:
        assert page.status == 200 and b"<form" in page.read()
    assert local.s3_refusals() == []
