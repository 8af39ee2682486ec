"""The checks of one setting's value beyond its kind: the shape of AWS ids, URLs and ARNs.

Each check takes ``(name, value, source)``, with ``value`` already of the right kind (a stripped,
non-empty string), and returns it (normalised) or raises the error of
:func:`~nb_cognito.settings.errors.bad`. A mistyped id fails here, at configuration time, naming
where it came from, instead of as an obscure error from Cognito at sign-in.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nb_cognito.settings.errors import bad

__all__ = [
    "AUTH_FLOWS",
    "FIRST_FACTORS",
    "check_auth_flow",
    "check_client_id",
    "check_endpoint_url",
    "check_identity_pool_id",
    "check_preferred_challenge",
    "check_region",
    "check_role_arn",
    "check_user_pool_id",
    "pool_region",
]

#: The sign-in flows nb_cognito implements.
AUTH_FLOWS: tuple[str, ...] = ("USER_SRP_AUTH", "USER_PASSWORD_AUTH", "USER_AUTH")
#: The first factors the ``USER_AUTH`` flow can be asked to start with (``preferred_challenge``).
FIRST_FACTORS: tuple[str, ...] = ("PASSWORD_SRP", "PASSWORD", "EMAIL_OTP", "SMS_OTP")

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_REGION_RE = re.compile(rf"^{_REGION}$")
# Cognito's own pattern for a user pool id is ``[\w-]+_[0-9a-zA-Z]+``: the prefix is the pool's
# primary region on AWS, and something else on emulators (cognito-local's ``local_AbC123``).
_USER_POOL_RE = re.compile(r"^([A-Za-z0-9-]{1,50})_[0-9A-Za-z]+$", re.ASCII)
_IDENTITY_POOL_RE = re.compile(
    rf"^({_REGION}):[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}$"
)
_CLIENT_ID_RE = re.compile(r"^[\w+]{1,128}$", re.ASCII)
_ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)


def check_region(name: str, value: str, source: str) -> str:
    if not _REGION_RE.match(value):
        raise bad(name, source, f"{value!r} is not an AWS region, like 'us-east-1'.")
    return value


def check_user_pool_id(name: str, value: str, source: str) -> str:
    if not _USER_POOL_RE.match(value):
        raise bad(
            name,
            source,
            f"{value!r} is not a user pool id: expected '<prefix>_<id>', like 'us-east-1_AbC123' "
            "(the prefix is the pool's region on AWS, e.g. 'local' on cognito-local).",
        )
    return value


def check_client_id(name: str, value: str, source: str) -> str:
    if not _CLIENT_ID_RE.match(value):
        raise bad(
            name,
            source,
            f"{value!r} is not an app client id: expected 1 to 128 letters, digits, '_' or '+'.",
        )
    return value


def check_identity_pool_id(name: str, value: str, source: str) -> str:
    if not _IDENTITY_POOL_RE.match(value):
        raise bad(
            name,
            source,
            f"{value!r} is not an identity pool id: expected '<region>:<uuid>', like "
            "'us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d'.",
        )
    return value


def check_endpoint_url(name: str, value: str, source: str) -> str:
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise bad(name, source, f"{value!r} is not an http(s) URL, like 'http://127.0.0.1:9229'.")
    return value


def check_auth_flow(name: str, value: str, source: str) -> str:
    value = value.upper()
    if value not in AUTH_FLOWS:
        raise bad(name, source, f"{value!r} is not one of {', '.join(AUTH_FLOWS)}.")
    return value


def check_preferred_challenge(name: str, value: str, source: str) -> str:
    value = value.upper()
    if value == "WEB_AUTHN":
        raise bad(name, source, "WEB_AUTHN (passkeys) needs a browser; nb_cognito cannot answer it.")
    if value not in FIRST_FACTORS:
        raise bad(name, source, f"{value!r} is not one of {', '.join(FIRST_FACTORS)}.")
    return value


def check_role_arn(name: str, value: str, source: str) -> str:
    if not _ROLE_ARN_RE.match(value):
        raise bad(
            name, source, f"{value!r} is not an IAM role ARN, like 'arn:aws:iam::123456789012:role/Name'."
        )
    return value


def pool_region(user_pool_id: str | None) -> str | None:
    """The region a user pool id starts with (``us-east-1_AbC123`` -> ``us-east-1``).

    None when the id is not valid or its prefix is not an AWS region (``local_AbC123``): then
    the ``region`` setting must say where the pool is.
    """
    if user_pool_id is None:
        return None
    match = _USER_POOL_RE.match(user_pool_id)
    return match.group(1) if match and _REGION_RE.match(match.group(1)) else None
