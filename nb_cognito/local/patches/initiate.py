"""InitiateAuth: USER_PASSWORD_AUTH and USER_SRP_AUTH, with real SRP and a lockout.

moto's USER_SRP_AUTH sent a random SALT/SRP_B and never checked the signature, so a wrong
password signed in. Here SALT/SRP_B come from the user's verifier (:mod:`nb_cognito.local.srp`)
and :mod:`.respond` checks PASSWORD_CLAIM_SIGNATURE. REFRESH_TOKEN_AUTH goes to :mod:`.refresh`,
USER_AUTH to :mod:`.user_auth`; other flows stay moto's. A ``DEVICE_KEY`` in the parameters is
carried to the end of the sign-in (device tracking, :mod:`.devices`).
"""

from __future__ import annotations

from typing import Any

from moto.cognitoidp import models as idp

from ..state import current
from . import refresh, user_auth
from .common import check_secret_hash, not_authorized, original, pool_and_client, required
from .steps import after_password, check_may_try_password, password_failed, start_password_verifier

__all__ = ["initiate_auth"]


def initiate_auth(
    self: idp.CognitoIdpBackend, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
) -> dict[str, Any]:
    """``CognitoIdpBackend.initiate_auth``: each flow we model, or moto's own."""
    handlers = {
        "USER_PASSWORD_AUTH": _user_password_auth,
        "USER_SRP_AUTH": _user_srp_auth,
        "REFRESH_TOKEN_AUTH": refresh.refresh_token_auth,
        "REFRESH_TOKEN": refresh.refresh_token_auth,
        "USER_AUTH": user_auth.user_auth,
    }
    handler = handlers.get(auth_flow)
    if handler is None:
        return original("CognitoIdpBackend.initiate_auth")(self, client_id, auth_flow, auth_parameters)
    pool, client = pool_and_client(self, client_id)
    return handler(self, pool, client, dict(auth_parameters or {}))


def _user_password_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    username = required(params, "USERNAME")
    check_secret_hash(client, params.get("SECRET_HASH"), [username])
    user = backend.admin_get_user(pool.id, username)
    state = current()
    check_may_try_password(state, pool, user)
    if user.password != params.get("PASSWORD"):
        password_failed(state, pool, user)
    state.password_ok((pool.id, user.username))
    return after_password(backend, state, pool, client, user, params.get("DEVICE_KEY"))


def _user_srp_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    username = required(params, "USERNAME")
    srp_a = required(params, "SRP_A")
    check_secret_hash(client, params.get("SECRET_HASH"), [username])
    user = backend.admin_get_user(pool.id, username)
    if not user.enabled:
        raise not_authorized("User is disabled.")
    return start_password_verifier(backend, current(), pool, client, user, srp_a, params.get("DEVICE_KEY"))
