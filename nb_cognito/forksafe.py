"""Fork hygiene as one mechanism: after ``os.fork()``, each registered object resets itself.

A forked child inherits every lock in whatever state another thread held it, and none of the
parent's threads. Objects that own a lock, a thread or a server register here; in the child
their ``after_fork_in_child()`` replaces the locks and forgets threads and servers that did
not come along (never waiting on them, never signing the parent out).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["ForkAware", "ForkSafeLock", "Lock", "RLock", "on_fork_in_child", "register", "registered"]

log = logging.getLogger("nb_cognito")


class ForkAware(Protocol):
    def after_fork_in_child(self) -> None: ...


_T = TypeVar("_T", bound=ForkAware)
_objects: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(obj: _T) -> _T:
    """Reset ``obj`` in every forked child (held weakly: registering keeps nothing alive)."""
    _objects.add(obj)
    return obj


_hooks: list[weakref.WeakMethod[Callable[[], None]]] = []


def on_fork_in_child(method: Callable[[], None]) -> None:
    """Call the bound ``method`` in every forked child (held weakly, as :func:`register`):
    for an object whose reset is private to it."""
    _hooks[:] = [hook for hook in _hooks if hook() is not None]
    _hooks.append(weakref.WeakMethod(method))


class ForkSafeLock:
    """A lock that a forked child gets new and free, whoever held it in the parent."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = factory()
        register(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return bool(self._lock.acquire(blocking, timeout))

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def after_fork_in_child(self) -> None:
        self._lock = self._factory()


def Lock() -> ForkSafeLock:
    """``threading.Lock()``, replaced by a free one in a forked child."""
    return ForkSafeLock(threading.Lock)


def RLock() -> ForkSafeLock:
    """``threading.RLock()``, replaced by a free one in a forked child."""
    return ForkSafeLock(threading.RLock)


def registered() -> list[ForkAware]:
    """Every live object that resets itself in a forked child (tests, diagnostics)."""
    return list(_objects)


def _reset_in_child() -> None:
    resets = [obj.after_fork_in_child for obj in list(_objects)]
    resets += [method for hook in list(_hooks) if (method := hook()) is not None]
    for reset in resets:
        try:
            reset()
        except Exception:  # the child must come up whatever one object does
            log.debug("nb_cognito: %r could not reset after fork", reset, exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
