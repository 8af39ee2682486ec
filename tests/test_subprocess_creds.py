"""Child processes get the Cognito credentials from the loopback container endpoint.

A real ``python -c`` child with boto3 is started; what the emulator's S3 received from it is
the proof. The endpoint's own rules (token, loopback, errors, no secrets in logs) are checked
with plain HTTP requests.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest
from helpers import PASSWORD, no_aws_setup_env

from nb_cognito import kernel
from nb_cognito.integrations.container_endpoint import ContainerEndpoint
from nb_cognito.integrations.credentials_server import ENV_TOKEN, ENV_TOKEN_FILE, ENV_URI
from nb_cognito.local import UserSpec

AWS_NAMES = (
    ENV_URI,
    ENV_TOKEN,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
)

CHILD = """
import boto3
creds = boto3.Session().get_credentials()
print(creds.method, creds.get_frozen_credentials().access_key)
boto3.client("s3").list_buckets()
"""


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    for name in AWS_NAMES:
        monkeypatch.setenv(name, "x")  # record it, so that teardown restores the original
        monkeypatch.delenv(name)
    yield
    boto3.DEFAULT_SESSION = None


def endpoint(session) -> ContainerEndpoint:
    """The container-endpoint integration the session owns."""
    return session.integrations.find(ContainerEndpoint)


@pytest.fixture
def session(new_session):
    return new_session(attach=True, subprocess_credentials=True)


def run_child(local, tmp_path, **extra: str) -> str:
    """Run CHILD with only the endpoint variables (no other credentials); return its output."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        **no_aws_setup_env(local, tmp_path),
        **{name: os.environ[name] for name in (ENV_URI, ENV_TOKEN) if name in os.environ},
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def get(url: str, token: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": token} if token is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# -- the child's story ----------------------------------------------------------------------------


def test_a_child_process_gets_credentials_and_a_new_key_after_a_refresh(session, local, clock, tmp_path):
    session.sign_in("alice", PASSWORD)
    assert os.environ[ENV_URI].startswith("http://127.0.0.1:")
    key = session.current_credentials().access_key_id

    assert run_child(local, tmp_path) == f"container-role {key}"
    assert local.received_access_keys("s3")[-1] == key

    issued = local.request_counts()["GetCredentialsForIdentity"]
    clock.advance(session.current_credentials().expiration.timestamp() - clock.time() - 60)
    output = run_child(local, tmp_path)  # the endpoint refreshes when the child asks

    new_key = session.current_credentials().access_key_id
    assert new_key != key
    assert output == f"container-role {new_key}"
    assert local.received_access_keys("s3")[-1] == new_key
    assert local.request_counts()["GetCredentialsForIdentity"] == issued + 1


def test_sign_out_keeps_the_endpoint_answering_a_readable_error(session):
    session.sign_in("alice", PASSWORD)
    url, token = os.environ[ENV_URI], os.environ[ENV_TOKEN]
    assert get(url, token)[0] == 200

    session.sign_out()

    assert (os.environ[ENV_URI], os.environ[ENV_TOKEN]) == (url, token)  # for the session's life
    status, body = get(url, token)
    assert status == 401
    assert body["code"] == "SignedOutError"
    assert "Nobody is signed in to nb_cognito" in body["message"]
    assert "%cognito_login" in body["message"]
    assert "AccessKeyId" not in body


def test_on_by_default_from_before_anyone_signs_in(new_session):
    session = new_session(attach=True)
    server = endpoint(session).server
    assert server is not None
    assert os.environ[ENV_URI] == server.url
    assert get(server.url, server.token)[0] == 401  # a readable answer, not a dead port

    session.sign_in("alice", PASSWORD)
    status, body = get(os.environ[ENV_URI], os.environ[ENV_TOKEN])
    assert status == 200
    assert body["AccessKeyId"] == session.current_credentials().access_key_id


def test_turned_off_before_sign_in_it_stops_at_once(new_session):
    session = new_session(attach=True)
    assert endpoint(session).server is not None
    session.configure(subprocess_credentials=False)  # the way out, nobody signed in yet
    assert endpoint(session).server is None
    assert ENV_URI not in os.environ and ENV_TOKEN_FILE not in os.environ


def test_turned_off_and_on_while_signed_in_it_applies_at_once(new_session):
    session = new_session(attach=True, subprocess_credentials=False)  # the way out
    session.sign_in("alice", PASSWORD)
    assert endpoint(session).server is None
    assert ENV_URI not in os.environ

    session.configure(subprocess_credentials=True)  # no second sign-in needed
    status, body = get(os.environ[ENV_URI], os.environ[ENV_TOKEN])
    assert status == 200
    assert body["AccessKeyId"] == session.current_credentials().access_key_id

    session.configure(subprocess_credentials=False)
    assert endpoint(session).server is None
    assert ENV_URI not in os.environ
    assert ENV_TOKEN_FILE not in os.environ
    assert session.is_signed_in


def test_a_new_sign_in_as_someone_else_is_served_at_the_same_url_and_token(session, local):
    local.users.add(UserSpec("bob", "Bob-Passw0rd!1"))
    session.sign_in("alice", PASSWORD)
    url, token = os.environ[ENV_URI], os.environ[ENV_TOKEN]
    alices = get(url, token)[1]["AccessKeyId"]
    session.sign_out()
    session.sign_in("bob", "Bob-Passw0rd!1")

    assert (os.environ[ENV_URI], os.environ[ENV_TOKEN]) == (url, token)
    status, body = get(url, token)
    assert status == 200
    assert body["AccessKeyId"] == session.current_credentials().access_key_id != alices


def test_the_token_file_is_private_and_holds_the_token(session):
    path = os.environ[ENV_TOKEN_FILE]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path) as handle:
        assert handle.read() == os.environ[ENV_TOKEN]
    session.configure(subprocess_credentials=False)
    assert not os.path.exists(path)


