"""Immutable values that cross the public API, on the model of Amplify Auth.

Every ``repr``/``str``/``_repr_html_`` here is safe to leave in a notebook: tokens show only
a short fingerprint (a hash prefix) and access keys their last four characters, never a value.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from nb_cognito.redaction import known_secrets

__all__ = [
    "AWSCredentials",
    "AuthEvent",
    "AuthEventPayload",
    "AuthSessionResult",
    "AuthSessionResultType",
    "AuthUser",
    "CognitoAuthSession",
    "SessionStatus",
    "SignInNextStep",
    "SignInResult",
    "SignInStep",
    "SignOutResult",
    "TrackedDevice",
    "UserPoolTokens",
    "fingerprint",
]

T = TypeVar("T")


def fingerprint(secret: str | None) -> str:
    """A short, stable, non-reversible label for a secret, for display and logs."""
    if not secret:
        return "-"
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()[:8]


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def html_table(rows: Iterable[tuple[str, str]], css_class: str, caption: str = "") -> str:
    """(label, text) rows as a left-aligned HTML table, every string escaped."""
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
        f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
        for label, text in rows
    )
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='{css_class}'>{title}{cells}</table>"


@dataclass(frozen=True)
class UserPoolTokens:
    """The user-pool tokens. ``expiration`` is when the ID/access tokens stop being valid."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expiration: dt.datetime

    def __repr__(self) -> str:
        return (
            f"UserPoolTokens(id_token=<{fingerprint(self.id_token)}>, "
            f"access_token=<{fingerprint(self.access_token)}>, "
            f"refresh_token=<{fingerprint(self.refresh_token)}>, "
            f"expiration={_utc(self.expiration)!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class AWSCredentials:
    """Temporary AWS credentials from the identity pool (or STS)."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: dt.datetime

    @property
    def access_key_hint(self) -> str:
        """The last four characters of the key id, as the AWS console shows it."""
        return "…" + self.access_key_id[-4:] if self.access_key_id else "-"

    def __repr__(self) -> str:
        return (
            f"AWSCredentials(access_key_id={self.access_key_hint!r}, secret_access_key=<hidden>, "
            f"session_token=<hidden>, expiration={_utc(self.expiration)!r})"
        )

    __str__ = __repr__


class AuthSessionResultType(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class AuthSessionResult(Generic[T]):
    """One field of :class:`CognitoAuthSession`: a value, or the error that prevented it."""

    type: AuthSessionResultType
    value: T | None = None
    error: Exception | None = None

    @classmethod
    def success(cls, value: T) -> AuthSessionResult[T]:
        return cls(AuthSessionResultType.SUCCESS, value=value)

    @classmethod
    def failure(cls, error: Exception) -> AuthSessionResult[T]:
        return cls(AuthSessionResultType.FAILURE, error=error)

    @property
    def is_success(self) -> bool:
        return self.type is AuthSessionResultType.SUCCESS

    def unwrap(self) -> T:
        """The value, or raise the error. Handy outside Amplify's result style."""
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value

    def __repr__(self) -> str:
        if self.is_success:
            return f"AuthSessionResult.SUCCESS({self.value!r})"
        return f"AuthSessionResult.FAILURE({type(self.error).__name__}: {self.error})"


@dataclass(frozen=True)
class AuthUser:
    """The signed-in user: the username Cognito knows and the user's ``sub``."""

    username: str
    user_id: str


@dataclass(frozen=True, repr=False)
class CognitoAuthSession:
    """A snapshot of the session, as Amplify's ``AWSCognitoAuthSession``."""

    is_signed_in: bool
    user_sub_result: AuthSessionResult[str]
    identity_id_result: AuthSessionResult[str]
    aws_credentials_result: AuthSessionResult[AWSCredentials]
    user_pool_tokens_result: AuthSessionResult[UserPoolTokens]

    def _rows(self) -> list[tuple[str, str]]:
        def show(result: AuthSessionResult) -> str:
            if result.is_success:
                value = result.value
                if isinstance(value, UserPoolTokens | AWSCredentials):
                    hint = f"key {value.access_key_hint}, " if isinstance(value, AWSCredentials) else ""
                    return f"SUCCESS ({hint}expires {_utc(value.expiration)})"
                return f"SUCCESS ({value})"
            return f"FAILURE ({type(result.error).__name__}: {result.error})"

        return [
            ("signed in", "yes" if self.is_signed_in else "no"),
            ("user sub", show(self.user_sub_result)),
            ("identity id", show(self.identity_id_result)),
            ("AWS credentials", show(self.aws_credentials_result)),
            ("user-pool tokens", show(self.user_pool_tokens_result)),
        ]

    def __repr__(self) -> str:
        inner = ", ".join(
            [
                f"is_signed_in={self.is_signed_in}",
                f"user_sub_result={self.user_sub_result!r}",
                f"identity_id_result={self.identity_id_result!r}",
                f"aws_credentials_result={self.aws_credentials_result!r}",
                f"user_pool_tokens_result={self.user_pool_tokens_result!r}",
            ]
        )
        return f"CognitoAuthSession({inner})"

    def __str__(self) -> str:
        return "\n".join(f"{name:>17}: {value}" for name, value in self._rows())

    def _repr_html_(self) -> str:
        return html_table(self._rows(), "nb-cognito-session")


class SignInStep(enum.Enum):
    """What the user must do next, as Amplify's ``AuthSignInStep``."""

    DONE = "DONE"
    CONFIRM_SIGN_IN_WITH_NEW_PASSWORD = "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD"
    CONFIRM_SIGN_IN_WITH_TOTP_CODE = "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
    CONFIRM_SIGN_IN_WITH_SMS_CODE = "CONFIRM_SIGN_IN_WITH_SMS_CODE"
    CONTINUE_SIGN_IN_WITH_MFA_SELECTION = "CONTINUE_SIGN_IN_WITH_MFA_SELECTION"
    CONTINUE_SIGN_IN_WITH_TOTP_SETUP = "CONTINUE_SIGN_IN_WITH_TOTP_SETUP"
    CONFIRM_SIGN_IN_WITH_EMAIL_CODE = "CONFIRM_SIGN_IN_WITH_EMAIL_CODE"
    CONTINUE_SIGN_IN_WITH_EMAIL_SETUP = "CONTINUE_SIGN_IN_WITH_EMAIL_SETUP"
    CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION = "CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION"
    CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION = "CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION"
    CONFIRM_SIGN_IN_WITH_PASSWORD = "CONFIRM_SIGN_IN_WITH_PASSWORD"


@dataclass(frozen=True)
class SignInNextStep:
    """The next step and what the user needs for it.

    ``code_destination`` is the masked phone number or email address a code was sent to;
    ``allowed_mfa_types`` lists ``"SMS"``/``"TOTP"``/``"EMAIL"`` for MFA selection (and MFA
    setup selection); ``totp_setup_uri`` is the ``otpauth://`` URI to scan (and
    ``totp_shared_secret`` the same secret as text) for TOTP setup. ``missing_attributes``
    lists attributes Cognito requires with a new password (answer them with
    ``confirm_sign_in(new_password, user_attributes={...})``). ``available_challenges`` lists
    the first factors to choose from (``"PASSWORD_SRP"``, ``"PASSWORD"``, ``"EMAIL_OTP"``,
    ``"SMS_OTP"``) in the ``USER_AUTH`` flow.
    """

    sign_in_step: SignInStep
    code_destination: str | None = None
    allowed_mfa_types: tuple[str, ...] = ()
    totp_setup_uri: str | None = field(default=None, repr=False)
    totp_shared_secret: str | None = field(default=None, repr=False)
    missing_attributes: tuple[str, ...] = ()
    available_challenges: tuple[str, ...] = ()

    def __repr__(self) -> str:
        parts = [f"sign_in_step={self.sign_in_step}"]
        if self.missing_attributes:
            parts.append(f"missing_attributes={self.missing_attributes!r}")
        if self.available_challenges:
            parts.append(f"available_challenges={self.available_challenges!r}")
        if self.code_destination:
            parts.append(f"code_destination={self.code_destination!r}")
        if self.allowed_mfa_types:
            parts.append(f"allowed_mfa_types={self.allowed_mfa_types!r}")
        if self.totp_setup_uri:
            parts.append("totp_setup_uri=<hidden>")
        return f"SignInNextStep({', '.join(parts)})"


@dataclass(frozen=True)
class SignInResult:
    """What :func:`nb_cognito.sign_in` and :func:`nb_cognito.confirm_sign_in` return."""

    is_signed_in: bool
    next_step: SignInNextStep


class AuthEvent(enum.Enum):
    """Events a callback can subscribe to with ``session.on(event, callback)``."""

    SIGNED_IN = "signedIn"
    SIGNED_OUT = "signedOut"
    TOKEN_REFRESH = "tokenRefresh"
    TOKEN_REFRESH_FAILURE = "tokenRefresh_failure"
    CREDENTIALS_REFRESH = "credentialsRefresh"
    SESSION_EXPIRED = "sessionExpired"


@dataclass(frozen=True)
class AuthEventPayload:
    """What a callback receives: the event, the user it concerns, and the error if any."""

    event: AuthEvent
    user: AuthUser | None = None
    error: Exception | None = None


@dataclass(frozen=True)
class SignOutResult:
    """What :func:`nb_cognito.sign_out` reports: the local sign-out always succeeded; these
    are the best-effort server calls that did not."""

    global_sign_out_error: Exception | None = None
    revoke_token_error: Exception | None = None


def _relative(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if moment is None:
        return "-"
    now = now or dt.datetime.now(dt.timezone.utc)
    seconds = int((moment - now).total_seconds())
    span = abs(seconds)
    if span == 0:
        return "just now"
    text = f"{span} s" if span < 120 else f"{span // 60} min" if span < 7200 else f"{span // 3600} h"
    return f"in {text}" if seconds >= 0 else f"{text} ago"


@dataclass(frozen=True)
class SessionStatus:
    """A secret-free summary of the session, for ``%cognito_session`` and the widget."""

    signed_in: bool
    expired: bool = False
    user: AuthUser | None = None
    identity_id: str | None = None
    tokens_expiration: dt.datetime | None = None
    credentials_expiration: dt.datetime | None = None
    access_key_hint: str | None = None
    last_refresh: dt.datetime | None = None
    next_refresh: dt.datetime | None = None
    last_error: str | None = None
    auto_refresh: bool = False
    #: Signed in with JupyterHub's tokens (``sign_in_from_hub``), not a password or the hosted UI.
    through_hub: bool = False

    def rows(self, now: dt.datetime | None = None) -> list[tuple[str, str]]:
        """(label, text) pairs; ``now`` makes the relative times testable."""
        if not self.signed_in:
            state = "session expired" if self.expired else "signed out"
            rows = [("state", state)]
            if self.user:
                rows.append(("user", self.user.username))
            if self.last_error:
                rows.append(("reason", self.last_error))
            return rows
        assert self.user is not None
        return [
            ("user", self.user.username),
            ("sub", self.user.user_id),
            ("tokens expire", _relative(self.tokens_expiration, now)),
            ("identity id", self.identity_id or "-"),
            ("AWS credentials expire", _relative(self.credentials_expiration, now)),
            ("access key", self.access_key_hint or "-"),
            ("last refresh", _relative(self.last_refresh, now)),
            ("next refresh", _relative(self.next_refresh, now) if self.auto_refresh else "on demand"),
            ("last error", self.last_error or "-"),
        ]

    def __str__(self) -> str:
        rows = self.rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def _repr_html_(self) -> str:
        return html_table(self.rows(), "nb-cognito-status")


@dataclass(frozen=True)
class TrackedDevice:
    """A device Cognito issued to this kernel's sign-in.

    ``password`` is None when the device could not be confirmed (or was forgotten): the key
    still renews the refresh token bound to it, but the device cannot stand in for MFA.
    ``remembered`` says whether Cognito remembers it (so a later sign-in skips MFA).
    """

    key: str
    group_key: str
    password: str | None = field(default=None, repr=False)
    remembered: bool = False

    def __post_init__(self) -> None:
        known_secrets.add(self.password)

    @property
    def can_prove(self) -> bool:
        """True when the device can answer DEVICE_SRP_AUTH (it has its password)."""
        return bool(self.password)

    def __repr__(self) -> str:
        state = "remembered" if self.remembered else "not remembered"
        return f"<TrackedDevice {self.key!r} {state}>"
