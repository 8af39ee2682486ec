"""The session's values and the rules on them: no lock, no network, time passed in.

:class:`~nb_cognito.auth.policy.RefreshPolicy` sets the windows; :class:`SignedIn` and
:class:`Expired` are the immutable states :class:`~nb_cognito.auth.session.CognitoSession`
swaps under its lock. The functions here say, for a state at local time ``now``, what is
due and when the background refresher should wake. What a caller sees of a state
(:class:`CognitoAuthSession`, :class:`SessionStatus`) is :mod:`nb_cognito.auth.snapshots`.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.exceptions import (
    AuthError,
    NotAuthorizedError,
    PasswordResetRequiredError,
    SessionExpiredError,
    TokenValidationError,
    UserNotConfirmedError,
)
from nb_cognito.models import (
    AuthUser,
    AWSCredentials,
    UserPoolTokens,
)

if TYPE_CHECKING:
    from nb_cognito.auth.userpool_calls import AuthTokens
    from nb_cognito.models import TrackedDevice

__all__ = [
    "Expired",
    "Freshness",
    "RefreshPlan",
    "RefreshPolicy",
    "SignedIn",
    "ended_by",
    "fresh_until",
    "freshness",
    "next_background_refresh",
    "refresh_plan",
    "signed_in_state",
    "utc_at",
]

# Errors after which the refresh token can never work again: the user must sign in anew.
_DEFINITIVE = (
    NotAuthorizedError,
    SessionExpiredError,
    PasswordResetRequiredError,
    UserNotConfirmedError,
)


@dataclass(frozen=True)
class SignedIn:
    user: AuthUser
    tokens: UserPoolTokens
    token_lifetime: float
    skew: float  # server time minus local time, estimated from the ID token's iat
    jitter: float  # fraction of each lead the background refresh starts early, per token generation
    identity_id: str | None = None
    credentials: AWSCredentials | None = None
    credentials_lifetime: float = 0.0
    credentials_error: AuthError | None = None
    last_refresh: float | None = None
    login_name: str | None = None  # the alias typed at sign-in, when it is not the username
    device: TrackedDevice | None = None  # the tracked device the refresh token is bound to


@dataclass(frozen=True)
class Expired:
    user: AuthUser
    error: SessionExpiredError


def utc_at(timestamp: float) -> dt.datetime:
    """``timestamp`` (seconds since the epoch) as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


# -- transitions -----------------------------------------------------------------------------


def signed_in_state(
    tokens: AuthTokens,
    id_claims: dict[str, Any],
    access_claims: dict[str, Any],
    *,
    previous: SignedIn | None,
    policy: RefreshPolicy,
    now: float,
) -> SignedIn:
    """The state that verified ``tokens`` (with their claims) define; ``previous`` on a refresh."""
    if id_claims.get("sub") != access_claims.get("sub"):
        raise TokenValidationError("The ID and access tokens belong to different users.")
    refresh_token = tokens.refresh_token or (previous.tokens.refresh_token if previous else None)
    if not refresh_token:
        raise NotAuthorizedError("Cognito signed in without a refresh token.")
    issued, expires = float(id_claims["iat"]), float(min(id_claims["exp"], access_claims["exp"]))
    lifetime = expires - issued
    user = AuthUser(
        username=str(id_claims.get("cognito:username") or access_claims.get("username")),
        user_id=str(id_claims["sub"]),
    )
    if previous is not None and previous.user.user_id != user.user_id:
        raise TokenValidationError("The refreshed tokens belong to another user.")
    return SignedIn(
        user=user,
        tokens=UserPoolTokens(tokens.id_token, tokens.access_token, refresh_token, utc_at(expires)),
        token_lifetime=lifetime,
        skew=issued - now,
        jitter=policy.head_start(),
        identity_id=previous.identity_id if previous else None,
        credentials=previous.credentials if previous else None,
        credentials_lifetime=previous.credentials_lifetime if previous else 0.0,
        last_refresh=now,
        login_name=previous.login_name if previous else None,
        device=previous.device if previous else None,
    )


def ended_by(error: AuthError) -> SessionExpiredError | None:
    """The error that ends the session, if ``error`` (from a token refresh) is definitive."""
    if not isinstance(error, _DEFINITIVE):
        return None
    return SessionExpiredError(f"Your Cognito session has ended and cannot be refreshed ({_reason(error)}).")


def _reason(error: AuthError) -> str:
    """The first sentence of the error's own message (without its recovery suggestion)."""
    text = str(error.args[0]) if error.args else ""
    text = text.removeprefix("Your Cognito session has ended: ")
    return text.split(". ")[0].rstrip(".") if text else type(error).__name__


# -- time ------------------------------------------------------------------------------------


# A refresher that wakes at exactly its planned moment must find the refresh due, whatever
# the rounding of the sums that planned it.
_WAKE_TOLERANCE = 1e-3


