"""An offline Cognito for demos and tests: moto's server with its Cognito lies fixed.

>>> from nb_cognito.local import LocalCognito, demo_spec
>>> with LocalCognito(demo_spec()) as local:
...     nb_cognito.configure(**local.settings.as_config())

* :mod:`.spec` — what to provision (pool, client, users, identity pool, buckets);
* :mod:`.server` — :class:`LocalCognito`, the server and its test helpers;
* :mod:`.patches` — every fix to moto, in one place;
* :mod:`.faults` — :class:`FaultProxy`, throttling / 5xx / dropped connections / delays;
* :mod:`.hosted_ui` / :mod:`.federation` — the hosted UI (``/oauth2/*``, ``/login``, ``/logout``);
* :mod:`.oidc_idp` — :class:`LocalOidcIdp`, an external OIDC IdP to federate.

Needs ``pip install 'nb-cognito[local]'`` (moto). Never imported by nb_cognito's runtime path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .spec import (
    DEMO_BUCKET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    ClientSpec,
    IdentityPoolSpec,
    LocalSpec,
    PasswordPolicy,
    PoolSpec,
    UserSpec,
    default_test_spec,
    demo_spec,
)

if TYPE_CHECKING:  # pragma: no cover
    from .faults import FaultProxy
    from .oidc_idp import IdpUser, LocalOidcIdp
    from .server import LocalCognito, LocalSettings

__all__ = [
    "DEMO_BUCKET",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "ClientSpec",
    "FaultProxy",
    "IdentityPoolSpec",
    "IdpUser",
    "LocalCognito",
    "LocalOidcIdp",
    "LocalSettings",
    "LocalSpec",
    "PasswordPolicy",
    "PoolSpec",
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
