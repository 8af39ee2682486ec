"""End to end on a real JupyterHub: the hub's Cognito sign-in reaches the user's kernel.

Started by the test, all on loopback ports: the emulator (strict S3, its hosted UI), a real
JupyterHub with ``GenericOAuthenticator`` pointed at the emulator's ``/oauth2/*`` and configured
by ``nb_cognito.jupyterhub.configure(c)``, configurable-http-proxy (npm, ``make
configurable-http-proxy``) and ``SimpleLocalProcessSpawner``. A person signs in to the hub through
the emulator's login page (a scripted HTTP session posting the form); the hub spawns the
single-user server; kernels started through the server's REST API are driven with jupyter_client.

The hub, the server and the kernel are other processes on the system clock, so token lifetimes
are short real seconds (``LIFETIME``) and the refresh story waits for real expiries: this file
takes about two minutes, and is marked ``hub``. Refusals: a misconfigured hub (no
``admin:auth_state!user``, ``enable_auth_state`` off) and a kernel set for another pool; the
others (no ID token, a forged token, a revoked server token) are in ``tests/test_hub_signin.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import PASSWORD, jupyter_dirs, missing

from nb_cognito.local import ClientSpec, IdentityPoolSpec, LocalCognito, LocalSpec, UserSpec

pytestmark = [pytest.mark.hub, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent
CHP = ROOT / ".cache" / "configurable-http-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
LIFETIME = 20  # seconds: ID tokens and credentials, so that refreshes happen while the test runs
CSV = b"species,petal_length\nsetosa,1.4\nvirginica,5.6\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def web() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy
    return session


class Hub:
    """A real JupyterHub process for one test, with its own directory, ports and config."""

    def __init__(
        self, tmp: Path, emulator: LocalCognito, port: int, *, roles: bool = True, auth_state: bool = True
    ) -> None:
        self.tmp, self.emulator = tmp, emulator
        self.port = port  # the app client's callback URL names it
        self.url = f"http://127.0.0.1:{self.port}"
        self.service_token = secrets.token_hex(16)
        self.runtime = tmp / "server-runtime"
        settings = emulator.settings
        spawner_env = {
            "NB_COGNITO_USER_POOL_ID": settings.user_pool_id,
            "NB_COGNITO_CLIENT_ID": settings.client_id,
            "NB_COGNITO_IDENTITY_POOL_ID": settings.identity_pool_id,
            "NB_COGNITO_REGION": settings.region,
            "NB_COGNITO_ENDPOINT_URL": settings.endpoint_url,
            "AWS_ENDPOINT_URL": settings.endpoint_url,  # S3 at the emulator (never a key)
            "AWS_DEFAULT_REGION": settings.region,
            **jupyter_dirs(tmp),
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "PYTHONPATH": str(ROOT),
        }
        config = f"""
