"""The hosted UI (managed login) of the offline Cognito, on the emulator's own loopback server.

Real Cognito serves these on the user pool's domain; the emulator serves them beside moto's API,
so ``oauth_domain`` is the emulator's ``endpoint_url``. What is emulated, as AWS documents it:

``GET /oauth2/authorize``
    Checks the app client, the ``redirect_uri`` (exactly one of the client's ``CallbackURLs``,
    else an error page and no redirect), ``response_type=code``, the scopes and PKCE (S256
    only). ``identity_provider=NAME`` goes straight to that IdP (:mod:`.federation`);
    otherwise to ``/login`` (or straight back with a code when the browser has a hosted-UI
    session cookie).
``GET|POST /login``
    An HTML form; the password is checked against the pool's user (lockout included).
``POST /oauth2/token``
    ``authorization_code`` (single use, 5 minutes on the emulator clock, same client and
    ``redirect_uri``, ``code_verifier`` checked against the S256 challenge) and
    ``refresh_token`` (through the patched ``REFRESH_TOKEN_AUTH``, so expiry, revocation and
    disabled users behave as for the API). The tokens are moto's JWTs, signed with the pool's
    key, with ``nonce`` in the ID token and the granted ``scope`` in the access token.
``POST /oauth2/revoke``, ``GET|POST /oauth2/userInfo``, ``GET /logout``.

Not emulated: the implicit grant, ``client_credentials``, MFA and new-password pages at the
hosted UI (such users get an explanatory error page), and refresh at ``/oauth2/token`` for
clients that rotate refresh tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from moto.cognitoidp import models as idp
from moto.core.exceptions import JsonRESTError
from werkzeug.wrappers import Request, Response

from .state import EmulatorState, activated

__all__ = ["PATHS", "HostedUI", "find_client", "issue_tokens"]

CODE_LIFETIME = 300.0  # seconds; an authorization code lives five minutes
SESSION_LIFETIME = 3600.0  # the hosted-UI browser session (cookie)
COOKIE = "nb-cognito-hosted-ui"
PATHS = frozenset(
    {
        "/oauth2/authorize",
        "/login",
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/userInfo",
        "/logout",
        "/oauth2/idpresponse",
    }
)
_PKCE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(frozen=True)
class AuthorizeRequest:
    """The checked parameters of one ``/oauth2/authorize`` request."""

    pool_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None = field(repr=False)
    nonce: str | None = field(repr=False)
    code_challenge: str | None = field(repr=False)

    def query(self) -> dict[str, str]:
        """The request again as query parameters (for the login form and the IdP round trip)."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
        }
        for name, value in (("state", self.state), ("nonce", self.nonce)):
            if value is not None:
                query[name] = value
        if self.code_challenge is not None:
            query.update(code_challenge=self.code_challenge, code_challenge_method="S256")
        return query


@dataclass(frozen=True)
class _Grant:
    request: AuthorizeRequest
    username: str
    expires_at: float


@dataclass(frozen=True)
class _BrowserSession:
    pool_id: str
    username: str
    expires_at: float


