"""Device tracking, as Amplify does it: confirm a new device, prove a remembered one.

When the user pool tracks devices, a finished sign-in carries ``NewDeviceMetadata`` (a device
key and group key) and the refresh token is bound to that key: a refresh without
``DEVICE_KEY`` is refused ("Invalid Refresh Token"). So the session keeps a
:class:`TrackedDevice` beside its tokens and sends the key with every refresh.

* :func:`confirm_new_device` calls ``ConfirmDevice`` with an SRP verifier of a random device
  password (pycognito's ``generate_hash_device``), and on a "User opt-in" pool
  (``UserConfirmationNecessary``) remembers the device with ``UpdateDeviceStatus`` when the
  user opted in (the ``remember_device`` setting, or ``session.remember_device()``).
* :func:`prove_device` answers ``DEVICE_SRP_AUTH`` / ``DEVICE_PASSWORD_VERIFIER``, which
  Cognito asks instead of MFA when a sign-in names a remembered device.

The device password is a secret: it never appears in a repr and is registered with
:data:`nb_cognito.redaction.known_secrets`. It is kept only where the refresh token is kept
(the remembered-session store: keyring or a 0600 file), never in settings.

https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html
"""

from __future__ import annotations

import logging
import platform
from typing import TYPE_CHECKING

from nb_cognito.exceptions import AuthError, UnsupportedChallengeError
from nb_cognito.models import TrackedDevice
from nb_cognito.redaction import known_secrets

if TYPE_CHECKING:
    from nb_cognito.auth.userpool_calls import AuthTokens, Challenge, UserPoolClient

__all__ = ["TrackedDevice", "confirm_new_device", "prove_device"]

log = logging.getLogger("nb_cognito")


def confirm_new_device(client: UserPoolClient, tokens: AuthTokens, *, remember: bool) -> TrackedDevice | None:
    """ConfirmDevice for the ``NewDeviceMetadata`` in ``tokens`` (None when there is none).

    A failure is logged and leaves an unconfirmed device: its key still renews the session.
    """
    if tokens.new_device is None:
        return None
    from pycognito.aws_srp import generate_hash_device  # the SRP maths load only when needed

    key, group_key = tokens.new_device
    password, verifier = generate_hash_device(group_key, key)
    known_secrets.add(password)
    try:
        needs_opt_in = client.confirm_device(
            tokens.access_token, key, verifier, device_name=f"nb_cognito on {platform.node() or 'Jupyter'}"
        )
    except AuthError as error:
        log.warning(
            "Cognito issued a device key but ConfirmDevice failed; the session keeps working, "
            "but this device will not skip MFA: %s",
            error,
        )
        return TrackedDevice(key, group_key)
    remembered = not needs_opt_in
    if needs_opt_in and remember:
        remembered = set_remembered(client, tokens.access_token, key, True)
    return TrackedDevice(key, group_key, password, remembered)


def set_remembered(client: UserPoolClient, access_token: str, key: str, remembered: bool) -> bool:
    """UpdateDeviceStatus; returns the status now in force (unchanged on a logged failure)."""
    try:
        client.update_device_status(access_token, key, remembered=remembered)
    except AuthError as error:
        log.warning("Could not update the device's remembered status: %s", error)
        return not remembered
    return remembered


def prove_device(
    client: UserPoolClient, challenge: Challenge, device: TrackedDevice | None
) -> AuthTokens | Challenge:
    """Answer DEVICE_SRP_AUTH and then DEVICE_PASSWORD_VERIFIER with the device's SRP proof."""
    if device is None or not device.can_prove or device.password is None:
        raise UnsupportedChallengeError(
            "Cognito asked this device to prove itself (DEVICE_SRP_AUTH), but nb_cognito holds "
            "no device password for it.",
            recovery_suggestion="Sign out with %cognito_logout --forget-device and sign in again.",
        )
    return client.device_srp(challenge, device.key, device.group_key, device.password)
