"""The resolved, validated settings: :class:`Settings`, each value with its source, the region
derived from the pool ids, the endpoints each service's calls go to, and the errors that say
what a sign-in still needs. Where the values come from (and which source wins) is
:mod:`nb_cognito.settings.config`'s job; :class:`Settings` is also importable from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nb_cognito.exceptions import ConfigurationError
from nb_cognito.settings.checks import pool_region
from nb_cognito.settings.errors import DEFAULT, NOT_SET
from nb_cognito.settings.table import (
    DEFAULTS,
    REQUIRED_SETTINGS,
    SETTINGS,
    SETTINGS_BY_NAME,
    SIGN_IN_SETTINGS,
)
from nb_cognito.settings.view import SettingsDescription

__all__ = ["Settings"]


@dataclass(frozen=True, repr=False)
class Settings:
    """The resolved, validated settings. ``sources[name]`` says where each value came from.

    Built by :meth:`CognitoConfig.resolve`; can also be built directly (tests), in which case
    the same checks run. ``region`` is derived from the user pool id (or, failing that, the
    identity pool id) when not set.

    The fields are written out (not generated) so that type checkers know them; a test holds
    their names, order, types and defaults to the settings table.
    """

    region: str | None = None
    user_pool_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    identity_pool_id: str | None = None
    endpoint_url: str | None = None
    cognito_idp_endpoint_url: str | None = None
    cognito_identity_endpoint_url: str | None = None
    sts_endpoint_url: str | None = None
    auth_flow: str = "USER_SRP_AUTH"
    preferred_challenge: str | None = None
    role_arn: str | None = None
    allow_guest: bool = False
    inject_boto3: bool | str = True
    subprocess_credentials: bool = True
    credentials_max_age: float | None = None
    export_env: bool = False
    dask_clusters: str | None = None
    remember: bool = False
    remember_device: bool = False
    amplify_config: str | None = None
    network_timeout: float = 10.0
    oauth_domain: str | None = None
    oauth_scopes: str | None = None
    redirect_uri: str | None = None
    identity_provider: str | None = None
    hub_sign_in: bool | str = "auto"
    hub_client_id: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        sources = dict(self.sources)
        for setting in SETTINGS:
            name = setting.name
            value = getattr(self, name)
            if value is None:
                sources[name] = NOT_SET
                continue
            source = sources.get(name)
            if source is None or source == NOT_SET:
                is_default = name in DEFAULTS and value == DEFAULTS[name]
                source = DEFAULT if is_default else "Settings()"
                sources[name] = source
            object.__setattr__(self, name, setting.validate(value, source))

        user_pool_region = pool_region(self.user_pool_id)
        if self.region is None and user_pool_region is not None:
            object.__setattr__(self, "region", user_pool_region)
            sources["region"] = f"derived from user_pool_id ({sources['user_pool_id']})"
        elif self.region is None and self.identity_pool_region is not None:
            object.__setattr__(self, "region", self.identity_pool_region)
            sources["region"] = f"derived from identity_pool_id ({sources['identity_pool_id']})"
        # A region set explicitly wins over the pool id's prefix: it is how a Multi-Region
        # replica of the pool is reached (the prefix stays the pool's primary region).
        # An identity pool in another region than the user pool is allowed: it only has to
        # trust the user pool as a provider.
        object.__setattr__(self, "sources", MappingProxyType(sources))

    @property
    def primary_region(self) -> str | None:
        """The pool's primary region: its id's prefix when that is a region, else ``region``.

        The ``UPDATED`` issuer names it (``issuer-cognito-idp.<primary region>``), whichever
        replica the calls go to.
        """
        return pool_region(self.user_pool_id) or self.region

    @property
    def cognito_idp_endpoint(self) -> str | None:
        """Where user-pool calls (and the JWKS) go: the per-service setting, else ``endpoint_url``."""
        return self.cognito_idp_endpoint_url or self.endpoint_url

    @property
    def cognito_identity_endpoint(self) -> str | None:
        """Where identity-pool calls go: the per-service setting, else ``endpoint_url``."""
        return self.cognito_identity_endpoint_url or self.endpoint_url

    @property
    def sts_endpoint(self) -> str | None:
        """Where STS calls go: the per-service setting, else ``endpoint_url``."""
        return self.sts_endpoint_url or self.endpoint_url

    def endpoint_setting(self) -> str:
        """The setting (and its source) that says where user-pool calls go, for errors."""
        if self.cognito_idp_endpoint_url is not None:
            name = "cognito_idp_endpoint_url"
        elif self.endpoint_url is not None:
            name = "endpoint_url"
        else:
            return "the public AWS endpoint (no endpoint_url is set)"
        return f"{name} {getattr(self, name)!r} from {self.sources[name]}"

    def describe_setting(self, name: str) -> str:
        """``name 'value' from <source>``, for errors that blame a setting."""
        return f"{name} {SETTINGS_BY_NAME[name].display(getattr(self, name))} from {self.sources[name]}"

    @property
    def identity_pool_region(self) -> str | None:
        """The identity pool's region (the prefix of its id), which may differ from ``region``."""
        if self.identity_pool_id is None:
            return None
        return self.identity_pool_id.split(":", 1)[0]

    def require_sign_in_settings(self) -> Settings:
        """Return ``self`` if a user can sign in with these settings; else say what to set."""
        missing = [name for name in REQUIRED_SETTINGS if getattr(self, name) is None]
        if not missing and self.region is None:
            raise ConfigurationError(
                f"Signing in needs region: user_pool_id {self.user_pool_id!r} from "
                f"{self.sources['user_pool_id']} does not start with an AWS region.",
                recovery_suggestion=(
                    "Set region, e.g. nb_cognito.configure(region='us-east-1') or NB_COGNITO_REGION "
                    "(an emulator accepts any region)."
                ),
            )
        if missing:
            raise ConfigurationError(
                f"Signing in needs {' and '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not set.",
                recovery_suggestion=(
                    "Set them with nb_cognito.configure(user_pool_id=..., client_id=...), "
                    "%cognito_login --user-pool-id ... --client-id ..., the environment "
                    "variables NB_COGNITO_USER_POOL_ID and NB_COGNITO_CLIENT_ID, "
                    "c.CognitoConfig.user_pool_id and c.CognitoConfig.client_id in "
                    "ipython_config.py, or an Amplify outputs file "
                    "(configure(amplify_config=...) or NB_COGNITO_AMPLIFY_CONFIG). No pool yet? "
                    "`%cognito_login --local` signs in to an offline Cognito on this machine."
                ),
            )
        return self

    def sign_in_key(self) -> tuple[Any, ...]:
        """The values that say which pool, client and credentials: when they change while
        signed in, the old tokens belong elsewhere (the table's sign-in-relevant settings)."""
        return tuple(getattr(self, name) for name in SIGN_IN_SETTINGS)

    @property
    def needs_password(self) -> bool:
        """Whether signing in with these settings needs a password.

        Only the ``USER_AUTH`` flow can do without: with no ``preferred_challenge`` (Cognito
        offers a choice) or a one-time code as the preferred first factor.
        """
        if self.auth_flow != "USER_AUTH":
            return True
        return self.preferred_challenge in ("PASSWORD", "PASSWORD_SRP")

    def describe(self) -> SettingsDescription:
        """One line per setting: value and source, as text (a ``str``) that IPython shows as a
        table. Safe to print (the secret shows as <set>)."""
        return SettingsDescription(
            [
                (setting.name, setting.display(getattr(self, setting.name)), self.sources[setting.name])
                for setting in SETTINGS
            ]
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{s.name}={s.display(getattr(self, s.name))}" for s in SETTINGS)
        return f"Settings({fields})"
