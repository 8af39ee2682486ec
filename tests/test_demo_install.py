"""How a newcomer gets the demo: ``make demo`` (a lean extra, installed again only when
pyproject.toml changes) and ``pip install "nb-cognito[demo]"`` (a wheel with its notebooks).

The wheel test builds the wheel, installs it with only its ``demo`` extra into a fresh venv
(from the configured package index), and runs ``nb-cognito demo`` and ``--open`` there, in a
folder far from the checkout, so nothing of the source tree can help it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import json_get, missing

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# -- make demo ----------------------------------------------------------------------------------


def make_dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make TARGET`` would run with ``venv`` as its .venv."""
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", f"VENV={venv}", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture
def venv(tmp_path) -> Path:
    """A directory that looks like an existing .venv to make (its python is older than nothing)."""
    if shutil.which("make") is None:
        missing("make is not installed")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    python = tmp_path / "venv" / "bin" / "python"
    python.write_text("")
    return tmp_path / "venv"


def touch_after_pyproject(path: Path) -> None:
    path.touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 10
    os.utime(path, (later, later))


def test_make_demo_installs_only_the_demo_extra_and_only_when_pyproject_changed(venv):
    first = make_dry_run("demo", venv)
    installs = [line for line in first if "pip" in line and " install " in line]
    assert len(installs) == 1 and installs[0].endswith('install -e ".[demo]"'), first
    assert first[-1] == f"{venv}/bin/nb-cognito demo"

    touch_after_pyproject(venv / ".installed-demo")  # installed after the last pyproject change
    assert make_dry_run("demo", venv) == [f"{venv}/bin/nb-cognito demo"]

    os.utime(venv / ".installed-demo", (0, 0))  # pyproject.toml changed since: install again
    assert any('install -e ".[demo]"' in line for line in make_dry_run("demo", venv))


def test_make_test_installs_the_test_extra_which_also_serves_the_demo(venv):
    commands = make_dry_run("install", venv)
    assert any('install -e ".[test]"' in line for line in commands), commands
    assert any(line.startswith("touch") and ".installed-demo" in line for line in commands)


def test_the_demo_extra_is_lean_and_has_what_the_demo_and_open_need():
    extras = pyproject()["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in extras["demo"]}
    # s3fs: the quickstart reads S3 the way people do, pd.read_csv("s3://bucket/key")
    assert {"nbclient", "nbformat", "ipykernel", "pandas", "s3fs", "jupyterlab", "nb-cognito"} <= names
    assert not names & {"pytest", "playwright", "mypy", "ruff", "hypothesis", "papermill"}
    from nb_cognito import demo

    needed = {pip for _, pip in demo._HEADLESS_NEEDS + demo._LAB_NEEDS} - {"moto"}  # moto: the local extra
    assert needed <= names
    assert any(requirement.startswith("moto") for requirement in extras["local"])


def test_the_test_extra_resolves_with_the_pip_a_fresh_venv_ships():
    """pip 23.x (what ``python3 -m venv`` ships here) gave up on the test extra with
    "No matching distribution found for fsspec==2025.3.1.*": s3fs 2025.3.1 pins an fsspec
    release that was yanked, and that old resolver stops at such a pin instead of trying
    another s3fs. The test extra keeps s3fs above it. Checked by hand with pip 23.2.1:
    ``pip install --dry-run ".[test]"`` then resolves (after 15 minutes of backtracking through
    boto3 releases on a busy machine, which is why the Makefile upgrades pip first)."""
    from packaging.requirements import Requirement

    s3fs = [Requirement(r) for r in pyproject()["project"]["optional-dependencies"]["test"]]
    (spec,) = [r.specifier for r in s3fs if r.name == "s3fs"]
    assert "2025.3.1" not in spec and "2025.3.2" in spec and "2026.9.0" in spec


# -- the demo from a wheel ------------------------------------------------------------------------


def run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.wheel
@pytest.mark.timeout(600)
def test_the_demo_runs_from_a_wheel_in_a_fresh_venv(tmp_path):
    started = time.monotonic()
    dist, home = tmp_path / "dist", tmp_path / "home"
    home.mkdir()
    # Not the checkout's environment: no PYTHONPATH, no AWS or nb_cognito settings.
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "PYTHONPATH" and not name.startswith(("AWS_", "NB_COGNITO_"))
    }
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)], env=env, timeout=240)
    (wheel,) = dist.glob("nb_cognito-*.whl")
    run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], timeout=60)
    python = tmp_path / "venv" / "bin" / "python"
    run([*pip, "--python", str(python), "install", "--quiet", f"{wheel}[demo]"], env=env, timeout=400)
    installed = time.monotonic() - started

    cli = str(tmp_path / "venv" / "bin" / "nb-cognito")
    assert run([cli, "--version"], cwd=home, env=env).stdout.startswith("nb-cognito ")
    result = run([cli, "demo"], cwd=home, env=env, timeout=240)
    assert "every cell ran" in result.stdout
    assert "Signed in as demo (identity us-east-1:" in result.stdout
    assert f"{tmp_path / 'venv'}" in result.stdout  # the notebook that ran is the installed one
    assert "Traceback" not in result.stdout + result.stderr

    lab = subprocess.Popen(
        [cli, "demo", "--open"],
        cwd=home,
        env={**env, "BROWSER": "true", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines, url = [], None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and lab.poll() is None:
            line = lab.stdout.readline()
            lines.append(line)
            url = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)", line)
        assert url, "".join(lines)
        names = json_get(f"{url.group(1)}/api/contents?token={url.group(2)}")
        assert {"quickstart.ipynb", "session_api.ipynb", "widget.ipynb"} <= {
            item["name"] for item in names["content"]
        }
    finally:
        lab.send_signal(signal.SIGTERM)
        rest, _ = lab.communicate(timeout=60)
    assert lab.returncode == 0, rest
    print(f"wheel built and installed in {installed:.0f} s; all done in {time.monotonic() - started:.0f} s")
