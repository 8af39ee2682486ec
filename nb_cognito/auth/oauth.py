"""Sign-in through the hosted UI: OAuth 2.0 authorization code with PKCE (S256).

One sign-in is an :class:`AuthorizationRequest`: a fresh ``state``, ``nonce`` and PKCE verifier,
and the ``/oauth2/authorize`` URL built from them. The browser comes back to ``redirect_uri``
with a code, by one of the ways in :mod:`nb_cognito.auth.oauth_callback` (which also holds the
whole flow, :func:`~nb_cognito.auth.oauth_callback.sign_in_with_redirect`). :class:`HostedUIClient`
redeems the code at ``/oauth2/token``; the ID token is verified like every other token (the
session's :class:`~nb_cognito.auth.tokens.TokenVerifier`) and its ``nonce`` compared; then the
session takes the tokens as from any sign-in (credentials, boto3, events, refresh).

After such a sign-in the session refreshes with ``grant_type=refresh_token`` and revokes with
``/oauth2/revoke``: :meth:`HostedUIClient.wrap` puts these in front of the user-pool client the
session uses, and leaves everything else (global sign-out) to it.

None of the state, nonce, verifier, code or tokens is logged, shown or put in an error: they
are registered with :data:`nb_cognito.redaction.known_secrets` (a code or state that came back
only once its state matched this sign-in's). The code, the verifier, the refresh token and the
client secret travel as :class:`~nb_cognito.secret.Secret` until the form is encoded, so that no
frame of a failed exchange or refresh (``%xmode Verbose`` prints every frame's locals) shows them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as _random
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nb_cognito.auth.userpool_calls import AuthTokens
from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    NotAuthorizedError,
    ServiceUnavailableError,
    TokenValidationError,
)
from nb_cognito.redaction import known_secrets as secrets
from nb_cognito.secret import OpaqueBytes, Secret, reveal_all
from nb_cognito.settings.config import Settings
from nb_cognito.settings.oauth import domain_url, provider_names

if TYPE_CHECKING:
    from nb_cognito.auth.tokens import TokenVerifier
    from nb_cognito.clock import Clock

__all__ = [
    "AuthorizationRequest",
    "HostedUIClient",
    "RedirectSignIn",
    "check_nonce",
    "code_from_redirect",
    "logout_url",
    "new_request",
]

_SETUP = (
    "Set oauth_domain (the user pool's domain) and redirect_uri (a callback URL of the app "
    "client), e.g. nb_cognito.configure(oauth_domain=..., redirect_uri=...), the environment "
    "variables NB_COGNITO_OAUTH_DOMAIN / NB_COGNITO_REDIRECT_URI, or an Amplify file with auth.oauth."
)


@dataclass(frozen=True)
class AuthorizationRequest:
    """One hosted-UI sign-in in progress. Only ``url`` is ever shown (the user must open it)."""

    url: str = field(repr=False)
    redirect_uri: str
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    verifier: str = field(repr=False)
    provider: str | None = None


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def require_hosted_ui(settings: Settings, *, need_redirect_uri: bool = True) -> tuple[str, str]:
    """(hosted UI base URL, redirect URI or ''), or a ConfigurationError saying what to set."""
    settings.require_sign_in_settings()
    needed = ("oauth_domain", "redirect_uri") if need_redirect_uri else ("oauth_domain",)
    missing = [name for name in needed if getattr(settings, name) is None]
    if missing:
        raise ConfigurationError(
            f"Signing in through the hosted UI needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not set.",
            recovery_suggestion=_SETUP,
        )
    assert settings.oauth_domain is not None
    return domain_url(settings.oauth_domain), settings.redirect_uri or ""


def default_provider(settings: Settings, provider: str | None) -> str | None:
    """The IdP to go straight to: the one asked for, or the only one configured."""
    if provider is not None:
        return provider
    configured = provider_names(settings.identity_provider)
    return configured[0] if len(configured) == 1 else None


def new_request(
    settings: Settings, provider: str | None = None, *, redirect_uri: str | None = None
) -> AuthorizationRequest:
    """A fresh sign-in: new state, nonce and PKCE verifier, and the authorize URL.

    ``redirect_uri`` overrides the setting (the Jupyter server's callback page for the popup).
    """
    base, configured = require_hosted_ui(settings, need_redirect_uri=redirect_uri is None)
    redirect_uri = redirect_uri or configured
    state, nonce, verifier = (_random.token_urlsafe(32) for _ in range(3))
    secrets.add(state, nonce, verifier)
    query = {
        "response_type": "code",
        "client_id": settings.client_id or "",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
    }
    if settings.oauth_scopes:
        query["scope"] = settings.oauth_scopes
    provider = default_provider(settings, provider)
    if provider:
        query["identity_provider"] = provider
    url = f"{base}/oauth2/authorize?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"
    return AuthorizationRequest(url, redirect_uri, state, nonce, verifier, provider)


@dataclass(frozen=True)
class Redirect:
    """What came back to ``redirect_uri``: its code and state stay wrapped; ``error`` is the
    hosted UI's error code (not a secret); ``bare``: a code pasted alone, with no state."""

    code: Secret | None
    state: Secret | None
    error: str | None = None
    bare: bool = False

    def belongs_to(self, request: AuthorizationRequest) -> bool:
        """True when its state is this sign-in's (compared in constant time)."""
        return self.state is not None and self.state == Secret(request.state)


def parse_redirect(text: str | Secret) -> Redirect:
    """The fields of a redirected URL, of its query string, or a bare code (nothing raises here,
    so no traceback shows this frame's plain text)."""
    plain = Secret(text).strip().reveal()
    if "=" not in plain and "/" not in plain and "?" not in plain:
        return Redirect(Secret(plain) if plain else None, None, bare=True)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(plain).query or plain.lstrip("?"))
    values = {name: items[0] for name, items in query.items() if items}
    return Redirect(Secret.of(values.get("code")), Secret.of(values.get("state")), values.get("error"))


