"""How nb_cognito makes its own AWS calls: unsigned clients, bounded retries, mapped errors.

Our Cognito/STS calls need no AWS credentials, so their clients are unsigned: building them
never walks back through the credential chain (where our own provider sits). botocore's
retries are off; :func:`call` retries retryable errors itself, with the jittered exponential
backoff of :class:`~nb_cognito.auth.policy.RefreshPolicy` on the injected clock, and maps
every failure through :func:`nb_cognito.exceptions.from_aws_error`.

Secrets (a refresh token, a client secret, a password) reach botocore sealed
(:func:`send_sealed`): each :class:`~nb_cognito.secret.Secret` in the parameters becomes a
random placeholder, and the placeholder is swapped for the value in the encoded body at
botocore's ``before-send`` event, as an :class:`~nb_cognito.secret.OpaqueBytes` whose ``repr``
hides it. So none of botocore's frames (``_api_call``'s kwargs, ``_make_api_call``'s
api_params, the request dict), nor urllib3's ``body``, shows the secret in a ``%xmode
Verbose`` traceback, even one of a refresh interrupted on the wire (Ctrl-C).
"""

from __future__ import annotations

import email.utils
import json
import os
import secrets as _random
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from nb_cognito import forksafe
from nb_cognito.auth.policy import DEFAULT_POLICY, RefreshPolicy
from nb_cognito.clock import Clock
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, from_aws_error
from nb_cognito.redaction import our_call
from nb_cognito.secret import OpaqueBytes, Secret

__all__ = ["call", "make_client", "send_sealed", "server_time"]

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
        client = session.create_client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
        )
    client.meta.events.register("before-send", _unseal, unique_id="nb-cognito-unseal")
    return client


# -- secrets sealed until the body is encoded ------------------------------------------------

_sealed = threading.local()  # the placeholders of the call this thread is making


def send_sealed(method: Callable[..., T], params: dict[str, Any]) -> T:
    """``method(**params)`` (a botocore client method) with every :class:`Secret` in ``params``
    sent as a placeholder that :func:`_unseal` replaces in the encoded body."""
    placeholders: dict[str, Secret] = {}
    previous = getattr(_sealed, "values", None)
    _sealed.values = placeholders
    try:
        return method(**_seal(params, placeholders))
    finally:
        _sealed.values = previous


def _seal(value: Any, placeholders: dict[str, Secret]) -> Any:
    if isinstance(value, Secret):
        placeholder = "nbcsealed" + _random.token_hex(16)
        placeholders[placeholder] = value
        return placeholder
    if isinstance(value, dict):
        return {key: _seal(item, placeholders) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_seal(item, placeholders) for item in value)
    return value


def _unseal(request: Any, **_: Any) -> None:
    """botocore's ``before-send``: put the sealed values into the encoded body (and fix its
    length). Returns None, so botocore sends the request."""
    placeholders = getattr(_sealed, "values", None)
    body = request.body
    if not placeholders or not isinstance(body, bytes | str):
        return
    form = "x-www-form-urlencoded" in str(request.headers.get("Content-Type", ""))
    request.body = _unsealed(body.encode() if isinstance(body, str) else body, placeholders, form=form)
    request.headers["Content-Length"] = str(len(request.body))


def _unsealed(body: bytes, placeholders: dict[str, Secret], *, form: bool) -> OpaqueBytes:
    for placeholder, secret in placeholders.items():
        body = OpaqueBytes(body.replace(placeholder.encode(), _encoded(secret, form=form)))
    return OpaqueBytes(body)


def _encoded(secret: Secret, *, form: bool) -> bytes:
    """The secret as the body's encoding writes it: form-urlencoded, or inside a JSON string
    (as botocore's ``json.dumps``, ASCII with escapes)."""
    if form:
        return urllib.parse.quote_plus(secret.reveal()).encode()
    return json.dumps(secret.reveal())[1:-1].encode()


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
