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

import html
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from moto.cognitoidp import models as idp
from moto.core.exceptions import JsonRESTError
from werkzeug.wrappers import Request, Response

from .federation import Federation
from .hosted_login import login_form, parse_authorize, password_problem
from .oauth_wire import (
    CODE_LIFETIME,
    PKCE_ALPHABET,
    AuthorizeRequest,
    OAuthError,
    all_backends,
    claims_of,
    find_client,
    issue_tokens,
    json_response,
    origin_jti,
    page,
    redirect,
    s256,
    secret_hash,
    with_query,
)
from .state import EmulatorState, activated

__all__ = ["PATHS", "HostedUI", "hosted_ui_settings"]

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


def hosted_ui_settings(client: Any, endpoint_url: str) -> dict[str, str]:
    """``oauth_domain`` and ``redirect_uri`` for a ``ClientSpec`` with callback URLs (else none):
    the emulator's own endpoint, and the first loopback callback URL (else the first)."""
    urls = list(getattr(client, "callback_urls", ()))
    if not urls:
        return {}
    loopback = [url for url in urls if urlsplit(url).hostname in ("localhost", "127.0.0.1")]
    return {"oauth_domain": endpoint_url, "redirect_uri": (loopback or urls)[0]}


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


# ---------------------------------------------------------------------------------------------
# The hosted UI


class HostedUI:
    """The hosted-UI endpoints of one emulator. :meth:`wrap` puts them in front of moto's app."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._sessions: dict[str, _BrowserSession] = {}
        self._granted: dict[str, tuple[str, ...]] = {}  # refresh token -> the scopes granted with it
        self.federation = Federation(now=self.now, grant=self.redirect_with_code)

    def clear(self) -> None:
        """Forget every code and browser session (with the emulator's reset)."""
        with self._lock:
            self._codes.clear()
            self._sessions.clear()
            self._granted.clear()
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
                response = json_response(
                    {"error": error.error, "error_description": error.description}, error.status
                )
            elif request.path == "/oauth2/userInfo":
                response = json_response(
                    {"error": error.error, "error_description": error.description}, error.status
                )
                response.headers["WWW-Authenticate"] = (
                    f'Bearer error="{error.error}", error_description="{error.description}"'
                )
            else:
                response = page(
                    "Error",
                    f"<p id='error'>{html.escape(error.error)}: {html.escape(error.description)}</p>",
                    error.status,
                )
        return response(environ, start_response)

    # -- authorize and login ----------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        if request.method != "GET":
            raise OAuthError("invalid_request", "/oauth2/authorize supports GET only.", 405)
        auth = parse_authorize(request.args)
        provider = request.args.get("identity_provider")
        if provider and provider != "COGNITO":
            return self.federation.start(auth, provider, request)
        session = self._browser_session(request, auth.pool_id)
        if session is not None and request.args.get("prompt") != "login":
            return self.redirect_with_code(auth, session.username)
        return redirect(with_query("/login", auth.query()))

    def _login(self, request: Request) -> Response:
        values = request.args if request.method == "GET" else request.form
        auth = parse_authorize(values)
        if request.method == "GET":
            return login_form(auth)
        username = request.form.get("username") or ""
        password = request.form.get("password") or ""
        found = find_client(auth.client_id)
        assert found is not None  # parse_authorize found it
        _, pool, _ = found
        user = pool._get_user(username) if username else None
        problem = password_problem(self._state, pool, user, password)
        if problem is not None or user is None:
            return login_form(auth, problem or "Incorrect username or password.", status=400)
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = _BrowserSession(
                pool.id, user.username, self.now() + SESSION_LIFETIME
            )
        response = self.redirect_with_code(auth, user.username)
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax", path="/")
        return response

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
        return redirect(with_query(auth.redirect_uri, query))

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
            if not 43 <= len(verifier) <= 128 or not set(verifier) <= PKCE_ALPHABET:
                raise OAuthError("invalid_request", "The code_verifier is missing or malformed.")
            if not secrets.compare_digest(s256(verifier), challenge):
                raise OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
        user = pool._get_user(grant.username)
        if user is None or not user.enabled:
            raise OAuthError("invalid_grant", "The user no longer exists or is disabled.")
        issued = issue_tokens(pool, client.id, grant.username, grant.request.scopes, grant.request.nonce)
        with self._lock:
            self._granted[issued["refresh_token"]] = tuple(grant.request.scopes)
        return json_response(issued)

    def _refresh(self, request: Request, backend: Any, pool: Any, client: Any) -> Response:
        token = request.form.get("refresh_token") or ""
        entry = pool.refresh_tokens.get(token)
        parameters = {"REFRESH_TOKEN": token}
        if client.generate_secret and entry:
            parameters["SECRET_HASH"] = secret_hash(client, entry[1])
        try:
            result = backend.initiate_auth(client.id, "REFRESH_TOKEN_AUTH", parameters)[
                "AuthenticationResult"
            ]
        except JsonRESTError as error:
            raise OAuthError("invalid_grant", error.message or "Invalid refresh token.") from None
        access_token = result["AccessToken"]
        with self._lock:
            scopes = self._granted.get(token)
        if scopes and entry:  # as Cognito: a refreshed access token keeps the scopes granted
            claims = claims_of(access_token)
            extra: dict[str, Any] = {k: claims[k] for k in ("origin_jti", "cognito:groups") if k in claims}
            access_token, _ = pool.create_jwt(
                client.id, entry[1], "access", extra_data={**extra, "scope": " ".join(scopes)}
            )
            pool.access_tokens[access_token] = (client.id, entry[1])
        return json_response(
            {
                "id_token": result["IdToken"],
                "access_token": access_token,
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
                if origin_jti(access_token) == origin:
                    pool.access_tokens.pop(access_token, None)
        return Response("", status=200)

    def _user_info(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        for backend in all_backends():
            for pool in backend.user_pools.values():
                if token and token in pool.access_tokens:
                    return json_response(self._attributes(pool, token))
        raise OAuthError("invalid_token", "Access token is not valid.", 401)

    def _attributes(self, pool: Any, token: str) -> dict[str, Any]:
        claims = claims_of(token)
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
            target = with_query("/login", parse_authorize(request.args).query())
        else:
            raise OAuthError("invalid_request", "Pass logout_uri, or redirect_uri and response_type.")
        with self._lock:
            self._sessions.pop(request.cookies.get(COOKIE) or "", None)
        response = redirect(target)
        response.delete_cookie(COOKIE, path="/")
        return response
