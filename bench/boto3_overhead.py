"""3. What nb_cognito adds to a boto3 call: S3 HeadBucket, injected vs static credentials.

Both clients talk to the same emulator endpoint and sign with the same key, secret and session
token (so the requests are byte-for-byte alike but for the signature): one is the client a
user makes after sign-in (``boto3.client("s3")`` on the default session nb_cognito's provider
sits in), the other holds the credentials statically. Interleaved rounds, ABBA order,
the median of the per-round ratios.
"""

from __future__ import annotations

import time
from typing import Any

from .common import (
    BenchResult,
    Context,
    fmt_ratio,
    fmt_seconds,
    injected_s3_client,
    interleave,
    median,
    median_ratio,
)

NAME = "boto3_overhead"
TITLE = "boto3 call overhead: injected vs static credentials"


def _sampler(client: Any, bucket: str, calls: int) -> Any:
    def sample() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            client.head_bucket(Bucket=bucket)
        return (time.perf_counter() - start) / calls

    return sample


def run(ctx: Context) -> BenchResult:
    import boto3

    result = BenchResult(NAME, TITLE)
    local = ctx.fresh_local()
    with ctx.signed_in(local) as session:
        injected = injected_s3_client(session, local)
        creds = session.current_credentials()
        static = boto3.client(
            "s3",
            endpoint_url=local.endpoint_url,
            region_name=local.settings.region,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
        )
        bucket = ctx.bucket
        calls, rounds = ctx.pick(5, 3), ctx.pick(161, 3)
        for client in (injected, static):  # connections open, models loaded
            _sampler(client, bucket, ctx.pick(20, 2))()
        local.reset_counts()
        samples = interleave(
            {"injected": _sampler(injected, bucket, calls), "static": _sampler(static, bucket, calls)}, rounds
        )
        counts = local.request_counts()
        cognito_calls = sum(n for action, n in counts.items() if not action.startswith("s3:"))

        result.add("injected client: median per HeadBucket", fmt_seconds(median(samples["injected"])))
        result.add("static-credentials client: median per HeadBucket", fmt_seconds(median(samples["static"])))
        ratio = median_ratio(samples["injected"], samples["static"])
        result.add(
            "injected / static",
            fmt_ratio(ratio),
            "<= 1.05",
            ratio <= 1.05,
            "The injected client measured slower per call. Compare the difference per call "
            "with the provider's credential read (warm_fetch, well under a microsecond): if "
            "the difference is far larger, it is noise of the shared machine (see the "
            "interquartile range) and a rerun on a quiet machine decides; otherwise profile "
            "CognitoRefreshableCredentials.get_frozen_credentials in boto3_injection.py.",
        )
        ratios = sorted(a / b for a, b in zip(samples["injected"], samples["static"], strict=True))
        quartiles = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        result.add(
            "per-round ratio, interquartile range (the noise)", f"{quartiles[0]:.3f} to {quartiles[1]:.3f}"
        )
        result.add(
            "Cognito requests during the timed calls",
            cognito_calls,
            "0",
            cognito_calls == 0,
            "The injected credentials went to Cognito during warm calls.",
        )
        read = ctx.shared.get("provider_read")
        if read is not None:
            share = read / median(samples["static"])
            result.note(
                f"The provider's credential read (warm_fetch) costs {fmt_seconds(read)}, "
                f"{share:.4%} of one HeadBucket against the local emulator; against real AWS "
                "(tens of ms per call) the share is smaller still."
            )
        result.note(
            f"{rounds} interleaved rounds of {calls} calls per client; both clients keep "
            "their HTTP connection pools warm."
        )
    return result
