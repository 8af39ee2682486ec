"""``LocalOidcIdp``: a small external OpenID Connect identity provider, for federation tests.

It plays the company IdP (Okta, Entra ID, ...) that a user pool federates: its users exist only
here, with no Cognito password. It serves, on its own loopback port:

* ``GET|POST /authorize`` — a sign-in form (username, password) that redirects to a registered
  redirect URI with a single-use code and the caller's ``state``;
* ``POST /token`` — the code grant (client authenticated by HTTP Basic or form), answering a
  signed RS256 ID token with ``iss``, ``aud``, ``sub``, ``nonce`` and the user's claims;
* ``GET /.well-known/jwks.json`` and ``/.well-known/openid-configuration``.

:meth:`LocalOidcIdp.register_with` makes it an OIDC identity provider of a running
:class:`~nb_cognito.local.LocalCognito` pool, so that ``identity_provider=NAME`` at the hosted UI
federates through it.

>>> with LocalCognito(spec) as local, LocalOidcIdp([IdpUser("erin", "Erin-Passw0rd!")]) as idp:
...     idp.register_with(local, "CorpIdP")
"""

from __future__ import annotations

import html
import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:  # pragma: no cover
    from .server import LocalCognito

__all__ = ["IdpUser", "LocalOidcIdp"]

HOST = "127.0.0.1"
CODE_LIFETIME = 300.0
TOKEN_LIFETIME = 3600


