"""Cognito's sign-in exchanges read and answered, with no call of their own.

What an InitiateAuth or RespondToAuthChallenge answer means (the tokens, or the next
challenge), and the SRP helper (pycognito's ``AWSSRP``) that makes the proofs for a user or a
device. :mod:`nb_cognito.auth.userpool_calls` makes the calls around them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nb_cognito.auth.userpool_values import AuthTokens, Challenge
from nb_cognito.exceptions import NotAuthorizedError, TokenValidationError
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.models import TrackedDevice
    from nb_cognito.settings.config import Settings

__all__ = ["read_outcome", "srp_helper"]


def srp_helper(
    settings: Settings,
    client: Any,
    username: str,
    password: str,
    device: TrackedDevice | None = None,
    *,
    device_key: str | None = None,
    device_group_key: str | None = None,
    device_password: str | None = None,
) -> Any:
    """pycognito's ``AWSSRP`` for ``username`` (it holds the password; its repr does not show it).

    ``device`` (or its three parts, for a device proving itself with its own password and an
    empty ``password``) makes the proof carry the device's key.
    """
    from pycognito.aws_srp import AWSSRP  # the SRP maths load only when someone signs in

    if device is not None:
        device_key, device_group_key, device_password = device.key, device.group_key, device.password
    return AWSSRP(
        username=username,
        password=password,
        pool_id=settings.user_pool_id,
        client_id=settings.client_id,
        client=client,
        client_secret=settings.client_secret or None,
        **(
            {
                "device_key": device_key,
                "device_group_key": device_group_key,
                "device_password": device_password,
            }
            if device_key is not None
            else {}
        ),
    )


def read_outcome(response: dict, username: str) -> AuthTokens | Challenge:
    """The tokens in ``response`` (their secrets made known to the redaction), or its challenge."""
    result = response.get("AuthenticationResult")
    if result:
        id_token, access_token = result.get("IdToken"), result.get("AccessToken")
        if not all(isinstance(token, str) and token for token in (id_token, access_token)):
            raise TokenValidationError("Cognito answered without an ID or access token.")
        metadata = result.get("NewDeviceMetadata") or {}
        key, group = metadata.get("DeviceKey"), metadata.get("DeviceGroupKey")
        tokens = AuthTokens(
            id_token=id_token,
            access_token=access_token,
            refresh_token=result.get("RefreshToken"),
            expires_in=int(result.get("ExpiresIn", 3600)),
            new_device=(key, group) if isinstance(key, str) and isinstance(group, str) and key else None,
        )
        known_secrets.add(tokens.id_token, tokens.access_token, tokens.refresh_token)
        return tokens
    name = response.get("ChallengeName")
    if not name:
        raise NotAuthorizedError("Cognito answered with neither tokens nor a challenge.")
    parameters = dict(response.get("ChallengeParameters") or {})
    return Challenge(
        name=name,
        session=response.get("Session"),
        parameters=parameters,
        username=parameters.get("USERNAME") or parameters.get("USER_ID_FOR_SRP") or username,
        available_challenges=tuple(str(c) for c in response.get("AvailableChallenges") or ()),
    )
