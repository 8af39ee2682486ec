"""The benchmarks still run: ``python -m bench --quick --no-write`` exits 0 and names each one.

Quick mode uses tiny iteration counts and judges no speed; the full run (``python -m bench``)
writes bench/RESULTS.md and is not part of the test suite.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _benchmark_names() -> list[str]:
    spec = importlib.util.spec_from_file_location("_bench_list", REPO_ROOT / "bench" / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [name for name, _, _ in module.BENCHMARKS]


@pytest.mark.timeout(300)
def test_quick_benchmarks_run_and_name_every_benchmark() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-write"],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    names = _benchmark_names()
    assert len(names) == 7
    for name in names:
        assert f"== {name}:" in done.stdout, f"{name} missing from the output:\n{output[-4000:]}"
    assert f"ran {len(names)} benchmarks" in done.stdout
    assert "ERROR" not in done.stdout
