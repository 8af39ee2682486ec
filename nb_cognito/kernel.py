"""The kernel-wide session: created once per process, on first use, and wired to the integrations.

This module is the composition root. It is never reloaded by ``%reload_ext nb_cognito``
(which reloads only the package's ``__init__``), so the one session and its one refresher
thread survive a reload.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = ["existing_session", "kernel_session", "reset_kernel_session"]

_lock = threading.Lock()
_session: CognitoSession | None = None


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
            from nb_cognito.auth.session import CognitoSession
            from nb_cognito.config import CognitoConfig

            shell = _ipython_config_parent()
            config = CognitoConfig(parent=shell) if shell is not None else CognitoConfig()
            if shell is not None:  # so that %config CognitoConfig reaches it
                shell.configurables.append(config)
            _session = CognitoSession(config)
            _attach_integrations(_session)
        return _session


def _attach_integrations(session: CognitoSession) -> None:
    from nb_cognito import store
    from nb_cognito.integrations import boto3_injection, container_endpoint, dask, env_export

    boto3_injection.attach(session)  # boto3's default session (inject_boto3)
    container_endpoint.attach(session)  # the container-credentials endpoint (opt-in)
    env_export.attach(session)  # AWS_* variables (opt-in)
    store.attach(session)  # remembered sessions (opt-in: remember=True)
    dask.attach(session)  # credentials to every Dask client's workers


def reset_kernel_session() -> None:
    """Sign out and forget the kernel-wide session (tests; a new one is made on next use)."""
    global _session
    with _lock:
        session, _session = _session, None
    if session is not None:
        session.sign_out()
        session.close()