def test_the_token_file_is_removed_at_exit():
    code = (
        "from nb_cognito.integrations import credentials_server as c; "
        "print(c.write_token_file('t'), flush=True)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    path = done.stdout.strip()
    assert path.endswith("container-token")
    assert not os.path.exists(path)
    assert not os.path.exists(os.path.dirname(path))


# -- the endpoint's rules ------------------------------------------------------------------------


def test_the_endpoint_serves_the_container_format(session):
    session.sign_in("alice", PASSWORD)
    creds = session.current_credentials()

    status, body = get(os.environ[ENV_URI], os.environ[ENV_TOKEN])

    assert status == 200
    assert body["AccessKeyId"] == creds.access_key_id
    assert body["SecretAccessKey"] == creds.secret_access_key
    assert body["Token"] == creds.session_token
    # The expiry on the system clock: now + the time left (within a second or two of rounding).
    served = dt.datetime.strptime(body["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs(served.timestamp() - (time.time() + session.seconds_left(creds))) <= 2


@pytest.mark.parametrize("token", [None, "", "wrong-token", "Bearer wrong-token"])
def test_a_missing_or_wrong_token_gets_403(session, token):
    session.sign_in("alice", PASSWORD)
    secret = session.current_credentials().secret_access_key

    status, body = get(os.environ[ENV_URI], token)

    assert status == 403
    assert "SecretAccessKey" not in body
    assert secret not in json.dumps(body)


def test_the_token_is_also_accepted_as_a_bearer_header(session):
    session.sign_in("alice", PASSWORD)
    assert get(os.environ[ENV_URI], f"Bearer {os.environ[ENV_TOKEN]}")[0] == 200


def test_another_path_gets_404(session):
    session.sign_in("alice", PASSWORD)
    base = os.environ[ENV_URI].rsplit("/", 1)[0]
    assert get(base + "/guess", os.environ[ENV_TOKEN])[0] == 404


def test_the_endpoint_listens_on_loopback_only(session):
    session.sign_in("alice", PASSWORD)
    server = endpoint(session).server
    assert server is not None
    assert server._httpd.server_address[0] == "127.0.0.1"


def test_signed_out_answers_a_json_error_not_credentials(new_session):
    session = new_session(attach=True, subprocess_credentials=True)
    server = endpoint(session).start()  # running while nobody is signed in

    status, body = get(server.url, server.token)

    assert status == 401
    assert body["code"] == "SignedOutError"
    assert "sign in" in body["message"].lower()
    assert "AccessKeyId" not in body


def test_an_expired_session_answers_a_json_error(session, local, clock):
    session.sign_in("alice", PASSWORD)
    local.users.global_sign_out("alice")  # the refresh token is revoked on the server
    clock.advance(session.current_credentials().expiration.timestamp() - clock.time() + 1)

    status, body = get(os.environ[ENV_URI], os.environ[ENV_TOKEN])

    assert status == 401
    assert body["code"] == "SessionExpiredError"
    assert "AccessKeyId" not in body


def test_cognito_unavailable_answers_503(new_session, fault_proxy, clock):
    session = new_session(attach=True, subprocess_credentials=True, endpoint_url=fault_proxy.url)
    session.sign_in("alice", PASSWORD)
    clock.advance(session.current_credentials().expiration.timestamp() - clock.time() + 1)
    fault_proxy.inject("5xx", times=None)

    status, body = get(os.environ[ENV_URI], os.environ[ENV_TOKEN])

    assert status == 503
    assert body["code"] == "ServiceUnavailableError"


def test_other_methods_are_refused(session):
    session.sign_in("alice", PASSWORD)
    request = urllib.request.Request(
        os.environ[ENV_URI], method="POST", data=b"{}", headers={"Authorization": os.environ[ENV_TOKEN]}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405


def test_no_secret_in_logs_or_stderr(session, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    session.sign_in("alice", PASSWORD)
    url, token = os.environ[ENV_URI], os.environ[ENV_TOKEN]
    creds = session.current_credentials()

    get(url, token)
    get(url, "wrong")
    get(url, None)
    session.sign_out()

    captured = capfd.readouterr()
    text = caplog.text + captured.out + captured.err
    path = url.split("/", 3)[3]
    for secret in (token, path, creds.secret_access_key, creds.session_token):
        assert secret not in text
    assert "GET /" not in text  # no request line at all


def test_concurrent_requests_are_all_served(session):
    session.sign_in("alice", PASSWORD)
    url, token = os.environ[ENV_URI], os.environ[ENV_TOKEN]
    key = session.current_credentials().access_key_id
    results: list[tuple[int, str]] = []

    def fetch() -> None:
        status, body = get(url, token)
        results.append((status, body.get("AccessKeyId", "")))

    threads = [threading.Thread(target=fetch) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert results == [(200, key)] * 30
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("nb-cognito-credentials"))


def test_variables_set_before_are_put_back_when_turned_off(new_session, monkeypatch):
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/ecs")
    monkeypatch.setenv(ENV_TOKEN_FILE, "/var/run/theirs")
    session = new_session(attach=True)
    session.sign_in("alice", PASSWORD)

    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in os.environ  # botocore would prefer it
    assert os.environ[ENV_TOKEN_FILE] != "/var/run/theirs"

    session.configure(subprocess_credentials=False)
    assert os.environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == "/v2/credentials/ecs"
    assert os.environ[ENV_TOKEN_FILE] == "/var/run/theirs"


def test_the_kernel_session_wires_the_endpoint(local, monkeypatch):
    monkeypatch.setattr(kernel, "_session", None)
    try:
        session = kernel.kernel_session()
        session.configure(**local.settings.as_config(), subprocess_credentials=True)
        session.sign_in("alice", PASSWORD)
        server = endpoint(session).server
        assert server is not None and server.credentials == session.current_credentials
        assert get(os.environ[ENV_URI], os.environ[ENV_TOKEN])[0] == 200
        assert get(os.environ[ENV_URI], os.environ[ENV_TOKEN])[0] == 200
        session.sign_out()
        assert get(os.environ[ENV_URI], os.environ[ENV_TOKEN])[0] == 401  # still there, readable
    finally:
        kernel.reset_kernel_session()
    assert endpoint(session).server is None  # closed with the session
    assert ENV_URI not in os.environ
