"""What the real service does that the client must follow (issue 14), against the emulator that
models each: the UPDATED issuer, the JWKS (its source, its disk cache, the network it is fetched
through), the per-service endpoints, the refresh action, the early check of the pool, the
errors' wording, and STS's RoleSessionName.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import http.server
import json
import os
import ssl
import stat
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import PASSWORD, counts

from nb_cognito import exceptions as errors
from nb_cognito.auth import jwks
from nb_cognito.auth.identity import role_session_name
from nb_cognito.auth.session import service_clients
from nb_cognito.local import ClientSpec, LocalSpec, PoolSpec, default_test_spec
from nb_cognito.models import AuthEvent

USERS = default_test_spec().users


def cache_dir() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "nb_cognito" / "jwks"


# -- the issuer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
def test_a_pool_on_the_updated_issuer_signs_in_refreshes_and_gets_credentials(make_local, new_session, flow):
    """AWS recommends ``IssuerConfiguration: UPDATED`` for every pool; its tokens carry
    ``iss = https://issuer-cognito-idp.<primary region>.amazonaws.com/<pool>``.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html
    """
    local = make_local(LocalSpec(pool=PoolSpec(issuer="updated"), users=USERS))
    assert local.issuer.startswith("https://issuer-cognito-idp.")
    session = new_session(local.settings.as_config(), auth_flow=flow)
    assert session.sign_in("alice", PASSWORD).is_signed_in
    auth = session.fetch_auth_session(force_refresh=True)
    assert auth.user_pool_tokens_result.is_success and auth.aws_credentials_result.is_success


def test_with_an_endpoint_the_keys_come_from_it_whatever_the_issuer(make_local, new_session, fault_proxy):
    """With an endpoint set, ``<endpoint>/<pool>/.well-known/jwks.json`` serves the keys even
    for an AWS issuer; they are never fetched from a URL read in an unverified token."""
    local = make_local(LocalSpec(pool=PoolSpec(issuer="updated"), users=USERS))
    session = new_session({**local.settings.as_config(), "endpoint_url": fault_proxy.url})
    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert fault_proxy.forwarded_counts()["http:GET"] == 1
    assert service_clients(session).verifier.jwks_url.startswith(fault_proxy.url)


def test_tokens_of_another_pool_name_the_setting_and_its_source(make_local, new_session, monkeypatch):
    local = make_local(default_test_spec())
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", local.settings.user_pool_id)
    session = new_session({k: v for k, v in local.settings.as_config().items() if k != "user_pool_id"})
    verifier = service_clients(session).verifier
    foreign = local.issuer.replace(local.settings.user_pool_id, "us-east-1_Other")
    with pytest.raises(errors.TokenValidationError) as caught:
        verifier._check_claims({"iss": foreign}, token_use="id", now=None)
    assert "environment (NB_COGNITO_USER_POOL_ID)" in str(caught.value)


def test_an_unknown_issuer_form_for_the_right_pool_does_not_blame_the_settings(local, new_session):
    verifier = service_clients(new_session()).verifier
    pool = local.settings.user_pool_id
    with pytest.raises(errors.TokenValidationError) as caught:
        verifier._check_claims(
            {"iss": f"https://issuer-cognito-idp.eu-west-1.amazonaws.com/{pool}"}, token_use="id", now=None
        )
    assert "Not a settings problem" in str(caught.value)
    assert "from configure()" not in str(caught.value)


# -- the JWKS on disk ------------------------------------------------------------------------------


def test_the_keys_are_cached_on_disk_privately_and_a_new_kernel_needs_no_fetch(local, new_session):
    assert new_session().sign_in("alice", PASSWORD).is_signed_in
    directory = cache_dir()
    files = list(directory.glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600

    jwks.forget_jwks()  # a new kernel: nothing in memory, the disk cache is there
    local.reset_counts()
    assert new_session().sign_in("alice", PASSWORD).is_signed_in
    assert local.request_counts()["GetJWKS"] == 0


def test_an_unknown_key_id_fetches_once_and_a_wrong_cached_key_too(local, new_session):
    new_session().sign_in("alice", PASSWORD)
    (path,) = cache_dir().glob("*.json")
    document = json.loads(path.read_text())
    real = dict(document["keys"])
    for planted in ({"other-kid": next(iter(real.values()))}, {k: _other_key(k) for k in real}):
        path.write_text(json.dumps({**document, "keys": planted}))
        path.chmod(0o600)
        jwks.forget_jwks()
        local.reset_counts()
        session = new_session()
        assert session.sign_in("alice", PASSWORD).is_signed_in
        assert local.request_counts()["GetJWKS"] == 1
        session.sign_out()


def test_a_cache_file_others_could_write_is_not_trusted(local, new_session):
    new_session().sign_in("alice", PASSWORD)
    (path,) = cache_dir().glob("*.json")
    path.chmod(0o666)
    jwks.forget_jwks()
    local.reset_counts()
    assert new_session().sign_in("alice", PASSWORD).is_signed_in
    assert local.request_counts()["GetJWKS"] == 1


def _other_key(kid: str) -> dict:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {**json.loads(RSAAlgorithm.to_jwk(key)), "kid": kid, "alg": "RS256", "use": "sig"}


# -- the JWKS over the network botocore would use ---------------------------------------------------


class _ForwardProxy(http.server.ThreadingHTTPServer):
    """A plain HTTP forward proxy on 127.0.0.1 that records the URLs it was asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _ForwardProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_request(self) -> None:
        self.server.seen.append(self.path)
        target = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")
        }
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    do_GET = do_POST = do_request


