"""Internal: the auth core. It talks to Cognito and keeps the one session fresh.

Nothing here knows IPython, a widget or where credentials go; integrations are handed to the
session as objects (:mod:`nb_cognito.auth.integration`). The public API is :mod:`nb_cognito`.
"""
