"""The labels of where a value came from, and the error that names the setting, its source and
the fix.

Every bad value, whatever its source, is reported by :func:`bad`, so the wording of every
configuration error lives here and the fix it suggests matches the source the value came from.
"""

from __future__ import annotations

from nb_cognito.environment import env_var
from nb_cognito.exceptions import ConfigurationError

__all__ = ["CONFIGURE", "DEFAULT", "NOT_SET", "bad", "fix_hint"]

#: Source label of values given to ``nb_cognito.configure()`` (``CognitoConfig.update``).
CONFIGURE = "configure()"
#: Source label of a value that is the table's default.
DEFAULT = "default"
#: Source label of a setting with no value anywhere.
NOT_SET = "not set"


def fix_hint(name: str, source: str) -> str:
    """What to do about a bad value, depending on where it came from."""
    if source.startswith(CONFIGURE):
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


def bad(name: str, source: str, problem: str) -> ConfigurationError:
    """The error for a bad value of ``name`` from ``source``: ``problem`` never holds a secret."""
    return ConfigurationError(f"{name} from {source} {problem}", recovery_suggestion=fix_hint(name, source))
