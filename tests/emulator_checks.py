"""Small questions tests ask the emulator: how many requests, and whose key reached S3."""

from __future__ import annotations

from typing import Any

from nb_cognito.local import LocalCognito


def counts(local: LocalCognito, *actions: str) -> tuple[int, ...]:
    """How many requests the emulator received for each action, in the order asked."""
    snapshot = local.request_counts()
    return tuple(snapshot.get(action, 0) for action in actions)


def s3_key(local: LocalCognito, client: Any) -> str:
    """Make one S3 call with ``client``; return the access key the server received for it."""
    before = len(local.received_access_keys("s3"))
    client.list_buckets()
    keys = local.received_access_keys("s3")
    assert len(keys) == before + 1
    return keys[-1]
