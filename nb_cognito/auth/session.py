"""`CognitoSession`: sign in once; it keeps tokens and AWS credentials fresh and hands them out.

The state is an immutable value swapped under a lock, so readers never see half an update.
How and when it is refreshed is the refresh engine's job (:mod:`nb_cognito.auth.refresh`,
the windows in :class:`~nb_cognito.auth.state.RefreshPolicy`); a background thread
(:mod:`nb_cognito.auth.background`) refreshes ahead of time, so a long-running cell never
meets an expired token.

Where the credentials go is not the session's business: integrations are objects it owns
(:mod:`nb_cognito.auth.integration`), told of every change. The states and the rules on them
are in :mod:`nb_cognito.auth.state`; the sign-in challenges in :mod:`nb_cognito.auth.challenges`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, TypeVar

from nb_cognito.auth.device_tracking import DeviceTracking
from nb_cognito.auth.integration import Integration, SessionChange
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.auth.refresh import RefreshEngine
from nb_cognito.auth.sign_in import SignInFlow
from nb_cognito.auth.state import (
    Expired,
    SignedIn,
    failed_snapshot,
    fresh_until,
    freshness,
    session_status,
    signed_in_snapshot,
    signed_out_snapshot,
)
from nb_cognito.auth.view import SessionView
from nb_cognito.config import CognitoConfig, Settings
from nb_cognito.exceptions import (
    AuthError,
    ConfigurationError,
    SignedOutError,
)
from nb_cognito.models import (
    AuthEvent,
    AuthUser,
    AWSCredentials,
    CognitoAuthSession,
    SessionStatus,
    SignOutResult,
)
from nb_cognito.redaction import known_secrets

__all__ = ["CognitoSession", "RefreshPolicy"]

log = logging.getLogger("nb_cognito")

_I = TypeVar("_I", bound=Integration)


class CognitoSession(SignInFlow, RefreshEngine, DeviceTracking):
    """The session of one user in one Cognito user pool, and the AWS credentials it earns.

    Use the kernel-wide instance, ``nb_cognito.session``. ``clock`` is the one time seam;
    ``auto_refresh=False`` turns the background thread off (refresh stays lazy).
    """

    # -- configuration ---------------------------------------------------------------------

    def configure(self, config: CognitoConfig | None = None, /, **settings: Any) -> None:
        """Update the settings named; the others keep their values. Validates at once.

        Changing the pool, client or endpoint while signed in signs out locally first,
        since the old tokens belong to the old pool.
        """
        candidate = self.config.copy()
        if config is not None:
            candidate.merge_from(config)
        if settings:
            candidate.update(**settings)
        resolved = candidate.resolve()  # fail now, naming the setting, and change nothing
        if self._state is not None and self._settings_key(resolved) != self._settings_key():
            log.warning("The user pool settings changed; signing out of the previous pool.")
            self.sign_out()
        if config is not None:
            self.config.merge_from(config)
        if settings:
            self.config.update(**settings)
        self._use_settings(None)
        state = self._state
        if isinstance(state, SignedIn):  # e.g. subprocess_credentials turned on after sign-in: apply now
            self._notify("settings_changed", self._change(state, saved=True))
        try:  # resolved afresh and not kept: sign-in stays the one to report missing settings
            fresh: Settings | None = self.config.resolve()
        except ConfigurationError:
            fresh = None
        self._notify(
            "configured", SessionChange(user=state.user if state is not None else None, settings=fresh)
        )

    # -- sign-in ---------------------------------------------------------------------------

    def sign_in_with_redirect(self, provider: str | None = None, **options: Any) -> None:
        """Sign in through the hosted UI (authorization code + PKCE), as Amplify's ``signInWithRedirect``.

        ``provider`` goes straight to that identity provider (default: the ``identity_provider``
        setting when it names one). ``method`` is ``"auto"``, ``"loopback"`` or ``"paste"``; see
        :func:`nb_cognito.auth.oauth_callback.sign_in_with_redirect` for the other options.
        """
        from nb_cognito.auth.oauth_callback import sign_in_with_redirect

        sign_in_with_redirect(self, provider, **options)

    # -- the session -----------------------------------------------------------------------

    def get_current_user(self) -> AuthUser:
        """The signed-in user. Raises :class:`SignedOutError` or :class:`SessionExpiredError`."""
        state = self._state
        if isinstance(state, SignedIn):
            return state.user
        if isinstance(state, Expired):
            raise state.error
        raise SignedOutError("Nobody is signed in.")

    def fetch_auth_session(self, force_refresh: bool = False) -> CognitoAuthSession:
        """The session as SUCCESS/FAILURE results, as Amplify's ``fetchAuthSession``.

        While everything is fresh this is a memory read with no network call. In the refresh
        window it refreshes; ``force_refresh=True`` always refreshes tokens and credentials.
        """
        if not force_refresh:
            snapshot = self._snapshot
            if snapshot is not None and self._time.time() < self._fresh_until:
                return snapshot
        return self._fetch(force_refresh)

    def _fetch(self, force: bool) -> CognitoAuthSession:
        state = self._state
        if state is None:
            return self._signed_out_snapshot()
        if isinstance(state, Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        error: AuthError | None = None
        try:
            self._ensure_fresh(force)
        except AuthError as failure:
            error = failure
        state = self._state
        if isinstance(state, Expired):
            return failed_snapshot(state.error, signed_in=True, user=state.user)
        if state is None:
            return self._signed_out_snapshot()
        return self._build_snapshot(state, error)

    def current_credentials(self) -> AWSCredentials:
        """Unexpired AWS credentials, refreshed if due; raises a typed :class:`AuthError` otherwise.

        This is how integrations (the boto3 provider, the container endpoint) get what they
        hand out; it changes nothing a caller could observe.
        """
        result = self.fetch_auth_session().aws_credentials_result
        if result.value is not None:
            return result.value
        assert result.error is not None
        raise result.error

    def seconds_left(self, credentials: AWSCredentials) -> float:
        """How long ``credentials`` stay valid, in server time (this session's steady clock plus
        the skew estimated from the ID token): what the container endpoint and the Dask
        integration tell SDKs that compare an expiry with their own machine's clock."""
        skew = float(getattr(self._state, "skew", 0.0) or 0.0)
        return credentials.expiration.timestamp() - (self._time.time() + skew)

    def boto3_session(self, region_name: str | None = None) -> Any:
        """A new, independent ``boto3.Session`` with this session's refreshing credentials."""
        from nb_cognito.auth.botocore_adapter import new_boto3_session

        return new_boto3_session(self, region_name=region_name)

    # -- snapshots ---------------------------------------------------------------------------

    def _build_snapshot(self, state: SignedIn, error: AuthError | None) -> CognitoAuthSession:
        now = self._time.time()
        wants_credentials = self._wants_credentials()
        snapshot = signed_in_snapshot(
            state,
            now,
            error=error,
            last_error=self.last_error,
            wants_credentials=wants_credentials,
            identity_pool=wants_credentials and bool(self.settings.identity_pool_id),
        )
        if error is None:
            until = fresh_until(
                state,
                self.policy,
                now,
                wants_credentials=wants_credentials,
                retry_not_before=self._retry_not_before,
            )
            if until is not None:
                with self._lock:
                    if self._state is state:
                        self._snapshot, self._fresh_until = snapshot, until
        return snapshot

    def _signed_out_snapshot(self) -> CognitoAuthSession:
        try:
            settings = self.settings
        except ConfigurationError:
            return signed_out_snapshot()
        if not (settings.allow_guest and settings.identity_pool_id):
            return signed_out_snapshot()
        try:
            return signed_out_snapshot(self._guest_credentials())
        except AuthError as error:
            return signed_out_snapshot(error)

    def _guest_credentials(self) -> tuple[str, AWSCredentials]:
        """Unauthenticated identity-pool credentials, when ``allow_guest`` is set.

        Fetched under their own lock, never the session's: ``on()`` and ``sign_out()`` never
        wait for the network.
        """
        with self._guest_lock:
            guest = self._guest
            lead = self.policy.lead(3600)
            if guest is not None and guest[1].expiration.timestamp() - self._time.time() > lead:
                return guest
            identity = self._service_clients.identity
            identity_id = guest[0] if guest else identity.identity_id(None, None)
            fetched = (identity_id, identity.credentials(identity_id, None))
            with self._lock:
                if self._state is None:  # nobody signed in meanwhile
                    self._guest = fetched
            return fetched

    # -- sign-out -------------------------------------------------------------------------------

    def sign_out(self, global_sign_out: bool = False) -> SignOutResult:
        """Sign out. Locally this always succeeds; ``global_sign_out`` also revokes every token.

        The global sign-out and the refresh-token revocation are best effort: their errors are
        reported in the result (and logged), never raised.
        """
        with self._lock:
            state, self._state = self._state, None
            self._pending = None
            self._guest = None
            self._invalidate()
        self._refresher.stop()
        result = SignOutResult()
        inherited = isinstance(state, SignedIn) and state.tokens.refresh_token == self._inherited
        if isinstance(state, SignedIn) and not inherited:
            client = self._service_clients.userpool
            if global_sign_out:
                try:
                    client.global_sign_out(state.tokens.access_token)
                except AuthError as error:
                    log.warning("Global sign-out failed; signed out locally only: %s", error)
                    result = replace(result, global_sign_out_error=error)
            try:
                client.revoke_token(state.tokens.refresh_token)
            except AuthError as error:
                log.debug("Revoking the refresh token failed (best effort): %s", error)
                result = replace(result, revoke_token_error=error)
            known_secrets.discard(
                state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token
            )
        self._leave_hosted_ui()
        if state is not None:
            self._notify("signed_out", replace(self._change(state), local_only=inherited))
            self._emit(AuthEvent.SIGNED_OUT, state.user)
        return result

    # -- status -----------------------------------------------------------------------------------

    def status(self) -> SessionStatus:
        """What ``%cognito_session`` and the widget show: who, until when, and the refresh state."""
        state = self._state
        return session_status(
            state,
            next_attempt=self._refresher.next_attempt if isinstance(state, SignedIn) else None,
            error=self.last_error or self._refresher.last_error,
            auto_refresh=self._refresher.running,
        )

    def describe(self) -> SessionView:
        """A read-only picture of the refresh machinery now (tests, diagnostics): freshness,
        refresh in flight, pending step, expiries, background thread. Changes nothing."""
        state = self._state
        pending = self._pending
        signed_in = isinstance(state, SignedIn)
        locks_free = self._lock.acquire(blocking=False)
        if locks_free:
            self._lock.release()
        creds = state.credentials if isinstance(state, SignedIn) else None
        return SessionView(
            signed_in=signed_in,
            expired=isinstance(state, Expired),
            freshness=(
                freshness(state, self.policy, self._time.time(), wants_credentials=self._wants_credentials())
                if isinstance(state, SignedIn)
                else None
            ),
            in_flight=self._flight is not None,
            pending_step=pending.step.sign_in_step if pending is not None and pending.step else None,
            token_expiry=state.tokens.expiration if isinstance(state, SignedIn) else None,
            credentials_expiry=creds.expiration if creds is not None else None,
            skew=state.skew if isinstance(state, SignedIn) else None,
            background_running=self._refresher.running,
            background_retrying=self._refresher.retrying,
            next_attempt=self._refresher.next_attempt if signed_in else None,
            locks_free=locks_free and self._refresher.lock_free,
            state=state,
            pending=pending,
            snapshot=self._snapshot,
        )

    def __repr__(self) -> str:
        state = self._state
        if isinstance(state, SignedIn):
            return f"<CognitoSession signed in as {state.user.username!r}>"
        if isinstance(state, Expired):
            return f"<CognitoSession expired for {state.user.username!r}>"
        return "<CognitoSession signed out>"

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()

    def close(self) -> None:
        """Stop the background thread and close every integration (the state is kept)."""
        self._refresher.stop()
        for integration in list(self._integrations):
            try:
                integration.close()
            except Exception:
                log.exception("The nb_cognito integration %r failed to close; ignored.", integration.name)
