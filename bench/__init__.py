"""nb_cognito's benchmarks: ``python -m bench`` (full, writes bench/RESULTS.md) or ``--quick``.

Every figure is a ratio against a baseline measured in the same run, from interleaved rounds
and medians, so that a noisy machine moves both sides alike. Each benchmark is a module with
``NAME``, ``TITLE`` and ``run(ctx) -> BenchResult``; :data:`BENCHMARKS` is the running order.

Importing this package is cheap: the benchmark modules load only when run.
"""

from __future__ import annotations

__all__ = ["BENCHMARKS"]

#: (name, module, title) in running order. The name is what the runner prints and what
#: tests/test_bench_smoke.py looks for.
BENCHMARKS: tuple[tuple[str, str, str], ...] = (
    ("warm_fetch", "bench.warm_fetch", "Warm fetch_auth_session(): no network, per-call time"),
    ("refresh_counts", "bench.refresh_counts", "Network calls over 8 simulated hours, 64 threads"),
    ("boto3_overhead", "bench.boto3_overhead", "boto3 call overhead: injected vs static credentials"),
    ("import_cost", "bench.import_cost", "Import and %load_ext cost"),
    ("sign_in", "bench.sign_in", "Sign-in latency and the SRP maths"),
    ("memory", "bench.memory", "Resident memory of a signed-in session"),
    (
        "dask_workers",
        "bench.dask_workers",
        "Dask workers: refresh to use on every worker, failures over 8 hours, bytes pushed",
    ),
)
