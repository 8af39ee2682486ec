"""Every environment variable nb_cognito reads or writes, named once.

A user who wonders "which variables change what this package does?" reads this module, not a
grep of the package: every ``os.environ`` lookup elsewhere goes through a constant defined here
(as azure-identity's ``EnvironmentVariables`` does). A test keeps it so: no module reads the
environment under a name spelled out in place.

The settings' own variables are ``NB_COGNITO_<SETTING>`` (:func:`env_var`); the settings table
(:mod:`nb_cognito.settings`) holds the list of settings, so it is not repeated here.
"""

from __future__ import annotations

__all__ = ["SETTING_PREFIX", "EnvironmentVariables", "env_var"]

#: The prefix of every setting's variable: ``region`` is read from ``NB_COGNITO_REGION``.
SETTING_PREFIX = "NB_COGNITO_"


def env_var(name: str) -> str:
    """The environment variable for a setting: ``region`` -> ``NB_COGNITO_REGION``."""
    return f"{SETTING_PREFIX}{name.upper()}"


class EnvironmentVariables:
    """The variables nb_cognito reads besides the settings' ``NB_COGNITO_<SETTING>``."""

    # -- read: signing in without typing (automation) ---------------------------------------
    #: The username ``sign_in()``, ``%cognito_login`` and the widget use when none is given.
    NB_COGNITO_USERNAME = "NB_COGNITO_USERNAME"
    #: The password ``sign_in()`` and ``%cognito_login`` use when none is given (never on a line).
    NB_COGNITO_PASSWORD = "NB_COGNITO_PASSWORD"

    # -- written and read: Dask (nb_cognito/dask/seal.py) ----------------------
    #: The key that seals the credentials sent to the kernel's own LocalCluster workers, in the
    #: kernel's environment only when no private directory can hold its key file (dask/seal.py).
    NB_COGNITO_DASK_KEY = "NB_COGNITO_DASK_KEY"
    #: The user's private runtime directory (0700), where the kernel's Dask key file goes.
    XDG_RUNTIME_DIR = "XDG_RUNTIME_DIR"

    # -- read: remembered sessions (``remember=True``) ---------------------------------------
    #: The directory of the file store, instead of ``$XDG_DATA_HOME/nb_cognito``.
    NB_COGNITO_STORE_DIR = "NB_COGNITO_STORE_DIR"
    #: ``0``/``false``/``no``/``off``: never use the OS keyring.
    NB_COGNITO_KEYRING = "NB_COGNITO_KEYRING"
    #: The XDG base directory for data files (default ``~/.local/share``).
    XDG_DATA_HOME = "XDG_DATA_HOME"

    # -- read: whether a hosted-UI sign-in can open a browser on this machine ------------------
    #: An X11 or Wayland display: without one (Linux), the sign-in falls back to paste-back.
    DISPLAY = "DISPLAY"
    WAYLAND_DISPLAY = "WAYLAND_DISPLAY"

    # -- read: JupyterHub's own, set by the hub in every single-user server it spawns -----------
    #: The hub's REST API (``.../hub/api``): ``GET /user`` hands out the user's ``auth_state``.
    JUPYTERHUB_API_URL = "JUPYTERHUB_API_URL"
    #: The server's API token for that call (a secret: never shown, logged or stored).
    JUPYTERHUB_API_TOKEN = "JUPYTERHUB_API_TOKEN"
    #: The hub user this server belongs to (shown in messages only).
    JUPYTERHUB_USER = "JUPYTERHUB_USER"

    # -- read: credentials the user chose, which nb_cognito never overrides silently ----------
    AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
    AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
    AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"
    AWS_PROFILE = "AWS_PROFILE"
    AWS_DEFAULT_PROFILE = "AWS_DEFAULT_PROFILE"

    # -- read: botocore's per-service endpoints, used when nb_cognito's own endpoint settings
    # are unset (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
    # The global AWS_ENDPOINT_URL is not read: it is meant for the data services (and
    # ``--local`` writes it for them), and nb_cognito's ``endpoint_url`` is its own shortcut.
    AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"
    AWS_ENDPOINT_URL_COGNITO_IDENTITY = "AWS_ENDPOINT_URL_COGNITO_IDENTITY"
    AWS_ENDPOINT_URL_STS = "AWS_ENDPOINT_URL_STS"
    #: ``true``: botocore's configured endpoints are ignored (and so by nb_cognito).
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
    #: The CA bundle botocore falls back to (after AWS_CA_BUNDLE); the JWKS fetch does too.
    REQUESTS_CA_BUNDLE = "REQUESTS_CA_BUNDLE"
    #: The JWKS cache's base directory (default ``~/.cache``): ``<it>/nb_cognito/jwks``.
    XDG_CACHE_HOME = "XDG_CACHE_HOME"

    # -- written (and read back, to remove only what nb_cognito wrote) -----------------------
    #: With ``export_env=True``, beside the three credential variables above.
    AWS_CREDENTIAL_EXPIRATION = "AWS_CREDENTIAL_EXPIRATION"
    #: With ``subprocess_credentials=True``: where a child process gets credentials.
    AWS_CONTAINER_CREDENTIALS_FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    AWS_CONTAINER_AUTHORIZATION_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
    #: Hidden while the endpoint runs: the SDKs would prefer them to the two above.
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
    #: ``%cognito_login --local`` and ``nb-cognito demo``: send every boto3 call to the emulator.
    AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
    AWS_ENDPOINT_URL_S3 = "AWS_ENDPOINT_URL_S3"  # read by nb_cognito.duckdb only
    #: ``nb-cognito local`` prints it: the emulator's region, for clients made without one.
    AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
