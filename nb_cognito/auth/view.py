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
    from nb_cognito.auth.state import Expired, Freshness, SignedIn
    from nb_cognito.exceptions import AuthError
    from nb_cognito.models import CognitoAuthSession, SignInStep

__all__ = ["SessionView"]


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
