"""nb_cognito's settings, declared once.

:mod:`~nb_cognito.settings.table` has one row per setting; the traits of
:class:`~nb_cognito.settings.config.CognitoConfig`, the environment parsing, the checks,
:meth:`~nb_cognito.settings.config.Settings.describe`, the options of ``%cognito_login``, the emulator's
``export`` lines and the settings reference's table are generated from it. Where the values come from, and
which source wins, is :mod:`nb_cognito.settings.config`'s job; reading an Amplify file is
:mod:`nb_cognito.settings.amplify`'s.

The package holds the table (``table``), the kinds of value (``kinds``), the checks of one value
(``checks``), the wording of their errors (``errors``) and the settings reference's table (``readme``).
``python -m nb_cognito.settings --readme`` prints the settings reference's table; ``--write-readme PATH``
puts it into that file in place.
"""
