"""The composition root: how a session is built and wired, and the one kernel-wide session.

"Kernel" here means this Python process (a Jupyter kernel, a terminal IPython, a script):
it has one session, ``nb_cognito.session``, made on first use by :func:`kernel_session`.
:func:`make_session` builds any other session the same way (tests, benchmarks, tools), with
the clock and the integrations given; :func:`default_integrations` lists what the kernel's
session owns.

This module is never reloaded by ``%reload_ext nb_cognito`` (which reloads only the package's
``__init__``), so the one session and its one refresher thread survive a reload.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from nb_cognito.auth.integration import Integration
    from nb_cognito.auth.policy import RefreshPolicy
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.settings.config import CognitoConfig

__all__ = [
    "default_integrations",
    "existing_session",
    "kernel_session",
    "make_session",
    "prepare",
    "reset_kernel_session",
    "use_kernel_session",
]

_lock = forksafe.Lock()
_session: CognitoSession | None = None


def default_integrations() -> list[Integration]:
    """What the kernel's session owns, in the order they are told of changes.

    Remembered sessions come first (a rotated refresh token is stored before anything uses
    it); boto3 injection, the container endpoint and env export share one record of the
    environment variables nb_cognito writes, so none mistakes another's for the user's.
    """
    from nb_cognito.dask.integration import DaskIntegration
    from nb_cognito.integrations.boto3_injection import Boto3Injection
    from nb_cognito.integrations.consumer_caches import ConsumerCaches
    from nb_cognito.integrations.container_endpoint import ContainerEndpoint
    from nb_cognito.integrations.env_export import EnvExport
    from nb_cognito.integrations.process_env import EnvironmentWrites
    from nb_cognito.integrations.remembered import RememberedSessions

    env = EnvironmentWrites()
    return [
        RememberedSessions(),
        Boto3Injection(env),
        ContainerEndpoint(env),
        EnvExport(env),
        ConsumerCaches(),  # keys data libraries cached: forgotten at sign-in and sign-out
        DaskIntegration(),  # credentials to the workers of every Dask client in the process
    ]


def make_session(
    config: CognitoConfig | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    integrations: Iterable[Integration] | None = None,
    auto_refresh: bool = True,
    policy: RefreshPolicy | None = None,
) -> CognitoSession:
    """A new session on ``clock`` and ``policy``, owning ``integrations`` (default:
    :func:`default_integrations`)."""
    from nb_cognito.auth.session import CognitoSession

    session = CognitoSession(config, clock=clock, auto_refresh=auto_refresh, policy=policy)
    for integration in default_integrations() if integrations is None else integrations:
        session.integrations.add(integration)
    return session


def _ipython_config_parent() -> Any:
    """The running IPython shell, if any, so that ``c.CognitoConfig.*`` applies."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def existing_session() -> CognitoSession | None:
    """The kernel-wide session if one was made already; never creates it (cheap)."""
    return _session


def kernel_session() -> CognitoSession:
    """The one :class:`CognitoSession` of this process."""
    global _session
    session = _session
    if session is not None:
        return session
    with _lock:
        if _session is None:
            from nb_cognito.settings.config import CognitoConfig

            shell = _ipython_config_parent()
            config = CognitoConfig(parent=shell) if shell is not None else CognitoConfig()
            if shell is not None:  # so that %config CognitoConfig reaches it
                shell.configurables.append(config)
            _session = make_session(config)
            prepare(_session)
        return _session


def prepare(session: CognitoSession) -> None:
    """Make the kernel ready before anyone signs in: what is made now works after sign-in.

    The container endpoint already runs (it starts when the session is made), so children,
    spawn pools and loky workers started from now on inherit its address; here boto3's default
    session gets its standby provider, so a client made before sign-in fails at once with
    "sign in" and works as soon as someone does.
    """
    from nb_cognito.integrations.boto3_injection import Boto3Injection

    injection = session.integrations.find(Boto3Injection)
    if injection is not None:
        try:
            injection.standby()
        except Exception:  # an import or botocore problem must not stop the session
            import logging

            logging.getLogger("nb_cognito").warning(
                "Could not prepare boto3's default session for nb_cognito.", exc_info=True
            )


def use_kernel_session(session: CognitoSession | None) -> CognitoSession | None:
    """Make ``session`` the kernel-wide one, for a host that builds its own (or a test).

    Returns the previous one, untouched (neither signed out nor closed); None resets, so the
    next use builds a new session.
    """
    global _session
    with _lock:
        previous, _session = _session, session
    return previous


def reset_kernel_session() -> None:
    """Sign out and forget the kernel-wide session (tests; a new one is made on next use)."""
    global _session
    with _lock:
        session, _session = _session, None
    if session is not None:
        session.sign_out()
        session.close()
