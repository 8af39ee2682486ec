"""Device tracking: NewDeviceMetadata, ConfirmDevice, remembered devices, device SRP.

moto has no devices at all. A pool whose spec turns ``device_tracking`` on behaves as the
developer guide's "Working with user devices in your user pool" describes:

* a sign-in without a known ``DEVICE_KEY`` returns ``NewDeviceMetadata`` (``DeviceKey``
  ``<region>_<uuid>``, ``DeviceGroupKey``), and the refresh token is bound to that key: a
  refresh without it is ``NotAuthorizedException 'Invalid Refresh Token'`` (see :mod:`.refresh`);
* ``ConfirmDevice`` stores the device's SRP verifier and salt; ``"always"`` pools remember the
  device at once, ``"opt_in"`` pools after ``UpdateDeviceStatus(remembered)``;
* a sign-in with the ``DEVICE_KEY`` of a remembered device answers ``DEVICE_SRP_AUTH`` instead
  of MFA (when ``challenge_required_on_new_device``), and ``DEVICE_PASSWORD_VERIFIER`` checks
  the device's SRP signature (:func:`nb_cognito.local.srp.start_device_challenge`);
* ``ForgetDevice``, ``ListDevices`` and ``GetDevice`` work on the signed-in user's devices.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import uuid
from typing import Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult

from .. import srp
from ..state import Device, EmulatorState, current
from .common import all_idp_backends, claims, error, not_authorized
from .srp_challenge import srp_parameters, srp_started

__all__ = [
    "confirm_device",
    "for_sign_in",
    "forget_device",
    "get_device",
    "list_devices",
    "remembered",
    "start_device_srp",
    "update_device_status",
]


def _tracking(state: EmulatorState, pool: Any) -> str:
    return state.pool_spec(pool.id).device_tracking


def _device_of(state: EmulatorState, pool: Any, user: Any, device_key: str | None) -> Device | None:
    device = state.devices.get(device_key or "")
    if device is None or device.pool_id != pool.id or device.username != user.username:
        return None
    return device


def remembered(state: EmulatorState, pool: Any, user: Any, device_key: str | None) -> bool:
    """True when ``device_key`` is a remembered device of ``user`` that may stand in for MFA."""
    if _tracking(state, pool) == "off" or not state.pool_spec(pool.id).challenge_required_on_new_device:
        return False
    device = _device_of(state, pool, user, device_key)
    return device is not None and device.confirmed and device.remembered


def for_sign_in(
    state: EmulatorState, pool: Any, user: Any, device_key: str | None
) -> tuple[str | None, dict[str, str] | None]:
    """(device key the tokens are bound to, NewDeviceMetadata or None) for a finished sign-in."""
    if _tracking(state, pool) == "off":
        return None, None
    known = _device_of(state, pool, user, device_key)
    now = state.now()
    if known is not None:
        known.last_authenticated = now
        return known.key, None
    device = Device(
        key=f"{pool.region}_{uuid.uuid4()}",
        group_key=f"-{secrets.token_urlsafe(9)}",
        pool_id=pool.id,
        username=user.username,
        created=now,
        last_authenticated=now,
    )
    with state.lock:
        state.devices[device.key] = device
    return device.key, {"DeviceKey": device.key, "DeviceGroupKey": device.group_key}


# ---------------------------------------------------------------------------------------------
# DEVICE_SRP_AUTH (the answers are in :mod:`.respond`)


def start_device_srp(
    state: EmulatorState, pool: Any, user: Any, device_key: str, srp_a: str
) -> tuple[srp.SrpChallenge, dict[str, str]]:
    """The server's half of DEVICE_SRP_AUTH: (SRP state, DEVICE_PASSWORD_VERIFIER parameters)."""
    device = _device_of(state, pool, user, device_key)
    if device is None or not device.confirmed:
        raise error("ResourceNotFoundException", "Device does not exist.")
    started = srp_started(
        srp.start_device_challenge(srp_a, device.group_key, device.key, device.salt_hex, device.verifier)
    )
    parameters = srp_parameters(started, user.username, DEVICE_KEY=device.key)
    return started, parameters


