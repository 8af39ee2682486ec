"""Sign in to an AWS Cognito user pool from a notebook, then just use AWS.

>>> %load_ext nb_cognito
>>> %cognito_login alice            # the password is asked for, never typed on the line
>>> boto3.client("s3").list_buckets()  # signed with Cognito credentials that refresh themselves

The kernel-wide session is ``nb_cognito.session``; the functions here delegate to it.
Everything heavy (boto3, pycognito, ipywidgets, moto) is imported only when first used, so
``import nb_cognito`` and ``%load_ext nb_cognito`` stay cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs only
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.exceptions import (
        AuthError,
        CodeMismatchError,
        ConfigurationError,
        InvalidParameterError,
        InvalidPasswordError,
        NotAuthorizedError,
        PasswordResetRequiredError,
        ServiceUnavailableError,
        SessionExpiredError,
        SignedOutError,
        TokenValidationError,
        UnsupportedChallengeError,
        UnsupportedOperationError,
        UserNotConfirmedError,
    )
    from nb_cognito.models import (
        AuthEvent,
        AuthEventPayload,
        AuthSessionResult,
        AuthSessionResultType,
        AuthUser,
        AWSCredentials,
        CognitoAuthSession,
        SignInResult,
        SignInStep,
        SignOutResult,
        UserPoolTokens,
    )
    from nb_cognito.notebook.widget import SignInWidget
    from nb_cognito.secret import Secret
    from nb_cognito.settings.config import CognitoConfig

    session: CognitoSession

# Public name -> the module that defines it. Resolved on first access (PEP 562).
# ``CognitoSession`` resolves too (for annotations and isinstance) but is not listed in
# ``__all__``: a session is ``nb_cognito.session``, or ``nb_cognito.kernel.make_session()``.
_LAZY = {
    "CognitoSession": "auth.session",
    "CognitoConfig": "settings.config",
    "SignInWidget": "notebook.widget",
    "Secret": "secret",
    **{
        name: "exceptions"
        for name in (
            "AuthError",
            "CodeMismatchError",
            "ConfigurationError",
            "InvalidParameterError",
            "InvalidPasswordError",
            "NotAuthorizedError",
            "PasswordResetRequiredError",
            "ServiceUnavailableError",
            "SessionExpiredError",
            "SignedOutError",
            "TokenValidationError",
            "UnsupportedChallengeError",
            "UnsupportedOperationError",
            "UserNotConfirmedError",
        )
    },
    **{
        name: "models"
        for name in (
            "AWSCredentials",
            "AuthEvent",
            "AuthEventPayload",
            "AuthSessionResult",
            "AuthSessionResultType",
            "AuthUser",
            "CognitoAuthSession",
            "SignInResult",
            "SignInStep",
            "SignOutResult",
            "UserPoolTokens",
        )
    },
}

__all__ = [
    "configure",
    "confirm_sign_in",
    "fetch_auth_session",
    "forget_device",
    "get_current_user",
    "listen",
    "load_ipython_extension",
    "remember_device",
    "session",
    "sign_in",
    "sign_in_from_hub",
    "sign_in_with_redirect",
    "sign_out",
    "unload_ipython_extension",
    *sorted(set(_LAZY) - {"CognitoSession"}),
]


def __getattr__(name: str) -> Any:
    if name == "session":
        # The kernel-wide session lives in nb_cognito.kernel, which %reload_ext does not reload.
        return importlib.import_module(".kernel", __name__).kernel_session()
    if name in ("dask", "duckdb"):  # nb_cognito.duckdb.connect() after a plain `import nb_cognito`
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nb_cognito' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    """The public API only: not the names this module uses to build it (``importlib``...)."""
    return sorted({*__all__, "__version__"})


def _session() -> CognitoSession:
    return importlib.import_module(".kernel", __name__).kernel_session()


def configure(config: CognitoConfig | None = None, /, **settings: Any) -> None:
    """Update the settings named (the others keep their values), or adopt a whole config."""
    _session().configure(config, **settings)


def sign_in(username: str | None = None, password: str | Secret | None = None) -> SignInResult:
    """Start signing in; see :meth:`CognitoSession.sign_in`."""
    from nb_cognito.secret import Secret

    password = Secret.of(password)  # no frame keeps it in plain text (see nb_cognito.secret)
    return _session().sign_in(username, password)


def sign_in_with_redirect(provider: str | None = None, **options: Any) -> None:
    """Sign in through the hosted UI (SSO); see :meth:`CognitoSession.sign_in_with_redirect`."""
    _session().sign_in_with_redirect(provider, **options)


def sign_in_from_hub() -> SignInResult:
    """Sign in with JupyterHub's sign-in (no password); see :meth:`CognitoSession.sign_in_from_hub`."""
    return _session().sign_in_from_hub()


def confirm_sign_in(
    challenge_response: str | Secret, user_attributes: dict[str, str] | None = None
) -> SignInResult:
    """Answer the current sign-in step (a code, a new password, an MFA or first-factor choice)."""
    from nb_cognito.secret import Secret

    challenge_response = Secret.of(challenge_response)  # type: ignore[assignment]
    return _session().confirm_sign_in(challenge_response, user_attributes)


def sign_out(global_sign_out: bool = False) -> SignOutResult:
    """Sign out locally (always succeeds); with ``global_sign_out`` also revoke the tokens
    everywhere. The result holds the errors of the best-effort server calls, if any."""
    return _session().sign_out(global_sign_out=global_sign_out)


def listen(event: AuthEvent | str, callback: Callable[[AuthEventPayload], None]) -> Callable[[], None]:
    """Amplify's ``Hub.listen``: call ``callback(payload)`` on ``event``; returns a function
    that unsubscribes.

    ``event`` is an :class:`AuthEvent` or its Amplify name (``"signedIn"``, ``"tokenRefresh"``...),
    or ``"auth"`` for every auth event (``payload.event`` says which).
    """
    from nb_cognito.exceptions import InvalidParameterError
    from nb_cognito.models import AuthEvent

    session = _session()
    if event == "auth":
        unsubscribes = [session.on(each, callback) for each in AuthEvent]

        def unsubscribe_all() -> None:
            for unsubscribe in unsubscribes:
                unsubscribe()

        return unsubscribe_all
    try:
        chosen = AuthEvent(event)
    except ValueError:
        names = ", ".join(["auth", *(each.value for each in AuthEvent)])
        raise InvalidParameterError(
            f"listen() got an unknown event {event!r}.", recovery_suggestion=f"Use one of: {names}."
        ) from None
    return session.on(chosen, callback)


def fetch_auth_session(force_refresh: bool = False) -> CognitoAuthSession:
    """The current session as SUCCESS/FAILURE results; see :meth:`CognitoSession.fetch_auth_session`."""
    return _session().fetch_auth_session(force_refresh=force_refresh)


def get_current_user() -> AuthUser:
    """The signed-in user; raises :class:`SignedOutError` when nobody is."""
    return _session().get_current_user()


def remember_device() -> None:
    """Amplify's ``rememberDevice``: later sign-ins from this device skip MFA ("User opt-in" pools)."""
    _session().remember_device()


def forget_device() -> None:
    """Amplify's ``forgetDevice``: Cognito forgets this device; the next sign-in asks for MFA."""
    _session().forget_device()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nb_cognito``: register the magics and the boto3 hook (idempotent)."""
    from nb_cognito.notebook.extension import load_extension

    load_extension(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nb_cognito``: remove the magics, hooks and boto3 provider it added."""
    from nb_cognito.notebook.extension import unload_extension

    unload_extension(ipython)
