"""The test harness: one offline Cognito per session, reset per test, on a shared ManualClock.

Fixtures
--------
``emulator``    the session's :class:`~nb_cognito.local.LocalCognito` (started once).
``clock``       a :class:`~nb_cognito.clock.ManualClock` for this test.
``local``       ``emulator``, reset to ``default_test_spec()`` and using ``clock``.
``make_local``  ``make_local(spec)`` resets ``emulator`` to ``spec`` (same clock) and returns it.
``fault_proxy`` a :class:`~nb_cognito.local.FaultProxy` in front of the emulator, cleared per test.
``new_session`` ``new_session(settings=None, *, attach=False, auto_refresh=False, **overrides)``
                makes a :class:`~nb_cognito.auth.session.CognitoSession` on ``clock``, configured
                with ``settings`` (default: ``local``'s) plus ``overrides``; ``attach=True`` wires it
                as the kernel wires its own. Each is signed out and closed at teardown. (Not named
                ``make_session``: a conftest fixture would shadow the reliability suite's own.)

Every test also runs isolated from the machine's AWS setup: no ``AWS_*`` / ``NB_COGNITO_*``
variables, config files that do not exist, no instance metadata lookups, a JWKS disk cache of its
own (``XDG_CACHE_HOME``), and no boto3 default session left behind.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import Triple

from nb_cognito import kernel
from nb_cognito.auth.policy import RefreshPolicy
from nb_cognito.auth.session import CognitoSession
from nb_cognito.clock import ManualClock
from nb_cognito.local import FaultProxy, LocalCognito, LocalSpec, default_test_spec


@pytest.fixture(autouse=True)
def _isolated_aws_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("AWS_", "NB_COGNITO_")):
            monkeypatch.delenv(name)
    missing = tmp_path_factory.mktemp("aws") / "missing"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never wait for 169.254.169.254
    # The JWKS disk cache of this test only: never the user's ~/.cache, never another test's.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    yield
    import boto3

    boto3.DEFAULT_SESSION = None


@pytest.fixture(scope="session")
def emulator() -> Iterator[LocalCognito]:
    with LocalCognito(default_test_spec()) as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_local(emulator: LocalCognito, clock: ManualClock) -> Callable[[LocalSpec], LocalCognito]:
    def make(spec: LocalSpec) -> LocalCognito:
        emulator.use_clock(clock)
        emulator.reset(spec)
        return emulator

    return make


@pytest.fixture
def local(make_local: Callable[[LocalSpec], LocalCognito]) -> LocalCognito:
    return make_local(default_test_spec())


@pytest.fixture
def fault_proxy(emulator: LocalCognito) -> Iterator[FaultProxy]:
    with FaultProxy(emulator.endpoint_url) as proxy:
        yield proxy
        proxy.clear()


@pytest.fixture
def new_session(local: LocalCognito, clock: ManualClock) -> Iterator[Callable[..., CognitoSession]]:
    made: list[CognitoSession] = []

    def make(
        settings: dict[str, Any] | None = None,
        *,
        attach: bool = False,
        auto_refresh: bool = False,
        policy: RefreshPolicy | None = None,
        **overrides: Any,
    ) -> CognitoSession:
        integrations = None if attach else ()  # attach: the kernel's own integrations
        session = kernel.make_session(
            clock=clock, auto_refresh=auto_refresh, integrations=integrations, policy=policy
        )
        base = local.settings.as_config() if settings is None else settings
        session.configure(**{**base, **overrides})
        made.append(session)
        return session

    yield make
    for session in made:
        session.sign_out()
        session.close()


@pytest.fixture
def make_session(new_session: Callable[..., CognitoSession]) -> Callable[..., CognitoSession]:
    """``make_session(settings=None, **options)``: the reliability suite's name for ``new_session``."""
    return new_session


@pytest.fixture
def proxied_settings(local: Any, fault_proxy: Any) -> dict[str, Any]:
    """The emulator's settings with every client call going through the fault proxy."""
    return {**local.settings.as_config(), "endpoint_url": fault_proxy.url}


@pytest.fixture
def issued(emulator: Any) -> Iterator[set[Triple]]:
    """Every (key, secret, token) the emulator vends, recorded by the server as it issues them."""
    triples: set[Triple] = set()
    lock = threading.Lock()

    def record(event: Any) -> None:
        if event.kind == "credentials_issued":
            with lock:
                triples.add(event.credentials)

    unsubscribe = emulator.subscribe(record)
    yield triples
    unsubscribe()


@pytest.fixture
def store_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Remembered sessions in this test's own directory, never in the OS keyring."""
    from nb_cognito import store

    directory = tmp_path / "store"
    monkeypatch.setenv(store.ENV_DIR, str(directory))
    monkeypatch.setenv(store.ENV_KEYRING, "0")
    return directory
