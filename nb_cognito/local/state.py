"""What the emulator remembers beside moto: clock, lockouts, sessions, refresh tokens, identities.

moto's models are process-wide; this state belongs to one :class:`~nb_cognito.local.LocalCognito`.
Its counting WSGI wrapper makes the state *current* for the thread serving each request, so the
patched moto code (:mod:`nb_cognito.local.patches`) reads the right clock and tables.
"""

from __future__ import annotations

import collections
import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..clock import SYSTEM_CLOCK, Clock
from .fault_modes import FaultMode
from .s3 import VendedKeys
from .spec import PoolSpec
from .srp import SrpChallenge

__all__ = [
    "AuthSession",
    "Device",
    "EmulatorState",
    "Identity",
    "RefreshMeta",
    "ServerEvent",
    "activated",
    "current",
]

LOCKOUT_AFTER = 5
LOCKOUT_CAP_SECONDS = 900.0


@dataclass
class AuthSession:
    """One sign-in in progress (a challenge awaiting its answer)."""

    pool_id: str
    client_id: str
    username: str
    challenge: str
    expires_at: float
    srp: SrpChallenge | None = field(default=None, repr=False)
    sms_code: str | None = field(default=None, repr=False)
    email_code: str | None = field(default=None, repr=False)
    mfa_setup_done: bool = False
    #: EMAIL_OTP answered during MFA_SETUP: a right code turns email MFA on for the user.
    email_setup: bool = False
    #: The DEVICE_KEY the client sent (device tracking), carried through the challenges.
    device_key: str | None = None


@dataclass(frozen=True)
class ServerEvent:
    """Something the emulator did, for tests that watch the server (``LocalCognito.subscribe``).

    ``kind`` is ``"refresh_requested"`` (a refresh arrived; ``at``), ``"login_checked"`` (a
    ``Logins`` token was checked; ``expires`` of the token, ``accepted``), or
    ``"credentials_issued"`` (``credentials`` = (key id, secret, session token), ``expires``
    when they do: GetCredentialsForIdentity and AssumeRoleWithWebIdentity).
    """

    kind: str
    at: float
    expires: float = 0.0
    accepted: bool = True
    credentials: tuple[str, str, str] | None = field(default=None, repr=False)


@dataclass
class Device:
    """A device a user signed in from (device tracking)."""

    key: str
    group_key: str
    pool_id: str
    username: str
    created: float
    name: str = ""
    confirmed: bool = False
    remembered: bool = False
    salt_hex: str = field(default="", repr=False)
    verifier: int = field(default=0, repr=False)
    last_authenticated: float = 0.0


@dataclass(frozen=True)
class RefreshMeta:
    """When a refresh token expires, and which user (by ``sub``) it belongs to."""

    expires_at: float
    sub: str
    auth_time: int