@contextlib.contextmanager
def forward_proxy() -> Iterator[_ForwardProxy]:
    proxy = _ForwardProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("bypass", [False, True])
def test_the_keys_are_fetched_through_the_proxy_botocore_uses(local, monkeypatch, bypass):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        if bypass:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        document = jwks.fetch_jwks(local.jwks_url, 5)
    assert document["keys"]
    assert proxy.seen == ([] if bypass else [local.jwks_url])


def test_the_keys_are_fetched_with_the_aws_ca_bundle(local, monkeypatch, tmp_path):
    """A TLS-inspecting network: the JWKS server's certificate is trusted only through
    AWS_CA_BUNDLE, as botocore trusts it for the Cognito calls."""
    cert, key = _self_signed(tmp_path)
    with jwks_over_tls(local, cert, key) as url:
        with pytest.raises(errors.ServiceUnavailableError):
            jwks.fetch_jwks(url, 5)  # the system's certificates do not know it
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        assert jwks.fetch_jwks(url, 5)["keys"]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def jwks_over_tls(local, cert: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 serving the emulator's JWKS."""
    with contextlib.closing(
        http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(local.endpoint_url).port)
    ) as c:
        c.request("GET", urllib.parse.urlsplit(local.jwks_url).path)
        body = c.getresponse().read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/pool/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


# -- per-service endpoints ------------------------------------------------------------------------


def test_each_service_goes_to_its_own_endpoint(local, new_session, fault_proxy):
    """``cognito_identity_endpoint_url`` sends only the identity-pool calls elsewhere."""
    session = new_session(cognito_identity_endpoint_url=fault_proxy.url)
    session.sign_in("alice", PASSWORD)
    assert session.fetch_auth_session().aws_credentials_result.is_success
    forwarded = fault_proxy.forwarded_counts()
    assert forwarded["GetId"] == 1 and forwarded["GetCredentialsForIdentity"] == 1
    assert forwarded["InitiateAuth"] == 0 and forwarded["http:GET"] == 0


def test_botocore_per_service_variable_routes_the_user_pool_calls(
    local, new_session, fault_proxy, monkeypatch
):
    config = {k: v for k, v in local.settings.as_config().items() if k != "endpoint_url"}
    config["cognito_identity_endpoint_url"] = local.endpoint_url
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", fault_proxy.url)
    session = new_session(config)
    assert session.sign_in("alice", PASSWORD).is_signed_in
    assert fault_proxy.forwarded_counts()["InitiateAuth"] == 1
    assert fault_proxy.forwarded_counts()["http:GET"] == 1


# -- the refresh action ------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [False, True])
def test_refresh_uses_get_tokens_from_refresh_token(make_local, new_session, rotation):
    """Amplify JS always uses GetTokensFromRefreshToken (PR #14427); it serves app clients with
    and without rotation. https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
    """
    local = make_local(LocalSpec(client=ClientSpec(refresh_token_rotation=rotation), users=USERS))
    session = new_session(local.settings.as_config())
    session.sign_in("alice", PASSWORD)
    old = session.fetch_auth_session().user_pool_tokens_result.unwrap().refresh_token
    local.reset_counts()
    new = session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.unwrap().refresh_token
    assert counts(local, "GetTokensFromRefreshToken", "InitiateAuth") == (1, 0)
    assert (new != old) is rotation


def test_an_endpoint_without_the_action_falls_back_once_and_for_good(proxied_session, fault_proxy, local):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    fault_proxy.inject("unknown_action", target="GetTokensFromRefreshToken", times=None)
    local.reset_counts()
    for _ in range(2):
        assert session.fetch_auth_session(force_refresh=True).user_pool_tokens_result.is_success
    assert fault_proxy.fault_counts()["GetTokensFromRefreshToken"] == 1  # learned: asked once
    assert counts(local, "InitiateAuth") == (2,)


def test_a_5xx_or_a_dead_token_never_falls_back(proxied_session, fault_proxy, local, clock):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    fault_proxy.inject("5xx", target="GetTokensFromRefreshToken", times=None)
    local.reset_counts()
    clock.advance(60 * 60 + 5)  # expired: the refresh must happen now
    error = session.fetch_auth_session().user_pool_tokens_result.error
    assert isinstance(error, errors.ServiceUnavailableError) and error.code == "InternalErrorException"
    assert "Internal server error" in str(error)  # the server's message is kept
    assert "Your session is kept" in str(error)  # a refresh: there is a session
    assert counts(local, "InitiateAuth") == (0,)
    fault_proxy.clear()

    access_token = session.fetch_auth_session().user_pool_tokens_result.unwrap().access_token
    service_clients(session).userpool.global_sign_out(access_token)  # revoked elsewhere: definitive
    expired: list = []
    session.on(AuthEvent.SESSION_EXPIRED, expired.append)
    session.fetch_auth_session(force_refresh=True)
    assert len(expired) == 1
    assert counts(local, "InitiateAuth") == (0,)