import nb_cognito.jupyterhub as nbh
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {self.url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(tmp / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{tmp / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(tmp / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.client_id = {settings.client_id!r}
c.GenericOAuthenticator.client_secret = {settings.client_secret!r}
c.GenericOAuthenticator.oauth_callback_url = "{self.url}/hub/oauth_callback"
for name, url in nbh.cognito_urls({settings.endpoint_url!r}).items():
    setattr(c.GenericOAuthenticator, name, url)
c.GenericOAuthenticator.scope = ["openid", "email", "profile"]
c.GenericOAuthenticator.username_claim = "username"
c.GenericOAuthenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = [{sys.executable!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.args = {["--allow-root"] if os.getuid() == 0 else []!r}  # CI containers run as root
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.SimpleLocalProcessSpawner.home_dir_template = "{tmp}/home/{{username}}"
c.Spawner.environment = {spawner_env!r}
c.JupyterHub.services = [{{"name": "test", "api_token": {self.service_token!r}}}]
nbh.configure(c, token_lifetime={LIFETIME})
c.Authenticator.enable_auth_state = {auth_state!r}
roles = list(c.JupyterHub.load_roles) if {roles!r} else []
roles.append({{"name": "test", "services": ["test"], "scopes": ["admin:users", "admin:servers", "tokens"]}})
c.JupyterHub.load_roles = roles
"""
        (tmp / "jupyterhub_config.py").write_text(config)
        env = {
            **os.environ,
            "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32),
            "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.log = open(tmp / "hub.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(tmp / "jupyterhub_config.py")],
            cwd=tmp,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.api = web()
        self.api.headers["Authorization"] = f"token {self.service_token}"
        self._wait(lambda: self.api.get(f"{self.url}/hub/api/", timeout=5).status_code == 200, "the hub")

    def _wait(self, ready: Any, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited: {self.tail()}")
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{what} did not come up: {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return (self.tmp / "hub.log").read_text(errors="replace")[-4000:]

    def sign_in(self, username: str = "alice") -> requests.Session:
        """A person's browser: the hub's login, the emulator's login page, back to the hub."""
        browser = web()
        page = browser.get(f"{self.url}/hub/oauth_login", timeout=30)  # -> authorize -> /login
        chain = [
            (r.status_code, r.url.split("?")[0], (r.headers.get("Location") or "").split("?")[0])
            for r in page.history
        ] + [page.url]
        assert page.status_code == 200 and "<form" in page.text, (chain, page.text[:500])
        fields = {
            k: v.replace("&amp;", "&") for k, v in re.findall(r"name='([^']+)' value='([^']*)'", page.text)
        }
        fields.update(username=username, password=PASSWORD)
        back = browser.post(
            f"{self.emulator.endpoint_url}/login", data=fields, allow_redirects=False, timeout=30
        )
        assert back.status_code == 302, back.text[:500]
        done = browser.get(back.headers["Location"], allow_redirects=False, timeout=60)  # oauth_callback
        assert done.status_code == 302, (done.status_code, self.tail())
        return browser

    def start_server(self, username: str = "alice") -> str:
        """Spawn the user's server (as the home page's Start button does); returns a user token."""
        self.api.post(f"{self.url}/hub/api/users/{username}/server", timeout=60)
        self._wait(
            lambda: (
                self.api.get(f"{self.url}/hub/api/users/{username}", timeout=5)
                .json()["servers"]
                .get("", {})
                .get("ready")
            ),
            "the single-user server",
            timeout=120,
        )
        made = self.api.post(f"{self.url}/hub/api/users/{username}/tokens", json={"note": "test"}, timeout=30)
        assert made.status_code == 201, made.text
        return str(made.json()["token"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Kernel:
    """A kernel on the user's server (POST /api/kernels), driven over its ZMQ connection file."""

    def __init__(self, hub: Hub, user_token: str, username: str = "alice") -> None:
        from jupyter_client import BlockingKernelClient

        self.base = f"{hub.url}/user/{username}/api"
        self.http = web()
        self.http.headers["Authorization"] = f"token {user_token}"
        started = self.http.post(f"{self.base}/kernels", json={"name": "python3"}, timeout=60)
        assert started.status_code == 201, started.text
        self.id = started.json()["id"]
        connection = hub.runtime / f"kernel-{self.id}.json"
        deadline = time.monotonic() + 60
        while not connection.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.client = BlockingKernelClient(connection_file=str(connection))
        self.client.load_connection_file()
        self.client.start_channels(hb=False)  # no heartbeat: a slow start under load is not a death
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> str:
        """Run ``code``; return its stdout, or raise with the cell's error."""
        out: list[str] = []
        errors: list[str] = []

        def hook(message: dict) -> None:
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        self.client.execute_interactive(code, output_hook=hook, timeout=timeout, allow_stdin=False)
        if errors:
            raise AssertionError("; ".join(errors) + "\n" + "".join(out))
        return "".join(out)

    def result(self, code: str, timeout: float = 120) -> dict:
        text = self.run(code, timeout)
        line = next(line for line in text.splitlines() if line.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))

    def close(self) -> None:
        self.client.stop_channels()
        self.http.delete(f"{self.base}/kernels/{self.id}", timeout=30)


@pytest.fixture(scope="module")
def emulator():
    """The emulator on the system clock (the hub and the kernel are other processes)."""
    for module in ("jupyterhub", "oauthenticator"):  # the test extra has both
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (the test extra)")
    if not CHP.exists():
        missing(f"configurable-http-proxy is not installed at {CHP} (make configurable-http-proxy)")
    if shutil.which("node") is None:
        missing("node (for configurable-http-proxy)")
    hub_ports = (free_port(), free_port(), free_port())  # the story's hub; two misconfigured ones
    spec = LocalSpec(
        client=ClientSpec(
            generate_secret=True,  # the hub's secret: the kernel never gets it
            # The ID token lives shorter than the access token, as Cognito allows: the hub's
            # default refresh_user would never refresh (the access token still works); the
            # refreshes below come from nb_cognito.jupyterhub.refresh_user_hook.
            access_token_validity=3600,
            id_token_validity=LIFETIME,
            callback_urls=tuple(f"http://127.0.0.1:{port}/hub/oauth_callback" for port in hub_ports),
            oauth_scopes=("openid", "email", "profile"),
        ),
        users=(UserSpec("alice", PASSWORD, attributes={"email": "alice@example.com"}),),
        identity_pool=IdentityPoolSpec(credentials_lifetime=LIFETIME),
        buckets={"data": {"iris.csv": CSV}},
        strict_s3=True,
    )
    with LocalCognito(spec) as local:
        local.hub_ports = hub_ports  # type: ignore[attr-defined]
        yield local


@pytest.fixture(scope="module")
def hub(emulator, tmp_path_factory):
    made = Hub(tmp_path_factory.mktemp("hub"), emulator, emulator.hub_ports[0])
    try:
        yield made
    finally:
        made.stop()


READ_S3 = """
import json, boto3, pandas as pd, nb_cognito
key = nb_cognito.session.current_credentials().access_key_id
body = boto3.client("s3").get_object(Bucket="data", Key="iris.csv")["Body"].read()
frame = pd.read_csv("s3://data/iris.csv")
print("RESULT", json.dumps({"key": key, "bytes": len(body), "rows": len(frame),
      "through_hub": nb_cognito.session.status().through_hub}))
"""


@pytest.fixture(scope="module")
def user_token(hub):
    """alice signed in to the hub through the emulator's login page; her server spawned."""
    hub.sign_in()
    return hub.start_server()


def test_a_kernel_set_for_another_pool_refuses_the_hubs_tokens(hub, user_token):
    kernel = Kernel(hub, user_token)
    try:
        with pytest.raises(AssertionError) as refused:
            kernel.run(
                "import os\n"
                "os.environ.update(NB_COGNITO_HUB_SIGN_IN='false')\n"
                "os.environ.update(NB_COGNITO_USER_POOL_ID='us-east-1_Other1')\n"
                "%load_ext nb_cognito\n"
                "%cognito_login --hub"
            )
        # The tokens' issuer is checked against the settings' pool, and that pool's signing keys
        # are fetched (404: it does not exist); whichever answers first names the setting.
        refusal = str(refused.value)
        assert "not from the pool the settings name" in refusal or "knows no user pool there" in refusal
        assert "us-east-1_Other1' from environment (NB_COGNITO_USER_POOL_ID)" in refusal
    finally:
        kernel.close()


def test_a_user_signed_in_to_the_hub_reads_s3_from_a_kernel_with_no_password(hub, emulator, user_token):

    kernel = Kernel(hub, user_token)
    try:  # %cognito_login --hub, with hub_sign_in off for this kernel
        out = kernel.run(
            "import os; os.environ['NB_COGNITO_HUB_SIGN_IN'] = 'false'\n"
            "%load_ext nb_cognito\n"
            "import nb_cognito; assert not nb_cognito.session.is_signed_in\n"
            "%cognito_login --hub"
        )
        assert "Signed in through JupyterHub as alice" in out
        result = kernel.result(READ_S3)
        assert result["through_hub"] and result["bytes"] == len(CSV) and result["rows"] == 2
        assert result["key"] in emulator.received_access_keys("s3")
        assert emulator.s3_refusals() == []
    finally:
        kernel.close()

    kernel = Kernel(hub, user_token)
    try:  # hub_sign_in "auto" (the default): signed in by loading the extension
        kernel.run("%load_ext nb_cognito")
        result = kernel.result(READ_S3)
        assert result["through_hub"] and result["rows"] == 2
        # Several refreshes through the hub, with S3 read all along: no call fails.
        before = emulator.request_counts()["HostedUI:/oauth2/token"]
        loop = kernel.result(
            f"""
import time
failures, keys, deadline = [], set(), time.time() + {2.5 * LIFETIME}
s3 = boto3.client("s3")
while time.time() < deadline:
    try:
        s3.get_object(Bucket="data", Key="iris.csv")["Body"].read()
        keys.add(nb_cognito.session.current_credentials().access_key_id)
    except Exception as error:
        failures.append(repr(error)[:300])
    time.sleep(0.5)
print("RESULT", json.dumps({{"failures": failures, "keys": len(keys),
      "refreshes": nb_cognito.session.describe().refresh_count}}))
""",
            timeout=LIFETIME * 6,
        )
        assert loop["failures"] == [], loop
        assert loop["refreshes"] >= 2 and loop["keys"] >= 3, loop
        assert emulator.request_counts()["HostedUI:/oauth2/token"] - before >= 2
        assert emulator.s3_refusals() == []

        # The hub's refresh now fails (the user was signed out everywhere): the kernel says so.
        emulator_admin = _admin(emulator)
        emulator_admin.admin_user_global_sign_out(UserPoolId=emulator.settings.user_pool_id, Username="alice")
        failed = kernel.result(
            f"""
import time
deadline, message = time.time() + {3 * LIFETIME}, None
while time.time() < deadline and message is None:
    try:
        nb_cognito.session.current_credentials()
    except nb_cognito.AuthError as error:
        message = str(error)
    time.sleep(0.5)
print("RESULT", json.dumps({{"message": message}}))
""",
            timeout=LIFETIME * 6,
        )
        assert failed["message"] and "JupyterHub" in failed["message"], failed
    finally:
        kernel.close()


@pytest.mark.parametrize(
    ("misconfigured", "says"),
    [
        ({"roles": False}, ["admin:auth_state!user", "'server'", "load_roles"]),
        ({"auth_state": False}, ["enable_auth_state = True", "JUPYTERHUB_CRYPT_KEY"]),
    ],
    ids=["no-auth-state-scope", "enable-auth-state-off"],
)
def test_a_misconfigured_hub_is_named_in_the_refusal(emulator, tmp_path, misconfigured, says):
    """The hub operator forgot the roles, or auth_state: the kernel says what to set."""
    port = emulator.hub_ports[1 if "roles" in misconfigured else 2]
    hub = Hub(tmp_path, emulator, port, **misconfigured)
    try:
        hub.sign_in()
        kernel = Kernel(hub, hub.start_server())
        try:
            quiet = kernel.result(
                "%load_ext nb_cognito\n"  # hub_sign_in "auto": quiet when the hub hands out nothing
                "import json, nb_cognito\n"
                "print('RESULT', json.dumps({'signed_in': nb_cognito.session.is_signed_in}))"
            )
            assert quiet == {"signed_in": False}
            with pytest.raises(AssertionError) as refused:
                kernel.run("%cognito_login --hub")
            text = str(refused.value)
            assert "UsageError: Signing in through JupyterHub failed" in text
            for words in says:
                assert words in text
        finally:
            kernel.close()
    finally:
        hub.stop()


def _admin(local: LocalCognito) -> Any:
    import boto3

    return boto3.client(
        "cognito-idp",
        endpoint_url=local.endpoint_url,
        region_name=local.settings.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