@dataclass(frozen=True)
class Identity:
    """An identity handed out by GetId; ``sub`` is None for a guest (unauthenticated) identity."""

    identity_pool_id: str
    provider: str | None
    sub: str | None


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class EmulatorState:
    """Thread-safe tables of one emulator. ``clear()`` forgets everything but the clock."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock: Clock = clock
        self.lock = threading.RLock()
        self.listeners: list[Callable[[ServerEvent], None]] = []
        self.strict_s3 = False  # S3 refuses what real S3 refuses (set from LocalSpec.strict_s3)
        self.vended = VendedKeys()  # temporary credentials handed out, for strict S3
        self.listeners.append(self._remember_vended)
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.sessions: dict[str, AuthSession] = {}
            self.srp_blocks: dict[str, str] = {}
            self.refresh: dict[str, RefreshMeta] = {}
            self.rotated: set[str] = set()
            self.failures: dict[tuple[str, str], _Failures] = {}
            self.totp_secrets: dict[tuple[str, str], str] = {}
            self.pending_totp: dict[tuple[str, str], str] = {}
            self.sms_outbox: dict[tuple[str, str], list[str]] = {}
            self.identity_ids: dict[tuple[str, str, str], str] = {}
            self.identities: dict[str, Identity] = {}
            self.credentials_lifetime: dict[str, int] = {}
            self.auth_times: dict[str, int] = {}
            self.pool_specs: dict[str, PoolSpec] = {}
            self.fault_modes: set[FaultMode] = set()
            self.email_outbox: dict[tuple[str, str], list[str]] = {}
            self.email_mfa: set[tuple[str, str]] = set()
            self.devices: dict[str, Device] = {}
            #: origin jti of a refresh token -> the device key it was issued to (device tracking)
            self.origin_devices: dict[str, str] = {}
            #: refresh token -> the device key it was issued to (device tracking)
            self.refresh_devices: dict[str, str] = {}
            self.vended.clear()
            self.clear_requests()

    def clear_requests(self) -> None:
        with self.lock:
            self.counts: collections.Counter[str] = collections.Counter()
            self.access_keys: list[tuple[str, str]] = []
            self.s3_refusals: list[tuple[str, str | None]] = []

    def now(self) -> float:
        """The server's time: a test that steps the client's wall clock alone does not move it."""
        true_time = getattr(self.clock, "true_time", None)
        return true_time() if callable(true_time) else self.clock.time()

    def pool_spec(self, pool_id: str) -> PoolSpec:
        """The spec the pool was provisioned from (a default one for pools made another way)."""
        with self.lock:
            return self.pool_specs.get(pool_id) or PoolSpec()

    # -- fault modes and events ---------------------------------------------------------------

    def fault_on(self, mode: FaultMode) -> bool:
        with self.lock:
            return mode in self.fault_modes

    def _remember_vended(self, event: ServerEvent) -> None:
        if event.kind == "credentials_issued" and event.credentials is not None:
            key, _, token = event.credentials
            self.vended.add(key, token, event.expires)

    def emit(self, kind: str, **details: Any) -> None:
        """Tell every listener about ``kind`` (at the emulator's now)."""
        event = ServerEvent(kind, self.now(), **details)
        with self.lock:
            listeners = list(self.listeners)
        for listener in listeners:
            listener(event)

    # -- requests -----------------------------------------------------------------------------

    def record_request(self, action: str | None, service: str, access_key: str | None) -> None:
        with self.lock:
            if action:
                self.counts[action] += 1
            if access_key:
                self.access_keys.append((service, access_key))

    # -- lockout ------------------------------------------------------------------------------

    def locked_out(self, key: tuple[str, str]) -> bool:
        with self.lock:
            failures = self.failures.get(key)
            return failures is not None and self.now() < failures.locked_until

    def password_failed(self, key: tuple[str, str]) -> None:
        """Count a wrong password; from the 5th in a row, lock for 2^(n-5) s (at most 15 min)."""
        with self.lock:
            failures = self.failures.setdefault(key, _Failures())
            failures.count += 1
            if failures.count >= LOCKOUT_AFTER:
                lock = min(2.0 ** (failures.count - LOCKOUT_AFTER), LOCKOUT_CAP_SECONDS)
                failures.locked_until = self.now() + lock

    def password_ok(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.failures.pop(key, None)

    # -- sessions -----------------------------------------------------------------------------

    def open_session(self, session: AuthSession) -> str:
        session_id = secrets.token_urlsafe(48)
        with self.lock:
            self.sessions[session_id] = session
            if session.srp is not None:
                self.srp_blocks[session.srp.secret_block_b64] = session_id
        return session_id

    def close_session(self, session_id: str) -> None:
        with self.lock:
            session = self.sessions.pop(session_id, None)
            if session is not None and session.srp is not None:
                self.srp_blocks.pop(session.srp.secret_block_b64, None)

    # -- MFA ----------------------------------------------------------------------------------

    def send_sms(self, key: tuple[str, str]) -> str:
        code = f"{secrets.randbelow(1_000_000):06d}"
        with self.lock:
            self.sms_outbox.setdefault(key, []).append(code)
        return code

    def send_email(self, key: tuple[str, str]) -> str:
        """A new 8-digit email code for ``key`` (as Cognito's EMAIL_OTP sends), kept in the outbox."""
        code = f"{secrets.randbelow(100_000_000):08d}"
        with self.lock:
            self.email_outbox.setdefault(key, []).append(code)
        return code


_local = threading.local()
_DEFAULT = EmulatorState()


def current() -> EmulatorState:
    """The state of the emulator serving this thread's request (a default one outside requests)."""
    return getattr(_local, "state", None) or _DEFAULT


@contextlib.contextmanager
def activated(state: EmulatorState) -> Iterator[EmulatorState]:
    """Make ``state`` current for this thread while the block runs."""
    previous = getattr(_local, "state", None)
    _local.state = state
    try:
        yield state
    finally:
        _local.state = previous
