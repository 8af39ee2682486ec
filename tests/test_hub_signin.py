"""Sign-in from JupyterHub, kernel side, against a real HTTP stand-in for the hub's API.

The stand-in is a loopback HTTP server answering ``GET /hub/api/users/alice`` and
``GET /hub/api/user`` as JupyterHub 6 does (the server's token in ``Authorization: token ...``;
``auth_state`` present only for a token with ``admin:auth_state!user``, and filled only by the
first). It holds one user's tokens, signed in at the emulator with the
hub's own app client, and refreshes them as a hub configured with
``nb_cognito.jupyterhub.refresh_user_hook`` would: with the refresh token, when
``id_token_due()`` says so. Time is the test's clock, shared by the emulator, the stand-in and
the session. The end-to-end test with a real JupyterHub is ``tests/test_hub_e2e.py``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from helpers import PASSWORD, s3_from_the_emulator, s3_key
from testing_shell import close_shell, new_shell

import nb_cognito
from nb_cognito import jupyterhub, kernel
from nb_cognito.auth.hub import HUB_REFRESH_TOKEN
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    NotAuthorizedError,
    TokenValidationError,
)
from nb_cognito.local import ClientSpec, IdentityPoolSpec, LocalSpec, UserSpec
from nb_cognito.notebook import extension
from nb_cognito.notebook.magic_line import MagicUsageError
from nb_cognito.settings.config import CognitoConfig

LIFETIME = 300  # the app client's token lifetime (Cognito's minimum), on the test's clock
SERVER_TOKEN = "hub-server-token-" + "x" * 8


def admin(local, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=local.endpoint_url,
        region_name=local.settings.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def hub_app_client(local, *, trusted_by_identity_pool: bool = True, lifetime: int = LIFETIME) -> str:
    """A second app client of the pool, the hub's (the identity pool lists it as a provider)."""
    settings = local.settings
    created = admin(local, "cognito-idp").create_user_pool_client(
        UserPoolId=settings.user_pool_id,
        ClientName="jupyterhub",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=lifetime,
        IdTokenValidity=lifetime,
        TokenValidityUnits={"AccessToken": "seconds", "IdToken": "seconds"},
    )
    client_id = created["UserPoolClient"]["ClientId"]
    if trusted_by_identity_pool:
        identity = admin(local, "cognito-identity")
        pool = identity.describe_identity_pool(IdentityPoolId=settings.identity_pool_id)
        pool["CognitoIdentityProviders"].append(
            {
                "ProviderName": pool["CognitoIdentityProviders"][0]["ProviderName"],
                "ClientId": client_id,
                "ServerSideTokenCheck": False,
            }
        )
        pool.pop("ResponseMetadata", None)
        identity.update_identity_pool(**pool)
    return client_id


