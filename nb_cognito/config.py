"""Where nb_cognito's settings come from, and the validated :class:`Settings` built from them.

Four sources, highest first:

1. ``nb_cognito.configure(...)``, which calls :meth:`CognitoConfig.update` (or
   :meth:`CognitoConfig.merge_from` when given a whole :class:`CognitoConfig`);
2. IPython config, e.g. in ``ipython_config.py``::

       c.CognitoConfig.user_pool_id = "us-east-1_AbC123"
       c.CognitoConfig.client_id = "1example23456789"

   (also ``%config CognitoConfig.region = "us-east-1"`` once the extension is loaded);
3. the environment: ``NB_COGNITO_<SETTING>``, e.g. ``NB_COGNITO_USER_POOL_ID``;
4. an Amplify outputs file named by the ``amplify_config`` setting or
   ``NB_COGNITO_AMPLIFY_CONFIG``: Gen 2 ``amplify_outputs.json``, Gen 1
   ``amplifyconfiguration.json`` or ``aws-exports`` (JSON, or the generated ``.js``).

``None`` at any level means "not set here": the next source down decides. Every value in
:class:`Settings` remembers its source, and every error names the setting, the source and
what to change. The client secret never appears in a repr, str or error message.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from types import EllipsisType, MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from traitlets import Bool, Float, Unicode
from traitlets import Union as UnionTrait
from traitlets.config import Configurable

from nb_cognito.auth.oauth_settings import OAUTH_SETTINGS, amplify_oauth, check_oauth_setting
from nb_cognito.exceptions import ConfigurationError

__all__ = ["AUTH_FLOWS", "SETTING_NAMES", "CognitoConfig", "Settings", "env_var"]

#: Every setting, in the order they are shown.
SETTING_NAMES: tuple[str, ...] = (
    "region",
    "user_pool_id",
    "client_id",
    "client_secret",
    "identity_pool_id",
    "endpoint_url",
    "auth_flow",
    "role_arn",
    "allow_guest",
    "inject_boto3",
    "subprocess_credentials",
    "export_env",
    "remember",
    "amplify_config",
    "network_timeout",
    *OAUTH_SETTINGS,  # the hosted UI (nb_cognito.auth.oauth_settings)
)

#: The sign-in flows nb_cognito implements.
AUTH_FLOWS: tuple[str, ...] = ("USER_SRP_AUTH", "USER_PASSWORD_AUTH")

_DEFAULTS: dict[str, Any] = {
    "auth_flow": "USER_SRP_AUTH",
    "allow_guest": False,
    "inject_boto3": True,
    "subprocess_credentials": False,
    "export_env": False,
    "remember": False,
    "network_timeout": 10.0,
}
_STRING_SETTINGS = frozenset(
    {
        "region",
        "user_pool_id",
        "client_id",
        "client_secret",
        "identity_pool_id",
        "endpoint_url",
        "auth_flow",
        "role_arn",
        "amplify_config",
        *OAUTH_SETTINGS,
    }
)
_BOOL_SETTINGS = frozenset({"allow_guest", "subprocess_credentials", "export_env", "remember"})

_CONFIGURE = "configure()"
_DEFAULT = "default"
_NOT_SET = "not set"
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_REGION_RE = re.compile(rf"^{_REGION}$")
_USER_POOL_RE = re.compile(rf"^({_REGION})_[0-9A-Za-z]+$")
_IDENTITY_POOL_RE = re.compile(
    rf"^({_REGION}):[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}$"
)
_CLIENT_ID_RE = re.compile(r"^[\w+]{1,128}$", re.ASCII)
_ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)


def env_var(name: str) -> str:
    """The environment variable for a setting: ``region`` -> ``NB_COGNITO_REGION``."""
    return f"NB_COGNITO_{name.upper()}"


# ---------------------------------------------------------------------------
# Checking one value


def _fix_hint(name: str, source: str) -> str:
    """What to do about a bad value, depending on where it came from."""
    if source.startswith(_CONFIGURE):
        return f"Pass a valid value with nb_cognito.configure({name}=...), or {name}=None to unset it."
    if source.startswith("IPython config"):
        return f"Fix c.CognitoConfig.{name} in ipython_config.py (or run %config CognitoConfig.{name} = ...)."
    if source.startswith("environment"):
        return f"Fix or unset the environment variable {env_var(name)}."
    if source.startswith("Amplify file"):
        return (
            f"Regenerate the Amplify outputs file, or override {name} with nb_cognito.configure({name}=...)."
        )
    return f"Set {name} to a valid value."


def _bad(name: str, source: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"{name} from {source} {problem}", recovery_suggestion=_fix_hint(name, source))


def _check(name: str, value: Any, source: str) -> Any:
    """Return ``value`` normalised, or raise :class:`ConfigurationError` naming ``source``.

    Checks one setting on its own; :class:`Settings` also checks the settings against each other.
    """
    if name in _STRING_SETTINGS:
        if name == "amplify_config" and isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise _bad(name, source, f"must be a string, not {type(value).__name__}.")
        value = value.strip()
        if not value:
            raise _bad(name, source, "is empty.")
    elif name in _BOOL_SETTINGS:
        if not isinstance(value, bool):
            raise _bad(name, source, f"must be True or False, not {type(value).__name__}.")
        return value
    elif name == "inject_boto3":
        if isinstance(value, str) and value.strip().lower() == "always":
            return "always"
        if not isinstance(value, bool):
            raise _bad(name, source, f"must be True, False or 'always', not {value!r}.")
        return value
    elif name == "network_timeout":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(name, source, f"must be a number of seconds, not {type(value).__name__}.")
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise _bad(name, source, f"must be a positive number of seconds, not {value!r}.")
        return value
    else:  # pragma: no cover - SETTING_NAMES and the checks above cover every name
        raise AssertionError(name)

    if name == "client_secret":
        return value  # any non-empty string; never shown
    if name in OAUTH_SETTINGS:
        return check_oauth_setting(name, value, lambda problem: _bad(name, source, problem))
    if name == "region" and not _REGION_RE.match(value):
        raise _bad(name, source, f"{value!r} is not an AWS region, like 'us-east-1'.")
    if name == "user_pool_id" and not _USER_POOL_RE.match(value):
        raise _bad(
            name,
            source,
            f"{value!r} is not a user pool id: expected '<region>_<id>', like 'us-east-1_AbC123'.",
        )
    if name == "client_id" and not _CLIENT_ID_RE.match(value):
        raise _bad(
            name,
            source,
            f"{value!r} is not an app client id: expected 1 to 128 letters, digits, '_' or '+'.",
        )
    if name == "identity_pool_id" and not _IDENTITY_POOL_RE.match(value):
        raise _bad(
            name,
            source,
            f"{value!r} is not an identity pool id: expected '<region>:<uuid>', like "
            "'us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d'.",
        )
    if name == "endpoint_url":
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            ok = False
        if not ok or any(c.isspace() for c in value):
            raise _bad(
                name,
                source,
                f"{value!r} is not an http(s) URL, like 'http://127.0.0.1:9229'.",
            )
    if name == "auth_flow":
        value = value.upper()
        if value not in AUTH_FLOWS:
            raise _bad(name, source, f"{value!r} is not one of {', '.join(AUTH_FLOWS)}.")
    if name == "role_arn" and not _ROLE_ARN_RE.match(value):
        raise _bad(
            name,
            source,
            f"{value!r} is not an IAM role ARN, like 'arn:aws:iam::123456789012:role/Name'.",
        )
    return value


# ---------------------------------------------------------------------------
# Settings


@dataclass(frozen=True, repr=False)
class Settings:
    """The resolved, validated settings. ``sources[name]`` says where each value came from.

    Built by :meth:`CognitoConfig.resolve`; can also be built directly (tests), in which case
    the same checks run. ``region`` is derived from the user pool id (or, failing that, the
    identity pool id) when not set.
    """

    region: str | None = None
    user_pool_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    identity_pool_id: str | None = None
    endpoint_url: str | None = None
    auth_flow: str = "USER_SRP_AUTH"
    role_arn: str | None = None
    allow_guest: bool = False
    inject_boto3: bool | str = True
    subprocess_credentials: bool = False
    export_env: bool = False
    remember: bool = False
    amplify_config: str | None = None
    network_timeout: float = 10.0
    oauth_domain: str | None = None
    oauth_scopes: str | None = None
    redirect_uri: str | None = None
    identity_provider: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        sources = dict(self.sources)
        for name in SETTING_NAMES:
            value = getattr(self, name)
            if value is None:
                sources[name] = _NOT_SET
                continue
            source = sources.get(name)
            if source is None or source == _NOT_SET:
                is_default = name in _DEFAULTS and value == _DEFAULTS[name]
                source = _DEFAULT if is_default else "Settings()"
                sources[name] = source
            object.__setattr__(self, name, _check(name, value, source))

        pool_region = _pool_region(self.user_pool_id)
        if self.region is None and pool_region is not None:
            object.__setattr__(self, "region", pool_region)
            sources["region"] = f"derived from user_pool_id ({sources['user_pool_id']})"
        elif self.region is None and self.identity_pool_region is not None:
            object.__setattr__(self, "region", self.identity_pool_region)
            sources["region"] = f"derived from identity_pool_id ({sources['identity_pool_id']})"
        elif pool_region is not None and self.region != pool_region:
            raise ConfigurationError(
                f"region {self.region!r} from {sources['region']} disagrees with user_pool_id "
                f"{self.user_pool_id!r} from {sources['user_pool_id']}: a user pool lives in "
                "the region its id starts with.",
                recovery_suggestion=(
                    "Unset region (it is derived from user_pool_id) or correct whichever is wrong."
                ),
            )
        # An identity pool in another region than the user pool is allowed: it only has to
        # trust the user pool as a provider.
        object.__setattr__(self, "sources", MappingProxyType(sources))

    @property
    def identity_pool_region(self) -> str | None:
        """The identity pool's region (the prefix of its id), which may differ from ``region``."""
        if self.identity_pool_id is None:
            return None
        return self.identity_pool_id.split(":", 1)[0]

    def require_sign_in_settings(self) -> Settings:
        """Return ``self`` if a user can sign in with these settings; else say what to set."""
        missing = [name for name in ("user_pool_id", "client_id") if getattr(self, name) is None]
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
                    "(configure(amplify_config=...) or NB_COGNITO_AMPLIFY_CONFIG)."
                ),
            )
        return self

    def describe(self) -> str:
        """One line per setting: value and source. Safe to print (the secret shows as <set>)."""
        return "\n".join(
            f"{name:<23} {_display(name, getattr(self, name)):<32} {self.sources[name]}"
            for name in SETTING_NAMES
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={_display(name, getattr(self, name))}" for name in SETTING_NAMES)
        return f"Settings({fields})"


def _display(name: str, value: Any) -> str:
    if name == "client_secret" and value is not None:
        return "<set>"
    return repr(value)


def _pool_region(user_pool_id: str | None) -> str | None:
    if user_pool_id is None:
        return None
    match = _USER_POOL_RE.match(user_pool_id)
    return match.group(1) if match else None


# ---------------------------------------------------------------------------
# The environment


def _from_env(name: str, environ: Mapping[str, str]) -> tuple[Any, str] | None:
    var = env_var(name)
    raw = environ.get(var)
    if raw is None or not raw.strip():
        return None
    source = f"environment ({var})"
    text = raw.strip()
    lowered = text.lower()
    if name in _BOOL_SETTINGS or name == "inject_boto3":
        if lowered in _TRUE:
            return True, source
        if lowered in _FALSE:
            return False, source
        if name == "inject_boto3" and lowered == "always":
            return "always", source
        choices = "1/0, true/false, yes/no" + (" or always" if name == "inject_boto3" else "")
        raise _bad(name, source, f"is {text!r}; use {choices}.")
    if name == "network_timeout":
        try:
            return float(text), source
        except ValueError:
            raise _bad(name, source, f"is {text!r}, not a number of seconds.") from None
    return text, source


# ---------------------------------------------------------------------------
# Amplify outputs files

_GEN2_KEYS = {
    "aws_region": "region",
    "user_pool_id": "user_pool_id",
    "user_pool_client_id": "client_id",
    "identity_pool_id": "identity_pool_id",
    "unauthenticated_identities_enabled": "allow_guest",
}
_AWS_EXPORTS_KEYS = {
    "aws_user_pools_id": "user_pool_id",
    "aws_user_pools_web_client_id": "client_id",
    "aws_cognito_identity_pool_id": "identity_pool_id",
    "aws_cognito_region": "region",
}
_GEN1_PLUGIN = ("auth", "plugins", "awsCognitoAuthPlugin")


class _AmplifyFile:
    """Reads one Amplify file into ``{setting: (value, source)}``; errors never quote content."""

    def __init__(self, given: str, setting_source: str) -> None:
        self.given = given
        self.path = os.path.abspath(os.path.expanduser(given))
        self.setting_source = setting_source

    def fail(self, problem: str) -> ConfigurationError:
        shown = repr(self.given)
        if self.path != self.given:
            shown += f" ({self.path})"
        return ConfigurationError(
            f"The Amplify file {shown}, named by amplify_config from {self.setting_source}, {problem}.",
            recovery_suggestion=(
                "Point amplify_config (or NB_COGNITO_AMPLIFY_CONFIG) at the amplify_outputs.json, "
                "amplifyconfiguration.json or aws-exports file your Amplify project generated."
            ),
        )

    def read(self) -> dict[str, tuple[Any, str]]:
        data = self._load()
        oauth = amplify_oauth(data, lambda where: f"Amplify file {self.path} ({where})")
        return {**oauth, **self._read(data)}

    def _read(self, data: dict[str, Any]) -> dict[str, tuple[Any, str]]:
        auth = data.get("auth")
        if isinstance(auth, dict) and "plugins" in auth:
            return self._gen1(data)
        if isinstance(auth, dict) and any(key in auth for key in _GEN2_KEYS):
            return self._mapped(auth, "auth.", _GEN2_KEYS)
        if any(key in data for key in (*_AWS_EXPORTS_KEYS, "aws_project_region")):
            return self._aws_exports(data)
        if "version" in data and "auth" not in data:
            raise self.fail("has no 'auth' section: add Auth to the Amplify backend")
        raise self.fail(
            "is not in a recognised format (amplify_outputs.json, amplifyconfiguration.json or aws-exports)"
        )

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as file:
                text = file.read()
        except FileNotFoundError:
            raise self.fail("does not exist") from None
        except IsADirectoryError:
            raise self.fail("is a directory, not a file") from None
        except PermissionError:
            raise self.fail("cannot be read: permission denied") from None
        except UnicodeDecodeError:
            raise self.fail("is not UTF-8 text") from None
        except OSError as error:
            raise self.fail(f"cannot be read ({error.strerror or type(error).__name__})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            data = _object_in_javascript(text)
            if data is None:
                problem = f"{error.msg} at line {error.lineno}, column {error.colno}"
                raise self.fail(f"is not valid JSON ({problem})") from None
        if not isinstance(data, dict):
            raise self.fail(f"holds a JSON {type(data).__name__}, not an object")
        return data

    def _value(self, section: Mapping[str, Any], key: str, where: str, name: str) -> Any:
        value = section.get(key)
        if value is None or value == "":
            return None
        wanted: type = bool if name == "allow_guest" else str
        if not isinstance(value, wanted):
            raise self.fail(f"has a {type(value).__name__} at {where}{key}, expected a {wanted.__name__}")
        return value

    def _mapped(
        self, section: Mapping[str, Any], where: str, keys: Mapping[str, str]
    ) -> dict[str, tuple[Any, str]]:
        found = {}
        for key, name in keys.items():
            value = self._value(section, key, where, name)
            if value is not None:
                found[name] = (value, f"Amplify file {self.path} ({where}{key})")
        return found

    def _aws_exports(self, data: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
        found = self._mapped(data, "", _AWS_EXPORTS_KEYS)
        if "region" not in found and "user_pool_id" not in found:
            # The project region is only a guess at the Cognito region; a pool id is better.
            found.update(self._mapped(data, "", {"aws_project_region": "region"}))
        return found

    def _gen1(self, data: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
        plugin: Any = data
        for key in _GEN1_PLUGIN:
            plugin = plugin.get(key) if isinstance(plugin, dict) else None
        if not isinstance(plugin, dict):
            raise self.fail("has no auth.plugins.awsCognitoAuthPlugin section")
        base = ".".join(_GEN1_PLUGIN)
        pool = self._section(plugin, ("CognitoUserPool", "Default"), base)
        identity = self._section(plugin, ("CredentialsProvider", "CognitoIdentity", "Default"), base)
        auth = self._section(plugin, ("Auth", "Default"), base)
        pool_keys = {
            "PoolId": "user_pool_id",
            "AppClientId": "client_id",
            "AppClientSecret": "client_secret",
            "Region": "region",
        }
        found = self._mapped(pool, f"{base}.CognitoUserPool.Default.", pool_keys)
        identity_where = f"{base}.CredentialsProvider.CognitoIdentity.Default."
        found.update(self._mapped(identity, identity_where, {"PoolId": "identity_pool_id"}))
        if "region" not in found and "user_pool_id" not in found:
            found.update(self._mapped(identity, identity_where, {"Region": "region"}))
        flow = self._value(auth, "authenticationFlowType", f"{base}.Auth.Default.", "auth_flow")
        if isinstance(flow, str) and flow.upper() in AUTH_FLOWS:  # CUSTOM_AUTH etc.: not ours
            found["auth_flow"] = (
                flow,
                f"Amplify file {self.path} ({base}.Auth.Default.authenticationFlowType)",
            )
        return found

    def _section(self, root: Mapping[str, Any], keys: tuple[str, ...], base: str) -> dict:
        section: Any = root
        for depth, key in enumerate(keys):
            section = section.get(key, {})
            if not isinstance(section, dict):
                where = ".".join((base, *keys[: depth + 1]))
                raise self.fail(f"has a {type(section).__name__} at {where}, expected an object")
        return section


def _object_in_javascript(text: str) -> dict[str, Any] | None:
    """The object literal of a generated ``aws-exports.js`` (``const awsmobile = {...}``)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start or "awsmobile" not in text[:start]:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


# ---------------------------------------------------------------------------
# CognitoConfig


def _help(text: str, name: str) -> str:
    return f"{text} Environment variable: {env_var(name)}."


class CognitoConfig(Configurable):
    """nb_cognito's settings, as a traitlets Configurable: ``c.CognitoConfig.<setting> = ...``.

    Its traits hold the IPython-config level (values set in ``ipython_config.py``, by
    ``%config``, or by assigning the attribute). :meth:`update` holds the ``configure()``
    level above it; the environment and the Amplify file are read by :meth:`resolve`, below.
    Create it with ``parent=shell`` so that ``%config`` reaches it.
    """

    region = Unicode(
        None,
        allow_none=True,
        help=_help("AWS region of the user pool. Derived from user_pool_id when not set.", "region"),
    ).tag(config=True)
    user_pool_id = Unicode(
        None,
        allow_none=True,
        help=_help("Cognito user pool id, like 'us-east-1_AbC123'.", "user_pool_id"),
    ).tag(config=True)
    client_id = Unicode(None, allow_none=True, help=_help("The user pool's app client id.", "client_id")).tag(
        config=True
    )
    client_secret = Unicode(
        None,
        allow_none=True,
        help=_help("App client secret, only for app clients created with one.", "client_secret"),
    ).tag(config=True)
    identity_pool_id = Unicode(
        None,
        allow_none=True,
        help=_help(
            "Cognito identity pool id ('<region>:<uuid>') that turns sign-ins into AWS credentials.",
            "identity_pool_id",
        ),
    ).tag(config=True)
    endpoint_url = Unicode(
        None,
        allow_none=True,
        help=_help(
            "One http(s) URL for both Cognito services (user pools and identity), for the local "
            "emulator or a private endpoint. Default: the public AWS endpoints.",
            "endpoint_url",
        ),
    ).tag(config=True)
    auth_flow = Unicode(
        "USER_SRP_AUTH",
        allow_none=True,
        help=_help(
            "Sign-in flow: USER_SRP_AUTH (the password never leaves the kernel) or USER_PASSWORD_AUTH.",
            "auth_flow",
        ),
    ).tag(config=True)
    role_arn = Unicode(
        None,
        allow_none=True,
        help=_help(
            "IAM role to assume with the ID token (STS AssumeRoleWithWebIdentity), "
            "instead of an identity pool.",
            "role_arn",
        ),
    ).tag(config=True)
    allow_guest = Bool(
        False,
        allow_none=True,
        help=_help("Use the identity pool's guest credentials when nobody is signed in.", "allow_guest"),
    ).tag(config=True)
    inject_boto3 = UnionTrait(
        [Bool(), Unicode()],
        default_value=True,
        allow_none=True,
        help=_help(
            "Add the Cognito credentials to boto3's default chain: True (after any credentials "
            "already configured), 'always' (before them) or False.",
            "inject_boto3",
        ),
    ).tag(config=True)
    subprocess_credentials = Bool(
        False,
        allow_none=True,
        help=_help(
            "Serve the credentials to subprocesses (!aws ...) from a loopback endpoint.",
            "subprocess_credentials",
        ),
    ).tag(config=True)
    export_env = Bool(
        False,
        allow_none=True,
        help=_help("Also export the credentials as AWS_* environment variables.", "export_env"),
    ).tag(config=True)
    remember = Bool(
        False,
        allow_none=True,
        help=_help("Remember the session (refresh token) across kernel restarts.", "remember"),
    ).tag(config=True)
    amplify_config = Unicode(
        None,
        allow_none=True,
        help=_help(
            "Path of an Amplify outputs file (amplify_outputs.json, amplifyconfiguration.json "
            "or aws-exports) to read the lowest-priority settings from.",
            "amplify_config",
        ),
    ).tag(config=True)
    network_timeout = Float(
        10.0,
        allow_none=True,
        help=_help("Seconds to wait for Cognito to connect or answer.", "network_timeout"),
    ).tag(config=True)

    oauth_domain = Unicode(
        None, allow_none=True, help=_help("The user pool's domain, for the hosted UI.", "oauth_domain")
    ).tag(config=True)
    oauth_scopes = Unicode(
        None, allow_none=True, help=_help("OAuth scopes the hosted UI sign-in asks for.", "oauth_scopes")
    ).tag(config=True)
    redirect_uri = Unicode(
        None,
        allow_none=True,
        help=_help("Callback URL of the hosted UI sign-in, as registered on the app client.", "redirect_uri"),
    ).tag(config=True)
    identity_provider = Unicode(
        None,
        allow_none=True,
        help=_help("Identity provider name(s) of the pool for sign_in_with_redirect().", "identity_provider"),
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        self._assigned: set[str] = set()
        self._overrides: dict[str, tuple[Any, str]] = {}
        super().__init__(**kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in SETTING_NAMES:
            # A trait holding its default is "not set here"; one assigned (even to its default,
            # by config, a keyword or code) is set. traitlets itself only notices changes.
            self.__dict__.setdefault("_assigned", set()).add(name)

    # -- the configure() level ------------------------------------------------------------

    def update(self, clear: EllipsisType | None = ..., /, **settings: Any) -> None:
        """Set values at the ``configure()`` level; ``name=None`` unsets one there.

        ``update(None)`` first clears the whole ``configure()`` level. Unknown names and bad
        values raise :class:`ConfigurationError` and change nothing.
        """
        if clear is not ... and clear is not None:
            raise ConfigurationError(
                "update() takes settings as keyword arguments, or None to clear them.",
                recovery_suggestion="Call it as update(user_pool_id=..., client_id=...).",
            )
        unknown = sorted(set(settings) - set(SETTING_NAMES))
        if unknown:
            raise ConfigurationError(
                f"Unknown setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                f"Valid settings: {', '.join(SETTING_NAMES)}.",
                recovery_suggestion="Check the spelling of the setting's name.",
            )
        checked = {
            name: _check(name, value, _CONFIGURE) for name, value in settings.items() if value is not None
        }
        overrides = {} if clear is None else dict(self._overrides)
        for name, value in settings.items():
            if value is None:
                overrides.pop(name, None)
            else:
                overrides[name] = (checked[name], _CONFIGURE)
        self._overrides = overrides  # one assignment: a concurrent resolve() sees old or new

    def merge_from(self, other: CognitoConfig) -> None:
        """Adopt every value ``other`` sets (its ``configure()`` and trait levels) at this
        ``configure()`` level; settings ``other`` leaves unset keep their values here."""
        if not isinstance(other, CognitoConfig):
            raise TypeError(f"merge_from() takes a CognitoConfig, not {type(other).__name__}")
        overrides = dict(self._overrides)
        for name, (value, source) in other._own_values().items():
            label = source if source.startswith(_CONFIGURE) else f"configure(CognitoConfig) <- {source}"
            overrides[name] = (_check(name, value, label), label)
        self._overrides = overrides

    def copy(self) -> CognitoConfig:
        """An independent snapshot: same IPython config, assigned traits and configure() values."""
        new = type(self)(parent=self.parent, config=deepcopy(self.config))
        for name in self._assigned:
            setattr(new, name, getattr(self, name))
        new._assigned = set(self._assigned)
        new._overrides = dict(self._overrides)
        return new

    # -- resolution -----------------------------------------------------------------------

    def resolve(self, environ: Mapping[str, str] | None = None) -> Settings:
        """Combine the four sources into validated :class:`Settings`.

        ``environ`` defaults to ``os.environ``. Raises :class:`ConfigurationError` naming the
        setting and its source for any bad value, and for an unusable Amplify file.
        """
        environ = os.environ if environ is None else environ
        overrides = self._overrides
        traits = self._trait_level()

        def pick(name: str) -> tuple[Any, str] | None:
            return overrides.get(name) or traits.get(name) or _from_env(name, environ)

        amplify: dict[str, tuple[Any, str]] = {}
        amplify_setting = pick("amplify_config")
        if amplify_setting is not None:
            path, source = amplify_setting
            path = _check("amplify_config", path, source)
            amplify = _AmplifyFile(path, source).read()

        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in SETTING_NAMES:
            chosen = amplify_setting if name == "amplify_config" else pick(name) or amplify.get(name)
            if chosen is not None:
                values[name], sources[name] = chosen
            elif name in _DEFAULTS:
                values[name], sources[name] = _DEFAULTS[name], _DEFAULT
            else:
                values[name], sources[name] = None, _NOT_SET
        return Settings(**values, sources=sources)

    def _trait_level(self) -> dict[str, tuple[Any, str]]:
        """The values assigned to traits, labelled IPython config or attribute."""
        mine = self._find_my_config(self.config)
        found = {}
        for name in SETTING_NAMES:
            value = getattr(self, name)
            if name not in self._assigned or value is None:
                continue
            from_config = name in mine and _same(mine[name], value)
            label = f"IPython config (c.CognitoConfig.{name})" if from_config else None
            found[name] = (value, label or f"CognitoConfig.{name} attribute")
        return found

    def _own_values(self) -> dict[str, tuple[Any, str]]:
        """What this object sets itself (configure() over traits), without env or Amplify."""
        return {**self._trait_level(), **self._overrides}

    # -- display --------------------------------------------------------------------------

    def __repr__(self) -> str:
        own = self._own_values()
        shown = ", ".join(f"{name}={_display(name, own[name][0])}" for name in SETTING_NAMES if name in own)
        return f"{type(self).__name__}({shown})"

    @classmethod
    def class_get_trait_help(cls, trait: Any, inst: Any = None, helptext: str | None = None) -> str:
        """traitlets help (``%config CognitoConfig``), with the client secret's value hidden."""
        if trait.name != "client_secret" or inst is None:
            return super().class_get_trait_help(trait, inst, helptext)
        text = super().class_get_trait_help(trait, None, helptext)
        lines = [line for line in text.splitlines() if not line.strip().startswith("Default:")]
        lines.append(f"    Current: {_display('client_secret', inst.client_secret)}")
        return "\n".join(lines)


def _same(config_value: Any, value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):  # nan != nan, yet it is the same setting
        return isinstance(config_value, float) and math.isnan(config_value)
    try:
        return bool(config_value == value)
    except Exception:  # a LazyConfigValue or other oddity: not a plain config value
        return False
