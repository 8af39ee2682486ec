"""For ``jupyterhub_config.py``: let every user's kernel sign in with the hub's Cognito sign-in.

The hub signs users in through Cognito's hosted UI (oauthenticator's ``GenericOAuthenticator``)
and keeps their tokens in ``auth_state``. A kernel reads them with ``%cognito_login --hub`` or,
with ``hub_sign_in`` left at ``"auto"``, as the extension loads
(:mod:`nb_cognito.auth.hub`). What the hub needs for that, in one call::

    import nb_cognito.jupyterhub
    nb_cognito.jupyterhub.configure(c, token_lifetime=3600)

:func:`configure` sets ``enable_auth_state``, ``refresh_pre_spawn``, ``auth_refresh_age``
(:func:`auth_refresh_age`), the :func:`refresh_user_hook` and the roles (:func:`roles`) that give
each user's server the scope ``admin:auth_state!user``. :func:`environment` writes the settings
every kernel needs for ``c.Spawner.environment``.

This module runs in the hub: it never imports jupyterhub or oauthenticator at import time (a
kernel imports ``nb_cognito`` without them), and nothing here logs a token.
"""

from __future__ import annotations

import base64
import inspect
import json
import time
from collections.abc import Mapping
from typing import Any

from nb_cognito.environment import env_var

__all__ = [
    "AUTH_STATE_SCOPE",
    "auth_refresh_age",
    "cognito_urls",
    "configure",
    "environment",
    "id_token_due",
    "refresh_user_hook",
    "roles",
]

#: The scope a server's token needs to read its user's ``auth_state`` (JupyterHub >= 2).
AUTH_STATE_SCOPE = "admin:auth_state!user"
#: The default ``server`` role's scopes (JupyterHub >= 4), which the server role must keep.
_SERVER_SCOPES = ("users:activity!user", "access:servers!server")
#: The hook refreshes when less than this fraction of the ID token's lifetime is left. A kernel
#: asks again with at most 12 % left (its 10 % lead and up to 20 % jitter), so the tokens it
#: gets then are always fresh ones.
REFRESH_AHEAD = 0.25


def roles() -> list[dict[str, Any]]:
    """``c.JupyterHub.load_roles``: the ``user`` and ``server`` roles with ``admin:auth_state!user``.

    A server's token only gets the scopes its user holds, so both roles need it: the user may
    then read their own ``auth_state`` (their own tokens), and their servers too.
    """
    return [
        {"name": "user", "scopes": ["self", AUTH_STATE_SCOPE]},
        {"name": "server", "scopes": [*_SERVER_SCOPES, AUTH_STATE_SCOPE]},
    ]


def auth_refresh_age(token_lifetime: float = 3600) -> int:
    """``c.Authenticator.auth_refresh_age`` for tokens that live ``token_lifetime`` seconds.

    A twelfth of the lifetime (300 s, the hub's default, for 1-hour tokens): a kernel's request
    made in the last eighth of the ID token's life then always meets a refresh.
    """
    return max(1, int(token_lifetime / 12))