class HubStandIn:
    """JupyterHub's ``GET /hub/api/user`` for one user, on a real loopback HTTP server.

    ``mode``: ``"ok"``; ``"no_scope"`` (the token lacks ``admin:auth_state!user``: no
    ``auth_state`` key); ``"no_auth_state"`` (``enable_auth_state`` off: ``null``);
    ``"no_id_token"``. ``refreshing=False``: the hub's refresh fails, it hands out what it has.
    """

    def __init__(self, local, client_id: str, clock, username: str = "alice") -> None:
        self.local, self.client_id, self.clock = local, client_id, clock
        self.idp = boto3.client(
            "cognito-idp",
            endpoint_url=local.endpoint_url,
            region_name=local.settings.region,
            config=Config(signature_version=UNSIGNED),
        )
        result = self.idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        self.auth_state: dict[str, Any] = {
            "access_token": result["AccessToken"],
            "id_token": result["IdToken"],
            "refresh_token": result["RefreshToken"],
            "token_response": {"token_type": "Bearer"},
        }
        self.mode = "ok"
        self.refreshing = True
        self.refreshes = 0
        self.requests = 0
        self.token = SERVER_TOKEN
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests += 1
                if self.headers.get("Authorization") != f"token {stand_in.token}":
                    return self._send(403, {"message": "Missing or invalid credentials"})
                model = stand_in.user_model()
                if self.path == "/hub/api/user":  # as JupyterHub: who, but auth_state left empty
                    return self._send(200, {**model, "auth_state": None} if "auth_state" in model else model)
                if self.path != "/hub/api/users/alice":
                    return self._send(404, {"message": "Not found"})
                self._send(200, model)

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.api_url = f"http://127.0.0.1:{self.server.server_address[1]}/hub/api"

    def user_model(self) -> dict[str, Any]:
        if self.refreshing and jupyterhub.id_token_due(self.auth_state, self.clock.time()):
            result = self.idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": self.auth_state["refresh_token"]},
            )["AuthenticationResult"]
            self.auth_state.update(access_token=result["AccessToken"], id_token=result["IdToken"])
            self.refreshes += 1
        model: dict[str, Any] = {"kind": "user", "name": "alice", "scopes": ["users:activity!user=alice"]}
        if self.mode == "no_scope":
            return model
        model["scopes"].append("admin:auth_state!user=alice")
        if self.mode == "no_auth_state":
            return {**model, "auth_state": None}
        state = dict(self.auth_state)
        if self.mode == "no_id_token":
            state.pop("id_token")
        return {**model, "auth_state": state}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(make_local, clock, monkeypatch, tmp_path):
    """The emulator (strict S3, short tokens) and the kernel's environment under JupyterHub."""
    local = make_local(
        LocalSpec(
            client=ClientSpec(access_token_validity=LIFETIME, id_token_validity=LIFETIME),
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(credentials_lifetime=LIFETIME),
            buckets={"data": {"iris.csv": b"species,petal_length\nsetosa,1.4\n"}},
            strict_s3=True,
        )
    )
    s3_from_the_emulator(local, monkeypatch, tmp_path)
    monkeypatch.setenv("NB_COGNITO_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("NB_COGNITO_KEYRING", "0")
    return local


@pytest.fixture
def hub(world, clock, monkeypatch) -> Iterator[HubStandIn]:
    stand_in = HubStandIn(world, hub_app_client(world), clock)
    monkeypatch.setenv("JUPYTERHUB_API_URL", stand_in.api_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    yield stand_in
    stand_in.close()


@pytest.fixture
def hub_session(new_session, world, hub):
    """A kernel session (the kernel's integrations) configured as the hub operator would."""
    return new_session(attach=True, hub_client_id=hub.client_id)


# -- the story: signed in by the hub, reading S3 -----------------------------------------------


def test_sign_in_from_hub_reads_s3_with_the_users_identity_pool_key(hub_session, hub, world):
    result = hub_session.sign_in_from_hub()
    assert result.is_signed_in
    assert hub_session.status().through_hub
    assert hub_session.get_current_user().username == "alice"
    key = hub_session.current_credentials().access_key_id
    assert s3_key(world, boto3.client("s3")) == key  # boto3's default session
    assert s3_key(world, hub_session.boto3_session().client("s3")) == key
    assert world.s3_refusals() == []
    # The kernel holds no refresh token of the hub's, and no client secret is set anywhere.
    tokens = hub_session.fetch_auth_session().user_pool_tokens_result.value
    assert tokens.refresh_token == HUB_REFRESH_TOKEN
    assert hub.auth_state["refresh_token"] not in repr(hub_session.describe().state)
    assert hub_session.settings.client_secret is None


def test_pandas_reads_s3_through_the_container_endpoint(hub_session, hub, world):
    import pandas as pd

    hub_session.sign_in_from_hub()
    frame = pd.read_csv("s3://data/iris.csv")
    assert list(frame.species) == ["setosa"]
    assert set(world.received_access_keys("s3")) == {hub_session.current_credentials().access_key_id}


def test_dask_workers_get_the_hub_sign_in_s_credentials(hub_session, hub, world):
    import distributed
    from dask_world import s3_task
    from helpers import one_worker_cluster

    hub_session.sign_in_from_hub()
    key = hub_session.current_credentials().access_key_id
    with one_worker_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as client:
        mark = len(world.received_access_keys("s3"))
        assert set(client.run(s3_task).values()) == {"ok"}
        assert set(world.received_access_keys("s3")[mark:]) == {key}


def test_several_hub_refreshes_and_no_failed_s3_call(hub_session, hub, world, clock):
    hub_session.sign_in_from_hub()
    s3 = boto3.client("s3")
    keys = set()
    for _ in range(12):  # 12 x 100 s on 300-second tokens and credentials: four lifetimes
        clock.advance(100)
        s3.get_object(Bucket="data", Key="iris.csv")["Body"].read()
        keys.add(hub_session.current_credentials().access_key_id)
    assert world.s3_refusals() == []
    assert hub.refreshes >= 3, hub.refreshes
    assert len(keys) >= 4
    assert hub_session.describe().refresh_count >= 3
    assert hub_session.status().through_hub


def test_eight_simulated_hours_on_one_hour_tokens(make_local, new_session, clock, monkeypatch, tmp_path):
    """The issue's "done": a working day with no password and no failed S3 call."""
    local = make_local(
        LocalSpec(
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(credentials_lifetime=3600),
            buckets={"data": {"iris.csv": b"species\nsetosa\n"}},
            strict_s3=True,
        )
    )
    s3_from_the_emulator(local, monkeypatch, tmp_path)
    stand_in = HubStandIn(local, hub_app_client(local, lifetime=3600), clock)
    try:
        monkeypatch.setenv("JUPYTERHUB_API_URL", stand_in.api_url)
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
        monkeypatch.setenv("JUPYTERHUB_USER", "alice")
        session = new_session(local.settings.as_config(), attach=True, hub_client_id=stand_in.client_id)
        session.sign_in_from_hub()
        s3 = boto3.client("s3")
        for _ in range(8 * 6):  # every 10 minutes for 8 hours
            clock.advance(600)
            assert s3.get_object(Bucket="data", Key="iris.csv")["Body"].read() == b"species\nsetosa\n"
        assert local.s3_refusals() == []
        assert 7 <= stand_in.refreshes <= 10, stand_in.refreshes  # about one per lifetime, no storm
        assert session.status().through_hub
    finally:
        stand_in.close()


def test_a_hub_that_does_not_refresh_says_so_and_which_settings_fix_it(
    hub_session, hub, world, clock, caplog
):
    hub_session.sign_in_from_hub()
    first = hub_session.current_credentials().access_key_id
    hub.refreshing = False  # the hub's refresh fails: it keeps handing out the old tokens
    clock.advance(LIFETIME * 0.93)  # inside the advisory window: the current values stay in use
    with caplog.at_level(logging.WARNING, logger="nb_cognito"):
        assert s3_key(world, boto3.client("s3")) == first
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "JupyterHub handed back an ID token that expires in" in warned
    assert "refresh_user_hook" in warned and "auth_refresh_age" in warned
    clock.advance(LIFETIME * 0.1)  # past the expiry: nothing valid is left
    with pytest.raises(AuthError) as caught:
        hub_session.current_credentials()
    text = str(caught.value)
    assert "JupyterHub handed back an ID token that has expired" in text
    assert "nb_cognito.jupyterhub.refresh_user_hook" in text
    assert hub.auth_state["refresh_token"] not in text and SERVER_TOKEN not in text
    hub.refreshing = True  # the hub recovers: so does the kernel, with no new sign-in
    assert s3_key(world, boto3.client("s3")) == hub_session.current_credentials().access_key_id
    assert hub_session.status().through_hub


def test_unrefreshed_tokens_are_refused_only_once_a_refresh_is_due(hub_session, hub, clock):
    """Asked early (a forced refresh), the hub's unchanged tokens are fine; asked in the window
    the background refresher wakes up in, unchanged tokens mean the hub did not refresh: an
    error, so the session waits its retry delay instead of asking the hub in a loop."""
    hub_session.sign_in_from_hub()
    hub.refreshing = False
    before = hub.requests
    hub_session.fetch_auth_session(force_refresh=True)  # far from expiry: the same tokens will do
    assert hub.requests == before + 1 and hub_session.describe().last_error is None
    lead = RefreshPolicy().lead(LIFETIME)  # the session's: the default policy
    clock.advance(LIFETIME - lead * 1.1)  # before the advisory window, inside the jitter's reach
    hub_session.fetch_auth_session(force_refresh=True)
    assert "JupyterHub handed back an ID token that expires in" in str(hub_session.describe().last_error)
    assert hub_session.is_signed_in


def test_a_hub_that_revoked_the_servers_token_ends_the_session(hub_session, hub, clock):
    hub_session.sign_in_from_hub()
    hub.token = "another-token"  # the server was stopped: its token no longer works
    clock.advance(LIFETIME)
    with pytest.raises(AuthError) as caught:
        hub_session.current_credentials()
    assert "JupyterHub refused this server's API token (HTTP 403" in str(caught.value)
    assert not hub_session.is_signed_in
    assert SERVER_TOKEN not in str(caught.value)


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "error", "says"),
    [
        ("no_scope", ConfigurationError, ["admin:auth_state!user", "load_roles", "'server'"]),
        ("no_auth_state", ConfigurationError, ["enable_auth_state = True", "JUPYTERHUB_CRYPT_KEY"]),
        ("no_id_token", ConfigurationError, ["holds no ID token", "openid"]),
    ],
)
def test_refusals_name_the_hub_setting_to_fix(hub_session, hub, mode, error, says):
    hub.mode = mode
    with pytest.raises(error) as caught:
        hub_session.sign_in_from_hub()
    for words in says:
        assert words in str(caught.value)
    assert not hub_session.is_signed_in


