"""The session's Dask integration: credentials pushed to the workers of the clusters meant for them.

On sign-in, at every credentials refresh and on sign-out, a
:class:`nb_cognito.dask.CognitoCredentials` plugin (carrying the new credentials, or none)
is registered on every client of the kernel whose cluster the user meant to give them to
(:mod:`nb_cognito.dask.trust`: the kernel's own LocalCluster, sealed; a cluster
started from the kernel; a TLS scheduler; one named in ``dask_clusters`` or opted in with
``nb_cognito.dask.register_plugin``). Any other cluster gets nothing, and one warning.

The clients are the ones ``distributed`` knows as default clients
(``distributed.client._global_clients``) and every client started since, which a client
preload (``distributed.client.preload``) reports as it starts. The scheduler keeps the last
plugin for workers that join later.

Nothing here imports ``distributed`` (it is heavy, and optional): the preload is put in
dask's configuration once ``distributed`` is imported, whenever that happens.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import warnings
import weakref
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
from nb_cognito.dask.trust import Trust, addresses, decide, refusal_message, scheduler_address
from nb_cognito.exceptions import AuthError

if TYPE_CHECKING:
    from nb_cognito.dask.worker import PushedCredentials

__all__ = ["PRELOAD", "DaskIntegration", "open_integrations"]

PRELOAD = "nb_cognito.dask.preload"
PUSH_TIMEOUT = 10.0
log = logging.getLogger("nb_cognito")

# The integrations of the open sessions, for the preload (weakly held: a closed or forgotten
# session's integration goes away by itself).
_open: weakref.WeakSet[DaskIntegration] = weakref.WeakSet()


def open_integrations() -> list[DaskIntegration]:
    return list(_open)


class DaskIntegration(Integration):
    """Keeps the workers of the clusters meant for them supplied with the session's credentials."""

    name = "dask"

    def __init__(self) -> None:
        self.session: Any = None
        self._lock = forksafe.RLock()  # one push at a time (held while registering)
        self._state_lock = forksafe.Lock()  # the sets below; never held while waiting on Dask
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()
        self._credentials: PushedCredentials | None = None  # the last pushed (None: none)
        self._active = False  # pushed at least once: a sign-out must withdraw
        self._named: frozenset[str] = frozenset()  # dask_clusters as last seen (to see it change)
        self._opted_in: set[str] = set()  # nb_cognito.dask.register_plugin(client)
        self._supplied: set[str] = set()  # the schedulers that were sent credentials
        self._warned: set[str] = set()

    # -- the session's side ---------------------------------------------------------------------

    def attach(self, session: Any) -> None:
        self.session = session
        self._named = self._named_now()
        _open.add(self)
        _configure_preload_when_imported()

    def session_changed(self, change: SessionChange) -> None:
        if change.kind is ChangeKind.CREDENTIALS_CHANGED:
            self._credentials_changed(change)
        elif change.ended:
            self._withdraw()
        elif change.kind is ChangeKind.CONFIGURED:
            self._configured(change)
        elif change.kind is ChangeKind.CLOSING:
            _open.discard(self)

    def _credentials_changed(self, change: SessionChange) -> None:
        """Sign-in or refresh: push the new credentials."""
        if "distributed" not in sys.modules and not self._active:
            return  # no Dask in this kernel (yet): the preload pushes when a client starts
        from nb_cognito.dask.worker import PushedCredentials

        if change.credentials is None:
            return
        self.push(PushedCredentials.from_session(self.session, change.credentials))

    def _withdraw(self) -> None:
        """Withdraw the credentials from every worker."""
        if self._active:
            self.push(None)

    def _configured(self, change: SessionChange) -> None:
        """``dask_clusters`` changed: supply the newly named schedulers, withdraw from the others."""
        if change.settings is None:
            return
        named = addresses(change.settings.dask_clusters)
        if named == self._named:
            return
        self._named = named
        if self._active:
            self.push(self._credentials)

    # -- the clients' side ----------------------------------------------------------------------

    def clients(self) -> list[Any]:
        """The running clients of this process (default clients and those seen starting)."""
        found = list(self._clients)
        client_module = sys.modules.get("distributed.client")
        if client_module is not None:
            found += list(getattr(client_module, "_global_clients", {}).values())
        unique = {id(client): client for client in found}
        return [client for client in unique.values() if getattr(client, "status", None) == "running"]

    def push(self, credentials: PushedCredentials | None) -> None:
        """Send ``credentials`` (None: withdraw) to every running client's cluster that is meant
        to have them (replacing the previous plugin)."""
        with self._lock:
            self._credentials = credentials
            self._active = True
            for client in self.clients():
                plugin = self.plugin_for(client, credentials)
                if plugin is not None:
                    self._register(client, plugin)

    def plugin_for(self, client: Any, credentials: PushedCredentials | None) -> Any:
        """The plugin ``client``'s cluster gets (None: nothing, it is not meant to have any)."""
        from nb_cognito.dask.worker import CognitoCredentials

        address = scheduler_address(client)
        with self._state_lock:
            trust = decide(client, self._named_now() | self._opted_in)
            if trust is Trust.NONE:
                if address in self._supplied:  # named before, no longer: take them back
                    self._supplied.discard(address)
                    return CognitoCredentials(None)
                if credentials is not None:
                    self._warn_once(address)
                return None
            self._supplied.add(address)
        if credentials is None:
            return CognitoCredentials(None)
        if trust is Trust.SEALED:
            return CognitoCredentials.sealed_for_own_workers(credentials)
        return CognitoCredentials(credentials)

    def opt_in(self, client: Any) -> None:
        """``client``'s scheduler gets the credentials from now on (now, and at every refresh)."""
        with self._lock:
            with self._state_lock:
                self._opted_in.add(scheduler_address(client))
            self._clients.add(client)
            credentials = self._credentials if self._active else self._current()
            self._active = self._active or credentials is not None
            plugin = self.plugin_for(client, credentials)
            if plugin is not None:
                self._register(client, plugin)

    def _named_now(self) -> frozenset[str]:
        """The ``dask_clusters`` setting as the session resolves it now (none if it cannot)."""
        try:
            return addresses(self.session.settings.dask_clusters)
        except AuthError:  # bad settings: the session says so where it matters
            return frozenset()

    def _current(self) -> PushedCredentials | None:
        from nb_cognito.dask.worker import PushedCredentials

        if self.session is None or not self.session.is_signed_in:
            return None
        try:
            return PushedCredentials.from_session(self.session)
        except AuthError:
            return None

    def _warn_once(self, address: str) -> None:
        if address in self._warned:
            return
        self._warned.add(address)
        message = refusal_message(address)
        warnings.warn(message, UserWarning, stacklevel=2)
        log.warning(message)

    def _register(self, client: Any, plugin: Any) -> None:
        from nb_cognito.dask.worker import PLUGIN_NAME

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
        credentials = self._credentials
        if not self._active:
            credentials = self._current()
            if credentials is None:
                return
            self._credentials, self._active = credentials, True
        plugin = self.plugin_for(client, credentials)
        if plugin is not None:
            await _register_async(client, plugin)


async def _register_async(client: Any, plugin: Any) -> None:
    from nb_cognito.dask.worker import PLUGIN_NAME

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
