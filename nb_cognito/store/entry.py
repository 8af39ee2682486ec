"""A remembered session and how it is written down (a versioned JSON object)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb_cognito.settings.config import Settings

_VERSION = 1
_LATEST_PLAUSIBLE = 1e11  # seconds since 1970: the year 5138


@dataclass(frozen=True, repr=False)
class RememberedEntry:
    """A remembered session. ``repr``/``str`` never show the refresh token nor the device password.

    ``device_*`` is the tracked device the refresh token is bound to (device tracking): its key
    and group key, and the device password that proves it with device SRP (None: unconfirmed).
    """

    user_pool_id: str
    client_id: str
    username: str  # the username Cognito knows (``cognito:username``)
    login_name: str | None  # what was typed to sign in, when it was an alias
    user_id: str | None
    region: str | None
    endpoint_url: str | None
    identity_pool_id: str | None
    identity_id: str | None
    saved_at: float
    location: str = field(compare=False)
    refresh_token: str = field(repr=False, compare=False)
    device_key: str | None = None
    device_group_key: str | None = None
    device_password: str | None = field(default=None, repr=False, compare=False)
    device_remembered: bool = False

    def __repr__(self) -> str:
        return (
            f"<RememberedEntry {self.username!r} pool={self.user_pool_id!r} "
            f"client={self.client_id!r} in {self.location}>"
        )

    __str__ = __repr__

    def matches(self, settings: Settings, username: str | None = None) -> bool:
        """True if this entry may be used with ``settings`` (and ``username``, if given)."""
        same_place = (
            self.user_pool_id == settings.user_pool_id
            and self.client_id == settings.client_id
            and self.region == settings.region
            and self.endpoint_url == settings.endpoint_url
        )
        return same_place and (username is None or username in (self.username, self.login_name))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "user_pool_id": self.user_pool_id,
            "client_id": self.client_id,
            "username": self.username,
            "login_name": self.login_name,
            "user_id": self.user_id,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "identity_pool_id": self.identity_pool_id,
            "identity_id": self.identity_id,
            "saved_at": self.saved_at,
            "refresh_token": self.refresh_token,
            "device_key": self.device_key,
            "device_group_key": self.device_group_key,
            "device_password": self.device_password,
            "device_remembered": self.device_remembered,
        }

    @classmethod
    def from_json(cls, data: Any, location: str) -> RememberedEntry | None:
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return None
        required = ("user_pool_id", "client_id", "username", "refresh_token")
        optional = (
            "login_name",
            "user_id",
            "region",
            "endpoint_url",
            "identity_pool_id",
            "identity_id",
            "device_key",
            "device_group_key",
            "device_password",
        )
        if not all(isinstance(data.get(name), str) and data[name] for name in required):
            return None
        if not all(data.get(name) is None or isinstance(data[name], str) for name in optional):
            return None
        saved_at = data.get("saved_at")
        # Checked above: the required fields are non-empty strings, the optional ones str or None.
        fields: dict[str, Any] = {name: data[name] for name in required}
        fields.update({name: data.get(name) for name in optional})
        if not (fields["device_key"] and fields["device_group_key"]):
            fields.update(device_key=None, device_group_key=None, device_password=None)
        return cls(
            **fields,
            saved_at=_timestamp(saved_at),
            location=location,
            device_remembered=data.get("device_remembered") is True,
        )

    @property
    def key(self) -> str:
        return entry_key(self.user_pool_id, self.client_id, self.username)


def _timestamp(value: Any) -> float:
    """``saved_at`` as written, or 0.0 ("unknown") when it is not a plausible time.

    A hand-edited or hostile file may hold ``10**400`` (``float()`` overflows), ``1e400``
    (infinity: it would win every "newest" comparison), ``NaN`` (breaks ``max``) or a bool.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    try:
        number = float(value)
    except OverflowError:
        return 0.0
    return number if math.isfinite(number) and 0.0 <= number < _LATEST_PLAUSIBLE else 0.0


def entry_key(user_pool_id: str, client_id: str, username: str) -> str:
    """The key of a user's entry: one per (user pool, app client, Cognito username)."""
    return f"{user_pool_id}/{client_id}/{username}"