# ---------------------------------------------------------------------------------------------
# The device API (access-token authorised)


def _signed_in_user(access_token: str) -> tuple[Any, Any, EmulatorState]:
    state = current()
    for backend in all_idp_backends():
        for pool in backend.user_pools.values():
            if access_token and access_token in pool.access_tokens:
                if state.now() >= float(claims(access_token).get("exp", 0)):
                    raise not_authorized("Access Token has expired")
                _, username = pool.access_tokens[access_token]
                return pool, pool._get_user(username), state
    raise not_authorized("Invalid Access Token")


def _device_for_call(response: CognitoIdpResponse) -> tuple[Device, EmulatorState, Any]:
    pool, user, state = _signed_in_user(response._get_param("AccessToken") or "")
    device = _device_of(state, pool, user, response._get_param("DeviceKey"))
    if device is None:
        raise error("ResourceNotFoundException", "Device does not exist.")
    return device, state, pool


def _b64_to_hex(value: str, name: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise idp.InvalidParameterException(f"DeviceSecretVerifierConfig.{name} is not base64") from None
    if not raw:
        raise idp.InvalidParameterException(f"DeviceSecretVerifierConfig.{name} is empty")
    return raw.hex()


def confirm_device(self: CognitoIdpResponse) -> ActionResult:
    """ConfirmDevice: keep the device's SRP verifier; "always" pools remember it at once."""
    device, state, pool = _device_for_call(self)
    config = self._get_param("DeviceSecretVerifierConfig") or {}
    verifier_hex = _b64_to_hex(config.get("PasswordVerifier") or "", "PasswordVerifier")
    salt_hex = _b64_to_hex(config.get("Salt") or "", "Salt")
    opt_in = _tracking(state, pool) == "opt_in"
    with state.lock:
        device.verifier = int(verifier_hex, 16)
        device.salt_hex = salt_hex
        device.name = self._get_param("DeviceName") or ""
        device.confirmed = True
        device.remembered = not opt_in
    return ActionResult({"UserConfirmationNecessary": opt_in})


def update_device_status(self: CognitoIdpResponse) -> ActionResult:
    """UpdateDeviceStatus: ``remembered`` or ``not_remembered``."""
    device, state, _ = _device_for_call(self)
    status = self._get_param("DeviceRememberedStatus")
    if status not in ("remembered", "not_remembered"):
        raise idp.InvalidParameterException("DeviceRememberedStatus must be remembered or not_remembered")
    if not device.confirmed:
        raise error("ResourceNotFoundException", "Device does not exist.")
    with state.lock:
        device.remembered = status == "remembered"
    return ActionResult({})


def forget_device(self: CognitoIdpResponse) -> ActionResult:
    """ForgetDevice: the device is gone; its key no longer skips MFA nor names a known device."""
    device, state, _ = _device_for_call(self)
    with state.lock:
        state.devices.pop(device.key, None)
    return ActionResult({})


def _stamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def _device_type(device: Device) -> dict[str, Any]:
    return {
        "DeviceKey": device.key,
        "DeviceAttributes": [
            {"Name": "device_name", "Value": device.name},
            {"Name": "device_status", "Value": "valid"},
            {
                "Name": "dev:device_remembered_status",
                "Value": "remembered" if device.remembered else "not_remembered",
            },
        ],
        "DeviceCreateDate": _stamp(device.created),
        "DeviceLastModifiedDate": _stamp(device.last_authenticated),
        "DeviceLastAuthenticatedDate": _stamp(device.last_authenticated),
    }


def get_device(self: CognitoIdpResponse) -> ActionResult:
    device, _, _ = _device_for_call(self)
    return ActionResult({"Device": _device_type(device)})


def list_devices(self: CognitoIdpResponse) -> ActionResult:
    """ListDevices: the signed-in user's confirmed devices."""
    pool, user, state = _signed_in_user(self._get_param("AccessToken") or "")
    with state.lock:
        mine = [
            d
            for d in state.devices.values()
            if d.pool_id == pool.id and d.username == user.username and d.confirmed
        ]
    return ActionResult({"Devices": [_device_type(d) for d in mine]})
