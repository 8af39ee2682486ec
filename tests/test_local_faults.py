"""FaultProxy makes the emulator fail as AWS does, and botocore sees the errors it would see.

Clients here make exactly one attempt: ``retries={"total_max_attempts": 1}`` (note that
``{"max_attempts": 1}`` still allows one *retry*).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from helpers import PASSWORD

from nb_cognito.exceptions import ServiceUnavailableError, from_aws_error
from nb_cognito.local import FaultProxy

_SESSIONS: list[boto3.session.Session] = []


def session() -> boto3.session.Session:
    """One boto3 session for the module, so that service models load once."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def idp(url: str, region: str, **config: Any) -> Any:
    settings = Config(retries={"total_max_attempts": 1}, signature_version=UNSIGNED, **config)
    return session().client("cognito-idp", region_name=region, endpoint_url=url, config=settings)


def sign_in(client: Any, local: Any) -> dict[str, Any]:
    return client.initiate_auth(
        ClientId=local.settings.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )


@pytest.fixture
def proxied(local, fault_proxy) -> Any:
    return idp(fault_proxy.url, local.settings.region)


def test_requests_pass_through_untouched(local, fault_proxy, proxied):
    assert sign_in(proxied, local)["AuthenticationResult"]["AccessToken"]
    assert fault_proxy.forwarded_counts() == {"InitiateAuth": 1}
    assert local.request_counts() == {"InitiateAuth": 1}


def test_throttle_is_a_too_many_requests_client_error(local, fault_proxy, proxied):
    fault_proxy.inject("throttle", target="InitiateAuth")
    with pytest.raises(ClientError) as excinfo:
        sign_in(proxied, local)
    error = excinfo.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert from_aws_error(excinfo.value).retryable
    assert local.request_counts() == {}  # the emulator never saw it
    assert sign_in(proxied, local)["AuthenticationResult"]  # times=1: the next one passes
    assert fault_proxy.fault_counts() == {"InitiateAuth": 1}


def test_5xx_is_an_internal_error(local, fault_proxy):
    fault_proxy.inject("5xx", target="GetId", times=None)
    identity = session().client(
        "cognito-identity",
        region_name=local.settings.region,
        endpoint_url=fault_proxy.url,
        config=Config(retries={"total_max_attempts": 1}, signature_version=UNSIGNED),
    )
    for _ in range(3):  # times=None: until cleared
        with pytest.raises(ClientError) as excinfo:
            identity.get_id(IdentityPoolId=local.settings.identity_pool_id, Logins={})
        assert excinfo.value.response["Error"]["Code"] == "InternalErrorException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    fault_proxy.clear()
    with pytest.raises(ClientError) as excinfo:  # now the emulator answers: no guests here
        identity.get_id(IdentityPoolId=local.settings.identity_pool_id, Logins={})
    assert excinfo.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_a_fault_only_hits_its_target(local, fault_proxy, proxied):
    fault_proxy.inject("throttle", target="GetCredentialsForIdentity", times=None)
    assert sign_in(proxied, local)["AuthenticationResult"]
    assert fault_proxy.fault_counts() == {}


def test_drop_closes_the_connection_without_an_answer(local, fault_proxy, proxied):
    fault_proxy.inject("drop", target="InitiateAuth")
    with pytest.raises(ConnectionClosedError) as excinfo:
        sign_in(proxied, local)
    error = from_aws_error(excinfo.value)
    assert isinstance(error, ServiceUnavailableError) and error.retryable
    assert sign_in(proxied, local)["AuthenticationResult"]


def test_delay_past_the_read_timeout_is_a_read_timeout(local, fault_proxy):
    impatient = idp(fault_proxy.url, local.settings.region, read_timeout=0.2, connect_timeout=1)
    fault_proxy.inject("delay", target="InitiateAuth", delay=1.0)
    with pytest.raises(ReadTimeoutError):
        sign_in(impatient, local)


def test_a_short_delay_still_answers(local, fault_proxy, proxied):
    fault_proxy.inject("delay", delay=0.05)
    assert sign_in(proxied, local)["AuthenticationResult"]
    assert fault_proxy.forwarded_counts() == {"InitiateAuth": 1}


def test_down_refuses_connections_then_up_serves_again(local, fault_proxy, proxied):
    assert sign_in(proxied, local)["AuthenticationResult"]  # a kept-alive connection now exists
    url = fault_proxy.url
    fault_proxy.set_down(True)
    for _ in range(2):
        with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
            sign_in(proxied, local)
    with pytest.raises(EndpointConnectionError):
        sign_in(idp(url, local.settings.region), local)
    fault_proxy.set_down(False)
    assert fault_proxy.url == url
    assert sign_in(proxied, local)["AuthenticationResult"]


def test_s3_faults_use_the_service_and_method_as_target(local, fault_proxy):
    s3 = session().client(
        "s3",
        region_name=local.settings.region,
        endpoint_url=fault_proxy.url,
        aws_access_key_id="ASIATESTTESTTESTTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    fault_proxy.inject("5xx", target="s3:GET")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="nb-cognito-test", Key="hello.txt")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert s3.get_object(Bucket="nb-cognito-test", Key="hello.txt")["Body"].read()
    assert local.received_access_keys("s3") == ["ASIATESTTESTTESTTEST"]


@pytest.mark.parametrize(
    ("fault", "kwargs"),
    [("boom", {}), ("throttle", {"times": 0}), ("delay", {}), ("throttle", {"delay": -1})],
)
def test_inject_refuses_nonsense(fault_proxy, fault, kwargs):
    with pytest.raises(ValueError):
        fault_proxy.inject(fault, **kwargs)


def test_the_proxy_binds_loopback_and_stops_cleanly(emulator):
    proxy = FaultProxy(emulator.endpoint_url).start()
    assert proxy.url.startswith("http://127.0.0.1:")
    proxy.stop()
    proxy.stop()
    with pytest.raises(ValueError):
        FaultProxy("https://example.com")
