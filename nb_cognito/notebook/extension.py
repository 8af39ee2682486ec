"""The IPython extension: ``%load_ext nb_cognito`` registers the magics and their hook.

``load_extension`` and ``unload_extension`` mirror each other and are idempotent; a reload
keeps the session (and whoever is signed in).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.notebook import short_errors
from nb_cognito.notebook.magics import MAGICS_NAME, CognitoMagics
from nb_cognito.notebook.session_lines import boto3_of

__all__ = ["load_extension", "sign_in_from_hub_at_load", "unload_extension"]

log = logging.getLogger("nb_cognito")


def _registered_magics(shell: Any) -> CognitoMagics | None:
    magics = shell.magics_manager.registry.get(MAGICS_NAME)
    return magics if isinstance(magics, CognitoMagics) else None


def load_extension(shell: Any) -> None:
    """Register the magics and their ``pre_run_cell`` hook (idempotent); keep boto3 wired."""
    if shell is None:
        return
    magics = _registered_magics(shell)
    if magics is None:
        magics = CognitoMagics(shell=shell)
        shell.register_magics(magics)
    if magics.pre_run_cell not in shell.events.callbacks.get("pre_run_cell", []):
        shell.events.register("pre_run_cell", magics.pre_run_cell)
    # The kernel's session is made now, not at the first sign-in: its container endpoint and
    # boto3's standby provider must be in place before the user makes a client, a filesystem,
    # a pool or a child, so that each of them works as soon as someone signs in.
    from nb_cognito.kernel import kernel_session, prepare

    try:
        session = kernel_session()
        prepare(session)  # again after %reload_ext: unloading removed the standby provider
    except Exception:
        log.warning("nb_cognito could not prepare this kernel's session.", exc_info=True)
        return
    # A short traceback for credential errors that nb_cognito's endpoint explains (installed
    # once botocore is imported: now, or before a later cell).
    if not short_errors.install(shell) and short_errors.pre_run_cell not in shell.events.callbacks.get(
        "pre_run_cell", []
    ):
        shell.events.register("pre_run_cell", short_errors.pre_run_cell)
    # After %reload_ext (unload, then load) the session may still be signed in: re-install
    # the boto3 provider that the unload removed.
    injection = boto3_of(session)
    if session.is_signed_in and injection is not None:
        try:
            injection.install()
        except Exception:
            log.warning("Could not put Cognito credentials into boto3's default session.", exc_info=True)
    sign_in_from_hub_at_load()


def sign_in_from_hub_at_load() -> None:
    """``hub_sign_in``: in a server JupyterHub spawned, sign in with the hub's tokens at once.

    ``"auto"`` skips quietly (a log line) when the hub hands out no ID token or the pool is not
    configured, and warns on any other failure; ``True`` says why on stderr whatever the failure;
    ``False`` does nothing. Outside JupyterHub nothing is read, nothing is made.
    """
    if not (os.environ.get(Env.JUPYTERHUB_API_URL) and os.environ.get(Env.JUPYTERHUB_API_TOKEN)):
        return  # not a server JupyterHub spawned: nothing imported, nothing made
    from nb_cognito.kernel import kernel_session

    session = kernel_session()
    try:  # read afresh, as every sign-in reads them: the session may be older than the variables
        mode = session.config.resolve().hub_sign_in
    except ConfigurationError as error:
        log.warning("nb_cognito: not signing in through JupyterHub: %s", error)
        return
    if mode is False or session.is_signed_in:
        return
    try:
        session.sign_in_from_hub()
    except AuthError as error:
        if mode is True:
            print(f"nb_cognito: could not sign in through JupyterHub: {error}", file=sys.stderr)
        elif isinstance(error, ConfigurationError):
            log.info("nb_cognito: not signing in through JupyterHub: %s", error)
        else:
            log.warning("nb_cognito: could not sign in through JupyterHub: %s", error)


def unload_extension(shell: Any) -> None:
    """Remove what :func:`load_extension` added: the magics, the hook and the boto3 provider.

    The session itself (and whoever is signed in) is kept, so a reload does not sign out.
    """
    if shell is None:
        return
    manager = shell.magics_manager
    magics = manager.registry.pop(MAGICS_NAME, None)
    if isinstance(magics, CognitoMagics):
        for kind, names in CognitoMagics.magics.items():
            table = manager.magics.get(kind, {})
            for name in names:
                if getattr(table.get(name), "__self__", None) is magics:
                    del table[name]
        configurables = getattr(shell, "configurables", None)
        if configurables is not None and magics in configurables:
            configurables.remove(magics)
        if magics.pre_run_cell in shell.events.callbacks.get("pre_run_cell", []):
            shell.events.unregister("pre_run_cell", magics.pre_run_cell)
    if short_errors.pre_run_cell in shell.events.callbacks.get("pre_run_cell", []):
        shell.events.unregister("pre_run_cell", short_errors.pre_run_cell)
    short_errors.uninstall(shell)
    from nb_cognito.kernel import existing_session

    injection = boto3_of(existing_session())
    if injection is not None:
        injection.uninstall()
        injection.remove_standby()
