"""Every change nb_cognito.local makes to moto, one module per flow; :func:`apply` is the index.

moto is the base of the offline Cognito, but it lies in ways that would let our tests pass
against behaviour real Cognito never has (the README's "Known limits" lists what is left). :func:`apply`
installs the fixes, once, on moto's classes. Each module's docstring names the lies it fixes:

* :mod:`.tokens` — ``CognitoIdpUserPool.create_jwt`` / ``create_refresh_token`` and the
  access-token calls: validity, clock, ``auth_time``, ID-token attributes, the pool's issuer;
  ``moto.cognitoidp.models.jwk`` imports moto's RSA key once (speed, not fidelity);
* :mod:`.initiate` — ``CognitoIdpBackend.initiate_auth``: USER_PASSWORD_AUTH, real SRP, lockout;
* :mod:`.user_auth` — the choice-based ``USER_AUTH`` flow (SELECT_CHALLENGE, one-time codes);
* :mod:`.respond` — ``CognitoIdpBackend.respond_to_auth_challenge``: every answer checked;
* :mod:`.steps` — the state machine after a first factor (shared by the three above);
* :mod:`.totp` — ``associate_software_token`` / ``verify_software_token``: real secrets and codes;
* :mod:`.mfa` — ``EmailMfaSettings`` in (Admin)SetUserMFAPreference, EMAIL_OTP in GetUser;
* :mod:`.devices` — device tracking: NewDeviceMetadata, ConfirmDevice, device SRP, the device API;
* :mod:`.refresh` — REFRESH_TOKEN_AUTH, ``GetTokensFromRefreshToken`` (rotation), ``RevokeToken``;
* :mod:`.identity` — ``GetId`` / ``GetCredentialsForIdentity``: verified logins, stable ids;
* :mod:`.sts` — ``AssumeRoleWithWebIdentity``'s expiry on the emulator clock;
* :mod:`.common` — errors, moto's originals and lookups, shared by all of them.
"""

from __future__ import annotations

import re
import threading

import moto

SUPPORTED_MOTO = ((5, 1), (5, 3))


def version_tuple(text: str) -> tuple[int, int]:
    """(major, minor) of a version string; (0, 0) when it has no two numbers."""
    parts = re.findall(r"\d+", text)[:2]
    return (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, 0)


if not SUPPORTED_MOTO[0] <= version_tuple(moto.__version__) < SUPPORTED_MOTO[1]:
    raise ImportError(
        f"nb_cognito.local patches moto's Cognito internals and supports moto >=5.1,<5.3; "
        f"moto {moto.__version__} is installed. Install the tested range: "
        f"pip install 'nb-cognito[local]'."
    )

from moto.cognitoidentity.responses import CognitoIdentityResponse  # noqa: E402
from moto.cognitoidp import models as idp  # noqa: E402
from moto.cognitoidp.responses import CognitoIdpResponse  # noqa: E402
from moto.sts import models as sts_models  # noqa: E402

from . import devices, identity, initiate, mfa, refresh, respond, sts, tokens, totp  # noqa: E402
from .common import ORIGINAL, find_user, replace  # noqa: E402
from .refresh import refresh_token_revoked  # noqa: E402
from .totp import set_user_totp  # noqa: E402

__all__ = ["SUPPORTED_MOTO", "apply", "find_user", "refresh_token_revoked", "set_user_totp", "version_tuple"]

_APPLY_LOCK = threading.Lock()
_ACCESS_TOKEN_CALLS = (
    "get_user",
    "global_sign_out",
    "change_password",
    "update_user_attributes",
    "set_user_mfa_preference",
)


def apply() -> None:
    """Install every patch (idempotent, thread-safe)."""
    with _APPLY_LOCK:
        if ORIGINAL:
            return
        pool, backend = idp.CognitoIdpUserPool, idp.CognitoIdpBackend
        ORIGINAL["cognitoidp.models.jwk"] = idp.jwk
        # A duck-typed stand-in for the joserfc.jwk module that moto imported.
        idp.jwk = tokens.JwkWithCachedImport(idp.jwk)  # type: ignore[assignment]
        replace(pool, "create_jwt", tokens.create_jwt)
        replace(pool, "create_refresh_token", tokens.create_refresh_token)
        for name in _ACCESS_TOKEN_CALLS:
            replace(backend, name, tokens.rejecting_expired_access_token(getattr(backend, name)))
        replace(backend, "initiate_auth", initiate.initiate_auth)
        replace(backend, "respond_to_auth_challenge", respond.respond_to_auth_challenge)
        replace(backend, "associate_software_token", totp.associate_software_token)
        replace(backend, "verify_software_token", totp.verify_software_token)
        replace(CognitoIdpResponse, "get_tokens_from_refresh_token", refresh.get_tokens_from_refresh_token)
        replace(CognitoIdpResponse, "revoke_token", refresh.revoke_token)
        replace(CognitoIdpResponse, "set_user_mfa_preference", mfa.set_user_mfa_preference)
        replace(CognitoIdpResponse, "admin_set_user_mfa_preference", mfa.admin_set_user_mfa_preference)
        replace(idp.CognitoIdpUser, "to_json", mfa.user_to_json)
        for action in (
            "confirm_device",
            "update_device_status",
            "forget_device",
            "get_device",
            "list_devices",
        ):
            replace(CognitoIdpResponse, action, getattr(devices, action))
        replace(CognitoIdentityResponse, "get_id", identity.get_id)
        replace(
            CognitoIdentityResponse, "get_credentials_for_identity", identity.get_credentials_for_identity
        )
        replace(sts_models.STSBackend, "assume_role_with_web_identity", sts.assume_role_with_web_identity)
