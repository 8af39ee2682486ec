"""Sign-in from JupyterHub: the ID token the hub's OAuthenticator keeps in ``auth_state``.

A single-user server spawned by JupyterHub has ``JUPYTERHUB_API_URL`` and
``JUPYTERHUB_API_TOKEN``. When that token holds the scope ``admin:auth_state!user`` (the
``server`` role, see :mod:`nb_cognito.jupyterhub`), ``GET $JUPYTERHUB_API_URL/users/<name>``
(``$JUPYTERHUB_USER``) answers with the user's ``auth_state`` (``GET /user`` leaves it
empty): the ``id_token`` and ``access_token`` the hub got from Cognito's hosted UI, which the
hub refreshes itself (``auth_refresh_age``, ``refresh_user``).

:class:`HubSignIn` is the session's token source for such a sign-in, beside the password flow
(the user-pool client) and the hosted-UI flow (:class:`~nb_cognito.auth.oauth.HostedUIClient`):
the sign-in reads ``auth_state`` once, and every token refresh reads it again
(:meth:`HubSignIn.wrap` puts that in front of the user-pool client, as the hosted UI puts its
``/oauth2/token``). The tokens are verified by the session like any others, with the hub's app
client (``hub_client_id``, default ``client_id``) as their audience; the identity pool (or
``role_arn``) turns the ID token into AWS credentials; every integration follows.

The kernel never sees the client secret, and the hub's refresh token is dropped as soon as the
answer is parsed: the session holds :data:`HUB_REFRESH_TOKEN`, a placeholder that only says
"ask the hub". Neither the API token nor a token from ``auth_state`` is ever shown or logged.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nb_cognito.auth.userpool_values import AuthTokens
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import (
    ConfigurationError,
    NotAuthorizedError,
    ServiceUnavailableError,
    TokenValidationError,
)
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.auth.state import RefreshPolicy
    from nb_cognito.clock import Clock
    from nb_cognito.settings.config import Settings

__all__ = ["HUB_REFRESH_TOKEN", "HubEndpoint", "HubSignIn", "running_under_hub"]

#: What the session keeps where another sign-in keeps its refresh token: not a token, a note
#: that a refresh asks the hub. The hub's own refresh token never reaches the session.
HUB_REFRESH_TOKEN = "nb-cognito:ask-jupyterhub"

_ROLE_FIX = (
    "In jupyterhub_config.py, give the user's server the scope admin:auth_state!user: "
    "c.JupyterHub.load_roles = nb_cognito.jupyterhub.roles() (the 'user' and 'server' roles "
    "with admin:auth_state!user), or call nb_cognito.jupyterhub.configure(c); then restart "
    "the hub and the user's server (its token is made at spawn)."
)
_AUTH_STATE_FIX = (
    "In jupyterhub_config.py set c.Authenticator.enable_auth_state = True (with "
    "JUPYTERHUB_CRYPT_KEY in the hub's environment), then sign in to the hub again: auth_state "
    "is written at sign-in."
)
_STALE_FIX = (
    "On the hub: c.OAuthenticator.refresh_user_hook = "
    "nb_cognito.jupyterhub.refresh_user_hook (it refreshes when the ID token is near its expiry, "
    "not only the access token) and c.Authenticator.auth_refresh_age at most a tenth of the token "
    "lifetime; nb_cognito.jupyterhub.configure(c) sets both. Or give the app client's ID and "
    "access tokens the same lifetime. If the hub's refresh fails, its log says why; signing in to "
    "the hub again always gives fresh tokens."
)


def running_under_hub(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs in a JupyterHub single-user server (its API URL and token are set)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get(Env.JUPYTERHUB_API_URL) and environ.get(Env.JUPYTERHUB_API_TOKEN))


@dataclass(frozen=True)
class HubEndpoint:
    """Where the hub's API is, and the server's token for it (never shown)."""

    api_url: str
    token: str = field(repr=False)
    user: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HubEndpoint:
        """JupyterHub's own variables, or a ConfigurationError saying that this is not a hub server."""
        environ = os.environ if environ is None else environ
        url = (environ.get(Env.JUPYTERHUB_API_URL) or "").strip()
        token = (environ.get(Env.JUPYTERHUB_API_TOKEN) or "").strip()
        missing = [
            name
            for name, value in ((Env.JUPYTERHUB_API_URL, url), (Env.JUPYTERHUB_API_TOKEN, token))
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"Signing in through JupyterHub needs {' and '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not set: this kernel does not run in a "
                "server that JupyterHub spawned.",
                recovery_suggestion="Open the notebook from JupyterHub, or sign in with %cognito_login.",
            )
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise ConfigurationError(
                f"{Env.JUPYTERHUB_API_URL} is {url[:100]!r}, not an http(s) URL.",
                recovery_suggestion="It is set by JupyterHub at spawn; check c.Spawner.environment.",
            )
        known_secrets.add(token)
        return cls(url.rstrip("/"), token, environ.get(Env.JUPYTERHUB_USER) or None)


