"""MFA preferences with email: SetUserMFAPreference / AdminSetUserMFAPreference, GetUser's list.

moto knows only SMS and TOTP preferences: ``EmailMfaSettings`` was dropped, and GetUser's
``UserMFASettingList`` never named email. Here ``EmailMfaSettings`` turns EMAIL_OTP MFA on or
off for a user of a pool whose spec allows ``"EMAIL"`` (the user needs an ``email``), and can
make it the preferred kind, as the API reference of SetUserMFAPreference describes.
"""

from __future__ import annotations

from typing import Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult

from ..state import current
from .common import all_idp_backends, original

__all__ = ["admin_set_user_mfa_preference", "set_user_mfa_preference", "user_to_json"]


def _set_email(user: Any, settings: dict[str, Any] | None) -> None:
    if not settings:
        return
    state = current()
    key = (user.user_pool_id, user.username)
    if "EMAIL" not in state.pool_spec(user.user_pool_id).mfa_types:
        raise idp.InvalidParameterException("Email MFA is not enabled for this user pool.")
    if settings.get("Enabled") and not user.attribute_lookup.get("email"):
        raise idp.InvalidParameterException("The user has no email address for email MFA.")
    with state.lock:
        if settings.get("Enabled"):
            state.email_mfa.add(key)
        else:
            state.email_mfa.discard(key)
    if settings.get("PreferredMfa"):
        user.preferred_mfa_setting = "EMAIL_OTP"
    elif user.preferred_mfa_setting == "EMAIL_OTP":
        user.preferred_mfa_setting = ""


def _user_of_access_token(access_token: str) -> Any:
    for backend in all_idp_backends():
        for pool in backend.user_pools.values():
            if access_token in pool.access_tokens:
                return pool._get_user(pool.access_tokens[access_token][1])
    return None


def set_user_mfa_preference(self: CognitoIdpResponse) -> ActionResult:
    """SetUserMFAPreference: moto's SMS/TOTP handling, plus ``EmailMfaSettings``."""
    answer = original("CognitoIdpResponse.set_user_mfa_preference")(self)
    user = _user_of_access_token(self._get_param("AccessToken") or "")
    if user is not None:
        _set_email(user, self._get_param("EmailMfaSettings"))
    return answer


def admin_set_user_mfa_preference(self: CognitoIdpResponse) -> ActionResult:
    """AdminSetUserMFAPreference: moto's SMS/TOTP handling, plus ``EmailMfaSettings``."""
    answer = original("CognitoIdpResponse.admin_set_user_mfa_preference")(self)
    user = self.backend.admin_get_user(self._get_param("UserPoolId"), self._get_param("Username"))
    _set_email(user, self._get_param("EmailMfaSettings"))
    return answer


def user_to_json(self: idp.CognitoIdpUser, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``CognitoIdpUser.to_json``: ``UserMFASettingList`` names EMAIL_OTP when it is on."""
    as_json: dict[str, Any] = original("CognitoIdpUser.to_json")(self, *args, **kwargs)
    settings = as_json.get("UserMFASettingList")
    if settings is not None and (self.user_pool_id, self.username) in current().email_mfa:
        settings.append("EMAIL_OTP")
    return as_json
