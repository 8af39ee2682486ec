"""7. Dask workers: how fast a refresh reaches them, failed S3 calls over 8 hours, bytes pushed.

A real ``LocalCluster(processes=True)`` (8 workers; 2 in quick mode) and the session's Dask
integration, against the emulator's strict S3 (it refuses expired and unknown keys, as S3).

* **Refresh to use**: from ``fetch_auth_session(force_refresh=True)`` in the kernel until every
  worker's endpoint serves the new key (the refresh itself, the push through the scheduler, one
  ``client.run`` round trip), and until every worker has made an S3 call with it (the
  emulator's log says which key it received). Median of a few refreshes.
* **Failed S3 calls over 8 simulated hours**: one ManualClock for the session and the emulator,
  1-hour credentials, 5-minute steps. At each step the kernel asks its session (as the
  background refresher would; a refresh pushes to the workers), then every worker asks its
  endpoint for credentials (as any SDK on the worker does) and makes one S3 call with them.
  The worker processes run on the real clock: the endpoint's answer is what is measured, not
  botocore's cache (the tests cover that with short lifetimes). Goal: 0 failures.
* **Bytes pushed per refresh**: the pickled plugin the client sends the scheduler, which sends
  it on to each worker.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from .common import BenchResult, Context, fmt_seconds

NAME = "dask_workers"
TITLE = "Dask workers: refresh to use on every worker, failures over 8 hours, bytes pushed"

PASSWORD = "Alice-Passw0rd!"


def _s3_call(dask_worker: Any = None) -> str:
    """On a worker: ask the worker's endpoint (as any SDK there does), then one S3 call.

    One client per access key, kept on the worker: building a boto3 client costs far more
    than the call, and would make the run measure botocore's model loading.
    """
    import boto3
    from botocore.credentials import ContainerProvider

    try:
        frozen = ContainerProvider().load().get_frozen_credentials()
        cache = dask_worker.__dict__.setdefault("_nb_cognito_bench_clients", {})
        client = cache.get(frozen.access_key)
        if client is None:
            client = cache[frozen.access_key] = boto3.Session(
                aws_access_key_id=frozen.access_key,
                aws_secret_access_key=frozen.secret_key,
                aws_session_token=frozen.token,
            ).client("s3")
        client.list_objects_v2(Bucket="bench")
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "ok"


def _served_key() -> str:
    """On a worker: the access key its endpoint serves now."""
    from botocore.credentials import ContainerProvider

    return str(ContainerProvider().load().get_frozen_credentials().access_key)


def run(ctx: Context) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    try:
        import distributed
        from distributed.protocol.pickle import dumps
    except ImportError:
        result.error = 'distributed is not installed (pip install "nb-cognito[dask]")'
        return result

    from nb_cognito.clock import ManualClock
    from nb_cognito.dask import CognitoCredentials, PushedCredentials
    from nb_cognito.dask.integration import DaskIntegration
    from nb_cognito.kernel import make_session
    from nb_cognito.local import IdentityPoolSpec, LocalSpec, UserSpec

    workers = ctx.pick(8, 2)
    hours = ctx.pick(8, 1)
    step = ctx.pick(300.0, 600.0)  # simulated seconds between rounds of calls
    refreshes = ctx.pick(5, 1)

    clock = ManualClock()
    local = ctx.fresh_local(clock)
    local.reset(
        LocalSpec(
            users=(UserSpec("alice", PASSWORD),),
            identity_pool=IdentityPoolSpec(credentials_lifetime=3600),
            buckets={"bench": {"a.txt": b"A"}},
            strict_s3=True,
        )
    )
    saved = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    os.environ["AWS_ENDPOINT_URL"] = local.endpoint_url
    os.environ["AWS_DEFAULT_REGION"] = local.settings.region
    integration = DaskIntegration()
    session = make_session(clock=clock, auto_refresh=False, integrations=[integration])
    session.configure(**local.settings.as_config())
    try:
        started = time.perf_counter()
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                worker_dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.wait_for_workers(workers, timeout=120)
            result.note(f"{workers} worker processes started in {time.perf_counter() - started:.1f} s")
            session.sign_in("alice", PASSWORD)

            def all_use(key: str) -> bool:
                mark = len(local.received_access_keys("s3"))
                answers = client.run(_s3_call)
                received = local.received_access_keys("s3")[mark:]
                return set(answers.values()) == {"ok"} and received == [key] * workers

            # 1. From a refresh in the kernel to the new key served on every worker, then used.
            if not all_use(session.current_credentials().access_key_id):  # warm: boto3 imported
                raise RuntimeError("a worker did not use the session's key after sign-in")
            served, used = [], []
            for _ in range(refreshes):
                begin = time.perf_counter()
                session.fetch_auth_session(force_refresh=True)  # pushes before it returns
                key = session.current_credentials().access_key_id
                if set(client.run(_served_key).values()) != {key}:
                    raise RuntimeError("a worker's endpoint did not serve the new key after a refresh")
                served.append(time.perf_counter() - begin)
                if not all_use(key):
                    raise RuntimeError("a worker did not use the new key after a refresh")
                used.append(time.perf_counter() - begin)
            result.add(
                f"refresh in the kernel -> new key served on all {workers} workers (median)",
                fmt_seconds(statistics.median(served)),
            )
            result.add(
                f"... -> and used for an S3 call on all {workers} (median; includes a new boto3 client each)",
                fmt_seconds(statistics.median(used)),
            )

            # 2. Failed S3 calls over the simulated hours.
            local.reset_counts()
            calls = failures = 0
            keys_seen: set[str] = set()
            for _ in range(int(hours * 3600 / step)):
                clock.advance(step)
                session.fetch_auth_session()  # what the background refresher does
                answers = client.run(_s3_call)
                calls += len(answers)
                failures += sum(answer != "ok" for answer in answers.values())
                keys_seen.add(session.current_credentials().access_key_id)
            refused = len(local.s3_refusals())
            result.add(
                f"failed S3 calls over {hours} simulated hours, {workers} workers ({calls} calls)",
                failures,
                target=None if ctx.quick else "0",
                passed=None if ctx.quick else failures == 0 and refused == 0,
                reason="a worker used an expired or withdrawn key; see the emulator's refusals",
            )
            result.note(f"{len(keys_seen)} credentials in use over the run; S3 refused {refused} requests")

            # 3. Bytes per refresh: the plugin as pickled for the scheduler.
            plugin = CognitoCredentials(PushedCredentials.from_session(session))
            size = len(dumps(plugin))
            result.add("bytes pushed per refresh (client -> scheduler)", size)
            result.note(f"the scheduler sends the same {size} bytes to each of the {workers} workers")
    finally:
        session.sign_out()
        session.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        ctx.use_system_clock()
    return result