class OAuthError(Exception):
    """An OAuth error answer: ``error`` as RFC 6749 names it, and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


# ---------------------------------------------------------------------------------------------
# moto lookups


def _backends() -> list[idp.CognitoIdpBackend]:
    return [
        backend
        for per_account in idp.cognitoidp_backends.values()
        for region, backend in per_account.items()
        if region != "global"
    ]


def find_client(client_id: str) -> tuple[idp.CognitoIdpBackend, Any, Any] | None:
    """(backend, pool, app client) of ``client_id``, or None."""
    for backend in _backends():
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                return backend, pool, pool.clients[client_id]
    return None


def issue_tokens(
    pool: Any, client_id: str, username: str, scopes: Iterable[str], nonce: str | None
) -> dict[str, Any]:
    """ID, access and refresh tokens as the token endpoint returns them (moto's JWTs, pool key).

    Built from the same pieces as moto's ``_log_user_in`` (so the patched ``create_jwt`` sets the
    times and validities), with the OIDC additions: ``nonce`` in the ID token, the granted
    ``scope`` in the access token.
    """
    refresh_token, origin_jti = pool.create_refresh_token(client_id, username)
    access_extra: dict[str, Any] = {"origin_jti": origin_jti, "scope": " ".join(scopes)}
    id_extra = pool.get_user_extra_data_by_client_id(client_id, username)
    id_extra["origin_jti"] = origin_jti
    user = pool._get_user(username)
    for attribute in user.attributes:
        if attribute["Name"].startswith("custom:"):
            id_extra[attribute["Name"]] = attribute["Value"]
    if user.groups:
        groups = [group.group_name for group in user.groups]
        access_extra["cognito:groups"] = id_extra["cognito:groups"] = groups
    if nonce is not None:
        id_extra["nonce"] = nonce
    access_token, expires_in = pool.create_jwt(client_id, username, "access", extra_data=access_extra)
    pool.access_tokens[access_token] = (client_id, username)
    id_token, _ = pool.create_jwt(client_id, username, "id", extra_data=id_extra)
    pool.id_tokens[id_token] = (client_id, username)
    return {
        "id_token": id_token,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
    }


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    response = Response(text, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect(location: str) -> Response:
    response = Response("", status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def _with_query(url: str, query: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# The hosted UI


class HostedUI:
    """The hosted-UI endpoints of one emulator. :meth:`wrap` puts them in front of moto's app."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._sessions: dict[str, _BrowserSession] = {}
        from .federation import Federation

        self.federation = Federation(self)

    def clear(self) -> None:
        """Forget every code and browser session (with the emulator's reset)."""
        with self._lock:
            self._codes.clear()
            self._sessions.clear()
        self.federation.clear()

    def now(self) -> float:
        return self._state.now()

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """A WSGI app serving :data:`PATHS` here and everything else with ``app``."""

        def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "") in PATHS:
                with activated(self._state):
                    return self._serve(environ, start_response)
            return app(environ, start_response)

        return dispatch

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        routes: dict[str, Callable[[Request], Response]] = {
            "/oauth2/authorize": self._authorize,
            "/login": self._login,
            "/oauth2/token": self._token,
            "/oauth2/revoke": self._revoke,
            "/oauth2/userInfo": self._user_info,
            "/logout": self._logout,
            "/oauth2/idpresponse": self.federation.idp_response,
        }
        try:
            response = routes[request.path](request)
        except OAuthError as error:
            if request.path in ("/oauth2/token", "/oauth2/revoke"):
                response = _json({"error": error.error, "error_description": error.description}, error.status)
            elif request.path == "/oauth2/userInfo":
                response = _json({"error": error.error, "error_description": error.description}, error.status)
                response.headers["WWW-Authenticate"] = (
                    f'Bearer error="{error.error}", error_description="{error.description}"'
                )
            else:
                response = _page(
                    "Error",
                    f"<p id='error'>{html.escape(error.error)}: {html.escape(error.description)}</p>",
                    error.status,
                )
        return response(environ, start_response)

    # -- authorize and login ----------------------------------------------------------------

    def parse_authorize(self, args: Any) -> AuthorizeRequest:
        """Check an authorize request; OAuthError (shown as a page, never redirected) if bad."""
        found = find_client(args.get("client_id") or "")
        if found is None:
            raise OAuthError("invalid_request", "The client_id is not an app client of any user pool.")
        _, pool, client = found
        redirect_uri = args.get("redirect_uri") or ""
        if redirect_uri not in (client.extended_config.get("CallbackURLs") or []):
            raise OAuthError(
                "redirect_mismatch", "The redirect_uri is not one of the app client's callback URLs."
            )
        if args.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
        config = client.extended_config
        if "code" not in (config.get("AllowedOAuthFlows") or []) or not config.get(
            "AllowedOAuthFlowsUserPoolClient"
        ):
            raise OAuthError("unauthorized_client", "The app client does not allow the code grant.")
        scopes = tuple((args.get("scope") or "").split()) or tuple(config.get("AllowedOAuthScopes") or ())
        if not set(scopes) <= set(config.get("AllowedOAuthScopes") or ()):
            raise OAuthError("invalid_scope", "A requested scope is not allowed for the app client.")
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method")
        if challenge is not None or method is not None:
            if method != "S256":
                raise OAuthError("invalid_request", "code_challenge_method must be S256.")
            if not challenge or len(challenge) != 43 or not set(challenge) <= _PKCE_ALPHABET:
                raise OAuthError("invalid_request", "The code_challenge is not a base64url SHA-256.")
        return AuthorizeRequest(
            pool_id=pool.id,
            client_id=client.id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=args.get("state"),
            nonce=args.get("nonce"),
            code_challenge=challenge,
        )

    def _authorize(self, request: Request) -> Response:
        if request.method != "GET":
            raise OAuthError("invalid_request", "/oauth2/authorize supports GET only.", 405)
        auth = self.parse_authorize(request.args)
        provider = request.args.get("identity_provider")
        if provider and provider != "COGNITO":
            return self.federation.start(auth, provider, request)
        session = self._browser_session(request, auth.pool_id)
        if session is not None and request.args.get("prompt") != "login":
            return self.redirect_with_code(auth, session.username)
        return _redirect(_with_query("/login", auth.query()))

    def _login(self, request: Request) -> Response:
        values = request.args if request.method == "GET" else request.form
        auth = self.parse_authorize(values)
        if request.method == "GET":
            return self._login_form(auth)
        username = request.form.get("username") or ""
        password = request.form.get("password") or ""
        found = find_client(auth.client_id)
        assert found is not None  # parse_authorize found it
        _, pool, _ = found
        user = pool._get_user(username) if username else None
        problem = self._password_problem(pool, user, password)
        if problem is not None or user is None:
            return self._login_form(auth, problem or "Incorrect username or password.", status=400)
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = _BrowserSession(
                pool.id, user.username, self.now() + SESSION_LIFETIME
            )
        response = self.redirect_with_code(auth, user.username)
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax", path="/")
        return response

    def _password_problem(self, pool: Any, user: Any, password: str) -> str | None:
        """Why the login fails (the message the hosted page shows), or None."""
        state = self._state
        if user is None or user.status == "EXTERNAL_PROVIDER":
            return "Incorrect username or password."
        key = (pool.id, user.username)
        if not user.enabled:
            return "User is disabled."
        if state.locked_out(key):
            return "Password attempts exceeded"
        if not secrets.compare_digest((user.password or "").encode(), password.encode()):
            state.password_failed(key)
            return "Incorrect username or password."
        state.password_ok(key)
        if user.status != idp.UserStatus.CONFIRMED:
            return (
                f"This user's status is {user.status}; "
                "the emulator's hosted UI signs in confirmed users only."
            )
        if user.software_token_mfa_enabled or user.sms_mfa_enabled:
            return "This user has MFA; the emulator's hosted UI does not ask for MFA codes."
        return None

    def _login_form(self, auth: AuthorizeRequest, problem: str | None = None, status: int = 200) -> Response:
        hidden = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in auth.query().items()
        )
        error = f"<p id='error'>{html.escape(problem)}</p>" if problem else ""
        body = (
            f"{error}<form method='post' action='/login'>{hidden}"
            "<label>Username <input name='username' autocomplete='username'></label>"
            "<label>Password <input name='password' type='password' autocomplete='current-password'></label>"
            "<button type='submit'>Sign in</button></form>"
        )
        return _page("Sign in", body, status)

    def _browser_session(self, request: Request, pool_id: str) -> _BrowserSession | None:
        session_id = request.cookies.get(COOKIE)
        with self._lock:
            session = self._sessions.get(session_id or "")
        if session is None or session.pool_id != pool_id or self.now() >= session.expires_at:
            return None
        return session

    def redirect_with_code(self, auth: AuthorizeRequest, username: str) -> Response:
        """Back to the app's callback with a fresh single-use code (and the app's ``state``)."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Grant(auth, username, self.now() + CODE_LIFETIME)
        query = {"code": code}
        if auth.state is not None:
            query["state"] = auth.state
        return _redirect(_with_query(auth.redirect_uri, query))

    # -- token, revoke, userInfo, logout --------------------------------------------------------

    def _client_auth(self, request: Request) -> tuple[idp.CognitoIdpBackend, Any, Any]:
        """The calling app client, from HTTP Basic or the form; invalid_client if it fails."""
        given_id, given_secret = request.form.get("client_id"), request.form.get("client_secret")
        if request.authorization is not None and request.authorization.type == "basic":
            given_id = request.authorization.username
            given_secret = request.authorization.password
        found = find_client(given_id or "")
        if found is None:
            raise OAuthError("invalid_client", "Unknown client.")
        client = found[2]
        if client.generate_secret and not secrets.compare_digest(
            (client.secret or "").encode(), (given_secret or "").encode()
        ):
            raise OAuthError("invalid_client", "Client authentication failed.")
        return found

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            raise OAuthError("invalid_request", "/oauth2/token supports POST only.", 405)
        if request.mimetype != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
        backend, pool, client = self._client_auth(request)
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem_code(request, pool, client)
        if grant_type == "refresh_token":
            return self._refresh(request, backend, pool, client)
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")

    def _redeem_code(self, request: Request, pool: Any, client: Any) -> Response:
        code = request.form.get("code") or ""
        with self._lock:
            grant = self._codes.pop(code, None)  # single use, whatever happens next
        if grant is None or grant.request.client_id != client.id:
            raise OAuthError(
                "invalid_grant", "Authorization code has been consumed already or does not exist."
            )
        if self.now() >= grant.expires_at:
            raise OAuthError("invalid_grant", "Authorization code has expired.")
        if request.form.get("redirect_uri") != grant.request.redirect_uri:
            raise OAuthError("invalid_grant", "The redirect_uri does not match the authorize request.")
        challenge = grant.request.code_challenge
        if challenge is not None:
            verifier = request.form.get("code_verifier") or ""
            if not 43 <= len(verifier) <= 128 or not set(verifier) <= _PKCE_ALPHABET:
                raise OAuthError("invalid_request", "The code_verifier is missing or malformed.")
            if not secrets.compare_digest(_s256(verifier), challenge):
                raise OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
        user = pool._get_user(grant.username)
        if user is None or not user.enabled:
            raise OAuthError("invalid_grant", "The user no longer exists or is disabled.")
        return _json(issue_tokens(pool, client.id, grant.username, grant.request.scopes, grant.request.nonce))

    def _refresh(self, request: Request, backend: Any, pool: Any, client: Any) -> Response:
        token = request.form.get("refresh_token") or ""
        entry = pool.refresh_tokens.get(token)
        parameters = {"REFRESH_TOKEN": token}
        if client.generate_secret and entry:
            parameters["SECRET_HASH"] = _secret_hash(client, entry[1])
        try:
            result = backend.initiate_auth(client.id, "REFRESH_TOKEN_AUTH", parameters)[
                "AuthenticationResult"
            ]
        except JsonRESTError as error:
            raise OAuthError("invalid_grant", error.message or "Invalid refresh token.") from None
        return _json(
            {
                "id_token": result["IdToken"],
                "access_token": result["AccessToken"],
                "expires_in": result["ExpiresIn"],
                "token_type": "Bearer",
            }
        )

    def _revoke(self, request: Request) -> Response:
        if request.method != "POST":
            raise OAuthError("invalid_request", "/oauth2/revoke supports POST only.", 405)
        _, pool, client = self._client_auth(request)
        token = request.form.get("token")
        if not token:
            raise OAuthError("invalid_request", "The token parameter is required.")
        if token.count(".") == 2:
            raise OAuthError("unsupported_token_type", "Only refresh tokens can be revoked.")
        entry = pool.refresh_tokens.get(token)
        if entry is not None:
            if entry[0] != client.id:
                raise OAuthError("invalid_request", "The token was not issued to this client.")
            pool.refresh_tokens[token] = None
            origin = entry[2]
            for access_token in list(pool.access_tokens):
                if _origin_jti(access_token) == origin:
                    pool.access_tokens.pop(access_token, None)
        return Response("", status=200)

    def _user_info(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        for backend in _backends():
            for pool in backend.user_pools.values():
                if token and token in pool.access_tokens:
                    return _json(self._attributes(pool, token))
        raise OAuthError("invalid_token", "Access token is not valid.", 401)

    def _attributes(self, pool: Any, token: str) -> dict[str, Any]:
        claims = _claims(token)
        if self.now() >= float(claims.get("exp", 0)):
            raise OAuthError("invalid_token", "Access token has expired.", 401)
        if "openid" not in str(claims.get("scope", "")).split():
            raise OAuthError("invalid_token", "Access token does not contain openid scope.", 401)
        _, username = pool.access_tokens[token]
        user = pool._get_user(username)
        if user is None or not user.enabled:
            raise OAuthError("invalid_token", "User does not exist or is disabled.", 401)
        info = {name: value for name, value in user.attribute_lookup.items() if not name.startswith("dev:")}
        info.update(sub=user.id, username=user.username)
        return info

    def _logout(self, request: Request) -> Response:
        found = find_client(request.args.get("client_id") or "")
        if found is None:
            raise OAuthError("invalid_request", "The client_id is not an app client of any user pool.")
        client = found[2]
        logout_uri = request.args.get("logout_uri")
        if logout_uri is not None:
            if logout_uri not in (client.extended_config.get("LogoutURLs") or []):
                raise OAuthError(
                    "invalid_request", "The logout_uri is not one of the app client's sign-out URLs."
                )
            target = logout_uri
        elif request.args.get("redirect_uri") is not None:
            target = _with_query("/login", self.parse_authorize(request.args).query())
        else:
            raise OAuthError("invalid_request", "Pass logout_uri, or redirect_uri and response_type.")
        with self._lock:
            self._sessions.pop(request.cookies.get(COOKIE) or "", None)
        response = _redirect(target)
        response.delete_cookie(COOKIE, path="/")
        return response


def _secret_hash(client: Any, username: str) -> str:
    """SECRET_HASH for the API refresh (the token endpoint authenticated the client already)."""
    digest = hmac.new(client.secret.encode(), (username + client.id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _origin_jti(token: str) -> Any:
    return _claims(token).get("origin_jti")
