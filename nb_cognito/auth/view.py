"""A read-only picture of a session's refresh machinery at one moment.

:meth:`CognitoSession.describe() <nb_cognito.auth.session.CognitoSession.describe>` returns a
:class:`SessionView`, so that tests and diagnostics read what they need (is a refresh in
flight, is the background thread alive, what is pending) without reaching into the
session's private attributes. It is a frozen value: changing it changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nb_cognito.auth.refresh import RefreshEngine
    from nb_cognito.auth.session_state import SessionState
    from nb_cognito.auth.state import Expired, Freshness, SignedIn
    from nb_cognito.exceptions import AuthError
    from nb_cognito.models import CognitoAuthSession, SignInStep

__all__ = ["SessionView", "describe"]


@dataclass(frozen=True)
class SessionView:
    """What :meth:`describe` saw. Its repr shows no secret (the state and snapshot are left out).

    ``freshness`` is None unless signed in. ``next_attempt`` is the background refresher's next
    planned refresh in the session's local (steady) time. ``background_retrying``: a failed
    background refresh waits to be retried. ``locks_free``: neither the session's nor the
    refresher's lock is held by another thread right now. ``listeners``: the event listeners
    subscribed; ``refresh_count``: how many times the tokens were refreshed; ``last_error``: the
    last refresh error, until one succeeds. ``state``, ``pending`` and ``snapshot`` are the
    session's immutable state, the sign-in waiting for an answer (for identity only) and the
    snapshot ``fetch_auth_session`` serves from memory.
    """

    signed_in: bool
    expired: bool
    freshness: Freshness | None
    in_flight: bool
    pending_step: SignInStep | None
    token_expiry: dt.datetime | None
    credentials_expiry: dt.datetime | None
    skew: float | None
    background_running: bool
    background_retrying: bool
    next_attempt: float | None
    locks_free: bool
    refresh_count: int = 0
    listeners: int = 0
    last_error: AuthError | None = None
    state: SignedIn | Expired | None = field(default=None, repr=False, compare=False)
    pending: object | None = field(default=None, repr=False, compare=False)
    snapshot: CognitoAuthSession | None = field(default=None, repr=False, compare=False)


def describe(
    box: SessionState, engine: RefreshEngine, *, now: float, wants_credentials: bool, listeners: int
) -> SessionView:
    """What ``box`` and ``engine`` hold at ``now`` (steady clock), as a :class:`SessionView`."""
    from nb_cognito.auth.state import Expired, freshness

    background = engine.background
    state, pending, signed_in = box.current, box.pending, box.signed_in
    locks_free = box.lock.acquire(blocking=False)
    if locks_free:
        box.lock.release()
    credentials = signed_in.credentials if signed_in is not None else None
    return SessionView(
        signed_in=signed_in is not None,
        expired=isinstance(state, Expired),
        freshness=(
            freshness(signed_in, engine.policy, now, wants_credentials=wants_credentials)
            if signed_in is not None
            else None
        ),
        in_flight=box.flight is not None,
        pending_step=pending.step.sign_in_step if pending is not None and pending.step else None,
        token_expiry=signed_in.tokens.expiration if signed_in is not None else None,
        credentials_expiry=credentials.expiration if credentials is not None else None,
        skew=signed_in.skew if signed_in is not None else None,
        background_running=background.running,
        background_retrying=background.retrying,
        next_attempt=background.next_attempt if signed_in is not None else None,
        locks_free=locks_free and background.lock_free,
        refresh_count=box.refresh_count,
        listeners=listeners,
        last_error=box.last_error,
        state=state,
        pending=pending,
        snapshot=box.snapshot,
    )
