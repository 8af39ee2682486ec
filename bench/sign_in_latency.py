"""Part of 5 (sign_in): a new kernel's sign-in with latency injected, in round trips and time.

Each sample is a fresh interpreter (``bench/_sign_in_child.py``) talking to the emulator
through a :class:`~nb_cognito.local.FaultProxy` that adds the same delay to every request and
writes down when each arrived and was answered; :func:`~nb_cognito.local.faults.round_trip_depth`
reads the sequential depth from that (the proxy is this process's, so it measures any version).

* **first sign-in**: SRP with an identity pool, no JWKS on disk, no identity id known;
* **resume**: ``sign_in()`` with no password from a remembered session, JWKS on disk (the kernel
  that remembered it fetched them).

With ``NB_BENCH_BEFORE=<git ref>`` (e.g. ``main``), the same children also run that ref's
nb_cognito (``git archive`` into a temporary folder), interleaved with this checkout's, for
a before/now comparison from one run.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from .common import REPO_ROOT, BenchResult, Context, fmt_seconds, median

DELAY = 0.05  # seconds per request, as measured in issue 24
MODES = {"first": "first sign-in (new kernel, no JWKS on disk)", "resume": "resume of a remembered session"}
TARGETS = {"first": 4, "resume": 2}


def _checkout(ref: str, into: Path) -> Path:
    """``ref``'s nb_cognito package, unpacked under ``into`` (no git worktree is made)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", ref, "nb_cognito"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _child(mode: str, root: Path, env: dict[str, str], **extra: str) -> float:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "_sign_in_child.py"), mode],
        cwd=tempfile.gettempdir(),
        env={**env, "PYTHONPATH": str(root), **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sign-in child {mode!r} ({root}) failed: {done.stderr.strip()[-600:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def add_figures(ctx: Context, result: BenchResult) -> None:
    """Measure and add the figures (called by :mod:`bench.sign_in`)."""
    from nb_cognito import store
    from nb_cognito.local import FaultProxy
    from nb_cognito.local.faults import round_trip_depth

    local = ctx.fresh_local()
    username, password = ctx.user
    scratch = Path(tempfile.mkdtemp(prefix="nb-bench-signin-"))
    versions = {"now": REPO_ROOT}
    before_ref = os.environ.get("NB_BENCH_BEFORE", "").strip()
    if before_ref and not ctx.quick:
        versions = {f"before ({before_ref})": _checkout(before_ref, scratch / "before"), **versions}
    delays = (0.0, DELAY) if not ctx.quick else (DELAY,)
    samples: dict[tuple[str, str, float], list[float]] = {}
    depths: dict[tuple[str, str, float], list[int]] = {}
    with FaultProxy(local.endpoint_url) as proxy:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NB_COGNITO_", "PYTHONPATH"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
        env.update(
            NB_BENCH_SETTINGS=json.dumps({**local.settings.as_config(), "endpoint_url": proxy.url}),
            NB_BENCH_USERNAME=username,
            NB_BENCH_PASSWORD=password,  # a local emulator user; never on the command line
        )
        homes: dict[str, dict[str, str]] = {}
        for index, (version, root) in enumerate(versions.items()):
            home = scratch / f"home{index}"
            homes[version] = {
                store.ENV_DIR: str(home / "store"),
                store.ENV_KEYRING: "0",
                "XDG_CACHE_HOME": str(home / "cache"),
            }
            _child("first", root, env, NB_BENCH_REMEMBER="1", **homes[version])  # remembers; warms
        rounds = ctx.pick(7, 1)
        for number in range(rounds):
            order = list(versions.items())
            for delay in delays if number % 2 == 0 else reversed(delays):
                for version, root in order if number % 2 == 0 else reversed(order):
                    for mode in MODES:
                        extra = dict(homes[version])
                        if mode == "first":  # a kernel on a machine with no JWKS cached
                            extra["XDG_CACHE_HOME"] = tempfile.mkdtemp(dir=scratch)
                        proxy.clear()
                        if delay:
                            proxy.inject("delay", times=None, delay=delay)
                        seconds = _child(mode, root, env, **extra)
                        key = (version, mode, delay)
                        samples.setdefault(key, []).append(seconds)
                        depths.setdefault(key, []).append(round_trip_depth(proxy.exchanges()))
    _report(result, versions, delays, samples, depths)


def _spread(values: list[float]) -> str:
    return f"{fmt_seconds(median(values))} ({fmt_seconds(min(values))} to {fmt_seconds(max(values))})"


def _report(
    result: BenchResult,
    versions: dict[str, Any],
    delays: tuple[float, ...],
    samples: dict[tuple[str, str, float], list[float]],
    depths: dict[tuple[str, str, float], list[int]],
) -> None:
    names = list(versions)
    ms = f"{DELAY * 1000:.0f} ms"
    for mode, title in MODES.items():
        for version in names:
            found = sorted(set(depths[(version, mode, DELAY)]))
            depth = max(found)
            now = version == "now"
            result.add(
                f"{title}: sequential round trips, {version}",
                " / ".join(map(str, found)),
                target=f"<= {TARGETS[mode]}" if now else None,
                passed=(depth <= TARGETS[mode]) if now else None,
                reason="see the round-trip test (tests/test_sign_in_round_trips.py)" if now else None,
            )
        for delay in delays:
            label = "no delay" if delay == 0 else f"{ms} per request"
            values = [_spread(samples[(v, mode, delay)]) for v in names]
            result.add(f"{title}, {label}: median (min to max), {' / '.join(names)}", " / ".join(values))
        if len(names) == 2 and 0.0 in delays:
            added = [median(samples[(v, mode, DELAY)]) - median(samples[(v, mode, 0.0)]) for v in names]
            result.add(
                f"{title}: time {ms} per request adds (in round trips of {ms}), {' / '.join(names)}",
                " / ".join(f"{fmt_seconds(a)} ({a / DELAY:.1f})" for a in added),
            )
            before, now_ = (median(samples[(v, mode, DELAY)]) for v in names)
            result.add(f"{title}, {ms} per request: now / before", f"{now_ / before:.2f}")
    result.note(
        "Round trips: the longest chain of requests each sent after the previous one was "
        "answered, read from the fault proxy's record of every request (requests in flight "
        "together count once). Several values mean the rounds disagreed (thread timing)."
    )
    result.note(
        "The times include the sign-in's CPU work (client set-up, SRP maths on both sides: the "
        "emulator runs in this process), which a loaded machine stretches far more than 50 ms; "
        "the round trips are the figure that load does not move. Compare the load average in "
        "the machine table."
    )
    result.note(
        "Each sample is a fresh interpreter (a new kernel): the sign-in's imports are done before "
        "the timed span, the Cognito clients are made inside it. The first sign-in starts with "
        "no JWKS on disk; the resume with the JWKS the remembering kernel cached. The emulator "
        "runs in the benchmark's process; the delay is added by the proxy to each request."
    )
    if len(names) == 1:
        result.note("Set NB_BENCH_BEFORE=<git ref> to measure that ref's code beside this one.")
