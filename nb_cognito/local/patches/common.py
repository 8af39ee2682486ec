"""What every patch module needs: AWS-shaped errors, moto's originals, and lookups in moto's models.

The flow modules (:mod:`.tokens`, :mod:`.initiate`, :mod:`.respond`, ...) share these helpers
so that each error is spelled once (code and message as Cognito sends them) and every lookup
of a pool, client or user goes through the same functions.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.utils import check_secret_hash as _moto_check_secret_hash
from moto.core.exceptions import JsonRESTError

__all__ = [
    "LOCKED_OUT",
    "ORIGINAL",
    "WRONG_PASSWORD",
    "UserStatus",
    "all_idp_backends",
    "check_client_secret",
    "check_secret_hash",
    "claims",
    "client_anywhere",
    "error",
    "find_pool",
    "find_user",
    "not_authorized",
    "original",
    "pool_and_client",
    "replace",
    "required",
]

UserStatus = idp.UserStatus
#: The replaced moto functions (and joserfc.jwk), by "Owner.name"; filled by :func:`replace`.
ORIGINAL: dict[str, Any] = {}

WRONG_PASSWORD = "Incorrect username or password."
LOCKED_OUT = "Password attempts exceeded"


def error(code: str, message: str) -> JsonRESTError:
    """An AWS JSON error: HTTP 400 with ``__type`` = ``code``."""
    return JsonRESTError(code, message)


def not_authorized(message: str) -> JsonRESTError:
    return error("NotAuthorizedException", message)


def replace(owner: type, name: str, function: Callable[..., Any]) -> None:
    """Put ``function`` in place of ``owner.name``, keeping the original in :data:`ORIGINAL`."""
    ORIGINAL[f"{owner.__name__}.{name}"] = getattr(owner, name, None)
    setattr(owner, name, function)


def original(key: str) -> Any:
    """moto's own function that :func:`replace` replaced, e.g. ``"CognitoIdpBackend.initiate_auth"``."""
    return ORIGINAL[key]


# ---------------------------------------------------------------------------------------------
# Lookups in moto's process-wide models


def all_idp_backends() -> list[idp.CognitoIdpBackend]:
    return [
        backend
        for per_account in idp.cognitoidp_backends.values()
        for region, backend in per_account.items()
        if region != "global"
    ]


def find_pool(pool_id: str) -> idp.CognitoIdpUserPool | None:
    for backend in all_idp_backends():
        if pool_id in backend.user_pools:
            return backend.user_pools[pool_id]
    return None


def find_user(pool_id: str, username: str) -> idp.CognitoIdpUser | None:
    """The moto user ``username`` (or an alias of it) in pool ``pool_id``, or None."""
    pool = find_pool(pool_id)
    return None if pool is None else pool._get_user(username)


def pool_and_client(
    backend: idp.CognitoIdpBackend, client_id: str
) -> tuple[idp.CognitoIdpUserPool, idp.CognitoIdpUserPoolClient]:
    """The pool of ``backend`` that holds app client ``client_id``, and the client."""
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    raise idp.ResourceNotFoundError(client_id)


def client_anywhere(client_id: str) -> tuple[Any, Any]:
    """Like :func:`pool_and_client`, across every region (for moto's response-level actions)."""
    for backend in all_idp_backends():
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                return pool, pool.clients[client_id]
    raise idp.ResourceNotFoundError(client_id)


# ---------------------------------------------------------------------------------------------
# Parameters, tokens and client secrets


def claims(token: str) -> dict[str, Any]:
    """The payload of one of moto's own JWTs, unverified (the server issued it)."""
    try:
        payload = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def required(parameters: dict[str, str], name: str) -> str:
    value = parameters.get(name)
    if not value:
        raise idp.InvalidParameterException(f"Missing required parameter {name}")
    return value


def check_secret_hash(client: Any, given: str | None, usernames: list[str]) -> None:
    """NotAuthorized unless ``given`` is the SECRET_HASH of one of ``usernames`` (secret clients)."""
    if not client.generate_secret:
        return
    if not any(name and _moto_check_secret_hash(client.secret, client.id, name, given) for name in usernames):
        raise not_authorized(f"Unable to verify secret hash for client {client.id}")


def check_client_secret(client: Any, given: str | None) -> None:
    """NotAuthorized unless ``given`` is the client's secret (for actions that take ClientSecret)."""
    if client.generate_secret and not secrets.compare_digest(client.secret, given or ""):
        raise not_authorized(
            f"Client {client.id} is configured with secret but secret was not received or is invalid"
        )