@pytest.fixture
def proxied_session(new_session, local, fault_proxy):
    return new_session({**local.settings.as_config(), "endpoint_url": fault_proxy.url})


# -- errors: codes, server messages, "session kept" only with a session ---------------------------


def test_errors_keep_the_aws_error_code(local, new_session):
    session = new_session(auth_flow="USER_PASSWORD_AUTH")
    with pytest.raises(errors.NotAuthorizedError) as caught:
        session.sign_in("alice", "Wrong-Passw0rd!")
    assert caught.value.code == "NotAuthorizedException" and caught.value.status == 400


def test_a_5xx_at_sign_in_keeps_the_message_and_promises_no_session(proxied_session, fault_proxy):
    fault_proxy.inject("5xx", target="InitiateAuth", times=None)
    with pytest.raises(errors.ServiceUnavailableError) as caught:
        proxied_session.sign_in("alice", PASSWORD)
    assert "Internal server error" in str(caught.value)
    assert "session is kept" not in str(caught.value)


def test_sign_out_errors_promise_no_session(proxied_session, fault_proxy):
    session = proxied_session
    session.sign_in("alice", PASSWORD)
    fault_proxy.inject("5xx", target="RevokeToken", times=None)
    result = session.sign_out()
    assert result.revoke_token_error is not None
    assert "session is kept" not in str(result.revoke_token_error)


# -- RoleSessionName -------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["o'brien", "josé", "a/b", "x" * 200, "alice", "a b\u00a0c"])
def test_role_session_name_fits_sts(username):
    """STS: RoleSessionName is 2 to 64 characters of ``[\\w+=,.@-]``.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    """
    import re

    name = role_session_name(username)
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", name, re.ASCII), name
    assert name.startswith("nb-cognito-")


def test_role_session_names_of_lookalike_users_differ():
    assert role_session_name("o'brien") != role_session_name("o-brien")
    assert role_session_name("josé") != role_session_name("jos-")


def test_role_arn_credentials_for_a_username_sts_would_refuse(make_local, new_session):
    """The emulator's STS refuses a RoleSessionName outside the pattern, as STS does; the
    session's derived name passes for ``o'brien``."""
    from nb_cognito.local import UserSpec

    local = make_local(LocalSpec(users=(UserSpec("o'brien", PASSWORD),)))
    config = {k: v for k, v in local.settings.as_config().items() if k != "identity_pool_id"}
    session = new_session(config, role_arn="arn:aws:iam::123456789012:role/Notebook")
    session.sign_in("o'brien", PASSWORD)
    assert session.fetch_auth_session().aws_credentials_result.is_success


# -- where the keys come from without an endpoint (the public AWS URLs) -----------------------------


@pytest.mark.parametrize(
    ("region", "host"),
    [
        (None, "cognito-idp.us-east-1"),
        (None, "issuer-cognito-idp.us-east-1"),
        ("eu-west-1", "issuer-cognito-idp.us-east-1"),  # a replica: UPDATED names the primary region
        ("eu-west-1", "cognito-idp.eu-west-1"),
    ],
)
def test_without_an_endpoint_the_keys_come_from_the_accepted_issuer(local, region, host):
    """No network to AWS here: the fetch seam records the URL and answers with the emulator's
    keys (fetched from the emulator over HTTP), which signed the tokens."""
    from test_reliability_hostile import _emulator_private_key, claims_for, sign

    from nb_cognito.auth.tokens import TokenVerifier
    from nb_cognito.settings.config import Settings

    emulator_keys = jwks.fetch_jwks(local.jwks_url, 5)
    asked: list[str] = []

    def fetch(url: str, timeout: float):
        asked.append(url)
        return emulator_keys

    pool = local.settings.user_pool_id
    settings = Settings(user_pool_id=pool, client_id=local.settings.client_id, region=region)
    verifier = TokenVerifier.for_settings(settings, fetch_jwks=fetch)
    iss = f"https://{host}.amazonaws.com/{pool}"
    claims = verifier.verify(sign(claims_for(local, "id", iss=iss), _emulator_private_key()), token_use="id")
    assert claims["iss"] == iss
    assert asked == [f"{iss}/.well-known/jwks.json"]

    with pytest.raises(errors.TokenValidationError):  # an issuer not accepted: nothing is fetched
        verifier.verify(
            sign(claims_for(local, "id", iss=f"http://127.0.0.1:9/{pool}"), _emulator_private_key()),
            token_use="id",
        )
    assert len(asked) == 1
