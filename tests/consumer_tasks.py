"""Tasks the consumer matrix runs in worker processes (a spawn pool, loky): importable by name.

Each keeps one boto3 client per worker process, as user code that makes a client once per
worker does, and reports the outcome as text (an exception may not pickle back).
"""

from __future__ import annotations

from typing import Any

_client: Any = None


def read_object(bucket: str, key: str) -> str:
    """ "ok", or "error: <message>"; the worker's client is made once, on the first success."""
    global _client
    try:
        if _client is None:
            import boto3

            _client = boto3.client("s3")
        _client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # reported to the test, which asserts on it
        return f"error: {type(error).__name__}: {error}"
    return "ok"
