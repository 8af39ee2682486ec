"""The ``distributed.client.preload`` module nb_cognito adds: reports each new client.

``distributed`` calls :func:`dask_setup` as every ``Client`` starts; the kernel session's Dask
integration then pushes the current credentials to that client's workers.
"""

from __future__ import annotations

from typing import Any


async def dask_setup(client: Any) -> None:
    from nb_cognito.integrations.dask import active

    integration = active()
    if integration is not None:
        await integration.client_started(client)