class Freshness(enum.Enum):
    """How fresh a state is at one moment, as google-auth's ``TokenState``.

    FRESH: served from memory. ADVISORY: one caller refreshes, the others keep the current
    values. MANDATORY: every caller waits for the one refresh.
    """

    FRESH = "fresh"
    ADVISORY = "advisory"
    MANDATORY = "mandatory"


class RefreshPlan(NamedTuple):
    """What one refresh renews."""

    tokens: bool
    credentials: bool


def freshness(state: SignedIn, policy: RefreshPolicy, now: float, *, wants_credentials: bool) -> Freshness:
    """How fresh ``state`` is at local time ``now``."""
    server_now = now + state.skew
    token_left = state.tokens.expiration.timestamp() - server_now
    is_due = token_left < policy.lead(state.token_lifetime)
    mandatory = token_left < policy.mandatory_lead(state.token_lifetime)
    if wants_credentials:
        creds = state.credentials
        if creds is None:
            return Freshness.MANDATORY
        creds_left = creds.expiration.timestamp() - server_now
        is_due = is_due or creds_left < policy.lead(state.credentials_lifetime)
        mandatory = mandatory or creds_left < policy.mandatory_lead(state.credentials_lifetime)
    if mandatory:
        return Freshness.MANDATORY
    return Freshness.ADVISORY if is_due else Freshness.FRESH


def refresh_plan(
    state: SignedIn,
    policy: RefreshPolicy,
    now: float,
    *,
    wants_credentials: bool,
    force_tokens: bool,
    force_credentials: bool,
    head_start: float = 0.0,
) -> RefreshPlan:
    """What to renew at local time ``now``.

    ``head_start``: also renew what is within that fraction of its own lead of the advisory
    window (the background refresher wakes up that much early, and must then renew). It is a
    fraction of each value's lead, never seconds, so short-lived credentials beside long-lived
    tokens are never renewed at every wake-up.
    """
    server_now = now + state.skew
    token_left = state.tokens.expiration.timestamp() - server_now
    token_lead = policy.lead(state.token_lifetime) * (1 + head_start) + _WAKE_TOLERANCE
    creds = state.credentials
    creds_left = creds.expiration.timestamp() - server_now if creds else -math.inf
    creds_lead = policy.lead(state.credentials_lifetime or state.token_lifetime) * (1 + head_start)
    creds_lead += _WAKE_TOLERANCE
    refresh_credentials = wants_credentials and (
        force_credentials or force_tokens or creds_left <= creds_lead
    )
    # Tokens are refreshed when due, and before credentials whenever the ID token has less
    # than a lead left: an expired ID token is never sent to the identity pool.
    refresh_tokens = force_tokens or token_left <= token_lead
    if refresh_tokens and wants_credentials and creds_left < 2 * creds_lead:
        refresh_credentials = True  # keep both on one schedule: one wake-up per lifetime
    if refresh_credentials and token_left <= token_lead:
        refresh_tokens = True
    return RefreshPlan(tokens=refresh_tokens, credentials=refresh_credentials)


def next_background_refresh(state: SignedIn, policy: RefreshPolicy, *, wants_credentials: bool) -> float:
    """Local time at which the background refresher should refresh ``state``: its jitter ahead."""
    return _advisory_at(state, policy, wants_credentials=wants_credentials, head_start=state.jitter)


def fresh_until(
    state: SignedIn, policy: RefreshPolicy, now: float, *, wants_credentials: bool, retry_not_before: float
) -> float | None:
    """Until when a snapshot of ``state`` may be served from memory; None if not at all."""
    server_now = now + state.skew
    if state.tokens.expiration.timestamp() <= server_now:
        return None
    creds = state.credentials
    if wants_credentials and (creds is None or creds.expiration.timestamp() <= server_now):
        return None
    until = _advisory_at(state, policy, wants_credentials=wants_credentials)
    # After a failed advisory refresh, answer from memory until the retry time, but
    # never past the start of the mandatory window.
    mandatory_at = (
        state.tokens.expiration.timestamp() - state.skew - policy.mandatory_lead(state.token_lifetime)
    )
    return max(until, min(retry_not_before, mandatory_at))


def _advisory_at(
    state: SignedIn, policy: RefreshPolicy, *, wants_credentials: bool, head_start: float = 0.0
) -> float:
    """Local time the advisory window opens (``head_start`` of each lead early), for the
    tokens or (if wanted) the credentials."""
    at = (
        state.tokens.expiration.timestamp()
        - state.skew
        - policy.lead(state.token_lifetime) * (1 + head_start)
    )
    creds = state.credentials
    if creds is not None and wants_credentials:
        lead = policy.lead(state.credentials_lifetime) * (1 + head_start)
        at = min(at, creds.expiration.timestamp() - state.skew - lead)
    return at
