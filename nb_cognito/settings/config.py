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

What the settings are (names, kinds, defaults, checks, help) is the settings table,
:mod:`nb_cognito.settings`; this module only says which source wins. :class:`Settings` (the
validated result) is in :mod:`nb_cognito.settings.resolved`, and named here as well. The environment variables
are named in :mod:`nb_cognito.environment`, and Amplify files are read by :mod:`nb_cognito.settings.amplify`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from copy import deepcopy
from types import EllipsisType
from typing import Any

from traitlets import TraitType
from traitlets.config import Configurable

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.environment import env_var
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.settings.amplify import read_amplify_file
from nb_cognito.settings.checks import AUTH_FLOWS
from nb_cognito.settings.errors import CONFIGURE, DEFAULT, NOT_SET
from nb_cognito.settings.resolved import Settings
from nb_cognito.settings.table import (
    AMPLIFY_FILE_SETTING,
    BOTOCORE_ENV_SETTINGS,
    DEFAULTS,
    SETTING_NAMES,
    SETTINGS,
    SETTINGS_BY_NAME,
)

__all__ = ["AUTH_FLOWS", "SETTING_NAMES", "CognitoConfig", "Settings", "env_var"]


def _traits() -> dict[str, TraitType]:
    """The traits of :class:`CognitoConfig`, one per row of the settings table."""
    return {setting.name: setting.trait().tag(config=True) for setting in SETTINGS}


class CognitoConfig(Configurable):
    """nb_cognito's settings, as a traitlets Configurable: ``c.CognitoConfig.<setting> = ...``.

    Its traits hold the IPython-config level (values set in ``ipython_config.py``, by
    ``%config``, or by assigning the attribute). :meth:`update` holds the ``configure()``
    level above it; the environment and the Amplify file are read by :meth:`resolve`, below.
    Create it with ``parent=shell`` so that ``%config`` reaches it.
    """

    # One trait per setting, generated from the table. They must be in the class body's
    # namespace (which locals() is, in a class body) for traitlets' metaclass to set them up.
    locals().update(_traits())

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
            name: SETTINGS_BY_NAME[name].validate(value, CONFIGURE)
            for name, value in settings.items()
            if value is not None
        }
        overrides = {} if clear is None else dict(self._overrides)
        for name, value in settings.items():
            if value is None:
                overrides.pop(name, None)
            else:
                overrides[name] = (checked[name], CONFIGURE)
        self._overrides = overrides  # one assignment: a concurrent resolve() sees old or new

    def merge_from(self, other: CognitoConfig) -> None:
        """Adopt every value ``other`` sets (its ``configure()`` and trait levels) at this
        ``configure()`` level; settings ``other`` leaves unset keep their values here."""
        if not isinstance(other, CognitoConfig):
            raise TypeError(f"merge_from() takes a CognitoConfig, not {type(other).__name__}")
        overrides = dict(self._overrides)
        for name, (value, source) in other._own_values().items():
            label = source if source.startswith(CONFIGURE) else f"configure(CognitoConfig) <- {source}"
            overrides[name] = (SETTINGS_BY_NAME[name].validate(value, label), label)
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
            return overrides.get(name) or traits.get(name) or SETTINGS_BY_NAME[name].from_env(environ)

        amplify: dict[str, tuple[Any, str]] = {}
        amplify_setting = pick(AMPLIFY_FILE_SETTING)
        if amplify_setting is not None:
            path, source = amplify_setting
            path = SETTINGS_BY_NAME[AMPLIFY_FILE_SETTING].validate(path, source)
            amplify = read_amplify_file(path, source)

        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in SETTING_NAMES:
            chosen = amplify_setting if name == AMPLIFY_FILE_SETTING else pick(name) or amplify.get(name)
            if chosen is not None:
                values[name], sources[name] = chosen
            elif name in DEFAULTS:
                values[name], sources[name] = DEFAULTS[name], DEFAULT
            else:
                values[name], sources[name] = None, NOT_SET
        if values["endpoint_url"] is None and not _ignore_botocore_endpoints(environ):
            for setting in BOTOCORE_ENV_SETTINGS:  # botocore's per-service endpoints, last
                raw = environ.get(setting.botocore_env or "", "").strip()
                if values[setting.name] is None and raw:
                    source = f"environment ({setting.botocore_env}, botocore's per-service endpoint)"
                    values[setting.name], sources[setting.name] = raw, source
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
        shown = ", ".join(f"{s.name}={s.display(own[s.name][0])}" for s in SETTINGS if s.name in own)
        return f"{type(self).__name__}({shown})"

    @classmethod
    def class_get_trait_help(cls, trait: Any, inst: Any = None, helptext: str | None = None) -> str:
        """traitlets help (``%config CognitoConfig``), with a secret's value hidden."""
        setting = SETTINGS_BY_NAME.get(trait.name)
        if setting is None or not setting.secret or inst is None:
            return super().class_get_trait_help(trait, inst, helptext)
        text = super().class_get_trait_help(trait, None, helptext)
        lines = [line for line in text.splitlines() if not line.strip().startswith("Default:")]
        lines.append(f"    Current: {setting.display(getattr(inst, setting.name))}")
        return "\n".join(lines)


def _ignore_botocore_endpoints(environ: Mapping[str, str]) -> bool:
    """botocore's own switch: ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` ignores its endpoints."""
    return environ.get(Env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, "").strip().lower() == "true"


def _same(config_value: Any, value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):  # nan != nan, yet it is the same setting
        return isinstance(config_value, float) and math.isnan(config_value)
    try:
        return bool(config_value == value)
    except Exception:  # a LazyConfigValue or other oddity: not a plain config value
        return False
