"""The kinds of value a setting holds: each knows its trait, its type check and how to read it
from an environment variable.

A setting's row in the table names its kind; the traits of ``CognitoConfig``, the parsing of
``NB_COGNITO_*`` variables, the first check of every value and the type an Amplify file must
hold all follow from it, so that two settings of one kind can never be read differently.
"""

from __future__ import annotations

import math
import os
from typing import Any

from traitlets import Bool, Float, TraitType, Unicode
from traitlets import Union as UnionTrait

from nb_cognito.settings.errors import bad

__all__ = ["FLAG", "FLAG_OR_ALWAYS", "FLAG_OR_AUTO", "KINDS", "PATH", "SECONDS", "TEXT", "Kind"]

_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


class Kind:
    """Text: a non-empty string, stripped. The base of the other kinds."""

    #: The Python type of a value (``Settings``' annotation, without ``| None``).
    annotation = "str"
    #: What an Amplify file must hold for a setting of this kind.
    amplify_type: type = str

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label

    def trait(self, default: Any, help: str) -> TraitType:
        """The ``CognitoConfig`` trait; ``None`` always means "not set at this level"."""
        return Unicode(default, allow_none=True, help=help)

    def coerce(self, name: str, value: Any, source: str) -> Any:
        """``value`` of the right type, normalised; else :class:`ConfigurationError`."""
        if not isinstance(value, str):
            raise bad(name, source, f"must be a string, not {type(value).__name__}.")
        value = value.strip()
        if not value:
            raise bad(name, source, "is empty.")
        return value

    def parse(self, name: str, text: str, source: str) -> Any:
        """The value of an environment variable's (stripped, non-empty) ``text``."""
        return text


class _Path(Kind):
    """Text that may also be given as a path object (``pathlib.Path``)."""

    def coerce(self, name: str, value: Any, source: str) -> Any:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        return super().coerce(name, value, source)


class _Flag(Kind):
    """True or False; ``1/0``, ``true/false`` or ``yes/no`` in the environment."""

    annotation = "bool"
    amplify_type = bool
    _choices = "1/0, true/false, yes/no"

    def trait(self, default: Any, help: str) -> TraitType:
        return Bool(default, allow_none=True, help=help)

    def coerce(self, name: str, value: Any, source: str) -> Any:
        if not isinstance(value, bool):
            raise bad(name, source, f"must be True or False, not {type(value).__name__}.")
        return value

    def parse(self, name: str, text: str, source: str) -> Any:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return self._other(name, text, source)

    def _other(self, name: str, text: str, source: str) -> Any:
        raise bad(name, source, f"is {text!r}; use {self._choices}.")


class _FlagOrWord(_Flag):
    """True, False or one word: ``'always'`` (``inject_boto3``), ``'auto'`` (``hub_sign_in``)."""

    annotation = "bool | str"
    amplify_type = bool

    def __init__(self, label: str, word: str) -> None:
        super().__init__(label)
        self.word = word
        self._choices = f"1/0, true/false, yes/no or {word}"

    def trait(self, default: Any, help: str) -> TraitType:
        return UnionTrait([Bool(), Unicode()], default_value=default, allow_none=True, help=help)

    def coerce(self, name: str, value: Any, source: str) -> Any:
        if isinstance(value, str) and value.strip().lower() == self.word:
            return self.word
        if not isinstance(value, bool):
            raise bad(name, source, f"must be True, False or {self.word!r}, not {value!r}.")
        return value

    def _other(self, name: str, text: str, source: str) -> Any:
        if text.lower() == self.word:
            return self.word
        return super()._other(name, text, source)


class _Seconds(Kind):
    """A positive, finite number of seconds, held as a float."""

    annotation = "float"
    amplify_type = float

    def trait(self, default: Any, help: str) -> TraitType:
        return Float(default, allow_none=True, help=help)

    def coerce(self, name: str, value: Any, source: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(name, source, f"must be a number of seconds, not {type(value).__name__}.")
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise bad(name, source, f"must be a positive number of seconds, not {value!r}.")
        return value

    def parse(self, name: str, text: str, source: str) -> Any:
        try:
            return float(text)
        except ValueError:
            raise bad(name, source, f"is {text!r}, not a number of seconds.") from None


TEXT = Kind("text")
PATH = _Path("path")
FLAG = _Flag("flag")
FLAG_OR_ALWAYS = _FlagOrWord("flag or 'always'", "always")
FLAG_OR_AUTO = _FlagOrWord("flag or 'auto'", "auto")
SECONDS = _Seconds("seconds")

#: Every kind, for tests that check each one.
KINDS: tuple[Kind, ...] = (TEXT, PATH, FLAG, FLAG_OR_ALWAYS, FLAG_OR_AUTO, SECONDS)
