"""What one row of the settings table is: :class:`Setting` (its name, kind, default, check,
Amplify keys, secrecy, sign-in relevance) and what it derives (its environment variable, its
trait, its parsed and checked value, how it is shown), and :class:`MagicOption`. The rows
themselves are in :mod:`nb_cognito.settings.table`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from traitlets import TraitType

from nb_cognito.environment import env_var
from nb_cognito.settings.kinds import Kind

__all__ = ["MagicOption", "Setting"]


@dataclass(frozen=True)
class MagicOption:
    """How ``%cognito_login`` takes a setting: ``--user-pool-id ID``; a flag when no metavar."""

    help: str
    metavar: str | None = None


@dataclass(frozen=True)
class Setting:
    """One setting. ``None`` as a value always means "not set here"."""

    name: str
    kind: Kind
    #: What it does, for ``%config CognitoConfig`` and the traits' help.
    help: str
    default: Any = None
    #: The check of the value beyond its kind; returns the value, normalised.
    check: Callable[[str, str, str], str] | None = None
    #: Never shown: ``<set>`` in reprs, ``describe()`` and the traits' help.
    secret: bool = False
    #: It names the pool, client or credential source: a change while signed in signs out.
    sign_in: bool = False
    #: Signing in needs it (``Settings.require_sign_in_settings``).
    required: bool = False
    #: Key under ``auth.`` in a Gen 2 ``amplify_outputs.json``.
    amplify_gen2: str | None = None
    #: Path under ``auth.plugins.awsCognitoAuthPlugin`` in a Gen 1 ``amplifyconfiguration.json``.
    amplify_gen1: str | None = None
    #: Key in an ``aws-exports`` file.
    aws_exports: str | None = None
    #: Gen 1 path and aws-exports key read when the file gives neither this nor a user pool id.
    amplify_gen1_fallback: str | None = None
    aws_exports_fallback: str | None = None
    #: Values an Amplify file may hold that nb_cognito takes; others (``CUSTOM_AUTH``) are skipped.
    amplify_choices: tuple[str, ...] | None = None
    #: Turns what an Amplify file holds (a list of scopes or URIs) into the setting's value.
    from_amplify: Callable[[Any], Any] | None = None
    #: Set to make it an option of ``%cognito_login``.
    magic: MagicOption | None = None
    #: The settings reference's "default" cell, when the default alone does not say it.
    doc_default: str | None = None
    #: A footnote mark after the reference's Amplify Gen 1 cell.
    doc_note: str = ""
    #: botocore's own variable for this setting (``AWS_ENDPOINT_URL_STS``), read from the
    #: environment only when nb_cognito's settings leave it and ``endpoint_url`` unset.
    botocore_env: str | None = None

    @property
    def env(self) -> str:
        """Its environment variable, ``NB_COGNITO_<NAME>``."""
        return env_var(self.name)

    @property
    def annotation(self) -> str:
        """Its type on :class:`~nb_cognito.settings.config.Settings`, as written there."""
        return self.kind.annotation if self.default is not None else f"{self.kind.annotation} | None"

    @property
    def magic_flag(self) -> str:
        """Its ``%cognito_login`` option: ``user_pool_id`` -> ``--user-pool-id``."""
        return "--" + self.name.replace("_", "-")

    def trait(self) -> TraitType:
        """The ``CognitoConfig`` trait (``c.CognitoConfig.<name>``)."""
        return self.kind.trait(self.default, f"{self.help} Environment variable: {self.env}.")

    def validate(self, value: Any, source: str) -> Any:
        """``value`` (not None) normalised, or :class:`ConfigurationError` naming ``source``."""
        value = self.kind.coerce(self.name, value, source)
        return value if self.check is None else self.check(self.name, value, source)

    def from_env(self, environ: Mapping[str, str]) -> tuple[Any, str] | None:
        """``(value, source)`` from its environment variable; None when unset or blank."""
        raw = environ.get(self.env)
        if raw is None or not raw.strip():
            return None
        source = f"environment ({self.env})"
        return self.kind.parse(self.name, raw.strip(), source), source

    def display(self, value: Any) -> str:
        """``value`` as shown in reprs and ``describe()``: a secret shows as ``<set>``."""
        if self.secret and value is not None:
            return "<set>"
        return repr(value)
