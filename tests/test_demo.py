"""``nb-cognito demo``: what a newcomer runs first (``make demo``), end to end, in a subprocess."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import json_get

from nb_cognito.examples import demo

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "nb_cognito" / "examples" / "quickstart.ipynb"


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nb_cognito.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.kernel
def test_demo_runs_the_quickstart_and_says_what_happened():
    before = QUICKSTART.read_bytes()
    result = run_cli()
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for line in (
        "nb-cognito demo: no AWS account needed",
        "Running nb_cognito/examples/quickstart.ipynb in a Jupyter kernel",
        "1. Sign in",
        "Signed in as demo (identity us-east-1:",
        "boto3 injection         on",
        "virginica",
        "pandas after the refresh: 9 rows",
        "the same s3 client still works: ",
        "Signed out demo.",
        "SignedOutError: Nobody is signed in.",
        "every cell ran",
    ):
        assert line in out, f"missing {line!r} in:\n{out}"
    old, new = re.search(r"access key (\S+) -> (\S+)", out).groups()
    assert old != new  # the forced refresh brought new credentials
    assert "Traceback" not in out + result.stderr
    assert "WARNING" not in result.stderr
    assert QUICKSTART.read_bytes() == before  # the shipped copy is not written


@pytest.mark.kernel
def test_a_failing_cell_fails_the_demo_with_a_clear_message(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Broken\n\n## 1. Fail"),
            nbformat.v4.new_code_cell("raise RuntimeError('boom')"),
            nbformat.v4.new_code_cell("print('never runs')"),
        ]
    )
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, str(tmp_path / "notebooks" / demo.DEMO_NOTEBOOK))
    code = (
        "import sys, pathlib; from nb_cognito.examples import demo; "
        "sys.exit(demo.run_demo(pathlib.Path(sys.argv[1])))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "notebooks")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "RuntimeError: boom" in result.stdout
    assert "nb-cognito demo FAILED: a cell of quickstart.ipynb raised RuntimeError" in result.stdout
    assert "never runs" not in result.stdout


def test_a_missing_notebook_is_explained(tmp_path, monkeypatch, capsys):
    with pytest.raises(demo.DemoError, match=r"does not exist, although it ships with the package"):
        demo.notebooks_dir(tmp_path)
    monkeypatch.setattr(demo, "EXAMPLES_DIR", tmp_path)
    assert demo.main(argparse.Namespace(open=False)) == 2
    err = capsys.readouterr().err
    assert "nb-cognito demo: The demo notebook" in err
    assert 'Reinstall it: in a checkout `make demo` (or pip install ".[demo]")' in err
    assert "nb-cognito[demo]" not in err  # not on PyPI yet: that install would fail


def test_the_notebooks_ship_in_the_package():
    assert demo.notebooks_dir() == demo.EXAMPLES_DIR == QUICKSTART.parent
    assert {"quickstart.ipynb", "session_api.ipynb", "widget.ipynb"} <= {
        path.name for path in demo.EXAMPLES_DIR.glob("*.ipynb")
    }
    assert '"examples/*.ipynb"' in (ROOT / "pyproject.toml").read_text()


def test_missing_packages_are_named_with_the_install_command(monkeypatch, capsys):
    monkeypatch.setattr(demo, "_HEADLESS_NEEDS", (("no_such_module_for_nb_cognito", "no-such-pkg"),))
    assert demo.main(argparse.Namespace(open=False)) == 2
    err = capsys.readouterr().err
    assert "needs no-such-pkg, which is not installed" in err
    assert "Install the demo extra: in a checkout `make demo`" in err and '<the wheel>[demo]"' in err
    assert "docs/install.md" in err


def test_open_without_jupyterlab_says_how_to_get_it(monkeypatch, capsys):
    """JupyterLab is not in the lean demo install: --open names the lab extra and `make lab`."""
    monkeypatch.setattr(demo, "_LAB_NEEDS", (("no_such_lab_for_nb_cognito", "jupyterlab"),))
    assert demo.main(argparse.Namespace(open=True)) == 2
    err = capsys.readouterr().err
    assert "nb-cognito demo --open needs jupyterlab, which is not installed" in err
    assert "`make lab`" in err and '<the wheel>[lab]"' in err


def test_demo_env_leaves_the_machines_aws_setup_out(emulator, tmp_path):
    base = {"AWS_PROFILE": "work", "AWS_ACCESS_KEY_ID": "AKIAUSER", "NB_COGNITO_USER_POOL_ID": "x"}
    base["HOME"] = "/h"
    env = demo.demo_env(emulator, tmp_path, base)
    assert "AWS_PROFILE" not in env and "AWS_ACCESS_KEY_ID" not in env
    assert env["NB_COGNITO_USER_POOL_ID"] == emulator.settings.user_pool_id
    assert env["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert env["NB_COGNITO_USERNAME"] == "demo" and env["HOME"] == "/h"
    assert env["IPYTHONDIR"].startswith(str(tmp_path))


def test_open_starts_jupyterlab_with_the_emulator_and_stops_both(tmp_path):
    env = {**os.environ, "BROWSER": "true", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    process = subprocess.Popen(
        [sys.executable, "-m", "nb_cognito.cli", "demo", "--open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        lines, url = [], None
        deadline = time.monotonic() + 90
        while url is None and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            lines.append(line)
            match = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)", line)
            if match:
                url = match.groups()
        assert url, "".join(lines)
        text = "".join(lines)
        assert "offline Cognito at http://127.0.0.1:" in text and "the shipped ones stay clean" in text
        base, token = url
        names = json_get(f"{base}/api/contents?token={token}")
        assert {"quickstart.ipynb", "session_api.ipynb", "widget.ipynb"} <= {
            item["name"] for item in names["content"]
        }
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "JupyterLab and the offline Cognito stopped." in rest


def test_the_readme_names_every_setting_and_the_two_commands():
    from nb_cognito.settings.config import SETTING_NAMES, env_var

    reference = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in SETTING_NAMES:
        assert f"| {name} | `c.CognitoConfig.{name}` | `{env_var(name)}` |" in reference, name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "(docs/settings.md)" in readme
