"""Reading the lowest-priority settings from an Amplify outputs file.

A team that already has an Amplify project has its pool ids in a generated file: Gen 2
``amplify_outputs.json``, Gen 1 ``amplifyconfiguration.json`` (the mobile format) or
``aws-exports`` (JSON, or the generated ``.js``). :func:`read_amplify_file` turns one into
``{setting: (value, source)}``; where each setting lives in each format is the settings
table's ``amplify_*`` columns (:mod:`nb_cognito.settings.table`). Values are checked later, with
the other sources, by :class:`~nb_cognito.settings.config.Settings`. Errors never quote the file's content,
which may hold a client secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from nb_cognito.environment import env_var
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.settings.amplify_file import UnreadableFile, read_amplify_text
from nb_cognito.settings.table import AMPLIFY_FILE_SETTING, GEN1_PLUGIN, SETTINGS, Setting

__all__ = ["AmplifyFile", "read_amplify_file"]

Found = dict[str, tuple[Any, str]]

_GEN2_KEYS = {s.amplify_gen2: s for s in SETTINGS if s.amplify_gen2}
_AWS_EXPORTS_KEYS = {s.aws_exports: s for s in SETTINGS if s.aws_exports}
_AWS_EXPORTS_FALLBACKS = {s.aws_exports_fallback: s for s in SETTINGS if s.aws_exports_fallback}
_GEN1_BASE = ".".join(GEN1_PLUGIN)


def read_amplify_file(given: str, setting_source: str) -> Found:
    """The settings in the Amplify file ``given`` (as the user wrote it; relative to the working
    directory, ``~`` expanded), which ``amplify_config`` from ``setting_source`` named."""
    return AmplifyFile(given, setting_source).read()


def _gen1_paths() -> list[tuple[tuple[str, ...], str, Setting, bool]]:
    """(section path, key, setting, is_fallback) for each Gen 1 location, in table order."""
    paths = []
    for setting in SETTINGS:
        for dotted, fallback in ((setting.amplify_gen1, False), (setting.amplify_gen1_fallback, True)):
            if dotted:
                *section, key = dotted.split(".")
                paths.append((tuple(section), key, setting, fallback))
    return paths


class AmplifyFile:
    """One Amplify file, read into ``{setting: (value, source)}``; errors never quote content."""

    def __init__(self, given: str, setting_source: str) -> None:
        self.given = given
        self.path = os.path.abspath(os.path.expanduser(given))
        self.setting_source = setting_source

    def fail(self, problem: str) -> ConfigurationError:
        """The error for an unusable file: names it, the setting that named it, and the fix."""
        shown = repr(self.given)
        if self.path != self.given:
            shown += f" ({self.path})"
        return ConfigurationError(
            f"The Amplify file {shown}, named by {AMPLIFY_FILE_SETTING} from {self.setting_source}, "
            f"{problem}.",
            recovery_suggestion=(
                f"Point {AMPLIFY_FILE_SETTING} (or {env_var(AMPLIFY_FILE_SETTING)}) at the "
                "amplify_outputs.json, amplifyconfiguration.json or aws-exports file your Amplify "
                "project generated."
            ),
        )

    def read(self) -> Found:
        """Tell the format by its keys, then map its keys to settings."""
        data = self._load()
        auth = data.get("auth")
        if isinstance(auth, dict) and "plugins" in auth:
            return self._gen1(data)
        if isinstance(auth, dict) and any(key in auth for key in _GEN2_KEYS):
            return self._mapped(auth, "auth.", _GEN2_KEYS)
        if any(key in data for key in (*_AWS_EXPORTS_KEYS, *_AWS_EXPORTS_FALLBACKS)):
            return self._aws_exports(data)
        if "version" in data and "auth" not in data:
            raise self.fail("has no 'auth' section: add Auth to the Amplify backend")
        raise self.fail(
            "is not in a recognised format (amplify_outputs.json, amplifyconfiguration.json or aws-exports)"
        )

    def _load(self) -> dict[str, Any]:
        try:  # a FIFO, a device, a huge file, a NUL or surrogate in the path: a clear error
            text = read_amplify_text(self.path)
        except UnreadableFile as error:
            raise self.fail(error.problem) from None
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

    def _value(self, section: Mapping[str, Any], key: str, where: str, setting: Setting) -> Any:
        """The value at ``key`` (dots go down into objects: ``oauth.domain``): None when absent or
        empty, else of the setting's kind's type (after the setting's ``from_amplify``)."""
        value: Any = section
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and setting.from_amplify is not None:
            value = setting.from_amplify(value)
        if value is None or value == "":
            return None
        wanted = setting.kind.amplify_type
        if not isinstance(value, wanted) or (wanted is not bool and isinstance(value, bool)):
            raise self.fail(f"has a {type(value).__name__} at {where}{key}, expected a {wanted.__name__}")
        if setting.amplify_choices is not None and str(value).upper() not in setting.amplify_choices:
            return None  # a value Amplify knows and nb_cognito does not implement (CUSTOM_AUTH)
        return value

    def _found(self, section: Mapping[str, Any], key: str, where: str, setting: Setting) -> Found:
        value = self._value(section, key, where, setting)
        if value is None:
            return {}
        return {setting.name: (value, f"Amplify file {self.path} ({where}{key})")}

    def _mapped(self, section: Mapping[str, Any], where: str, keys: Mapping[str, Setting]) -> Found:
        found: Found = {}
        for key, setting in keys.items():
            found.update(self._found(section, key, where, setting))
        return found

    def _aws_exports(self, data: Mapping[str, Any]) -> Found:
        found = self._mapped(data, "", _AWS_EXPORTS_KEYS)
        for key, setting in _AWS_EXPORTS_FALLBACKS.items():
            if _wants_fallback(found, setting):
                # The project region is only a guess at the Cognito region; a pool id is better.
                found.update(self._found(data, key, "", setting))
        return found

    def _gen1(self, data: Mapping[str, Any]) -> Found:
        plugin: Any = data
        for key in GEN1_PLUGIN:
            plugin = plugin.get(key) if isinstance(plugin, dict) else None
        if not isinstance(plugin, dict):
            raise self.fail(f"has no {_GEN1_BASE} section")
        paths = _gen1_paths()
        sections = {path: self._section(plugin, path) for path, *_ in paths}  # checks each is an object
        found: Found = {}
        for fallback_pass in (False, True):
            for path, key, setting, fallback in paths:
                if fallback is fallback_pass and (not fallback or _wants_fallback(found, setting)):
                    where = ".".join((_GEN1_BASE, *path)) + "."
                    found.update(self._found(sections[path], key, where, setting))
        return found

    def _section(self, root: Mapping[str, Any], keys: tuple[str, ...]) -> dict:
        section: Any = root
        for depth, key in enumerate(keys):
            section = section.get(key, {})
            if not isinstance(section, dict):
                where = ".".join((_GEN1_BASE, *keys[: depth + 1]))
                raise self.fail(f"has a {type(section).__name__} at {where}, expected an object")
        return section


def _wants_fallback(found: Found, setting: Setting) -> bool:
    """A fallback location is read only when the file gives neither the setting nor a user pool
    id (from which :class:`~nb_cognito.settings.config.Settings` derives the region)."""
    return setting.name not in found and "user_pool_id" not in found


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
