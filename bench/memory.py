"""6. Resident memory: what a signed-in session with its refresher adds to a process.

Each measurement is a fresh interpreter (``python -m bench._memory_child MODE``) that reads
``VmRSS`` from /proc/self/status first thing, does its work, and reads it again. The emulator
runs in this (the parent) process, so moto's own memory is never counted. Modes:

* ``nb_cognito``: import nb_cognito, sign in (SRP, identity pool), refresher running;
* ``nb_cognito+s3``: the same, plus ``Boto3Injection.install`` and one S3 client and call;
* ``boto3``: the baseline, import boto3 and one S3 client (static credentials) and call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .common import REPO_ROOT, BenchResult, Context, median

NAME = "memory"
TITLE = "Resident memory of a signed-in session"

MODES = ("boto3", "nb_cognito", "nb_cognito+s3")


def _measure(mode: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench._memory_child", mode],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child {mode!r} failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(ctx: Context) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    local = ctx.fresh_local()
    username, password = ctx.user
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached, not compiled each run
    env["NB_BENCH_SETTINGS"] = json.dumps(local.settings.as_config())
    env["NB_BENCH_USERNAME"] = username
    env["NB_BENCH_PASSWORD"] = password  # a local emulator user; never on the command line
    env["NB_BENCH_BUCKET"] = ctx.bucket
    rounds = ctx.pick(3, 1)
    added: dict[str, list[float]] = {mode: [] for mode in MODES}
    start: list[float] = []
    steps: dict[str, list[float]] = {}
    for index in range(rounds):
        for mode in MODES if index % 2 == 0 else reversed(MODES):
            sample = _measure(mode, env)
            if mode.startswith("nb_cognito") and not sample["refresher"]:
                raise RuntimeError("the refresher thread was not running in the signed-in child")
            added[mode].append(sample["after"] - sample["before"])
            if mode == "nb_cognito":
                previous = sample["before"]
                for step, rss in sample["steps"].items():
                    steps.setdefault(step, []).append(rss - previous)
                    previous = rss
            start.append(sample["before"])
    m = {mode: median(values) for mode, values in added.items()}
    result.add("interpreter at start (VmRSS)", f"{median(start):.1f} MiB")
    result.add("boto3 baseline: import boto3 + S3 client + one call", f"+{m['boto3']:.1f} MiB")
    result.add("nb_cognito: import + SRP sign-in + credentials + refresher", f"+{m['nb_cognito']:.1f} MiB")
    result.add("nb_cognito + injected S3 client + one call", f"+{m['nb_cognito+s3']:.1f} MiB")
    result.add(
        "what nb_cognito adds to a boto3 user (difference of the two above)",
        f"+{m['nb_cognito+s3'] - m['boto3']:.1f} MiB",
    )
    breakdown = "; ".join(f"{step} +{median(values):.1f}" for step, values in steps.items())
    result.note(
        f"Where the signed-in session's memory goes (median MiB added by each step, in order): {breakdown}."
    )
    pycognito = median(steps.get("import pycognito.aws_srp", [0.0]))
    result.note(
        f"No target was set. Where to save if needed: importing pycognito for its SRP maths "
        f"costs +{pycognito:.1f} MiB (pycognito/__init__ also loads requests and envs), which "
        "vendoring the client SRP maths would remove."
    )
    result.note(
        f"Median of {rounds} fresh interpreters per mode; VmRSS from /proc/self/status. "
        "nb_cognito's figure includes boto3/botocore (it makes its Cognito calls with them), "
        "pycognito's SRP module, PyJWT and cryptography."
    )
    return result
