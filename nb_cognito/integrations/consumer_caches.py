"""Forget the keys that data libraries in this process cached, when the identity changes.

Libraries that read the container endpoint keep what they fetched until it nears its expiry
(botocore and s3fs: 15 minutes before; polars: until it expires), and pandas keeps one s3fs
filesystem per set of options for the kernel's life. So after a sign-out, or a sign-in as
someone else, they would go on signing with the previous user's key. At every sign-in (which
also drops the anonymous filesystems s3fs cached while nobody was signed in), at sign-out and
when the session ends, :class:`ConsumerCaches` resets what can be reset from outside:

* boto3's default session: its cached credentials, so new clients resolve them again;
* s3fs: its instance cache (what pandas and ``fsspec.filesystem("s3")`` reuse);
* loky and joblib: the reusable executor is shut down (its workers finish what they run and
  exit); the next ``Parallel`` starts new workers, which ask the endpoint afresh.

What it cannot reach: objects the user keeps (an ``s3fs.S3FileSystem``, a pyarrow
``S3FileSystem``, a ``boto3.Session()``, a duckdb connection's secret unless
:mod:`nb_cognito.duckdb` manages it, a ``multiprocessing`` pool, a running child), polars (its
native object-store cache keeps a key until it expires; emptying its Python-side provider
cache does not reach it), and, anywhere, keys already handed out: they stay valid at AWS until
they expire. ``docs/credentials.md`` says how to make it exact.

Only modules already imported are touched: nothing here imports a library.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange

__all__ = ["ConsumerCaches", "reset_consumer_caches"]

log = logging.getLogger("nb_cognito")


def _boto3_default_session() -> bool:
    from nb_cognito.auth.botocore_adapter import default_botocore_session, forget_credentials

    botocore_session = default_botocore_session()
    if botocore_session is None:
        return False
    forget_credentials(botocore_session)  # get_credentials() caches; make it ask the chain again
    return True


def _s3fs() -> bool:
    s3fs = sys.modules.get("s3fs")
    if s3fs is None:
        return False
    s3fs.S3FileSystem.clear_instance_cache()
    return True


def _loky() -> bool:
    done = False
    for name in ("joblib.externals.loky.reusable_executor", "loky.reusable_executor"):
        module = sys.modules.get(name)
        lock = getattr(module, "_executor_lock", None)
        if module is None or lock is None:
            continue
        with lock:
            executor = getattr(module, "_executor", None)
            if executor is not None:
                executor.shutdown(wait=False)  # running tasks finish; no new task reaches them
                done = True
    return done


#: What is reset, by name (for logs and tests), in order.
RESETS: dict[str, Callable[[], bool]] = {
    "boto3": _boto3_default_session,
    "s3fs": _s3fs,
    "loky": _loky,
}


def reset_consumer_caches() -> list[str]:
    """Reset every cache above that this process has; returns the names of those reset.

    A library whose internals moved on is skipped (logged at DEBUG), never an error.
    """
    done = []
    for name, reset in RESETS.items():
        try:
            if reset():
                done.append(name)
        except Exception:
            log.debug("nb_cognito could not reset the %s credential cache.", name, exc_info=True)
    if done:
        log.info("nb_cognito reset the cached AWS credentials of: %s.", ", ".join(done))
    return done


class ConsumerCaches(Integration):
    """Resets the consumers' credential caches at sign-in, sign-out and when the session ends."""

    name = "consumer caches"

    def __init__(self, reset: Callable[[], Any] = reset_consumer_caches) -> None:
        self._reset = reset

    def session_changed(self, change: SessionChange) -> None:
        # At sign-in: a new identity, or the first; nothing cached before it may stay.
        if change.kind is ChangeKind.SIGNED_IN or change.ended:
            self._reset()
