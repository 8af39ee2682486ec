"""A Hypothesis state machine over the session: sign in, time passes, faults, revocation, sign-out.

Invariants, after every step: at most one refresh ever runs at a time; whatever credentials
come back are unexpired by the emulator's clock and were issued together; otherwise a typed
:class:`AuthError` is raised, and the kind of error matches what happened (a fault gives a
retryable error, a revocation "session expired", a sign-out "signed out"); no secret appears
in any repr. Sign-in uses USER_PASSWORD_AUTH here only to keep the run short.
"""

from __future__ import annotations

import threading

from helpers import PASSWORD, CountingRefresh, triple
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from nb_cognito import exceptions as errors
from nb_cognito.auth.session import CognitoSession
from nb_cognito.models import AWSCredentials

SECONDS = [30, 3000, 3350, 3500, 3590, 3700, 86_400]
FAULT_KINDS = [None, "throttle", "5xx", "drop", "down"]
TARGETS = ["InitiateAuth", "GetTokensFromRefreshToken", "GetCredentialsForIdentity", None]


def test_session_state_machine(local, fault_proxy, clock, issued):
    config = {
        **local.settings.as_config(),
        "endpoint_url": fault_proxy.url,
        "auth_flow": "USER_PASSWORD_AUTH",
    }

    class SessionMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            fault_proxy.clear()
            self.session = CognitoSession(clock=clock, auto_refresh=False)
            self.session.configure(**config)
            self.refreshes = CountingRefresh(self.session)
            self.signed_in = False  # the model
            self.ended = False  # the session expired (revoked refresh token seen)
            self.revoked = False
            self.faulty = False
            self.secrets: set[str] = {PASSWORD}

        def _remember_secrets(self) -> None:
            state = self.session.describe().state
            tokens = getattr(state, "tokens", None)
            if tokens is not None:
                self.secrets.update((tokens.id_token, tokens.access_token, tokens.refresh_token))
            creds = getattr(state, "credentials", None)
            if creds is not None:
                self.secrets.update((creds.secret_access_key, creds.session_token))

        @initialize()
        def first_sign_in(self) -> None:
            self.sign_in()

        @precondition(lambda self: not self.signed_in)
        @rule()
        def sign_in(self) -> None:
            try:
                result = self.session.sign_in("alice", PASSWORD)
            except errors.AuthError as error:
                assert self.faulty and error.retryable, repr(error)
                return
            assert result.is_signed_in
            if not self.signed_in:
                self.signed_in, self.ended, self.revoked = True, False, False
            self._remember_secrets()

        @rule(seconds=st.sampled_from(SECONDS))
        def advance_clock(self, seconds: int) -> None:
            clock.advance(seconds)

        @rule(threads=st.integers(1, 3), seconds=st.sampled_from(SECONDS))
        def time_passes_then_get_credentials(self, threads: int, seconds: int) -> None:
            clock.advance(seconds)  # most often into a refresh window, so that refreshes happen
            self.get_credentials(threads)

        @rule(threads=st.integers(1, 3))
        def get_credentials(self, threads: int) -> None:
            outcomes: list[object] = []
            lock = threading.Lock()

            def work() -> None:
                try:
                    outcome: object = self.session.current_credentials()
                except Exception as error:
                    outcome = error
                with lock:
                    outcomes.append(outcome)

            workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(60)
            assert len(outcomes) == threads, "a caller hung"
            for outcome in outcomes:
                self._check(outcome)
            self._remember_secrets()

        def _check(self, outcome: object) -> None:
            if isinstance(outcome, AWSCredentials):
                assert self.signed_in, "credentials handed out while signed out"
                assert outcome.expiration.timestamp() > local.clock.time(), "expired credentials"
                assert triple(outcome) in issued, "a triple the emulator never issued together"
                return
            assert isinstance(outcome, errors.AuthError), f"untyped error: {outcome!r}"
            if isinstance(outcome, errors.SessionExpiredError):
                assert self.ended or (self.signed_in and self.revoked), repr(outcome)
                self.ended, self.signed_in = True, False
            elif isinstance(outcome, errors.SignedOutError):
                assert not self.signed_in and not self.ended, repr(outcome)
            else:
                assert self.signed_in and self.faulty and outcome.retryable, repr(outcome)

        @rule(
            kind=st.sampled_from(FAULT_KINDS),
            action=st.sampled_from(TARGETS),
            times=st.integers(1, 7),
        )
        def set_fault(self, kind: str | None, action: str | None, times: int) -> None:
            if kind is None:  # the network heals
                fault_proxy.clear()
                self.faulty = False
            elif kind == "down":
                self.faulty = True
                fault_proxy.set_down(True)
            else:
                self.faulty = True
                fault_proxy.inject(kind, target=action, times=times)

        @precondition(lambda self: self.signed_in and not self.revoked)
        @rule()
        def revoke_elsewhere(self) -> None:
            local.users.global_sign_out("alice")
            self.revoked = True

        @rule(everywhere=st.booleans())
        def sign_out(self, everywhere: bool) -> None:
            self.session.sign_out(global_sign_out=everywhere)  # never raises
            self.signed_in = self.ended = self.revoked = False

        @invariant()
        def one_refresh_at_a_time(self) -> None:
            assert self.refreshes.max_in_flight <= 1

        @invariant()
        def state_matches_the_model(self) -> None:
            assert self.session.is_signed_in == self.signed_in
            assert self.session.status().expired == self.ended

        @invariant()
        def no_secret_in_any_repr(self) -> None:
            session = self.session
            status = session.status()
            shown = [repr(session), str(status), status._repr_html_(), repr(status)]
            snapshot = session.describe().snapshot
            if snapshot is not None:
                shown += [repr(snapshot), str(snapshot), snapshot._repr_html_()]
            if session.describe().last_error is not None:
                shown += [str(session.describe().last_error), repr(session.describe().last_error)]
            text = "\n".join(shown)
            leaked = [s for s in self.secrets if s in text]
            assert not leaked, "a secret in a repr"

        def teardown(self) -> None:
            fault_proxy.clear()
            self.session.sign_out()
            self.session.close()

    run_state_machine_as_test(
        SessionMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
