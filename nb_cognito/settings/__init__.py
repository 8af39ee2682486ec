"""nb_cognito's settings, declared once.

:mod:`~nb_cognito.settings.table` has one row per setting; the traits of
:class:`~nb_cognito.config.CognitoConfig`, the environment parsing, the checks,
:meth:`~nb_cognito.config.Settings.describe`, the options of ``%cognito_login``, the emulator's
``export`` lines and the README's table are generated from it. Where the values come from, and
which source wins, is :mod:`nb_cognito.config`'s job; reading an Amplify file is
:mod:`nb_cognito.amplify`'s.

``python -m nb_cognito.settings --readme`` prints the README's table; ``--write-readme PATH``
puts it into a README in place.
"""

from __future__ import annotations

from nb_cognito.settings.checks import AUTH_FLOWS
from nb_cognito.settings.table import (
    AMPLIFY_FILE_SETTING,
    DEFAULTS,
    MAGIC_SETTINGS,
    REQUIRED_SETTINGS,
    SETTING_NAMES,
    SETTINGS,
    SETTINGS_BY_NAME,
    SIGN_IN_SETTINGS,
    MagicOption,
    Setting,
)

__all__ = [
    "AMPLIFY_FILE_SETTING",
    "AUTH_FLOWS",
    "DEFAULTS",
    "MAGIC_SETTINGS",
    "REQUIRED_SETTINGS",
    "SETTINGS",
    "SETTINGS_BY_NAME",
    "SETTING_NAMES",
    "SIGN_IN_SETTINGS",
    "MagicOption",
    "Setting",
]
