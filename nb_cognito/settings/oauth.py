"""The hosted-UI settings: their checks, and the converters of their Amplify file values.

Their rows are in :mod:`nb_cognito.settings.table`; this module holds what those rows use.

``oauth_domain``
    The user pool's domain: ``myapp.auth.us-east-1.amazoncognito.com`` (https is implied), a
    custom domain, or a full ``https://host[:port]`` URL; ``http://`` only for a loopback host
    (the local emulator's endpoint), since codes, verifiers, client secrets and tokens travel there.
``oauth_scopes``
    Space- or comma-separated scopes to ask for; unset: every scope the app client allows.
``redirect_uri``
    The callback URL, exactly as registered on the app client: ``http://localhost:<port>/``
    for the loopback listener, or the Jupyter server's callback page.
``identity_provider``
    One or more identity-provider names of the pool (comma-separated). With exactly one,
    ``sign_in_with_redirect()`` goes straight to it; the widget shows a button for each.

Amplify files: Gen 2 ``auth.oauth`` (``domain``, ``scopes``, ``redirect_sign_in_uri``,
``identity_providers``), Gen 1 ``...awsCognitoAuthPlugin.Auth.Default.OAuth`` (``WebDomain``,
``Scopes``, ``SignInRedirectURI``) and ``aws-exports`` ``oauth`` (``domain``, ``scope``,
``redirectSignIn``). When a file lists several sign-in redirect URIs, the first loopback one
(``localhost``/``127.0.0.1``) is taken, else the first.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "OAUTH_SETTINGS",
    "check_oauth_setting",
    "domain_url",
    "is_loopback",
    "joined",
    "pick_redirect",
    "provider_names",
    "providers",
]

OAUTH_SETTINGS: tuple[str, ...] = ("oauth_domain", "oauth_scopes", "redirect_uri", "identity_provider")

_HOST_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*$"
)
_SCOPE_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 scope-token
_PROVIDER_RE = re.compile(r"^[\w.+=,@:-]{1,32}$")
#: Amplify's names for social providers -> the provider names Cognito uses.
_SOCIAL = {
    "GOOGLE": "Google",
    "FACEBOOK": "Facebook",
    "LOGIN_WITH_AMAZON": "LoginWithAmazon",
    "SIGN_IN_WITH_APPLE": "SignInWithApple",
    "AMAZON": "LoginWithAmazon",
    "APPLE": "SignInWithApple",
}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def check_oauth_setting(name: str, value: str, source: str) -> str:
    """The settings table's check of one hosted-UI setting (a non-empty stripped string)."""
    from nb_cognito.settings.errors import bad

    if name == "oauth_domain":
        url = value if "://" in value else f"https://{value}"
        parts = urlsplit(url)
        host_ok = bool(_HOST_RE.match(parts.hostname or ""))
        if not _http_url(url) or parts.path not in ("", "/") or parts.query or not host_ok:
            raise bad(
                name,
                source,
                f"{value!r} is not a user pool domain, like 'myapp.auth.us-east-1.amazoncognito.com'.",
            )
        if parts.scheme == "http" and not is_loopback(url):
            raise bad(
                name,
                source,
                f"{value!r} uses http:// for a host that is not this machine: the sign-in's code, PKCE "
                "verifier, client secret and tokens would cross the network in clear. Use https:// "
                "(or the bare domain); plain http is allowed only for localhost, 127.0.0.1 and ::1 "
                "(the local emulator).",
            )
        return url.rstrip("/")
    if name == "oauth_scopes":
        scopes = value.replace(",", " ").split()
        if not scopes or not all(_SCOPE_RE.match(scope) for scope in scopes):
            raise bad(name, source, "is not a list of OAuth scopes, like 'openid email profile'.")
        return " ".join(dict.fromkeys(scopes))
    if name == "redirect_uri":
        if not _http_url(value) or urlsplit(value).fragment:
            raise bad(name, source, f"{value!r} is not an http(s) URL, like 'http://localhost:8765/'.")
        return value
    if name == "identity_provider":
        names = [part.strip() for part in value.split(",") if part.strip()]
        if not names or not all(_PROVIDER_RE.match(n) for n in names):
            raise bad(
                name,
                source,
                f"{value!r} is not a list of identity provider names, like 'Google' or 'CorpOkta'.",
            )
        return ",".join(dict.fromkeys(names))
    raise AssertionError(name)  # pragma: no cover


def domain_url(oauth_domain: str) -> str:
    """The base URL of the hosted UI for a (checked) ``oauth_domain``."""
    return oauth_domain if "://" in oauth_domain else f"https://{oauth_domain}"


def provider_names(identity_provider: str | None) -> list[str]:
    """The provider names of the (checked) ``identity_provider`` setting."""
    return [name for name in (identity_provider or "").split(",") if name]


def is_loopback(uri: str) -> bool:
    try:
        return urlsplit(uri).hostname in _LOOPBACK
    except ValueError:
        return False


def pick_redirect(value: Any) -> str | None:
    """Amplify's sign-in redirect URIs (a list, or a comma-separated string): the first loopback one."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list):
        return None
    uris = [uri for uri in value if isinstance(uri, str) and uri]
    loopback = [uri for uri in uris if is_loopback(uri)]
    chosen = loopback or uris
    return chosen[0] if chosen else None


def joined(value: Any) -> str | None:
    """Amplify's scopes or domain (a list or a string) as one space-separated string."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        return " ".join(str(item) for item in value if isinstance(item, str) and item) or None
    return None


def providers(value: Any) -> str | None:
    """Amplify's identity providers (``GOOGLE``, custom names) as Cognito's comma-separated names."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return None
    names = [
        _SOCIAL.get(item.strip().upper(), item.strip())
        for item in value
        if isinstance(item, str) and item.strip()
    ]
    return ",".join(names) or None