def code_from_redirect(request: AuthorizationRequest, pasted: str | Secret) -> Secret:
    """The code from what came back: the redirected URL (its ``state`` must match) or a bare code.

    A bare code cannot carry ``state``; PKCE still binds it to this sign-in (a code issued to
    anyone else fails at the token endpoint). A code or state is registered for redaction only
    once it belongs to this sign-in: a stranger's guesses never reach the registry.
    """
    redirect = parse_redirect(pasted)
    if redirect.code is None and redirect.bare:
        raise NotAuthorizedError(
            "Nothing was pasted.", recovery_suggestion="Paste the redirected URL or the code."
        )
    if not redirect.bare and not redirect.belongs_to(request):
        raise NotAuthorizedError(
            "The redirect does not belong to this sign-in (its state does not match); refused.",
            recovery_suggestion="Start the sign-in again and use the URL of that attempt only.",
        )
    secrets.add(*reveal_all([redirect.code, redirect.state]))
    if redirect.error is not None:
        raise NotAuthorizedError(
            f"The hosted UI refused the sign-in ({redirect.error[:64]}).",
            recovery_suggestion="Check the app client's callback URLs, scopes and identity providers.",
        )
    if redirect.code is None:
        raise NotAuthorizedError("The redirected URL has no code.", recovery_suggestion="Sign in again.")
    return redirect.code


def check_nonce(id_claims: dict[str, Any], request: AuthorizationRequest) -> None:
    """The ID token must carry this sign-in's ``nonce`` (OpenID Connect Core 3.1.3.7)."""
    nonce = str(id_claims.get("nonce", ""))
    if not hmac.compare_digest(nonce.encode(), request.nonce.encode()):
        raise TokenValidationError("The ID token's nonce does not match this sign-in; refused.")


def logout_url(settings: Settings, logout_uri: str) -> str:
    """The ``/logout`` URL that ends the hosted UI's browser session and goes to ``logout_uri``."""
    base, _ = require_hosted_ui(settings, need_redirect_uri=False)
    query = urllib.parse.urlencode({"client_id": settings.client_id or "", "logout_uri": logout_uri})
    return f"{base}/logout?{query}"