def _claims(token: str) -> dict[str, Any]:
    """The unverified claims of a JWT, for its times only (the session verifies it right after)."""
    try:
        payload = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeError):
        raise TokenValidationError("The hub's auth_state holds a malformed token (not a JWT).") from None
    return value if isinstance(value, dict) else {}


def _seconds(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenValidationError(f"The hub's token has no valid {name} claim.")
    return float(value)


class HubSignIn:
    """JupyterHub as a session's token source: a sign-in and each refresh read ``auth_state``.

    ``policy``: the session's refresh windows; tokens the hub hands back that are already inside
    the advisory window of their lifetime are refused as not refreshed (the session keeps its
    current values and asks again later), so a hub that does not refresh never causes a storm.
    """

    #: The session does not persist this sign-in (remembered sessions): the hub remembers it.
    persists = False

    def __init__(
        self, settings: Settings, endpoint: HubEndpoint, *, clock: Clock, policy: RefreshPolicy
    ) -> None:
        self.endpoint = endpoint
        self.audience = settings.hub_client_id or settings.client_id
        self._timeout = settings.network_timeout
        self._clock = clock
        self._policy = policy
        self._last_exp: dict[str, float] = {}  # the expiry of the tokens handed out last, by kind

    def __repr__(self) -> str:
        return f"<HubSignIn {self.endpoint.api_url!r}>"

    def fetch(self) -> AuthTokens:
        """The ID and access tokens in the user's ``auth_state`` now; refuses stale ones."""
        id_token, access_token = self._tokens()
        known_secrets.add(id_token, access_token)
        self._check_fresh(id_token, access_token)
        expires_in = _seconds(_claims(id_token), "exp") - self._clock.time()
        return AuthTokens(
            id_token=id_token,
            access_token=access_token,
            refresh_token=HUB_REFRESH_TOKEN,
            expires_in=max(0, int(expires_in)),
        )

    def wrap(self, userpool: Any) -> _HubUserPool:
        """The user-pool client with token refresh asking the hub, and nothing to revoke."""
        return _HubUserPool(self, userpool)

    # -- the hub's answer ------------------------------------------------------------------------

    def _tokens(self) -> tuple[str, str]:
        """(ID token, access token) from the hub, or the refusal naming the hub setting to fix.

        The hub's answer (its refresh token included) lives only in :func:`_read_model`'s frame,
        gone before anything is raised: a ``%xmode Verbose`` traceback shows no token of it.
        """
        problem, id_token, access_token = _read_model(self._get_user())
        if problem is None and id_token and access_token:
            return id_token, access_token
        if problem is not None and problem.startswith("scopes:"):
            raise ConfigurationError(
                "JupyterHub answered without auth_state: this server's API token lacks the scope "
                f"admin:auth_state!user (its scopes: {problem.removeprefix('scopes:')}).",
                recovery_suggestion=_ROLE_FIX,
            )
        if problem == "null":
            raise ConfigurationError(
                "JupyterHub keeps no auth_state for this user: enable_auth_state is off, or the "
                "user signed in to the hub before it was turned on.",
                recovery_suggestion=_AUTH_STATE_FIX,
            )
        if problem == "shape":
            raise ConfigurationError(
                "The hub's auth_state is not an object.",
                recovery_suggestion="Check the authenticator's auth_state hooks on the hub.",
            )
        if not id_token:
            raise ConfigurationError(
                "The hub's auth_state holds no ID token, so there is nothing to sign in with.",
                recovery_suggestion=(
                    "Use GenericOAuthenticator (it keeps the token response's id_token) with the "
                    "openid scope: c.GenericOAuthenticator.scope = ['openid', 'email', 'profile']; "
                    "then sign in to the hub again."
                ),
            )
        raise ConfigurationError(
            "The hub's auth_state holds an ID token but no access token.",
            recovery_suggestion="Sign in to the hub again; check the authenticator's auth_state.",
        )

    def _get_user(self) -> dict[str, Any]:
        """The user's model with ``auth_state``: ``GET /users/<name>``. (``GET /user`` says who
        the token's owner is, but JupyterHub leaves its ``auth_state`` empty.)"""
        name = self.endpoint.user
        if not name:
            name = str(self._get("/user").get("name") or "")
        return self._get(f"/users/{urllib.parse.quote(name, safe='')}")

    def _get(self, path: str) -> dict[str, Any]:
        import urllib.error
        import urllib.request

        endpoint = self.endpoint
        request = urllib.request.Request(  # noqa: S310 - an http(s) URL, checked above
            f"{endpoint.api_url}{path}",
            headers={"Authorization": f"token {endpoint.token}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            error.close()
            raise self._http_error(error.code, path) from None
        except (OSError, ValueError) as error:
            raise ServiceUnavailableError(
                f"JupyterHub's API at {endpoint.api_url} did not answer ({type(error).__name__})."
            ) from None
        try:
            model = json.loads(raw)
        except ValueError:
            model = None
        del raw  # the answer holds the hub's refresh token: no frame keeps it as text
        if not isinstance(model, dict):
            raise ServiceUnavailableError(f"JupyterHub's API at {endpoint.api_url} answered no JSON object.")
        return model

    def _http_error(self, status: int, path: str) -> Exception:
        where = self.endpoint.api_url
        if status in (401, 403):
            return NotAuthorizedError(
                f"JupyterHub refused this server's API token (HTTP {status} from {where}{path}): the "
                "server was stopped or its token revoked, or the user must sign in to the hub again.",
                recovery_suggestion="Sign in to JupyterHub again and restart your server from its home page.",
            )
        return ServiceUnavailableError(f"JupyterHub's API at {where} answered HTTP {status}.")

    def _check_fresh(self, id_token: str, access_token: str) -> None:
        """Refuse tokens that are expired or already due for refresh: the hub did not refresh.

        Due: inside the advisory window of their lifetime, or, when they are the very tokens
        handed out last time, inside the window the background refresher wakes up in (its
        jitter ahead), so that a hub that does not refresh is asked again only after the
        session's retry delay, never in a loop.
        """
        now = self._clock.time()
        expiries = {}
        for kind, token in (("ID", id_token), ("access", access_token)):
            claims = _claims(token)
            exp, iat = _seconds(claims, "exp"), _seconds(claims, "iat")
            expiries[kind] = exp
            left, lead = exp - now, self._policy.lead(exp - iat)
            unchanged = self._last_exp.get(kind) == exp
            if left > lead * (1 + self._policy.jitter if unchanged else 1):
                continue
            state = "has expired" if left <= 0 else f"expires in {int(left)} s"
            why = (
                "its access token outlived it, so the hub saw no reason to refresh"
                if kind == "ID"
                else "the hub did not refresh it"
            )
            # The fix goes in the message: a refresh puts its own suggestion on retryable errors.
            raise ServiceUnavailableError(
                f"JupyterHub handed back an {kind} token that {state} ({why}, or the hub's "
                f"refresh failed). {_STALE_FIX}"
            )
        self._last_exp = expiries


def _read_model(model: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(problem, ID token, access token) of the hub's user model; no token when a problem.

    The problem: ``"scopes:<held>"`` (no ``auth_state`` key: the token lacks the scope),
    ``"null"`` (``enable_auth_state`` off), ``"shape"``, or None with the tokens (either may
    be None when ``auth_state`` lacks it).
    """
    if "auth_state" not in model:
        scopes = model.get("scopes")
        held = ", ".join(str(s) for s in scopes[:8]) if isinstance(scopes, list) else "unknown"
        return f"scopes:{held}", None, None
    auth_state = model["auth_state"]
    if auth_state is None:
        return "null", None, None
    if not isinstance(auth_state, dict):
        return "shape", None, None
    id_token, access_token = auth_state.get("id_token"), auth_state.get("access_token")
    return (
        None,
        id_token if isinstance(id_token, str) and id_token else None,
        access_token if isinstance(access_token, str) and access_token else None,
    )


class _HubUserPool:
    """A user-pool client whose token refresh reads the hub's ``auth_state`` again."""

    def __init__(self, hub: HubSignIn, userpool: Any) -> None:
        self._hub = hub
        self._userpool = userpool

    def refresh(
        self, refresh_token: str, username: str, *, rotation: bool = False, device_key: str | None = None
    ) -> AuthTokens:
        return self._hub.fetch()  # the hub holds the refresh token; the session holds a placeholder

    def revoke_token(self, refresh_token: str) -> None:
        """Nothing to revoke: the refresh token is the hub's (signing out of the hub ends it)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._userpool, name)
