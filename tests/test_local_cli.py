"""``nb-cognito local``: a person starts the emulator, signs in with plain boto3, and stops it."""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

import nb_cognito
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
    assert document["env"]["AWS_ENDPOINT_URL"] == config["endpoint_url"] == document["endpoint_url"]
    assert document["buckets"] == {DEMO_BUCKET: ["iris.csv"]}

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


def read_until(process: subprocess.Popen[str], last: str, timeout: float = 60.0) -> list[str]:
    """The lines the command prints, up to the one starting with ``last``."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "nb-cognito local printed nothing in time"
    lines: list[str] = []
    while not lines or not lines[-1].startswith(last):
        line = process.stdout.readline()
        assert line, f"the output ended before {last!r}: {lines}"
        lines.append(line)
    return lines


def test_local_prints_a_complete_environment_and_stops_on_ctrl_c(run_cli, tmp_path):
    process = run_cli()
    lines = read_until(process, "export AWS_DEFAULT_REGION=")
    comments = [line for line in lines if line.startswith("#")]
    exports = dict(
        line.removeprefix("export ").strip().split("=", 1) for line in lines if line.startswith("export ")
    )
    assert any(DEMO_USERNAME in line and DEMO_PASSWORD in line for line in comments)
    assert any(f"s3://{DEMO_BUCKET}/" in line and "iris.csv" in line for line in comments)
    assert any("AWS_ENDPOINT_URL sends every boto3" in line for line in comments)
    assert set(exports) == {
        "NB_COGNITO_REGION",
        "NB_COGNITO_USER_POOL_ID",
        "NB_COGNITO_CLIENT_ID",
        "NB_COGNITO_IDENTITY_POOL_ID",
        "NB_COGNITO_ENDPOINT_URL",
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
    }
    assert exports["NB_COGNITO_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert exports["AWS_ENDPOINT_URL"] == exports["NB_COGNITO_ENDPOINT_URL"]

    # Pasted as they are into a shell, the lines are enough for the README's quickstart: sign in,
    # then a plain boto3.client("s3") reads the bucket the output named.
    script = tmp_path / "quickstart.py"
    script.write_text(
        "import boto3, nb_cognito\n"
        f"nb_cognito.sign_in({DEMO_USERNAME!r}, {DEMO_PASSWORD!r})\n"
        f"body = boto3.client('s3').get_object(Bucket={DEMO_BUCKET!r}, Key='iris.csv')['Body'].read()\n"
        "print(body.decode().splitlines()[0])\n"
    )
    pasted = "".join(lines) + f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}\n"
    shell = subprocess.run(
        ["bash", "-c", pasted], capture_output=True, text=True, timeout=120, env=clean_env()
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.startswith("sepal_length,")

    returncode, stderr = stop(process, signal.SIGINT)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr


def clean_env() -> dict[str, str]:
    """This process's environment (the test's isolated AWS setup), with nb_cognito importable."""
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def test_a_taken_port_is_an_error_not_another_port(run_cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = run_cli("--port", str(port))
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stdout == ""
    assert f"nb-cognito local: port {port} on 127.0.0.1 is already in use" in stderr
    assert "pick another port with --port N, or leave --port out" in stderr


def test_a_free_port_is_used(run_cli):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = run_cli("--port", str(port), "--json")
    document = json.loads(read_lines(process, 1)[0])
    assert document["endpoint_url"] == f"http://127.0.0.1:{port}"
    assert stop(process, signal.SIGTERM)[0] == 0


def test_a_port_that_is_not_a_number_is_a_plain_usage_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["local", "--port", "abc"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port: expected a port number from 0 to 65535, not 'abc'" in err
    assert "_port" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.strip() == f"nb-cognito {nb_cognito.__version__}"


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
