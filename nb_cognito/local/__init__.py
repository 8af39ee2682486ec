"""An offline Cognito for demos and tests: moto's server with its Cognito lies fixed.

>>> from nb_cognito.local import LocalCognito, demo_spec
>>> with LocalCognito(demo_spec()) as local:
...     nb_cognito.configure(**local.settings.as_config())

* :mod:`.spec` — what to provision (pool, client, users, identity pool, buckets);
* :mod:`.server` — :class:`LocalCognito`, the server, its settings and request log;
* :mod:`.users` / :mod:`.fault_switch` — ``local.users`` (add, disable, passwords, the codes a
  user receives) and ``local.faults`` (fault modes on and off);
* :mod:`.patches` — every fix to moto, one module per flow, :func:`~.patches.apply` the index;
* :mod:`.faults` — :class:`FaultProxy`, throttling / 5xx / dropped connections / delays;
* :mod:`.fault_modes` — :class:`FaultMode`, answers a real server could send that a client
  must survive, produced by the emulator itself;
* :mod:`.hosted_ui` / :mod:`.hosted_login` / :mod:`.federation` / :mod:`.oauth_wire` — the hosted
  UI (``/oauth2/*``, ``/login``, ``/logout``);
* :mod:`.oidc_idp` — :class:`LocalOidcIdp`, an external OIDC IdP to federate.

Fault modes (server misbehaviour, not transport faults). Turn one on for a block::

    with local.faults.mode(FaultMode.TOKENS_BAD_SIGNATURE):   # or "tokens_bad_signature"
        ...

or with ``local.faults.enable(mode)`` until ``local.faults.clear()`` (a ``reset`` also
clears them). The modes: ``ID_TOKEN_WRONG_AUDIENCE``, ``ID_TOKEN_WRONG_ISSUER``,
``ID_TOKEN_WRONG_TOKEN_USE`` (garbage ID tokens), ``TOKENS_BAD_SIGNATURE`` (JWTs whose signature
does not match), ``REFRESH_WITHOUT_ID_TOKEN`` / ``REFRESH_WITHOUT_ACCESS_TOKEN`` (a refresh
answer missing a token) and ``CREDENTIALS_WITHOUT_SESSION_TOKEN`` (partial AWS credentials).
To watch what the server does, ``local.subscribe(listener)`` gets each ``ServerEvent``
(``refresh_requested``, ``login_checked``, ``credentials_issued``).

Cognito features beyond moto, each a spec option (see :class:`PoolSpec`, :class:`UserSpec`):
``PoolSpec.issuer="updated"`` (the ``issuer-cognito-idp`` issuer), ``required_attributes``
(NEW_PASSWORD_REQUIRED's ``requiredAttributes``), ``mfa_types`` with ``"EMAIL"`` and
``UserSpec.email_mfa`` (EMAIL_OTP; codes readable with ``local.users.last_email_code(user)``, as SMS
codes with ``last_sms_code`` and TOTP codes with ``totp_code``), ``allowed_first_auth_factors``
(the ``USER_AUTH`` flow) and ``device_tracking`` (``"always"`` / ``"opt_in"``: NewDeviceMetadata,
ConfirmDevice, device SRP, refresh tokens bound to the device key).

As the service does (and moto does not), the JWKS and OpenID documents of a pool that does not
exist answer 404, and STS refuses a ``RoleSessionName`` outside its pattern.

Needs ``pip install 'nb-cognito[local]'`` (moto). Never imported by nb_cognito's runtime path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .examples import DEMO_BUCKET, DEMO_PASSWORD, DEMO_USERNAME, default_test_spec, demo_spec
from .fault_modes import FaultMode
from .spec import ClientSpec, IdentityPoolSpec, LocalSpec, PasswordPolicy, PoolSpec, UserSpec
from .state import ServerEvent

if TYPE_CHECKING:  # pragma: no cover
    from .faults import FaultProxy
    from .oidc_idp import IdpUser, LocalOidcIdp
    from .server import LocalCognito, LocalSettings

__all__ = [
    "DEMO_BUCKET",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "ClientSpec",
    "FaultMode",
    "FaultProxy",
    "IdentityPoolSpec",
    "IdpUser",
    "LocalCognito",
    "LocalOidcIdp",
    "LocalSettings",
    "LocalSpec",
    "PasswordPolicy",
    "PoolSpec",
    "ServerEvent",
    "UserSpec",
    "default_test_spec",
    "demo_spec",
]

_LAZY = {
    "LocalCognito": "server",
    "LocalSettings": "server",
    "FaultProxy": "faults",
    "LocalOidcIdp": "oidc_idp",
    "IdpUser": "oidc_idp",
}


def __getattr__(name: str) -> Any:
    """Load moto (through ``server``) only when the emulator itself is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
