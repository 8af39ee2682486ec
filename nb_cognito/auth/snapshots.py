"""What a caller sees of a session state, with no lock and no network: the
:class:`CognitoAuthSession` snapshots (signed in, failed, signed out with or without a guest),
the secret-free :class:`SessionStatus`, and the secrets a state holds (which the redaction pins).
The states and the rules on them are :mod:`nb_cognito.auth.state`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nb_cognito.auth.state import Expired, SignedIn, utc_at
from nb_cognito.exceptions import AuthError, ConfigurationError, SignedOutError
from nb_cognito.models import AuthSessionResult, AuthUser, AWSCredentials, CognitoAuthSession, SessionStatus

__all__ = ["failed_snapshot", "live_secrets", "session_status", "signed_in_snapshot", "signed_out_snapshot"]


def signed_in_snapshot(
    state: SignedIn,
    now: float,
    *,
    error: AuthError | None,
    last_error: AuthError | None,
    wants_credentials: bool,
    identity_pool: bool,
) -> CognitoAuthSession:
    """``state`` as SUCCESS/FAILURE results at local time ``now``.

    ``error``: why the refresh just attempted failed; ``identity_pool``: one is configured
    (the identity id comes from it).
    """
    server_now = now + state.skew
    tokens_ok = state.tokens.expiration.timestamp() > server_now
    creds = state.credentials
    creds_ok = creds is not None and creds.expiration.timestamp() > server_now
    no_pool = ConfigurationError(
        "No identity pool is configured, so there is no identity id.",
        recovery_suggestion="Set identity_pool_id (configure(), %cognito_login --identity-pool-id, "
        "or NB_COGNITO_IDENTITY_POOL_ID).",
    )
    pending_error = error or state.credentials_error or last_error or AuthError("Not available yet.")
    if state.identity_id:
        identity = AuthSessionResult.success(state.identity_id)
    elif wants_credentials and identity_pool:
        identity = AuthSessionResult.failure(pending_error)
    else:
        identity = AuthSessionResult.failure(no_pool)
    credentials: AuthSessionResult[AWSCredentials]
    if not wants_credentials:
        credentials = AuthSessionResult.failure(
            ConfigurationError(
                "No identity pool or role ARN is configured, so there are no AWS credentials.",
                recovery_suggestion=no_pool.recovery_suggestion,
            )
        )
    elif creds_ok and creds is not None:  # creds_ok implies creds; this tells mypy
        credentials = AuthSessionResult.success(creds)
    else:
        credentials = AuthSessionResult.failure(pending_error)
    return CognitoAuthSession(
        is_signed_in=True,
        user_sub_result=AuthSessionResult.success(state.user.user_id),
        identity_id_result=identity,
        aws_credentials_result=credentials,
        user_pool_tokens_result=(
            AuthSessionResult.success(state.tokens) if tokens_ok else AuthSessionResult.failure(pending_error)
        ),
    )


def failed_snapshot(error: AuthError, *, signed_in: bool, user: AuthUser | None = None) -> CognitoAuthSession:
    """Every result a FAILURE with ``error`` (the user sub stays known when signed out)."""
    failure: AuthSessionResult[Any] = AuthSessionResult.failure(error)
    return CognitoAuthSession(
        is_signed_in=signed_in,
        user_sub_result=AuthSessionResult.success(user.user_id) if user and not signed_in else failure,
        identity_id_result=failure,
        aws_credentials_result=failure,
        user_pool_tokens_result=failure,
    )


def signed_out_snapshot(guest: tuple[str, AWSCredentials] | AuthError | None = None) -> CognitoAuthSession:
    """Nobody signed in; with the guest identity and credentials (or why they failed) if allowed."""
    snapshot = failed_snapshot(SignedOutError("Nobody is signed in."), signed_in=False)
    if guest is None:
        return snapshot
    if isinstance(guest, AuthError):
        return replace(
            snapshot,
            identity_id_result=AuthSessionResult.failure(guest),
            aws_credentials_result=AuthSessionResult.failure(guest),
        )
    identity_id, creds = guest
    return replace(
        snapshot,
        identity_id_result=AuthSessionResult.success(identity_id),
        aws_credentials_result=AuthSessionResult.success(creds),
    )


def session_status(
    state: SignedIn | Expired | None,
    *,
    next_attempt: float | None,
    error: AuthError | None,
    auto_refresh: bool,
    through_hub: bool = False,
) -> SessionStatus:
    """The secret-free summary of ``state``; ``next_attempt`` is the refresher's local time."""
    if isinstance(state, SignedIn):
        creds = state.credentials
        return SessionStatus(
            signed_in=True,
            expired=False,
            user=state.user,
            identity_id=state.identity_id,
            tokens_expiration=state.tokens.expiration,
            credentials_expiration=creds.expiration if creds else None,
            access_key_hint=creds.access_key_hint if creds else None,
            last_refresh=utc_at(state.last_refresh) if state.last_refresh else None,
            next_refresh=utc_at(next_attempt) if next_attempt is not None else None,
            last_error=str(error) if error else None,
            auto_refresh=auto_refresh,
            through_hub=through_hub,
        )
    return SessionStatus(
        signed_in=False,
        expired=isinstance(state, Expired),
        user=state.user if isinstance(state, Expired) else None,
        last_error=str(state.error) if isinstance(state, Expired) else None,
    )


def live_secrets(state: object) -> tuple[str | None, ...]:
    """The secrets a session in ``state`` holds (pinned in the redaction registry while it does):
    its tokens, its AWS credentials' secret key and session token, its device's password."""
    if not isinstance(state, SignedIn):
        return ()
    credentials = state.credentials
    return (
        state.tokens.id_token,
        state.tokens.access_token,
        state.tokens.refresh_token,
        *((credentials.secret_access_key, credentials.session_token) if credentials else ()),
        state.device.password if state.device else None,
    )
