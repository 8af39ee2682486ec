"""The table of settings: one row per setting, and everything else is generated from it.

A row says what a setting is called, what kind of value it holds, its default, its help, the
check of its value, where an Amplify outputs file keeps it, whether it is a secret, whether
changing it means another pool (sign-in-relevant), and whether ``%cognito_login`` takes it as
an option. From the rows come the traits of ``CognitoConfig``, the ``NB_COGNITO_*`` parsing, the
checks, ``Settings.describe()``, the magic's options, the emulator's ``export`` lines and the
configuration table in docs/settings.md. So adding a setting is one row here (plus its field on
``Settings``, which a test holds to this table, and its test). What a row is:
:mod:`nb_cognito.settings.setting`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.settings import checks, kinds
from nb_cognito.settings import oauth as oauth_settings
from nb_cognito.settings.setting import MagicOption, Setting

__all__ = [
    "AMPLIFY_FILE_SETTING",
    "BOTOCORE_ENV_SETTINGS",
    "DEFAULTS",
    "GEN1_PLUGIN",
    "MAGIC_SETTINGS",
    "REQUIRED_SETTINGS",
    "SETTINGS",
    "SETTINGS_BY_NAME",
    "SETTING_NAMES",
    "SIGN_IN_SETTINGS",
    "MagicOption",
    "Setting",
]

#: Where Gen 1 files (``amplifyconfiguration.json``) keep the Cognito sections.
GEN1_PLUGIN: tuple[str, ...] = ("auth", "plugins", "awsCognitoAuthPlugin")
#: The setting that names the Amplify file: it is read before the file, never from it.
AMPLIFY_FILE_SETTING = "amplify_config"


#: Every setting, in the order they are shown.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "region",
        kinds.TEXT,
        "AWS region to call the user pool in. Derived from user_pool_id when its prefix is a "
        "region; set it for a pool id without one (an emulator's 'local_AbC123') or to reach a "
        "Multi-Region replica of the pool.",
        check=checks.check_region,
        amplify_gen2="aws_region",
        amplify_gen1="CognitoUserPool.Default.Region",
        aws_exports="aws_cognito_region",
        amplify_gen1_fallback="CredentialsProvider.CognitoIdentity.Default.Region",
        aws_exports_fallback="aws_project_region",
        magic=MagicOption("AWS region (default: from the pool id).", "R"),
        doc_default="from `user_pool_id` when it starts with a region (else `identity_pool_id`)",
        doc_note=" ²",
    ),
    Setting(
        "user_pool_id",
        kinds.TEXT,
        "Cognito user pool id, '<prefix>_<id>' like 'us-east-1_AbC123' (the prefix is the pool's "
        "primary region on AWS).",
        check=checks.check_user_pool_id,
        sign_in=True,
        required=True,
        amplify_gen2="user_pool_id",
        amplify_gen1="CognitoUserPool.Default.PoolId",
        aws_exports="aws_user_pools_id",
        magic=MagicOption("User pool id, like us-east-1_AbC123.", "ID"),
    ),
    Setting(
        "client_id",
        kinds.TEXT,
        "The user pool's app client id.",
        check=checks.check_client_id,
        sign_in=True,
        required=True,
        amplify_gen2="user_pool_client_id",
        amplify_gen1="CognitoUserPool.Default.AppClientId",
        aws_exports="aws_user_pools_web_client_id",
        magic=MagicOption("The user pool's app client id.", "ID"),
    ),
    Setting(
        "client_secret",
        kinds.TEXT,
        "App client secret, only for app clients created with one.",
        secret=True,
        amplify_gen1="CognitoUserPool.Default.AppClientSecret",
    ),
    Setting(
        "identity_pool_id",
        kinds.TEXT,
        "Cognito identity pool id ('<region>:<uuid>') that turns sign-ins into AWS credentials.",
        check=checks.check_identity_pool_id,
        sign_in=True,
        amplify_gen2="identity_pool_id",
        amplify_gen1="CredentialsProvider.CognitoIdentity.Default.PoolId",
        aws_exports="aws_cognito_identity_pool_id",
        magic=MagicOption("Identity pool that turns the sign-in into AWS credentials.", "ID"),
        doc_default="none (no AWS credentials unless `role_arn`)",
    ),
    Setting(
        "endpoint_url",
        kinds.TEXT,
        "One http(s) URL for every service nb_cognito calls (user pools, identity pools, STS) "
        "and the pool's JWKS, for an emulator or a private endpoint; the per-service endpoint "
        "settings override it. Default: the public AWS endpoints.",
        check=checks.check_endpoint_url,
        sign_in=True,
        magic=MagicOption("Cognito endpoint (a private endpoint or an emulator).", "URL"),
        doc_default="the public AWS endpoints",
    ),
    Setting(
        "cognito_idp_endpoint_url",
        kinds.TEXT,
        "http(s) URL of the user-pool service (cognito-idp) alone, e.g. a FIPS or VPC endpoint; "
        "the pool's JWKS is then read from <url>/<pool>/.well-known/jwks.json.",
        check=checks.check_endpoint_url,
        sign_in=True,
        botocore_env=Env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
        doc_default="`endpoint_url`, else `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`, else AWS",
    ),
    Setting(
        "cognito_identity_endpoint_url",
        kinds.TEXT,
        "http(s) URL of the identity-pool service (cognito-identity) alone.",
        check=checks.check_endpoint_url,
        sign_in=True,
        botocore_env=Env.AWS_ENDPOINT_URL_COGNITO_IDENTITY,
        doc_default="`endpoint_url`, else `AWS_ENDPOINT_URL_COGNITO_IDENTITY`, else AWS",
    ),
    Setting(
        "sts_endpoint_url",
        kinds.TEXT,
        "http(s) URL of STS alone (role_arn: AssumeRoleWithWebIdentity).",
        check=checks.check_endpoint_url,
        sign_in=True,
        botocore_env=Env.AWS_ENDPOINT_URL_STS,
        doc_default="`endpoint_url`, else `AWS_ENDPOINT_URL_STS`, else AWS",
    ),
    Setting(
        "auth_flow",
        kinds.TEXT,
        "Sign-in flow: USER_SRP_AUTH (the password never leaves the kernel), USER_PASSWORD_AUTH, "
        "or USER_AUTH (choice-based: password, emailed or texted code; see preferred_challenge).",
        default="USER_SRP_AUTH",
        check=checks.check_auth_flow,
        amplify_gen1="Auth.Default.authenticationFlowType",
        amplify_choices=checks.AUTH_FLOWS,
        doc_note=" ³",
    ),
    Setting(
        "preferred_challenge",
        kinds.TEXT,
        "With auth_flow USER_AUTH, the first factor to start with: PASSWORD_SRP, PASSWORD, "
        "EMAIL_OTP or SMS_OTP. Unset: with a password, PASSWORD_SRP; without, Cognito offers a choice.",
        check=checks.check_preferred_challenge,
        magic=MagicOption(
            "First factor for auth_flow USER_AUTH (EMAIL_OTP, SMS_OTP, ...; see docs/settings.md).", "FACTOR"
        ),
        doc_default="a choice (`PASSWORD_SRP` when a password is given)",
    ),
    Setting(
        "role_arn",
        kinds.TEXT,
        "IAM role to assume with the ID token (STS AssumeRoleWithWebIdentity), instead of an identity pool.",
        check=checks.check_role_arn,
        sign_in=True,
        magic=MagicOption("IAM role to assume with the ID token instead of an identity pool.", "ARN"),
    ),
    Setting(
        "allow_guest",
        kinds.FLAG,
        "Use the identity pool's guest credentials when nobody is signed in.",
        default=False,
        amplify_gen2="unauthenticated_identities_enabled",
    ),
    Setting(
        "inject_boto3",
        kinds.FLAG_OR_ALWAYS,
        "Add the Cognito credentials to boto3's default chain: True (after any credentials "
        "already configured), 'always' (before them) or False.",
        default=True,
        doc_default='`True` (also `False`, `"always"`)',
    ),
    Setting(
        "subprocess_credentials",
        kinds.FLAG,
        "Serve the credentials from a loopback container-credentials endpoint to the AWS SDKs "
        "of the kernel and its child processes (pandas s3://, polars, duckdb, pyarrow, !aws, "
        "Dask). False turns it off.",
        default=True,
    ),
    Setting(
        "credentials_max_age",
        kinds.SECONDS,
        "The longest lifetime the container endpoint announces for the credentials it serves "
        "(default: their own, up to an hour). SDKs ask again when it nears: below 600, botocore "
        "(a kept boto3.Session(), s3fs, !aws, children, pools) asks at every request, and "
        "polars and pyarrow within that many seconds, so a sign-out or a change of user "
        "reaches what they cached. Keys already handed out stay valid at AWS.",
        doc_default="their expiry",
    ),
    Setting(
        "export_env",
        kinds.FLAG,
        "Also export the credentials as AWS_* environment variables.",
        default=False,
    ),
    Setting(
        "dask_clusters",
        kinds.TEXT,
        "Dask schedulers, besides the clusters this kernel starts and TLS schedulers, that get "
        "the credentials (addresses, comma-separated, e.g. tcp://10.0.0.5:8786).",
        doc_default="none (see docs/dask.md)",
    ),
    Setting(
        "remember",
        kinds.FLAG,
        "Remember the session (refresh token) across kernel restarts.",
        default=False,
        magic=MagicOption("Remember the session across kernel restarts."),
    ),
    Setting(
        "remember_device",
        kinds.FLAG,
        "On a user pool whose device remembering is 'User opt-in', remember this kernel's device "
        "at sign-in (UpdateDeviceStatus), so that later sign-ins from it skip MFA.",
        default=False,
        magic=MagicOption("Remember this device, so that later sign-ins skip MFA (opt-in pools)."),
    ),
    Setting(
        AMPLIFY_FILE_SETTING,
        kinds.PATH,
        "Path of an Amplify outputs file (amplify_outputs.json, amplifyconfiguration.json "
        "or aws-exports) to read the lowest-priority settings from.",
        magic=MagicOption("Amplify outputs file to read the settings from.", "PATH"),
    ),
    Setting(
        "network_timeout",
        kinds.SECONDS,
        "Seconds to wait for Cognito to connect or answer.",
        default=10.0,
        doc_default="`10.0` seconds",
    ),
    # -- the hosted UI (single sign-on): nb_cognito.settings.oauth
    Setting(
        "oauth_domain",
        kinds.TEXT,
        "The user pool's domain, for the hosted UI (https implied), or an http(s) URL.",
        check=oauth_settings.check_oauth_setting,
        amplify_gen2="oauth.domain",
        amplify_gen1="Auth.Default.OAuth.WebDomain",
        aws_exports="oauth.domain",
        from_amplify=oauth_settings.joined,
        doc_default="none (no hosted UI)",
    ),
    Setting(
        "oauth_scopes",
        kinds.TEXT,
        "OAuth scopes the hosted UI sign-in asks for (space- or comma-separated).",
        check=oauth_settings.check_oauth_setting,
        amplify_gen2="oauth.scopes",
        amplify_gen1="Auth.Default.OAuth.Scopes",
        aws_exports="oauth.scope",
        from_amplify=oauth_settings.joined,
        doc_default="every scope the app client allows",
    ),
    Setting(
        "redirect_uri",
        kinds.TEXT,
        "Callback URL of the hosted UI sign-in, exactly as registered on the app client.",
        check=oauth_settings.check_oauth_setting,
        amplify_gen2="oauth.redirect_sign_in_uri",
        amplify_gen1="Auth.Default.OAuth.SignInRedirectURI",
        aws_exports="oauth.redirectSignIn",
        from_amplify=oauth_settings.pick_redirect,
        doc_note=" ⁴",
    ),
    Setting(
        "identity_provider",
        kinds.TEXT,
        "Identity provider name(s) of the pool (comma-separated) for sign_in_with_redirect().",
        check=oauth_settings.check_oauth_setting,
        amplify_gen2="oauth.identity_providers",
        from_amplify=oauth_settings.providers,
        doc_default="none (the hosted page lists them) ⁵",
    ),
    # -- JupyterHub: nb_cognito.auth.hub
    Setting(
        "hub_sign_in",
        kinds.FLAG_OR_AUTO,
        "Under JupyterHub (JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN set), sign in with the ID "
        "token the hub keeps in auth_state: 'auto' when the extension loads, if the hub hands "
        "one out (quietly skipped otherwise); True: also at load, and say why when it cannot; "
        "False: only on %cognito_login --hub or sign_in_from_hub().",
        default="auto",
        doc_default='`"auto"` (also `True`, `False`)',
    ),
    Setting(
        "hub_client_id",
        kinds.TEXT,
        "The app client JupyterHub's OAuthenticator signs in with: the audience accepted for the "
        "hub's ID and access tokens. Default: client_id. The kernel never needs its secret.",
        check=checks.check_client_id,
        sign_in=True,
        doc_default="`client_id`",
    ),
)

#: The settings' names, in the order they are shown.
SETTING_NAMES: tuple[str, ...] = tuple(setting.name for setting in SETTINGS)
SETTINGS_BY_NAME: Mapping[str, Setting] = MappingProxyType({setting.name: setting for setting in SETTINGS})
#: The settings that have a default (the others are None, "not set", by default).
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {setting.name: setting.default for setting in SETTINGS if setting.default is not None}
)
#: The settings that say which pool, client and credentials: a change while signed in signs out.
SIGN_IN_SETTINGS: tuple[str, ...] = tuple(setting.name for setting in SETTINGS if setting.sign_in)
#: The settings signing in needs.
REQUIRED_SETTINGS: tuple[str, ...] = tuple(setting.name for setting in SETTINGS if setting.required)
#: The per-service endpoint settings that fall back to botocore's own variables.
BOTOCORE_ENV_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.botocore_env is not None)
#: The settings ``%cognito_login`` takes as options.
MAGIC_SETTINGS: tuple[Setting, ...] = tuple(setting for setting in SETTINGS if setting.magic is not None)
