"""The session's side of device tracking: which device a sign-in names, and Amplify's
``rememberDevice`` / ``forgetDevice``.

A mixin of :class:`~nb_cognito.auth.session.CognitoSession`, as the refresh engine is. The
devices this kernel has confirmed are kept per (user pool, app client, user) for the kernel's
life, as Amplify keeps them in local storage: a sign-out keeps them (a later password sign-in
from this kernel then skips MFA on a remembered device); :meth:`forget_device` drops one. Across
kernels a device travels with the remembered session (``remember=True``), never elsewhere.
The Cognito calls and the SRP proof are in :mod:`nb_cognito.auth.devices`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from nb_cognito.auth.base import SessionCore
from nb_cognito.auth.devices import set_remembered
from nb_cognito.auth.state import SignedIn
from nb_cognito.exceptions import AuthError, SignedOutError
from nb_cognito.models import TrackedDevice

__all__ = ["DeviceTracking"]

log = logging.getLogger("nb_cognito")


class DeviceTracking(SessionCore):
    """Remembered devices for the session: one per (pool, client, user) known to this kernel."""

    def _device_key(self, username: str) -> tuple[str, str, str]:
        settings = self.settings
        return (settings.user_pool_id or "", settings.client_id or "", username)

    def _known_device(self, username: str | None) -> TrackedDevice | None:
        """The device a sign-in as ``username`` (the Cognito username or the alias) names."""
        if not username:
            return None
        device = self._devices.get(self._device_key(username))
        return device if device is not None and device.can_prove else None

    def _keep_device(self, device: TrackedDevice | None, *names: str | None) -> None:
        if device is None:
            return
        with self._lock:
            for name in {n for n in names if n}:
                self._devices[self._device_key(name)] = device

    def _set_device(self, state: SignedIn, device: TrackedDevice) -> SignedIn:
        """Swap the state's device, keep it for later sign-ins, and store it with the session."""
        new_state = replace(state, device=device)
        with self._lock:
            if self._state is not state:
                raise SignedOutError("The session ended while the device was being updated.")
            self._state = new_state
            self._invalidate()
        self._keep_device(device, state.user.username, state.login_name)
        self._notify("persist", self._saved("device", new_state))
        return new_state

    def _signed_in_device(self) -> tuple[SignedIn, TrackedDevice]:
        state = self._state
        if not isinstance(state, SignedIn):
            raise SignedOutError("Nobody is signed in.")
        if state.device is None:
            raise AuthError(
                "This session has no tracked device: the user pool does not track devices, "
                "or this device was forgotten.",
                recovery_suggestion="Turn on device tracking in the user pool's sign-in settings.",
            )
        return state, state.device

    @property
    def device(self) -> TrackedDevice | None:
        """The device this session's refresh token is bound to (None: the pool tracks none)."""
        state = self._state
        return state.device if isinstance(state, SignedIn) else None

    def remember_device(self) -> None:
        """Amplify's ``rememberDevice``: later sign-ins from this device skip MFA.

        For user pools whose device remembering is "User opt-in" (``UpdateDeviceStatus``);
        on "Always" pools the device is remembered at sign-in. The ``remember_device`` setting
        does this at every sign-in.
        """
        state, device = self._signed_in_device()
        if not device.can_prove:
            raise AuthError(
                "This device was not confirmed with Cognito (or was forgotten), so it cannot be remembered.",
                recovery_suggestion="Sign out and sign in again to register the device.",
            )
        self._service_clients.userpool.update_device_status(
            state.tokens.access_token, device.key, remembered=True
        )
        self._set_device(state, replace(device, remembered=True))

    def forget_device(self) -> None:
        """Amplify's ``forgetDevice``: Cognito forgets this device; the next sign-in asks for MFA.

        The session stays signed in (its refresh token still names the device key, which keeps
        renewing it); the device's password is dropped here and from the remembered session.
        """
        state, device = self._signed_in_device()
        if device.can_prove:
            self._service_clients.userpool.forget_device(state.tokens.access_token, device.key)
        forgotten = TrackedDevice(device.key, device.group_key)
        with self._lock:
            for key, known in list(self._devices.items()):
                if known.key == device.key:
                    del self._devices[key]
        self._set_device(state, forgotten)
        with self._lock:  # _set_device kept it under the user's name: a forgotten device is not named again
            for key, known in list(self._devices.items()):
                if known.key == device.key:
                    del self._devices[key]

    def _opt_in_device(self, state: SignedIn) -> SignedIn:
        """``remember_device`` on: remember a device that is not yet remembered (opt-in pools)."""
        device = state.device
        if device is None or device.remembered or not device.can_prove or not self.settings.remember_device:
            return state
        if set_remembered(self._service_clients.userpool, state.tokens.access_token, device.key, True):
            return replace(state, device=replace(device, remembered=True))
        return state
