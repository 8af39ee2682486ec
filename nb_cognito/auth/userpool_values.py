"""What crosses the wire to the user pool: the answers (tokens, a challenge) and the checks
on what a user typed before it is sent.

Kept apart from :mod:`nb_cognito.auth.userpool_calls` (which makes the calls) so that the values
can be shared (the challenge protocol, device tracking, the session) without the client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from nb_cognito.exceptions import InvalidParameterError, TokenValidationError
from nb_cognito.secret import Secret

__all__ = ["PASSWORD_FACTORS", "AuthTokens", "Challenge", "check_text", "secret_hash", "srp_answer"]

#: The USER_AUTH first factors that take the password.
PASSWORD_FACTORS = ("PASSWORD_SRP", "PASSWORD")

_MAX_FIELD = 2048  # far above any real username/password/code; stops megabyte inputs early


@dataclass(frozen=True)
class AuthTokens:
    """An ``AuthenticationResult``. ``refresh_token`` is None when Cognito did not send one.

    ``new_device`` is ``NewDeviceMetadata`` as (device key, device group key), when the user
    pool tracks devices and this sign-in came from a device it does not know.
    """

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int
    new_device: tuple[str, str] | None = None


@dataclass(frozen=True)
class Challenge:
    """A challenge Cognito wants answered before it hands out tokens."""

    name: str
    session: str | None = field(repr=False)
    parameters: dict[str, str] = field(repr=False)
    username: str  # the username Cognito knows (USERNAME / USER_ID_FOR_SRP), not the alias typed
    #: SELECT_CHALLENGE's ``AvailableChallenges`` (a field of the answer, not a parameter).
    available_challenges: tuple[str, ...] = ()


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """Cognito's SECRET_HASH: Base64(HMAC-SHA256(secret, username + client_id))."""
    digest = hmac.new(
        client_secret.encode("utf-8"), (username + client_id).encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def check_text(name: str, value: object, *, allow_empty: bool = False) -> Any:
    """Refuse values Cognito cannot take, with a message that never repeats them.

    ``value`` may be a :class:`~nb_cognito.secret.Secret`: it is looked at in a helper whose
    frame has returned before anything is raised, so no traceback shows it in plain text.
    """
    if isinstance(value, Secret):
        problem = _text_problem(value.reveal(), allow_empty)
    elif isinstance(value, str):
        problem = _text_problem(value, allow_empty)
    else:
        problem = f"must be text, not {type(value).__name__}"
    if problem is not None:
        raise InvalidParameterError(f"The {name} {problem}.")
    return value


def _text_problem(value: str, allow_empty: bool) -> str | None:
    if not value and not allow_empty:
        return "is empty"
    if len(value) > _MAX_FIELD:
        return f"is too long ({len(value)} characters)"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains control characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def srp_answer(srp: Any, response: dict, auth_params: dict) -> dict:
    """pycognito's answer to PASSWORD_VERIFIER. Its frames hold the password: an error in
    them (a malformed challenge) is replaced by one whose traceback stops here."""
    problem: str | None = None
    try:
        return srp.process_challenge(response["ChallengeParameters"], auth_params)
    except Exception as error:
        problem = type(error).__name__
    raise TokenValidationError(
        f"Cognito sent a PASSWORD_VERIFIER challenge that cannot be answered ({problem})."
    )
