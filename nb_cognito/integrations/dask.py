"""The session's Dask integration: credentials pushed to every ``distributed.Client``'s workers.

On sign-in, at every credentials refresh and on sign-out, a
:class:`nb_cognito.dask.CognitoCredentials` plugin (carrying the new credentials, or none)
is registered on every client of the kernel: the ones ``distributed`` knows as default
clients (``distributed.client._global_clients``) and every client started since, which a
client preload (``distributed.client.preload``) reports as it starts. The scheduler keeps
the last plugin for workers that join later. A client started later receives the current
credentials from the preload at once.

Nothing here imports ``distributed`` (it is heavy, and optional): the preload is put in
dask's configuration once ``distributed`` is imported, whenever that happens.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import weakref
from typing import Any

from nb_cognito import forksafe
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
from nb_cognito.exceptions import AuthError

__all__ = ["PRELOAD", "DaskIntegration", "open_integrations"]

PRELOAD = "nb_cognito._dask_preload"
PUSH_TIMEOUT = 10.0
log = logging.getLogger("nb_cognito")

# The integrations of the open sessions, for the preload (weakly held: a closed or forgotten
# session's integration goes away by itself).
_open: weakref.WeakSet[DaskIntegration] = weakref.WeakSet()


def open_integrations() -> list[DaskIntegration]:
    return list(_open)


class DaskIntegration(Integration):
    """Keeps every Dask client's workers supplied with the session's AWS credentials."""

    name = "dask"

    def __init__(self) -> None:
        self.session: Any = None
        self._lock = forksafe.Lock()
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()
        self._plugin: Any = None  # the last plugin pushed (None: never pushed)

    # -- the session's side ---------------------------------------------------------------------

    def attach(self, session: Any) -> None:
        self.session = session
        _open.add(self)
        _configure_preload_when_imported()

    def session_changed(self, change: SessionChange) -> None:
        if change.kind is ChangeKind.CREDENTIALS_CHANGED:
            self._credentials_changed(change)
        elif change.ended:
            self._withdraw()
        elif change.kind is ChangeKind.CLOSING:
            _open.discard(self)

    def _credentials_changed(self, change: SessionChange) -> None:
        """Sign-in or refresh: push the new credentials."""
        if "distributed" not in sys.modules and self._plugin is None:
            return  # no Dask in this kernel (yet): the preload pushes when a client starts
        from nb_cognito.integrations.dask_worker import CognitoCredentials, PushedCredentials

        if change.credentials is None:
            return
        self.push(CognitoCredentials(PushedCredentials.from_session(self.session, change.credentials)))

    def _withdraw(self) -> None:
        """Withdraw the credentials from every worker."""
        if self._plugin is None:
            return
        from nb_cognito.integrations.dask_worker import CognitoCredentials

        self.push(CognitoCredentials(None))

    # -- the clients' side ----------------------------------------------------------------------

    def clients(self) -> list[Any]:
        """The running clients of this process (default clients and those seen starting)."""
        found = list(self._clients)
        client_module = sys.modules.get("distributed.client")
        if client_module is not None:
            found += list(getattr(client_module, "_global_clients", {}).values())
        unique = {id(client): client for client in found}
        return [client for client in unique.values() if getattr(client, "status", None) == "running"]

    def push(self, plugin: Any) -> None:
        """Register ``plugin`` on every running client (replacing the previous one)."""
        with self._lock:
            self._plugin = plugin
            for client in self.clients():
                self._register(client, plugin)

    def _register(self, client: Any, plugin: Any) -> None:
        from nb_cognito.integrations.dask_worker import PLUGIN_NAME

        try:
            if client.asynchronous:
                client.loop.add_callback(_register_async, client, plugin)
            else:
                client.sync(
                    client._register_worker_plugin,
                    plugin=plugin,
                    name=PLUGIN_NAME,
                    idempotent=False,
                    callback_timeout=PUSH_TIMEOUT,
                )
        except Exception as error:  # a dead scheduler must not break the session
            log.warning(
                "nb_cognito could not push credentials to the Dask cluster at %s (%s); "
                "its workers keep the previous ones until they expire.",
                getattr(getattr(client, "scheduler", None), "address", "?"),
                type(error).__name__,
            )

    async def client_started(self, client: Any) -> None:
        """From the preload: a new client; push the current credentials to it."""
        self._clients.add(client)
        plugin = self._plugin
        if plugin is None and self.session is not None and self.session.is_signed_in:
            from nb_cognito.integrations.dask_worker import CognitoCredentials, PushedCredentials

            try:
                plugin = CognitoCredentials(PushedCredentials.from_session(self.session))
            except AuthError:
                plugin = None
            self._plugin = plugin
        if plugin is not None:
            await _register_async(client, plugin)


async def _register_async(client: Any, plugin: Any) -> None:
    from nb_cognito.integrations.dask_worker import PLUGIN_NAME

    try:
        await client._register_worker_plugin(plugin=plugin, name=PLUGIN_NAME, idempotent=False)
    except Exception as error:
        log.warning("nb_cognito could not push credentials to a Dask cluster (%s).", type(error).__name__)


# -- the preload in dask's configuration, once distributed is imported --------------------------


def _install_preload() -> None:
    import dask.config

    preloads = list(dask.config.get("distributed.client.preload", default=[]) or [])
    if PRELOAD not in preloads:
        dask.config.set({"distributed.client.preload": [*preloads, PRELOAD]})


class _WhenDistributedIsImported(importlib.abc.MetaPathFinder):
    """Adds the preload to dask's configuration right after ``distributed`` is imported."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "distributed":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return None
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _install_preload()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_hook = _WhenDistributedIsImported()


def _configure_preload_when_imported() -> None:
    if "distributed" in sys.modules:
        _install_preload()
    elif _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)
