"""The errors nb_cognito raises, and the one place that maps AWS errors to them.

Every error derives from :class:`AuthError`. ``retryable`` tells whether trying the
same thing again later can succeed (throttling, 5xx, network); a definitive error
(wrong password, revoked refresh token) is never retryable.

Messages are written for a person and never contain a password, token or key.
"""

from __future__ import annotations

from typing import Any

from nb_cognito.redaction import redact_text

__all__ = [
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
    "from_aws_error",
    "is_unknown_action",
]


class AuthError(Exception):
    """Base class of every nb_cognito error.

    ``recovery_suggestion`` says what the user can do about it, in one sentence.
    """

    retryable: bool = False
    default_suggestion: str = ""
    #: The AWS error code (``NotAuthorizedException``) when the error came from AWS, else None.
    #: Decisions are made on it, never on the message's words.
    code: str | None = None
    #: The HTTP status of AWS's answer, when there was one.
    status: int | None = None

    def __init__(self, message: str, *, recovery_suggestion: str | None = None) -> None:
        super().__init__(redact_text(message))
        suggestion = self.default_suggestion if recovery_suggestion is None else recovery_suggestion
        self.recovery_suggestion = redact_text(suggestion)

    def __str__(self) -> str:
        message = super().__str__()
        if self.recovery_suggestion and self.recovery_suggestion not in message:
            return f"{message} {self.recovery_suggestion}"
        return message


class ConfigurationError(AuthError, ValueError):
    """A setting is missing or malformed; the message names the setting and its source."""

    default_suggestion = "Fix the setting and try again; see the README's configuration table."


class InvalidParameterError(AuthError, ValueError):
    """A value passed to sign-in (username, code, password) cannot be sent to Cognito."""


class NotAuthorizedError(AuthError):
    """Wrong username or password, a lockout, or a token Cognito no longer accepts."""


class UserNotConfirmedError(AuthError):
    """The user signed up but never confirmed the account."""

    default_suggestion = (
        "Confirm the account with the code Cognito sent, or ask an administrator to confirm it."
    )


class PasswordResetRequiredError(AuthError):
    """An administrator reset the password; a new one must be set before signing in."""

    default_suggestion = (
        "Reset your password (forgot-password flow or your administrator), then sign in again."
    )


class CodeMismatchError(AuthError):
    """A wrong or expired verification or MFA code."""

    default_suggestion = "Check the code (TOTP codes change every 30 seconds) and enter it again."


class InvalidPasswordError(AuthError, ValueError):
    """A new password that breaks the pool's password policy."""

    default_suggestion = "Choose a password that meets the pool's policy."


class SignedOutError(AuthError):
    """Nobody is signed in (or the user signed out)."""

    default_suggestion = "Sign in again with %cognito_login or nb_cognito.sign_in()."


class SessionExpiredError(AuthError):
    """The refresh token was revoked or expired: the session cannot be renewed."""

    default_suggestion = "Sign in again with %cognito_login or nb_cognito.sign_in()."


class ServiceUnavailableError(AuthError):
    """Throttling, a 5xx answer or a network failure: try again. A session is never ended by it
    (the refresh engine then says so, :data:`SESSION_KEPT`)."""

    retryable = True
    default_suggestion = "Try again shortly."


#: The suggestion of a retryable error met while there is a session (a refresh), and only then.
SESSION_KEPT = "Your session is kept; nb_cognito retries on its own, or try again shortly."


class UnsupportedOperationError(AuthError):
    """The endpoint does not implement the action (an emulator, an older private endpoint)."""

    default_suggestion = "The endpoint does not offer this Cognito action."


class TokenValidationError(AuthError):
    """A token from the server failed verification (signature, issuer, audience, expiry)."""

    default_suggestion = "Check that the user pool id, client id and endpoint belong together."


class UnsupportedChallengeError(AuthError):
    """Cognito asked for a sign-in step nb_cognito cannot answer (passkeys, custom challenges).

    Nothing changed: the session (and a pending sign-in step) is as it was before the call.
    """

    default_suggestion = (
        "Choose another sign-in method, or ask your administrator for an app client whose "
        "flow nb_cognito supports (USER_SRP_AUTH, USER_PASSWORD_AUTH or USER_AUTH)."
    )


# ---------------------------------------------------------------------------
# The one map from AWS errors to ours

_THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "RequestLimitExceeded",
        "InternalErrorException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ResourceConflictException",
    }
)

# What an endpoint answers for an action it does not implement: AWS protocols' unknown-operation
# codes, cognito-local's "Unsupported", and HTTP 501.
_UNKNOWN_ACTION_CODES = frozenset(
    {
        "UnknownOperationException",
        "UnknownOperation",
        "InvalidAction",
        "Unsupported",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "NotImplemented",
    }
)

_WRONG_CREDENTIALS = "Incorrect username or password."


def is_unknown_action(error: AuthError) -> bool:
    """True when ``error`` says the endpoint does not know the action at all.

    Decided by code and status: an unknown-operation code, HTTP 501, or HTTP 500 without any
    AWS error code (moto answers an unimplemented action with a bare 500 page; the service's
    own 500s carry ``InternalErrorException``).
    """
    if error.code in _UNKNOWN_ACTION_CODES or error.status == 501:
        return True
    return error.status == 500 and error.code == "500"


