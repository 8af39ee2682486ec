"""The ``distributed.client.preload`` module nb_cognito adds: reports each new client.

``distributed`` calls :func:`dask_setup` as every ``Client`` starts; each open session's Dask
integration (the kernel has one) then pushes its current credentials to that client's workers.
"""

from __future__ import annotations

from typing import Any


async def dask_setup(client: Any) -> None:
    from nb_cognito.dask.integration import open_integrations

    for integration in open_integrations():
        await integration.client_started(client)