@dataclass(frozen=True)
class IdpUser:
    """A user of the IdP. ``claims`` go into its ID token (``email``, ``name``, ...)."""

    username: str
    password: str = field(repr=False)
    sub: str = field(default_factory=lambda: str(uuid.uuid4()))
    claims: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Client:
    secret: str = field(repr=False)
    redirect_uris: frozenset[str]


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    user: IdpUser
    nonce: str | None = field(repr=False)
    expires_at: float


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class LocalOidcIdp:
    """An OIDC provider on 127.0.0.1 (``port=0``: a free port). ``clock`` stamps its tokens."""

    def __init__(self, users: Iterable[IdpUser], *, clock: Clock | None = None, port: int = 0) -> None:
        self._users = {user.username: user for user in users}
        self._clock = clock or SYSTEM_CLOCK
        self._port = port
        self._key = RSAKey.generate_key(2048)
        self._kid = secrets.token_hex(8)
        self._clients: dict[str, _Client] = {}
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.token_requests = 0
        self.token_auth_methods: list[str] = []  # how each token request authenticated

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> LocalOidcIdp:
        if self._server is None:
            self._server = make_server(
                HOST, self._port, self._app, threaded=True, request_handler=_QuietHandler
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalOidcIdp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def issuer(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalOidcIdp is not running: call start() or use it in a with block")
        return f"http://{HOST}:{self._server.server_port}"

    def use_clock(self, clock: Clock) -> None:
        self._clock = clock

    # -- registration -------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, redirect_uris: Iterable[str]) -> None:
        """Let ``client_id`` (a relying party, here the user pool) sign users in here."""
        with self._lock:
            self._clients[client_id] = _Client(client_secret, frozenset(redirect_uris))

    def register_with(
        self,
        local: LocalCognito,
        name: str = "LocalIdP",
        attribute_mapping: Mapping[str, str] | None = None,
    ) -> None:
        """Make this IdP the OIDC identity provider ``name`` of ``local``'s pool and app client."""
        client_id, client_secret = f"pool-{secrets.token_hex(6)}", secrets.token_urlsafe(24)
        self.register_client(client_id, client_secret, [f"{local.endpoint_url}/oauth2/idpresponse"])
        settings = local.settings
        admin = local.admin()
        admin.create_identity_provider(
            UserPoolId=settings.user_pool_id,
            ProviderName=name,
            ProviderType="OIDC",
            ProviderDetails={
                "client_id": client_id,
                "client_secret": client_secret,
                "authorize_scopes": "openid email profile",
                "attributes_request_method": "GET",
                "oidc_issuer": self.issuer,
                "authorize_url": f"{self.issuer}/authorize",
                "token_url": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            },
            AttributeMapping=dict(attribute_mapping or {"username": "sub", "email": "email", "name": "name"}),
        )
        client = admin.describe_user_pool_client(
            UserPoolId=settings.user_pool_id, ClientId=settings.client_id
        )
        supported = client["UserPoolClient"].get("SupportedIdentityProviders") or ["COGNITO"]
        if name not in supported:
            admin.update_user_pool_client(
                UserPoolId=settings.user_pool_id,
                ClientId=settings.client_id,
                SupportedIdentityProviders=[*supported, name],
            )

    # -- the endpoints ------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes = {
            "/authorize": self._authorize,
            "/token": self._token,
            "/.well-known/jwks.json": self._jwks,
            "/.well-known/openid-configuration": self._configuration,
        }
        route = routes.get(request.path)
        response = route(request) if route else Response("not found", status=404)
        response.headers["Cache-Control"] = "no-store"
        return response(environ, start_response)

    def _authorize(self, request: Request) -> Response:
        values = request.args if request.method == "GET" else request.form
        client_id, redirect_uri = values.get("client_id", ""), values.get("redirect_uri", "")
        client = self._clients.get(client_id)
        if client is None or redirect_uri not in client.redirect_uris:
            return _page("Error", "<p id='error'>Unknown client or redirect URI.</p>", 400)
        if values.get("response_type") != "code":
            return _page("Error", "<p id='error'>response_type must be code.</p>", 400)
        if request.method == "GET":
            return self._form(values)
        user = self._users.get(request.form.get("username", ""))
        if user is None or not secrets.compare_digest(
            user.password.encode(), request.form.get("password", "").encode()
        ):
            return self._form(values, "Wrong username or password.")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(
                client_id, redirect_uri, user, values.get("nonce"), self._clock.time() + CODE_LIFETIME
            )
        query = {"code": code}
        if values.get("state") is not None:
            query["state"] = values["state"]
        response = Response("", status=302)
        response.headers["Location"] = f"{redirect_uri}?{urlencode(query)}"
        return response

    def _form(self, values: Any, problem: str | None = None) -> Response:
        keep = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce")
        hidden = "".join(
            f"<input type='hidden' name='{k}' value='{html.escape(values[k])}'>" for k in keep if k in values
        )
        error = f"<p id='error'>{html.escape(problem)}</p>" if problem else ""
        body = (
            f"{error}<form method='post' action='/authorize'>{hidden}"
            "<label>Username <input name='username'></label>"
            "<label>Password <input name='password' type='password'></label>"
            "<button type='submit'>Sign in to the IdP</button></form>"
        )
        return _page("Local IdP sign-in", body, 400 if problem else 200)

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        method = "client_secret_post"
        if request.authorization is not None:
            client_id, secret = request.authorization.username, request.authorization.password
            method = "client_secret_basic"
        self.token_auth_methods.append(method)
        client = self._clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.secret.encode(), (secret or "").encode()):
            return _json({"error": "invalid_client"}, 401)
        if request.form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type"}, 400)
        with self._lock:
            code = self._codes.pop(request.form.get("code", ""), None)
        now = self._clock.time()
        if (
            code is None
            or code.client_id != client_id
            or code.redirect_uri != request.form.get("redirect_uri")
            or now >= code.expires_at
        ):
            return _json({"error": "invalid_grant"}, 400)
        claims: dict[str, Any] = dict(code.user.claims)
        claims.update(
            iss=self.issuer, sub=code.user.sub, aud=client_id, iat=int(now), exp=int(now) + TOKEN_LIFETIME
        )
        if code.nonce is not None:
            claims["nonce"] = code.nonce
        id_token = jose_jwt.encode({"alg": "RS256", "kid": self._kid}, claims, self._key)
        return _json(
            {
                "id_token": id_token,
                "access_token": secrets.token_urlsafe(32),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
            }
        )

    def _jwks(self, request: Request) -> Response:
        public = dict(self._key.as_dict(private=False))
        public.update(kid=self._kid, alg="RS256", use="sig")
        return _json({"keys": [public]})

    def _configuration(self, request: Request) -> Response:
        return _json(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    def __repr__(self) -> str:
        where = self.issuer if self._server is not None else "stopped"
        return f"LocalOidcIdp({where}, users={sorted(self._users)})"


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(text, status=status, mimetype="text/html")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    import json

    return Response(json.dumps(body), status=status, mimetype="application/json")
