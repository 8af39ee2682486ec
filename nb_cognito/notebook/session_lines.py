"""What the magics say about the session, and how they reach it and its integrations.

The one-line summary after a sign-in, the device and forget messages, the plain
``UsageError`` a magic raises, and the kernel session's integrations the magics use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nb_cognito import store
from nb_cognito.exceptions import AuthError
from nb_cognito.integrations.boto3_injection import Boto3Injection, is_installed
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.notebook.magic_line import MagicUsageError, without_values
from nb_cognito.notebook.report import no_credentials_reason

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = [
    "boto3_of",
    "describe_device",
    "forget_all_line",
    "forget_device_line",
    "hub_sign_in_line",
    "kernel_session",
    "remembered_of",
    "signed_in_as",
    "summary_line",
    "usage_error",
]

log = logging.getLogger("nb_cognito")


def kernel_session() -> CognitoSession:
    from nb_cognito.kernel import kernel_session

    return kernel_session()


def signed_in_as(session: CognitoSession, username: str | None) -> bool:
    """True when someone is signed in and ``username`` (None: anyone) is that user, as Cognito
    knows it or as it was typed."""
    return session.is_signed_in if username is None else session.is_signed_in_as(username)


def summary_line(session: CognitoSession, *, resumed: bool = False) -> str:
    """The one line %cognito_login prints once signed in. Nothing secret."""
    status = session.status()
    who = (status.user.username if status.user else "?") + (" (remembered session)" if resumed else "")
    signed = "Signed in through JupyterHub as" if session.status().through_hub else "Signed in as"
    identity = f" (identity {status.identity_id})" if status.identity_id else ""
    refresh = "they refresh automatically" if status.auto_refresh else "they refresh when used"
    if status.credentials_expiration is None:
        missing = no_credentials_reason(session.settings)
        if missing is not None:
            return f"{signed} {who}, but there are no AWS credentials: {missing}"
        reason = f": {status.last_error}" if status.last_error else "."
        return f"{signed} {who}{identity}; no AWS credentials yet{reason}"
    if is_installed():
        return f"{signed} {who}{identity}. boto3 now uses its AWS credentials; {refresh}."
    return (
        f"{signed} {who}{identity}. boto3's default session keeps its own credentials; "
        f"use nb_cognito.session.boto3_session() for the Cognito ones ({refresh})."
    )


def hub_sign_in_line(session: CognitoSession) -> str:
    """``%cognito_login --hub``: sign in with JupyterHub's tokens; the line to print, or a UsageError."""
    try:
        session.sign_in_from_hub()
    except AuthError as error:
        raise usage_error(error, "Signing in through JupyterHub failed") from None
    return summary_line(session)


def usage_error(error: AuthError, doing: str = "", *, hide: Sequence[Any] = ()) -> MagicUsageError:
    """A UsageError that every frontend shows as one line (papermill included); ``hide``: values
    typed on the magic's line, which the message must not repeat (see :func:`without_values`)."""
    text = without_values(str(error), hide)
    return MagicUsageError(f"{doing}: {text}" if doing else text)


def remembered_of(session: CognitoSession) -> RememberedSessions | None:
    return session.integrations.find(RememberedSessions)


def boto3_of(session: CognitoSession | None) -> Boto3Injection | None:
    return session.integrations.find(Boto3Injection) if session is not None else None


def describe_device(session: CognitoSession) -> str | None:
    device = session.device
    if device is None:
        return None
    if not device.can_prove:
        return "tracked (forgotten: the next sign-in asks for MFA)"
    return "remembered: sign-ins skip MFA" if device.remembered else "tracked, not remembered"


def forget_device_line(session: CognitoSession) -> str:
    """``--forget-device``, before the sign-out (ForgetDevice needs the access token)."""
    if not session.is_signed_in or session.device is None:
        return "No device was tracked for this session."
    try:
        session.forget_device()
    except AuthError as error:
        return f"Forgetting the device failed ({error})."
    return "Cognito forgot this device; the next sign-in asks for MFA."


def forget_all_line() -> str:
    count = store.forget_all()
    return f"Forgot {count} remembered session{'s' if count != 1 else ''}."