def _claims(token: object) -> dict[str, Any]:
    """The claims of a JWT the hub itself received from Cognito (times only; not verified here)."""
    if not isinstance(token, str):
        return {}
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def id_token_due(auth_state: Mapping[str, Any] | None, now: float | None = None) -> bool:
    """True when ``auth_state``'s ID token (or access token) has less than a quarter of its
    lifetime left: the hub should refresh now, even though the access token still works."""
    if not auth_state:
        return False
    now = time.time() if now is None else now
    for name in ("id_token", "access_token"):
        claims = _claims(auth_state.get(name))
        exp, iat = claims.get("exp"), claims.get("iat")
        if isinstance(exp, bool) or not isinstance(exp, int | float) or not isinstance(iat, int | float):
            continue
        if exp - now < REFRESH_AHEAD * max(exp - iat, 0):
            return True
    return False


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def refresh_user_hook(authenticator: Any, user: Any, auth_state: Mapping[str, Any] | None) -> Any:
    """``c.OAuthenticator.refresh_user_hook`` (oauthenticator >= 17.3): refresh when the ID token
    is near its expiry, not only when the access token no longer works.

    Returns None (oauthenticator's own ``refresh_user`` decides) while the tokens are fresh;
    the new auth model after a refresh with the refresh token; False (sign in again) when that
    refresh is refused. Cognito's ID token may expire before its access token: without this
    hook the hub would keep handing out an expired ID token.
    """
    if not id_token_due(auth_state):
        return None
    assert auth_state is not None  # id_token_due() is False for None
    refresh_token = auth_state.get("refresh_token")
    if not refresh_token:
        return None
    params = authenticator.build_refresh_token_request_params(refresh_token)
    try:
        token_info = await authenticator.get_token_info(None, params)
        token_info.setdefault("refresh_token", refresh_token)  # Cognito does not rotate it here
        user_info = await authenticator.token_to_user(token_info)
    except Exception as error:  # refused or unreachable: the user signs in again
        authenticator.log.warning(
            "nb_cognito: refreshing %s's tokens failed (%s); they must sign in again.",
            user.name,
            type(error).__name__,
        )
        return False
    name = authenticator.normalize_username(authenticator.user_info_to_username(user_info))
    if name != user.name:
        authenticator.log.warning("nb_cognito: the refreshed tokens of %s name another user.", user.name)
        return False
    new_state = await _maybe_await(authenticator.build_auth_state_dict(token_info, user_info))
    hook = getattr(authenticator, "modify_auth_state_hook", None)
    if hook is not None:
        new_state = await _maybe_await(hook(authenticator, new_state))
    return {"name": user.name, "auth_state": new_state}


def cognito_urls(domain: str) -> dict[str, str]:
    """``GenericOAuthenticator``'s endpoint settings for a user pool's domain (the hosted UI)."""
    base = domain.rstrip("/")
    if "://" not in base:
        base = f"https://{base}"
    return {
        "authorize_url": f"{base}/oauth2/authorize",
        "token_url": f"{base}/oauth2/token",
        "userdata_url": f"{base}/oauth2/userInfo",
    }


def environment(**settings: str) -> dict[str, str]:
    """``c.Spawner.environment``: nb_cognito's settings for every user's kernel.

    ``environment(user_pool_id=..., client_id=..., identity_pool_id=...)`` gives
    ``{"NB_COGNITO_USER_POOL_ID": ..., ...}``; an unknown name raises ValueError.
    """
    from nb_cognito.settings.table import SETTINGS_BY_NAME

    unknown = sorted(name for name in settings if name not in SETTINGS_BY_NAME)
    if unknown:
        raise ValueError(f"Not nb_cognito settings: {', '.join(unknown)}.")
    return {env_var(name): str(value) for name, value in settings.items() if value is not None}


def _with_scope(existing: list[dict[str, Any]], wanted: dict[str, Any]) -> None:
    for role in existing:
        if role.get("name") == wanted["name"]:
            scopes = list(role.get("scopes") or [])
            role["scopes"] = scopes + [s for s in wanted["scopes"] if s not in scopes]
            return
    existing.append(wanted)


def configure(c: Any, *, token_lifetime: float = 3600) -> None:
    """Set what kernels need on the hub's config object ``c`` (in ``jupyterhub_config.py``).

    ``token_lifetime``: the app client's ID token lifetime in seconds (Cognito's default: 1 h).
    Roles already in ``c.JupyterHub.load_roles`` are kept; ``user`` and ``server`` get the scope.
    """
    c.Authenticator.enable_auth_state = True
    c.Authenticator.refresh_pre_spawn = True
    c.Authenticator.auth_refresh_age = auth_refresh_age(token_lifetime)
    c.OAuthenticator.refresh_user_hook = refresh_user_hook
    loaded = c.JupyterHub.load_roles
    current = [dict(role) for role in loaded] if isinstance(loaded, list) else []
    for role in roles():
        _with_scope(current, role)
    c.JupyterHub.load_roles = current
