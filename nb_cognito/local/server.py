"""``LocalCognito``: an offline Cognito (user pool, identity pool, STS, S3) on moto's server.

>>> with LocalCognito(demo_spec()) as local:
...     nb_cognito.configure(**local.settings.as_config())

It listens on 127.0.0.1 only. moto's backends are process-wide, so run one ``LocalCognito``
per process at a time; :meth:`LocalCognito.reset` wipes all of moto's state.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from ..clock import SYSTEM_CLOCK, Clock
from ..environment import env_var
from . import patches
from .examples import demo_spec
from .fault_switch import FaultSwitch
from .hosted_ui import HostedUI, hosted_ui_settings
from .provision import AdminClients, Provisioned, provision
from .spec import LocalSpec
from .state import EmulatorState, ServerEvent
from .users import LocalUsers

from .http import HOST, MotoServer, RequestLog  # isort: skip  (moto, after patches' version check)

__all__ = ["LocalCognito", "LocalSettings"]


@dataclass(frozen=True)
class LocalSettings:
    """How to reach the emulator's pool: pass ``as_config()`` to ``nb_cognito.configure``.

    Its fields are settings, named as in the settings table (a test holds them to it).
    """

    region: str
    user_pool_id: str
    client_id: str
    client_secret: str | None = field(repr=False)
    identity_pool_id: str | None
    endpoint_url: str
    # The hosted UI, when the app client has callback URLs (ClientSpec.callback_urls).
    oauth_domain: str | None = None
    redirect_uri: str | None = None

    def as_config(self) -> dict[str, str]:
        """Keyword arguments for ``nb_cognito.configure`` (None values left out)."""
        names = (item.name for item in fields(self))
        return {name: value for name in names if (value := getattr(self, name)) is not None}

    def as_env(self) -> dict[str, str]:
        """The same settings as ``NB_COGNITO_*`` environment variables."""
        return {env_var(name): value for name, value in self.as_config().items()}


class LocalCognito:
    """An offline Cognito provisioned from a :class:`LocalSpec` (default: :func:`demo_spec`).

    Use as a context manager, or ``start()`` / ``stop()``. ``port=0`` (or a port in use) takes a
    free port. ``clock`` is the emulator's "now" for tokens, credentials, TOTP and lockouts.
    """

    def __init__(self, spec: LocalSpec | None = None, clock: Clock | None = None, port: int = 0):
        patches.apply()
        self._spec = spec if spec is not None else demo_spec()
        self._state = EmulatorState(clock or SYSTEM_CLOCK)
        self._hosted_ui = HostedUI(self._state)  # /oauth2/*, /login, /logout on the same server
        self._state.strict_s3 = self._spec.strict_s3
        self._port = port
        self._server: MotoServer | None = None
        self._endpoint_url: str | None = None
        self._admin: dict[str, AdminClients] = {}
        self._ids: Provisioned | None = None
        self._lock = threading.RLock()
        #: The pool's users: add, disable, delete, passwords, and their SMS/email/TOTP codes.
        self.users = LocalUsers(
            self._state,
            spec=lambda: self._spec,
            ids=self._provisioned,
            admin=lambda: self._admin_for(self._spec),
        )
        #: The named fault modes (:class:`FaultMode`): ``with local.faults.mode(...)``, ``enable``, ...
        self.faults = FaultSwitch(self._state)

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> LocalCognito:
        """Start the server and provision the spec (no-op if already running)."""
        with self._lock:
            if self._server is not None:
                return self
            server = MotoServer(self._port, lambda app: RequestLog(self._hosted_ui.wrap(app), self._state))
            server.start()
            self._server = server
            host, port = server.get_host_and_port()
            self._endpoint_url = f"http://{host}:{port}"
            try:
                self._ids = provision(self._spec, self._admin_for(self._spec), self._state)
            except BaseException:
                self.stop()
                raise
            self._state.clear_requests()
            return self

    def stop(self) -> None:
        """Stop the server (idempotent). moto's in-process state is left for the next reset."""
        with self._lock:
            server, self._server = self._server, None
            self._admin.clear()  # their endpoint goes with the server
            if server is not None:
                server.stop()

    def __enter__(self) -> LocalCognito:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def reset(self, spec: LocalSpec | None = None) -> None:
        """Wipe moto and the emulator's own state, then provision ``spec`` (default: the current)."""
        with self._lock:
            endpoint = self._require_started()
            if spec is not None:
                self._spec = spec
            _post(f"{endpoint}/moto-api/reset")
            self._state.clear()
            self._hosted_ui.clear()
            self._state.strict_s3 = self._spec.strict_s3
            self._ids = provision(self._spec, self._admin_for(self._spec), self._state)
            self._state.clear_requests()

    # -- what the client needs ------------------------------------------------------------------

    @property
    def spec(self) -> LocalSpec:
        return self._spec

    @property
    def endpoint_url(self) -> str:
        return self._require_started()

    @property
    def settings(self) -> LocalSettings:
        endpoint = self._require_started()
        ids = self._provisioned()
        return LocalSettings(
            region=self._spec.region,
            user_pool_id=ids.user_pool_id,
            client_id=ids.client_id,
            client_secret=ids.client_secret,
            identity_pool_id=ids.identity_pool_id,
            endpoint_url=endpoint,
            **hosted_ui_settings(self._spec.client, endpoint),
        )

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens: the real-AWS URL, in the form ``PoolSpec.issuer`` names."""
        host = "issuer-cognito-idp" if self._spec.pool.issuer == "updated" else "cognito-idp"
        return f"https://{host}.{self._spec.region}.amazonaws.com/{self._provisioned().user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint_url}/{self._provisioned().user_pool_id}/.well-known/jwks.json"

    # -- time and the request log ---------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self._state.clock

    def use_clock(self, clock: Clock) -> None:
        """Make ``clock`` the emulator's "now" (token times, credential expiry, TOTP, lockout)."""
        self._state.clock = clock

    def request_counts(self) -> collections.Counter[str]:
        """Requests received, by action ("InitiateAuth", "GetId", "s3:GET", ...)."""
        with self._state.lock:
            return collections.Counter(self._state.counts)

    def s3_refusals(self) -> list[tuple[str, str | None]]:
        """(error code, access key) of each S3 request strict mode refused, in order."""
        with self._state.lock:
            return list(self._state.s3_refusals)

    def reset_counts(self) -> None:
        self._state.clear_requests()

    def received_access_keys(self, service: str | None = None) -> list[str]:
        """Access key ids of the signed requests received, in order (optionally for one service)."""
        with self._state.lock:
            return [key for svc, key in self._state.access_keys if service in (None, svc)]

    # -- server events ---------------------------------------------------------------------

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with each :class:`ServerEvent` (in the serving thread), until the
        returned function is called. Listeners outlive :meth:`reset`."""
        with self._state.lock:
            self._state.listeners.append(listener)

        def unsubscribe() -> None:
            with self._state.lock, contextlib.suppress(ValueError):
                self._state.listeners.remove(listener)

        return unsubscribe

    # -- test helpers ---------------------------------------------------------------------------

    def admin(self, service: str = "cognito-idp") -> Any:
        """A boto3 client ("cognito-idp", "cognito-identity" or "s3") whose calls are not logged."""
        self._require_started()
        return self._admin_for(self._spec)[service]

    # -- internals ------------------------------------------------------------------------------

    def _admin_for(self, spec: LocalSpec) -> AdminClients:
        endpoint = self._require_started()
        if spec.region not in self._admin:
            self._admin[spec.region] = AdminClients(endpoint, spec.region)
        return self._admin[spec.region]

    def _require_started(self) -> str:
        if self._server is None or self._endpoint_url is None:
            raise RuntimeError("LocalCognito is not running: call start() or use it in a with block")
        return self._endpoint_url

    def _provisioned(self) -> Provisioned:
        self._require_started()
        assert self._ids is not None
        return self._ids

    def __repr__(self) -> str:
        where = self._endpoint_url if self.running else "stopped"
        return f"LocalCognito({where})"


def _post(url: str) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=30)
    try:
        connection.request("POST", parts.path, body=b"")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {parts.path} answered HTTP {response.status}")
    finally:
        connection.close()
