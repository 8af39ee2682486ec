"""The container-credentials endpoint: the default path for every AWS SDK but boto3's default session.

On by default (``subprocess_credentials=True``; ``False`` turns it off). From the moment the
session exists (the kernel's: for the kernel's life), a small HTTP server on ``127.0.0.1``
(random port, random path) answers ``GET`` with the session's current credentials in the
format of the ECS/EKS container endpoint, and three variables tell every AWS SDK in the kernel
and its child processes where to ask::

    AWS_CONTAINER_CREDENTIALS_FULL_URI      http://127.0.0.1:PORT/PATH
    AWS_CONTAINER_AUTHORIZATION_TOKEN       a random bearer token (compared in constant time)
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  the same token in a 0600 file in a 0700 directory
                                            (object_store, which polars uses, reads only this
                                            one); removed when the endpoint stops or at exit

So pandas (s3fs), pyarrow, polars, duckdb and new ``boto3.Session()`` objects in the kernel,
and ``!aws s3 ls``, a ``python -c`` child, a ``multiprocessing`` or Dask worker, get credentials
that keep refreshing: each fetch asks the session, which refreshes when due.

One URL and one token for the session's life: a child started before sign-in, or one that
lives through a sign-out and a sign-in as someone else, keeps asking the same place and gets
whatever the session has now. While nobody is signed in the answer is a readable JSON error
(401, "Nobody is signed in to nb_cognito ... sign in there"), never a dead port and never
credentials. Another local user without the token gets 403. The ``Expiration`` served is "now
on the system clock + the time left in server time", so a child's SDK refreshes on time even
when this machine's clock is off.

In a child, the SDK's own chain still comes first: ``AWS_ACCESS_KEY_ID`` in its environment,
``AWS_PROFILE`` or a profile in ``~/.aws`` wins over the container endpoint (the user's
explicit choice). ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (which botocore would prefer) and
a container URI, token or token file of someone else's are set aside while the server runs,
and put back when it stops.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nb_cognito import forksafe
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.integrations.credentials_server import CredentialsServer
from nb_cognito.integrations.process_env import EnvironmentWrites

if TYPE_CHECKING:
    from nb_cognito.auth.integration import SessionAPI
    from nb_cognito.models import AWSCredentials

__all__ = ["ContainerEndpoint"]

log = logging.getLogger("nb_cognito")


class ContainerEndpoint(Integration):
    """Runs a :class:`CredentialsServer` for the session's whole life (one URL, one token).

    On when ``settings.subprocess_credentials`` is (the default): started when the session is
    attached, before anyone signs in; it answers "nobody is signed in" until someone is, and
    the next user's credentials after a re-sign-in. ``configure(subprocess_credentials=False)``
    (while signed in) or the setting at attach time stops it; :meth:`close` stops it.
    """

    name = "container endpoint"

    def __init__(self, env: EnvironmentWrites | None = None) -> None:
        self.env = env if env is not None else EnvironmentWrites()
        self._session: SessionAPI | None = None
        self._server: CredentialsServer | None = None
        self._lock = forksafe.Lock()
        forksafe.register(self)

    @property
    def server(self) -> CredentialsServer | None:
        """The running endpoint, if any."""
        return self._server

    def attach(self, session: SessionAPI) -> None:
        self._session = session
        try:
            # Resolved afresh, not cached in the session: the settings may not be complete yet,
            # and sign-in must still be the one to report what is missing.
            enabled = session.config.resolve().subprocess_credentials
        except ConfigurationError as error:  # reported where it matters: at sign-in
            log.debug("The credentials endpoint waits for valid settings: %s", error)
            return
        if enabled:
            try:
                self.start()
            except Exception:
                log.exception("Could not start the credentials endpoint; signing in will try again.")

    def session_changed(self, change: SessionChange) -> None:
        """Started when a sign-in (or ``subprocess_credentials``, even before anyone signed in)
        turns it on; stopped when that setting turns it off, and when the session closes."""
        kind = change.kind
        if kind is ChangeKind.CLOSING:
            self.stop()
        elif kind in (ChangeKind.SIGNED_IN, ChangeKind.SETTINGS_CHANGED, ChangeKind.CONFIGURED):
            if change.settings is None:
                if kind is not ChangeKind.CONFIGURED:
                    self.stop()
            elif change.settings.subprocess_credentials:
                self.start()
            else:
                self.stop()
        elif kind is ChangeKind.CREDENTIALS_CHANGED:  # each refresh is a use: the watchdog
            server = self._server
            if server is not None:
                server.revive()  # a serving thread that died comes back

    def start(self) -> CredentialsServer:
        """Start the endpoint (idempotent)."""
        session = self._session
        if session is None:
            raise ConfigurationError("This container endpoint belongs to no session yet.")
        with self._lock:
            server = self._server
            if server is not None and server.revive():  # same URL and token: children keep them
                return server
            if server is not None:
                server.stop()
            server = CredentialsServer(session.current_credentials, self.env, self._seconds_left)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            self._server = server
            return server

    def _seconds_left(self, creds: AWSCredentials) -> float:
        """The lifetime announced: the credentials' own, capped by ``credentials_max_age``."""
        session = self._session
        assert session is not None
        left = session.seconds_left(creds)
        try:
            cap = session.settings.credentials_max_age
        except ConfigurationError:
            cap = None
        return left if cap is None else min(left, cap)

    def stop(self) -> None:
        """Stop the endpoint and remove its variables (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def after_fork_in_child(self) -> None:
        """The serving thread stayed in the parent: forget the server, never wait on it.

        The child's copy of the listening socket is closed; the parent's endpoint keeps serving,
        and the variables the child inherited still point at it.
        """
        server, self._server = self._server, None
        if server is not None:
            server.abandon()

    def __repr__(self) -> str:
        return f"<ContainerEndpoint {self._server!r}>"
