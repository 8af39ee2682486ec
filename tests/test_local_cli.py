"""``nb-cognito local``: a person starts the emulator, signs in with plain boto3, and stops it."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from nb_cognito import cli
from nb_cognito.local import DEMO_BUCKET, DEMO_PASSWORD, DEMO_USERNAME


def read_lines(process: subprocess.Popen[str], count: int, timeout: float = 60.0) -> list[str]:
    """The first ``count`` lines the command prints (it prints them all at once, then flushes)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "nb-cognito local printed nothing in time"
    return [process.stdout.readline() for _ in range(count)]


@pytest.fixture
def run_cli() -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def run(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "nb_cognito.cli", "local", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def stop(process: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr


def test_local_json_settings_work_with_plain_boto3(run_cli):
    process = run_cli("--json")
    document = json.loads(read_lines(process, 1)[0])
    config, user = document["config"], document["demo_user"]
    assert user == {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    assert config["endpoint_url"].startswith("http://127.0.0.1:")
    assert document["env"]["NB_COGNITO_USER_POOL_ID"] == config["user_pool_id"]

    unsigned = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})
    where = {"region_name": config["region"], "endpoint_url": config["endpoint_url"]}
    idp = boto3.client("cognito-idp", config=unsigned, **where)
    id_token = idp.initiate_auth(
        ClientId=config["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user["username"], "PASSWORD": user["password"]},
    )["AuthenticationResult"]["IdToken"]
    logins = {f"cognito-idp.{config['region']}.amazonaws.com/{config['user_pool_id']}": id_token}
    identity = boto3.client("cognito-identity", config=unsigned, **where)
    identity_id = identity.get_id(IdentityPoolId=config["identity_pool_id"], Logins=logins)["IdentityId"]
    credentials = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    s3 = boto3.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretKey"],
        aws_session_token=credentials["SessionToken"],
        **where,
    )
    iris = s3.get_object(Bucket=DEMO_BUCKET, Key="iris.csv")["Body"].read().decode()
    assert iris.startswith("sepal_length,")

    returncode, stderr = stop(process, signal.SIGTERM)
    assert returncode == 0, stderr
    assert "stopped" in stderr


def test_local_prints_shell_exports_and_stops_on_ctrl_c(run_cli):
    process = run_cli()
    lines = read_lines(process, 9)
    comments = [line for line in lines if line.startswith("#")]
    exports = dict(
        line.removeprefix("export ").strip().split("=", 1) for line in lines if line.startswith("export ")
    )
    assert any(DEMO_USERNAME in line and DEMO_PASSWORD in line for line in comments)
    assert any("AWS_ENDPOINT_URL=" in line for line in comments)
    assert set(exports) == {
        "NB_COGNITO_REGION",
        "NB_COGNITO_USER_POOL_ID",
        "NB_COGNITO_CLIENT_ID",
        "NB_COGNITO_IDENTITY_POOL_ID",
        "NB_COGNITO_ENDPOINT_URL",
    }
    assert exports["NB_COGNITO_ENDPOINT_URL"].startswith("http://127.0.0.1:")

    returncode, stderr = stop(process, signal.SIGINT)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr


def test_bad_arguments_exit_with_usage(capsys):
    for argv in (["local", "--port", "70000"], ["local", "--nope"], []):
        with pytest.raises(SystemExit) as excinfo:
            cli.main(argv)
        assert excinfo.value.code == 2
    assert "usage: nb-cognito" in capsys.readouterr().err


def test_subcommands_can_be_added_without_touching_local(monkeypatch):
    def add_demo(subparsers: Any) -> None:
        subparsers.add_parser("hello").set_defaults(handler=lambda args: 7)

    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, add_demo])
    assert cli.main(["hello"]) == 7
    assert cli.build_parser().parse_args(["local", "--json"]).json is True
