"""Which Dask clusters get the credentials: only those the user meant to give them to.

A worker plugin lives on the scheduler, where its owner, and anyone who can connect to it,
can read it. So the kernel sends the credentials to:

* **its own LocalCluster** (made in this kernel, found through the client or by address):
  sealed with a key only its worker processes inherit (:mod:`nb_cognito.dask.seal`);
* **a cluster started from this kernel** (``Client(cluster)`` with any cluster object made
  here: Dask Gateway, dask-jobqueue, SSH): the user started it for their own work;
* **a TLS scheduler** (``tls://``, Dask Gateway's ``gateway://``): the user holds its certificate;
* **a scheduler the user named**: the ``dask_clusters`` setting, or
  ``nb_cognito.dask.register_plugin(client)``.

Any other scheduler (someone else's plain-TCP one, say) gets nothing, and the kernel warns
once per address, saying why and how to opt in.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["Trust", "addresses", "decide", "normalize", "refusal_message"]


class Trust(enum.Enum):
    SEALED = "the kernel's own LocalCluster"
    STARTED = "a cluster started from this kernel"
    TLS = "a TLS scheduler"
    NAMED = "named by the user"
    NONE = "not meant"


_TLS_SCHEMES = ("tls://", "gateway://")


def normalize(address: str) -> str:
    """``host:port`` means ``tcp://host:port`` (Dask's default scheme); no trailing slash."""
    address = address.strip().rstrip("/")
    return address if "://" in address else f"tcp://{address}"


def addresses(setting: str | None) -> frozenset[str]:
    """The addresses in a ``dask_clusters`` value (comma- or space-separated)."""
    if not setting:
        return frozenset()
    return frozenset(normalize(part) for part in setting.replace(",", " ").split() if part)


def scheduler_address(client: Any) -> str:
    return normalize(str(getattr(getattr(client, "scheduler", None), "address", "") or ""))


def _own_cluster(client: Any, address: str) -> Any:
    """The cluster object of this process behind ``client`` (None if there is none)."""
    cluster = getattr(client, "cluster", None)
    if cluster is not None:
        return cluster
    spec = sys.modules.get("distributed.deploy.spec")
    for candidate in list(getattr(getattr(spec, "SpecCluster", None), "_instances", ()) or ()):
        if normalize(str(getattr(candidate, "scheduler_address", "") or "")) == address:
            return candidate
    return None


def decide(client: Any, named: Iterable[str]) -> Trust:
    """How ``client``'s cluster may receive the credentials (:attr:`Trust.NONE`: not at all)."""
    address = scheduler_address(client)
    if address in set(named):  # the user's word: in clear, also to a worker they added by hand
        return Trust.NAMED
    cluster = _own_cluster(client, address)
    local_cluster = getattr(sys.modules.get("distributed"), "LocalCluster", None)
    if cluster is not None and local_cluster is not None and isinstance(cluster, local_cluster):
        return Trust.SEALED
    if cluster is not None:
        return Trust.STARTED
    if address.startswith(_TLS_SCHEMES):
        return Trust.TLS
    return Trust.NONE


def refusal_message(address: str) -> str:
    return (
        f"nb_cognito sent no AWS credentials to the Dask scheduler at {address}: this kernel did "
        "not start that cluster and its connection is not TLS, so its owner, or anyone who can "
        "connect to it, could read them there. If you trust it, opt in with "
        f"nb_cognito.configure(dask_clusters={address!r}) (or NB_COGNITO_DASK_CLUSTERS) or "
        "nb_cognito.dask.register_plugin(client); see docs/dask.md."
    )
