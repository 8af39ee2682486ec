"""``LocalCognito.users``: the emulator's pool users, as a test or demo administers them.

Adding, disabling, deleting and re-passwording users (the admin API, unlogged), and reading
what a real user would receive out of band: SMS and email codes, the TOTP secret and its code.

>>> local.users.disable("alice")
>>> session.confirm_sign_in(local.users.last_sms_code("frank"))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import patches
from .provision import AdminClients, Provisioned, add_user
from .spec import LocalSpec, UserSpec, check_user_against_pool
from .srp import totp_code
from .state import EmulatorState

__all__ = ["LocalUsers"]


class LocalUsers:
    """The users of one emulator's pool. ``spec``, ``ids`` and ``admin`` give the current
    spec, provisioned ids and admin clients (they change with ``LocalCognito.reset``)."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        spec: Callable[[], LocalSpec],
        ids: Callable[[], Provisioned],
        admin: Callable[[], AdminClients],
    ) -> None:
        self._state = state
        self._spec = spec
        self._ids = ids
        self._admin = admin

    def add(self, user: UserSpec) -> None:
        """Create one more user in the pool (until the next reset)."""
        check_user_against_pool(user, self._spec().pool)
        ids = self._ids()
        add_user(self._admin(), self._state, ids.user_pool_id, ids.client_id, ids.client_secret, user)

    def username_of(self, username: str) -> str:
        """The name Cognito knows a user by (the ``sub`` in pools that sign in with email)."""
        user = patches.find_user(self._ids().user_pool_id, username)
        if user is None:
            raise KeyError(f"no user {username!r} in the local pool")
        return str(user.username)

    # -- what the user receives out of band -----------------------------------------------------

    def last_sms_code(self, username: str) -> str:
        """The last SMS MFA code sent to ``username``; LookupError if none was sent."""
        key = (self._ids().user_pool_id, self.username_of(username))
        with self._state.lock:
            codes = self._state.sms_outbox.get(key)
            if not codes:
                raise LookupError(f"no SMS was sent to {username!r}")
            return codes[-1]

    def last_email_code(self, username: str) -> str:
        """The last email code (EMAIL_OTP) sent to ``username``; LookupError if none was sent."""
        key = (self._ids().user_pool_id, self.username_of(username))
        with self._state.lock:
            codes = self._state.email_outbox.get(key)
            if not codes:
                raise LookupError(f"no email code was sent to {username!r}")
            return codes[-1]

    def totp_secret(self, username: str) -> str | None:
        """The user's active TOTP secret (or the one being set up), or None."""
        key = (self._ids().user_pool_id, self.username_of(username))
        with self._state.lock:
            return self._state.totp_secrets.get(key) or self._state.pending_totp.get(key)

    def totp_code(self, username: str, at: float | None = None) -> str:
        """The user's current TOTP code at the emulator clock (or at epoch second ``at``)."""
        secret = self.totp_secret(username)
        if secret is None:
            raise LookupError(f"{username!r} has no TOTP secret")
        return totp_code(secret, self._state.now() if at is None else at)

    def refresh_token_revoked(self, refresh_token: str) -> bool:
        """True if the pool issued ``refresh_token`` and it was revoked since."""
        return patches.refresh_token_revoked(self._ids().user_pool_id, refresh_token)

    # -- the admin API --------------------------------------------------------------------------

    def global_sign_out(self, username: str) -> None:
        """AdminUserGlobalSignOut: revoke every refresh token of the user."""
        self._call("admin_user_global_sign_out", username)

    def disable(self, username: str) -> None:
        """AdminDisableUser."""
        self._call("admin_disable_user", username)

    def enable(self, username: str) -> None:
        """AdminEnableUser."""
        self._call("admin_enable_user", username)

    def delete(self, username: str) -> None:
        """AdminDeleteUser."""
        self._call("admin_delete_user", username)

    def reset_password(self, username: str) -> None:
        """AdminResetUserPassword: the user must reset the password (RESET_REQUIRED)."""
        self._call("admin_reset_user_password", username)

    def set_password(self, username: str, password: str, *, permanent: bool = True) -> None:
        """AdminSetUserPassword; ``permanent=False`` makes it temporary (NEW_PASSWORD_REQUIRED)."""
        self._call("admin_set_user_password", username, Password=password, Permanent=permanent)

    def _call(self, method: str, username: str, **kwargs: Any) -> None:
        pool_id = self._ids().user_pool_id
        getattr(self._admin()["cognito-idp"], method)(UserPoolId=pool_id, Username=username, **kwargs)

    def __repr__(self) -> str:
        return "LocalUsers()"