def test_an_id_token_of_another_pool_is_refused(hub_session, hub, world):
    idp = admin(world, "cognito-idp")
    other = idp.create_user_pool(PoolName="another")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=other, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=other, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=other, Username="alice", Password=PASSWORD, Permanent=True)
    foreign = HubStandIn(world, client, hub.clock)
    try:
        hub.auth_state.update(id_token=foreign.auth_state["id_token"])
        with pytest.raises(TokenValidationError, match="not from the pool the settings name"):
            hub_session.sign_in_from_hub()
    finally:
        foreign.close()
    assert not hub_session.is_signed_in


def test_the_hubs_audience_is_hub_client_id_not_any_client(new_session, world, hub):
    session = new_session(attach=True)  # hub_client_id unset: the audience is client_id
    with pytest.raises(TokenValidationError, match="another app client"):
        session.sign_in_from_hub()
    assert not session.is_signed_in


def test_a_wrong_server_token_is_refused_without_showing_it(hub_session, hub, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "not-the-servers-token-123")
    with pytest.raises(NotAuthorizedError) as caught:
        hub_session.sign_in_from_hub()
    assert "not-the-servers-token-123" not in str(caught.value) + repr(caught.value)


def test_without_jupyterhub_user_the_name_comes_from_the_hub(hub_session, hub, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert hub_session.sign_in_from_hub().is_signed_in
    assert hub.requests == 2  # GET /user (who), then GET /users/alice (auth_state)


def test_a_forged_id_token_from_the_hub_api_is_refused(hub_session, hub):
    """Whoever answers at JUPYTERHUB_API_URL cannot sign the kernel in with a token of its own
    making: the claims are the user's, the signature is not the pool's."""
    header, payload, _ = hub.auth_state["id_token"].split(".")
    hub.auth_state["id_token"] = f"{header}.{payload}.{'A' * 342}"
    with pytest.raises(TokenValidationError, match="signature is invalid"):
        hub_session.sign_in_from_hub()
    assert not hub_session.is_signed_in


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/hub/api", "not a url"])
def test_only_an_http_hub_api_url_is_ever_asked(hub_session, hub, monkeypatch, url):
    monkeypatch.setenv("JUPYTERHUB_API_URL", url)
    with pytest.raises(ConfigurationError, match=r"JUPYTERHUB_API_URL is .* not an http"):
        hub_session.sign_in_from_hub()
    assert hub.requests == 0


def test_outside_jupyterhub_it_says_so(new_session, world, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN"):
        new_session().sign_in_from_hub()


def test_a_refused_hub_sign_in_keeps_the_password_sign_in(new_session, world, hub, clock):
    session = new_session(attach=True)
    session.sign_in("alice", PASSWORD)
    before = session.current_credentials().access_key_id
    hub.mode = "no_scope"
    with pytest.raises(ConfigurationError):
        session.sign_in_from_hub()
    assert session.is_signed_in and not session.status().through_hub
    clock.advance(LIFETIME)  # it still refreshes at Cognito with its own refresh token
    assert session.current_credentials().access_key_id != before


def test_remember_does_not_store_the_hub_sign_in(new_session, world, hub, clock, tmp_path):
    session = new_session(attach=True, hub_client_id=hub.client_id, remember=True)
    session.sign_in_from_hub()
    clock.advance(LIFETIME)
    session.current_credentials()
    stored = tmp_path / "store"
    assert not stored.exists() or not any(stored.rglob("*.json"))


# -- the front ends: %cognito_login --hub, hub_sign_in at load, the widget ------------------------


@pytest.fixture
def shell(tmp_path, world, hub, clock, monkeypatch):
    for name, value in world.settings.as_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NB_COGNITO_HUB_CLIENT_ID", hub.client_id)
    sh = new_shell(tmp_path)
    session = kernel.make_session(CognitoConfig(parent=sh), clock=clock)
    previous = kernel.use_kernel_session(session)
    yield sh
    if "CognitoMagics" in sh.magics_manager.registry:
        extension.unload_extension(sh)
    kernel.use_kernel_session(previous)
    session.sign_out()
    session.close()
    close_shell(sh)


def test_magic_hub_signs_in_without_a_password(shell, world, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_HUB_SIGN_IN", "false")  # not at load: on the magic only
    shell.run_cell("%load_ext nb_cognito")
    assert not nb_cognito.session.is_signed_in
    shell.run_cell("%cognito_login --hub")
    assert "Signed in through JupyterHub as alice" in capsys.readouterr().out
    assert s3_key(world, boto3.client("s3")) == nb_cognito.session.current_credentials().access_key_id
    assert SERVER_TOKEN not in shell.history_text()


def test_magic_hub_refusal_is_one_clear_line(shell, hub):
    hub.mode = "no_scope"
    shell.run_cell("%load_ext nb_cognito")
    with pytest.raises(
        MagicUsageError, match=r"Signing in through JupyterHub failed: .*admin:auth_state!user"
    ):
        shell.run_cell("%cognito_login --hub")


def test_a_verbose_traceback_shows_no_token_of_the_hubs(shell, hub, capsys):
    hub.mode = "no_id_token"  # the answer still holds the access and refresh tokens
    shell.run_cell("%load_ext nb_cognito")
    shell.run_cell("%xmode Verbose")
    capsys.readouterr()
    with pytest.raises(ConfigurationError):
        shell.run_cell("import nb_cognito; nb_cognito.sign_in_from_hub()")
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "holds no ID token" in printed
    for secret in (hub.auth_state["refresh_token"], hub.auth_state["access_token"], SERVER_TOKEN):
        assert secret not in printed


def test_hub_sign_in_auto_signs_in_as_the_extension_loads(shell, world):
    shell.run_cell("%load_ext nb_cognito")
    assert nb_cognito.session.status().through_hub
    assert s3_key(world, boto3.client("s3")) == nb_cognito.session.current_credentials().access_key_id


def test_hub_sign_in_auto_is_quiet_when_the_hub_hands_out_nothing(shell, hub, capsys):
    hub.mode = "no_auth_state"
    shell.run_cell("%load_ext nb_cognito")
    assert not nb_cognito.session.is_signed_in
    assert "JupyterHub" not in capsys.readouterr().err


def test_hub_sign_in_true_says_why_it_could_not(shell, hub, monkeypatch, capsys):
    monkeypatch.setenv("NB_COGNITO_HUB_SIGN_IN", "true")
    hub.mode = "no_auth_state"
    shell.run_cell("%load_ext nb_cognito")
    assert not nb_cognito.session.is_signed_in
    assert "could not sign in through JupyterHub" in capsys.readouterr().err


def test_the_widget_says_signed_in_through_jupyterhub(shell):
    from nb_cognito.notebook.widget import SignInWidget

    shell.run_cell("%load_ext nb_cognito")
    widget = SignInWidget(nb_cognito.session)
    assert "Signed in through JupyterHub as <b>alice</b>" in widget._ui.status.value


# -- the hub side's pure rules --------------------------------------------------------------------


def _jwt(claims: dict) -> str:
    import base64

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.{secrets.token_urlsafe(8)}"


def test_id_token_due_looks_at_the_id_token_not_only_the_access_token():
    state = {
        "id_token": _jwt({"iat": 0, "exp": 300}),
        "access_token": _jwt({"iat": 0, "exp": 3600}),
    }
    assert not jupyterhub.id_token_due(state, now=200)  # a third left
    assert jupyterhub.id_token_due(state, now=240)  # a fifth left: the kernel asks soon
    assert jupyterhub.id_token_due(state, now=400)  # expired, though the access token is not
    assert not jupyterhub.id_token_due(None, now=0)
    assert not jupyterhub.id_token_due({"id_token": "garbage"}, now=0)


def test_configure_sets_what_the_kernels_need_and_keeps_other_roles():
    from traitlets.config import Config

    c = Config()
    c.JupyterHub.load_roles = [{"name": "server", "scopes": ["read:users!user"]}, {"name": "ops"}]
    jupyterhub.configure(c, token_lifetime=LIFETIME)
    assert c.Authenticator.enable_auth_state is True
    assert c.Authenticator.refresh_pre_spawn is True
    assert c.Authenticator.auth_refresh_age == 25
    assert c.OAuthenticator.refresh_user_hook is jupyterhub.refresh_user_hook
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert "admin:auth_state!user" in roles["server"]["scopes"]
    assert "read:users!user" in roles["server"]["scopes"]
    assert "access:servers!server" in roles["server"]["scopes"]
    assert roles["user"]["scopes"] == ["self", "admin:auth_state!user"]
    assert "ops" in roles
    assert jupyterhub.environment(user_pool_id="us-east-1_A", hub_sign_in="auto") == {
        "NB_COGNITO_USER_POOL_ID": "us-east-1_A",
        "NB_COGNITO_HUB_SIGN_IN": "auto",
    }
    with pytest.raises(ValueError, match="user_pol_id"):
        jupyterhub.environment(user_pol_id="x")


def test_the_hub_helper_imports_without_jupyterhub(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['jupyterhub'] = None; sys.modules['oauthenticator'] = None\n"
        "import nb_cognito.jupyterhub as h; print(h.roles()[1]['scopes'][-1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "admin:auth_state!user"
