"""Cognito emulators we did not write, for a second opinion: plain moto and cognito-local.

Each runs as its own process on a free 127.0.0.1 port and is provisioned over HTTP with boto3,
as an administrator would provision AWS: a user pool, an app client (USER_PASSWORD_AUTH, SRP,
refresh), one confirmed user and, where the emulator has them, an identity pool.

* **plain moto** runs ``python -m moto.server`` in a subprocess: moto's own server, with none of
  ``nb_cognito.local``'s patches (those are applied process-wide to moto's classes as soon as a
  ``LocalCognito`` exists, so an in-process ``ThreadedMotoServer`` would not be plain).
* **cognito-local** (npm, pinned in the Makefile, installed by ``make cognito-local`` into
  ``.cache/cognito-local``) runs under node with its data directory in a temporary folder.
  Quirks found (5.3.0): pool ids are ``local_<id>`` and ARNs use the region ``local``; pools
  default to ``UsernameAttributes: ["email"]`` unless ``.cognito/config.json`` says otherwise;
  tokens carry ``iss = http://<host>:<port>/<pool>`` and ``kid = "CognitoLocal"`` and last 24 h
  whatever the client says; ``AuthenticationResult`` has no ``ExpiresIn``; a wrong password is
  ``InvalidPasswordException`` (Cognito: ``NotAuthorizedException``); ``GetTokensFromRefreshToken``
  and ``GlobalSignOut`` are unsupported (``Unsupported`` error); the openid-configuration names
  ``localhost:9229`` whatever the port; there is no SRP and no identity pool.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from helpers import PASSWORD

HOST = "127.0.0.1"
REGION = "us-east-1"
USERNAME = "alice"
#: The version the Makefile's ``cognito-local`` target installs.
COGNITO_LOCAL_VERSION = "5.3.0"
COGNITO_LOCAL_DIR = Path(__file__).resolve().parent.parent / ".cache" / "cognito-local"
COGNITO_LOCAL_START = COGNITO_LOCAL_DIR / "node_modules" / "cognito-local" / "lib" / "bin" / "start.js"


@dataclass(frozen=True)
class Provisioned:
    """How to reach one provisioned emulator (``settings`` feed ``CognitoSession.configure``)."""

    name: str
    endpoint_url: str
    settings: dict[str, str]
    username: str = USERNAME
    password: str = field(default=PASSWORD, repr=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def _process(command: list[str], port: int, probe: str, cwd: Path, env: dict[str, str]) -> Iterator[None]:
    """Run ``command`` until the block ends; wait (real time, at most 30 s) until it answers."""
    log = (cwd / "server.log").open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port, probe):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (cwd / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{command[:3]} did not start on port {port}:\n{output}")
            time.sleep(0.05)  # readiness polling of a child process, not timing a test
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _admin(service: str, endpoint_url: str) -> Any:
    return boto3.session.Session().client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="second-opinion-admin",
        aws_secret_access_key="second-opinion-admin",
        config=Config(retries={"total_max_attempts": 1}),
    )


def _pool_client_user(idp: Any) -> tuple[str, str]:
    pool_id = idp.create_user_pool(PoolName="second-opinion")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="second-opinion-client",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=USERNAME,
        TemporaryPassword=PASSWORD,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=USERNAME, Password=PASSWORD, Permanent=True)
    return pool_id, client_id


@contextlib.contextmanager
def plain_moto(workdir: Path) -> Iterator[Provisioned]:
    """moto's own server (``python -m moto.server``), provisioned with an identity pool too."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    env = {**os.environ, "MOTO_PORT": str(port)}
    with _process(command, port, "/moto-api/", workdir, env):
        endpoint = f"http://{HOST}:{port}"
        pool_id, client_id = _pool_client_user(_admin("cognito-idp", endpoint))
        identity_pool_id = _admin("cognito-identity", endpoint).create_identity_pool(
            IdentityPoolName="second_opinion",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[
                {"ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}", "ClientId": client_id}
            ],
        )["IdentityPoolId"]
        yield Provisioned(
            "plain-moto",
            endpoint,
            {
                "region": REGION,
                "user_pool_id": pool_id,
                "client_id": client_id,
                "identity_pool_id": identity_pool_id,
                "endpoint_url": endpoint,
            },
        )


def cognito_local_installed() -> str | None:
    """The installed cognito-local version, or None when ``make cognito-local`` has not run."""
    package = COGNITO_LOCAL_DIR / "node_modules" / "cognito-local" / "package.json"
    try:
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


@contextlib.contextmanager
def cognito_local(workdir: Path) -> Iterator[Provisioned]:
    """cognito-local under node, its data in ``workdir/.cognito``, provisioned over its API."""
    port = free_port()
    config_dir = workdir / ".cognito"
    config_dir.mkdir(parents=True, exist_ok=True)
    # Usernames are plain names here, as in our pools (its default is email usernames).
    (config_dir / "config.json").write_text(json.dumps({"UserPoolDefaults": {"UsernameAttributes": []}}))
    env = {**os.environ, "PORT": str(port), "HOST": HOST}
    with _process(["node", str(COGNITO_LOCAL_START)], port, "/health", workdir, env):
        endpoint = f"http://{HOST}:{port}"
        pool_id, client_id = _pool_client_user(_admin("cognito-idp", endpoint))
        yield Provisioned(
            "cognito-local",
            endpoint,
            {"region": REGION, "user_pool_id": pool_id, "client_id": client_id, "endpoint_url": endpoint},
        )