class HostedUIClient:
    """The hosted UI's token and revocation endpoints, for one app client."""

    #: The token source's contract (as :class:`~nb_cognito.auth.hub.HubSignIn`'s): tokens are
    #: issued to ``client_id`` (no other audience), and the session remembers them if asked.
    audience: str | None = None
    persists = True

    def __init__(self, settings: Settings) -> None:
        self._base, _ = require_hosted_ui(settings, need_redirect_uri=False)
        self._settings = settings

    def exchange(self, code: Secret | str, request: AuthorizationRequest) -> AuthTokens:
        """Redeem the code (with the PKCE verifier) at ``/oauth2/token``."""
        form: dict[str, str | Secret] = {
            "grant_type": "authorization_code",
            "code": Secret(code),
            "redirect_uri": request.redirect_uri,
            "code_verifier": Secret(request.verifier),
        }
        return self._tokens(self._post("/oauth2/token", form, "redeem the sign-in code"), None)

    def refresh(
        self, refresh_token: Secret | str, username: str = "", *, rotation: bool = False
    ) -> AuthTokens:
        """New tokens with ``grant_type=refresh_token`` (same signature as the user-pool client's)."""
        refresh_token = Secret(refresh_token)
        form: dict[str, str | Secret] = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._tokens(self._post("/oauth2/token", form, "refresh the session"), refresh_token)

    def revoke_token(self, refresh_token: Secret | str) -> None:
        form: dict[str, str | Secret] = {"token": Secret(refresh_token)}
        self._post("/oauth2/revoke", form, "revoke the refresh token", expect_json=False)

    def wrap(self, userpool: Any) -> _HostedUIUserPool:
        """The user-pool client with refresh and revocation going to the hosted UI endpoints."""
        return _HostedUIUserPool(self, userpool)

    def _tokens(self, body: dict[str, Any], refresh_token: Secret | None) -> AuthTokens:
        try:
            tokens = AuthTokens(
                id_token=str(body["id_token"]),
                access_token=str(body["access_token"]),
                refresh_token=str(body.get("refresh_token") or "")
                or (refresh_token.reveal() if refresh_token else None),
                expires_in=int(body.get("expires_in", 3600)),
            )
        except (KeyError, TypeError, ValueError):
            raise TokenValidationError("The token endpoint's answer has no ID and access token.") from None
        secrets.add(tokens.id_token, tokens.access_token, tokens.refresh_token)
        return tokens

    def _post(
        self, path: str, form: dict[str, str | Secret], action: str, *, expect_json: bool = True
    ) -> dict[str, Any]:
        """POST ``form``; its secrets are revealed only into the encoded body, whose ``repr``
        (in urllib's and http.client's frames) hides it, as the Authorization header's."""
        settings = self._settings
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        form = {**form, "client_id": settings.client_id or ""}
        request = urllib.request.Request(  # noqa: S310 - the base URL is a checked http(s) URL
            self._base + path,
            data=OpaqueBytes(urllib.parse.urlencode(reveal_all(form)).encode()),
            headers=headers,
            method="POST",
        )
        if settings.client_secret:
            request.add_unredirected_header("Authorization", _basic_auth(settings))
        try:
            with urllib.request.urlopen(request, timeout=settings.network_timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _http_error(error, action, settings) from None
        except (OSError, ValueError) as error:
            raise ServiceUnavailableError(
                f"Could not {action}: the hosted UI at {self._base} did not answer ({type(error).__name__})."
            ) from None
        if not expect_json:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ServiceUnavailableError(
                f"Could not {action}: the hosted UI answered with no JSON."
            ) from None
        return body if isinstance(body, dict) else {}


def _basic_auth(settings: Settings) -> str:
    """HTTP Basic credentials of the app client (its id and secret)."""
    pair = f"{settings.client_id}:{settings.client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _http_error(error: urllib.error.HTTPError, action: str, settings: Settings) -> AuthError:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        body = {}
    code = str(body.get("error", "")) if isinstance(body, dict) else ""
    if error.code >= 500 or error.code == 429:
        return ServiceUnavailableError(f"Could not {action}: the hosted UI answered HTTP {error.code}.")
    if code in ("invalid_client", "unauthorized_client"):
        return ConfigurationError(
            f"Could not {action}: the hosted UI refused the app client ({code}); client_id from "
            f"{settings.sources.get('client_id')}, client_secret "
            f"{'set' if settings.client_secret else 'not set'}.",
            recovery_suggestion=(
                "Check client_id and client_secret, and that the app client allows the code grant."
            ),
        )
    return NotAuthorizedError(
        f"Could not {action}: the hosted UI refused it ({code or f'HTTP {error.code}'}).",
        recovery_suggestion="Sign in again (a code works once, for five minutes).",
    )


class _HostedUIUserPool:
    """A user-pool client whose refresh and revocation use the hosted UI's endpoints."""

    def __init__(self, hosted: HostedUIClient, userpool: Any) -> None:
        self._hosted = hosted
        self._userpool = userpool

    def refresh(
        self,
        refresh_token: Secret | str,
        username: str,
        *,
        rotation: bool = False,
        device_key: str | None = None,
    ) -> AuthTokens:
        # The token endpoint takes no device key: the hosted UI does not track devices.
        return self._hosted.refresh(refresh_token, username, rotation=rotation)

    def revoke_token(self, refresh_token: Secret | str) -> None:
        self._hosted.revoke_token(refresh_token)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._userpool, name)


class RedirectSignIn(Protocol):
    """What a hosted-UI sign-in needs of the session's sign-in flow
    (:class:`~nb_cognito.auth.sign_in.SignInFlow`)."""

    clock: Clock

    @property
    def settings(self) -> Settings: ...
    @property
    def verifier(self) -> TokenVerifier: ...
    def reread_settings(self) -> None: ...
    def complete_redirect_sign_in(self, tokens: AuthTokens, hosted_ui: Any) -> None: ...


def complete(
    session: RedirectSignIn, client: HostedUIClient, request: AuthorizationRequest, code: Secret | str
) -> None:
    """Redeem ``code``, check the ID token's nonce, and sign ``session`` in."""
    code = Secret(code)
    tokens = client.exchange(code, request)
    check_nonce(session.verifier.verify(tokens.id_token, token_use="id"), request)
    secrets.discard(request.state, request.nonce, request.verifier, code.reveal())  # single use: spent
    session.complete_redirect_sign_in(tokens, client)
