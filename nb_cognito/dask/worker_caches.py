"""On a Dask worker: make every consumer follow the credentials the kernel pushed.

The worker's loopback endpoint serves the pushed credentials, but two consumers keep what
they fetched from it for most of the key's life: boto3's default session (botocore caches its
container credentials until 15 minutes before expiry) and s3fs (each cached filesystem holds
its own). So, as in the kernel:

* the worker's ``boto3.DEFAULT_SESSION`` gets the ``custom-nb-cognito`` provider first, which
  reads the endpoint's current credentials at every request: a refresh, a sign-out (a clear
  :class:`~nb_cognito.exceptions.SignedOutError` naming sign-in) and a sign-in as someone else
  reach ``boto3.client()`` at once. Left alone when the worker's own environment chooses
  credentials (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``), as in the kernel.
* at every change of credentials (a refresh, a sign-out, another user), s3fs's instance
  cache is cleared, so pandas and ``dask.dataframe`` make new filesystems that ask the
  endpoint again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

from nb_cognito.exceptions import SessionExpiredError, SignedOutError

if TYPE_CHECKING:
    from nb_cognito.models import AWSCredentials

__all__ = ["Endpoint", "EndpointSession", "install_boto3_provider", "reset_caches"]

log = logging.getLogger("nb_cognito")


class Endpoint(Protocol):
    """What is read of a worker's endpoint (:class:`nb_cognito.dask.WorkerEndpoint`)."""

    @property
    def credentials(self) -> Any: ...
    @property
    def refusal(self) -> str: ...

    expired_message: str


class EndpointSession:
    """What the botocore adapter needs of a session, answered from a worker's endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._pushed: Any = None
        self._current: AWSCredentials | None = None

    def current_credentials(self) -> AWSCredentials:
        """The pushed credentials (the same object until the next push), or a clear error."""
        from nb_cognito.models import AWSCredentials

        pushed = self.endpoint.credentials
        if pushed is None:
            raise SignedOutError(self.endpoint.refusal)
        if pushed is not self._pushed:
            self._current = AWSCredentials(
                pushed.access_key_id,
                pushed.secret_access_key,
                pushed.session_token,
                dt.datetime.fromtimestamp(pushed.expires_at, tz=dt.timezone.utc),
            )
            self._pushed = pushed
        assert self._current is not None
        if pushed.expires_at <= dt.datetime.now(dt.timezone.utc).timestamp():
            raise SessionExpiredError(self.endpoint.expired_message)
        return self._current


def _users_choice() -> str | None:
    from nb_cognito.integrations.boto3_injection import USER_CHOICE_VARIABLES

    return next((name for name in USER_CHOICE_VARIABLES if os.environ.get(name)), None)


def install_boto3_provider(session: EndpointSession) -> bool:
    """Put the provider first in this worker's boto3 default session (idempotent)."""
    try:
        import boto3  # noqa: F401 - no boto3 on this worker: nothing reads the default session
    except ImportError:
        return False
    from nb_cognito.auth.botocore_adapter import (
        default_botocore_session,
        has_provider,
        provider,
        put_provider_first,
    )

    chosen = _users_choice()
    if chosen:
        log.info("nb_cognito leaves this worker's boto3 default session alone: %s is set.", chosen)
        return False
    botocore_session = default_botocore_session(create=True)
    if not has_provider(botocore_session):
        put_provider_first(botocore_session, provider(session))  # type: ignore[arg-type]
    return True


def reset_caches() -> None:
    """Forget what this worker's consumers cached of the previous credentials."""
    s3fs = sys.modules.get("s3fs")
    if s3fs is not None:
        s3fs.S3FileSystem.clear_instance_cache()