def from_aws_error(error: BaseException, *, action: str = "") -> AuthError:
    """Translate an exception from boto3/botocore (or the network) into an :class:`AuthError`.

    ``action`` names what we were doing ("sign in", "refresh the session", ...), for the message.
    The server's own message is kept only when it cannot reveal whether a user exists, and it
    is always passed through :func:`redact_text`.
    """
    if isinstance(error, AuthError):
        return error
    doing = f" while trying to {action}" if action else ""

    from botocore.exceptions import (  # imported here: botocore is loaded only when used
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ParamValidationError,
        ReadTimeoutError,
    )

    network_errors: tuple[type[BaseException], ...] = (
        EndpointConnectionError,
        ConnectionClosedError,
        ConnectTimeoutError,
        ReadTimeoutError,
        ConnectionError,
        TimeoutError,
    )
    if isinstance(error, ParamValidationError):
        return InvalidParameterError(f"A value could not be sent{doing}: {error}")
    if isinstance(error, network_errors):
        return ServiceUnavailableError(f"Cognito could not be reached{doing} ({type(error).__name__}).")
    if isinstance(error, ClientError):
        return _from_client_error(error, doing)
    if isinstance(error, BotoCoreError):
        return ServiceUnavailableError(f"The AWS client failed{doing}: {type(error).__name__}.")
    return AuthError(f"Unexpected {type(error).__name__}{doing}.")


def _from_client_error(error: Any, doing: str) -> AuthError:
    response = getattr(error, "response", {}) or {}
    code = response.get("Error", {}).get("Code", "") or ""
    message = response.get("Error", {}).get("Message", "") or ""
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
    ours = _classify(code, message, status, doing)
    ours.code = code or None
    ours.status = status or None
    return ours


def _server_message(message: str) -> str:
    """The server's message for a 5xx, short and on one line; an HTML error page is not shown."""
    text = " ".join(message.split())
    if not text or text.startswith("<"):
        return ""
    return f": {text[:200].rstrip('.')}"


def _classify(code: str, message: str, status: int, doing: str) -> AuthError:
    if code in _UNKNOWN_ACTION_CODES or status == 501:
        return UnsupportedOperationError(
            f"The endpoint does not support the action{doing} ({code or status})."
        )
    if code in _THROTTLING_CODES or status >= 500:
        kind = "throttled the request" if "Request" in code or "Throttl" in code else "failed"
        return ServiceUnavailableError(f"Cognito {kind}{doing} ({code or status}){_server_message(message)}.")

    if code in ("UserNotFoundException",):
        # Never reveal whether the user exists.
        return NotAuthorizedError(_WRONG_CREDENTIALS, recovery_suggestion="Check the username and password.")
    if code == "NotAuthorizedException":
        # Cognito gives one code for a wrong password, a lockout, a disabled user and a dead
        # refresh token; its documented messages are the only way to tell them apart, and only
        # this map reads them (to word the error; all of them end a refresh alike).
        lowered = message.lower()
        if "refresh token" in lowered:
            return SessionExpiredError(f"Your Cognito session has ended: {message}")
        if "attempts exceeded" in lowered:
            return NotAuthorizedError(
                "Password attempts exceeded: the account is temporarily locked.",
                recovery_suggestion="Wait a few minutes before trying again.",
            )
        if "disabled" in lowered:
            return NotAuthorizedError("This user is disabled.", recovery_suggestion="Ask your administrator.")
        if "incorrect username or password" in lowered or "password" in lowered:
            return NotAuthorizedError(
                _WRONG_CREDENTIALS, recovery_suggestion="Check the username and password."
            )
        return NotAuthorizedError(f"Cognito refused the request{doing}: {message}")
    if code == "RefreshTokenReuseException":
        return SessionExpiredError("Your Cognito session has ended: the refresh token was reused.")
    if code == "UserNotConfirmedException":
        return UserNotConfirmedError("This account is not confirmed yet.")
    if code == "PasswordResetRequiredException":
        return PasswordResetRequiredError("A password reset is required for this account.")
    if code in ("CodeMismatchException", "ExpiredCodeException", "EnableSoftwareTokenMFAException"):
        return CodeMismatchError("That code is wrong or has expired.")
    if code == "InvalidPasswordException":
        return InvalidPasswordError(f"The new password was refused: {message}")
    if code in ("InvalidParameterException", "ValidationException", "ParamValidationError"):
        return InvalidParameterError(f"Cognito rejected a parameter{doing}: {message}")
    if code in ("ResourceNotFoundException", "InvalidUserPoolConfigurationException"):
        return ConfigurationError(
            f"Cognito does not know this pool, client or identity pool{doing}: {_sentence(message)}"
        )
    return AuthError(f"Cognito returned {code or status}{doing}: {_sentence(message)}")


def _sentence(text: str) -> str:
    """``text`` ending with a full stop (server messages sometimes have none)."""
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def unknown_resource(error: ConfigurationError, what: str, settings: Any, *names: str) -> AuthError:
    """``error`` (Cognito's ResourceNotFoundException) retold: which setting holds the id Cognito
    does not know, with its value, where that value came from, and where it was looked for.

    ``names`` are the settings the failed call sent (the first is the one named as unknown);
    anything else is returned unchanged. ``settings`` is a :class:`nb_cognito.settings.config.Settings`.
    """
    if error.code != "ResourceNotFoundException":  # the code the one map kept on the error
        return error
    name = names[0]
    value = getattr(settings, name, None)
    region = getattr(settings, "region", None)
    endpoint = getattr(settings, "endpoint_url", None)
    sources = getattr(settings, "sources", {})
    where = f"in region {region} (region, from {sources.get('region', 'not set')})"
    if endpoint:
        where += f" at {endpoint} (endpoint_url, from {sources.get('endpoint_url', 'not set')})"
    others = [other for other in ("region", "endpoint_url", *names[1:]) if other != name]
    return ConfigurationError(
        f"Cognito does not know the {what} {value!r} ({name}, from {sources.get(name, 'not set')}) {where}.",
        recovery_suggestion=(
            f"Check {name}, and that {', '.join(others[:-1])} and {others[-1]} belong with it; "
            "nb_cognito.session.settings.describe() shows each value and where it came from."
        ),
    )
