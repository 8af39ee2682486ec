"""``python -m bench [--quick] [--no-write] [--only NAME[,NAME]]``.

Full mode writes bench/RESULTS.md. ``--quick`` uses tiny iteration counts, judges nothing,
and never writes the results file (CI runs it to prove every benchmark still works).
Exit status: 0 when every benchmark ran, 1 when one of them failed to run. A missed target
is a finding written into the results, not a failure of the run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from . import BENCHMARKS
from .common import BenchResult, Context, isolate_environment, machine_facts

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny iteration counts; judge nothing")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where full results go")
    args = parser.parse_args(argv)
    known = [name for name, _, _ in BENCHMARKS]
    args.names = [n for n in args.only.split(",") if n] or known
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return args


def _print_result(result: BenchResult, quick: bool) -> None:
    if result.error:
        print(f"   ERROR: {result.error}")
    for figure in result.figures:
        judged = (
            ""
            if figure.target is None
            else (f"   (target {figure.target}{'' if quick else ': ' + figure.verdict})")
        )
        print(f"   {figure.label}: {figure.value}{judged}")
    for note in result.notes:
        print(f"   - {note}")
    print(f"   [{result.seconds:.1f} s]", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    scratch = isolate_environment()
    ctx = Context(quick=args.quick)
    mode = "quick (smoke: nothing judged)" if args.quick else "full"
    print(f"nb_cognito benchmarks, {mode}", flush=True)
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    results: list[BenchResult] = []
    try:
        for name, module_name, title in BENCHMARKS:
            if name not in args.names:
                continue
            print(f"== {name}: {title}", flush=True)
            begin = time.perf_counter()
            try:
                result = importlib.import_module(module_name).run(ctx)
            except Exception as error:
                result = BenchResult(name, title, error=f"{type(error).__name__}: {error}")
                traceback.print_exc()
            result.seconds = time.perf_counter() - begin
            results.append(result)
            _print_result(result, args.quick)
    finally:
        ctx.close()
        shutil.rmtree(scratch, ignore_errors=True)
    total = time.perf_counter() - started
    failed = [r.name for r in results if r.error]
    misses = [(r.name, f.label) for r in results for f in r.figures if f.passed is False]
    print(
        f"ran {len(results)} benchmarks in {total:.1f} s; "
        f"{len(failed)} failed to run" + ("" if args.quick else f", {len(misses)} missed targets")
    )
    if not args.quick and not args.no_write:
        from .report import write_results

        facts = machine_facts()
        facts["load average (1 min) at start / end"] = f"{load_at_start:.2f} / {os.getloadavg()[0]:.2f}"
        write_results(args.output, results, facts, total, sys.argv)
        print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
