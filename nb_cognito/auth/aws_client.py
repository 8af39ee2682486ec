"""How nb_cognito makes its own AWS calls: unsigned clients, bounded retries, mapped errors.

Our Cognito/STS calls need no AWS credentials, so their clients are unsigned: building them
never walks back through the credential chain (where our own provider sits). botocore's
retries are off; :func:`call` retries retryable errors itself, with the jittered exponential
backoff of :class:`~nb_cognito.auth.policy.RefreshPolicy` on the injected clock, and maps
every failure through :func:`nb_cognito.exceptions.from_aws_error`.
"""

from __future__ import annotations

import email.utils
import os
from collections.abc import Callable
from typing import Any, TypeVar

from nb_cognito import forksafe
from nb_cognito.auth.policy import DEFAULT_POLICY, RefreshPolicy
from nb_cognito.clock import Clock
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, from_aws_error
from nb_cognito.redaction import our_call

__all__ = ["call", "make_client", "server_time"]

T = TypeVar("T")

_client_lock = forksafe.Lock()
_botocore_session: Any = None


def make_client(service: str, *, region: str | None, endpoint_url: str | None, timeout: float) -> Any:
    """A new unsigned boto3 client for ``service`` with our timeouts and no botocore retries."""
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(
        signature_version=UNSIGNED,
        retries={"total_max_attempts": 1, "mode": "standard"},  # we retry ourselves
        connect_timeout=min(timeout, 5.0),
        read_timeout=timeout,
        user_agent_extra="nb-cognito",
    )
    session = _session()
    with _client_lock, our_call():  # botocore's session is not thread-safe while loading models
        # A private botocore session: never boto3.DEFAULT_SESSION, whose provider chain is ours.
        # One for all our clients, so that the service models and endpoints load only once.
        return session.create_client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
        )


def _session() -> Any:
    global _botocore_session
    with _client_lock:
        if _botocore_session is None:
            _botocore_session = _private_botocore_session()
        return _botocore_session


def ca_bundle() -> str | bool:
    """What botocore verifies TLS with: ``AWS_CA_BUNDLE`` (or the config's ``ca_bundle``),
    else ``REQUESTS_CA_BUNDLE``, else the default certificates (``True``)."""
    session = _session()
    with _client_lock:
        configured = session.get_config_variable("ca_bundle")
    return configured or os.environ.get(Env.REQUESTS_CA_BUNDLE) or True


def _private_botocore_session() -> Any:
    """A botocore session that the user's AWS profile and endpoint settings cannot steer.

    Our calls go where the nb_cognito settings say (``endpoint_url`` and the per-service
    endpoint settings, which fall back to botocore's ``AWS_ENDPOINT_URL_<SERVICE>`` variables),
    whatever AWS_PROFILE, AWS_ENDPOINT_URL or ~/.aws/config say: a profile that does not exist
    cannot break sign-in, and ``%cognito_login --local``'s AWS_ENDPOINT_URL (meant for the data
    services) never reroutes Cognito. What the session does read is the transport: the CA
    bundle (``AWS_CA_BUNDLE``) and the proxies (``HTTPS_PROXY``, ``NO_PROXY``).
    """
    import botocore.session

    # (config file name, env vars, default, conversion): read neither AWS_PROFILE nor the
    # configured endpoint URLs.
    return botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "ignore_configured_endpoint_urls": (None, None, True, None),
        }
    )


def call(
    fn: Callable[[], T],
    *,
    action: str,
    clock: Clock,
    attempts: int | None = None,
    policy: RefreshPolicy = DEFAULT_POLICY,
) -> T:
    """Run ``fn`` (an AWS call); retry retryable errors, ``attempts`` times in all at most
    (default: the policy's ``call_attempts``), waiting the policy's ``call_delay`` between."""
    attempts = policy.call_attempts if attempts is None else attempts
    for attempt in range(attempts):
        try:
            with our_call():
                return fn()
        except Exception as raw:
            error: AuthError = from_aws_error(raw, action=action)
            if not error.retryable or attempt == attempts - 1:
                raise error from None
            clock.sleep(policy.call_delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def server_time(response: Any) -> float | None:
    """The server's time when it answered, from the response's ``Date`` header (None if absent).

    The header has whole seconds; the middle of that second is the best estimate.
    """
    try:
        date = response["ResponseMetadata"]["HTTPHeaders"]["date"]
        return email.utils.parsedate_to_datetime(date).timestamp() + 0.5
    except (KeyError, TypeError, ValueError, IndexError):
        return None
