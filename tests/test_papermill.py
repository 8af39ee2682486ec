"""A sign-in error in a notebook run by papermill reaches the terminal, in words.

papermill reports a failed cell from its ``error`` output; IPython prints a plain
``UsageError`` to stderr only, so the run used to end with an empty
``Exception encountered at "In [1]":``. The emulator runs in this process; the kernel (this
interpreter, through a kernelspec in tmp_path) reaches it through NB_COGNITO_* variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill  # noqa: F401  (the test extra installs it)
import pytest

from nb_cognito.clock import SYSTEM_CLOCK

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[1]


def run_papermill(tmp_path: Path, local, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    from nbformat.v4 import new_code_cell, new_notebook

    kernels = tmp_path / "jupyter" / "kernels" / "nb-cognito-papermill"
    kernels.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    (kernels / "kernel.json").write_text(json.dumps({**spec, "display_name": "pm", "language": "python"}))
    nb = new_notebook(cells=[new_code_cell(source)])
    nbformat.write(nb, str(tmp_path / "in.ipynb"))
    environment = {
        **os.environ,
        **local.settings.as_env(),
        "JUPYTER_PATH": str(tmp_path / "jupyter"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        **env,
    }
    command = [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "nb-cognito-papermill"]
    return subprocess.run(
        [*command, str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb")],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
        cwd=tmp_path,
    )


@pytest.mark.timeout(240)
def test_a_missing_password_is_explained_in_papermills_output(tmp_path, local):
    local.use_clock(SYSTEM_CLOCK)  # the kernel lives on the real clock
    result = run_papermill(tmp_path, local, "%load_ext nb_cognito\n%cognito_login alice")
    assert result.returncode == 1
    after = result.stderr.split('Exception encountered at "In [1]":', 1)[1]
    assert after.strip().startswith(
        "UsageError: This frontend cannot ask for input (it has no stdin). Sign in with "
        "`%cognito_login --widget`, or set NB_COGNITO_USERNAME and NB_COGNITO_PASSWORD"
    )
    assert "Traceback" not in after
    saved = json.loads((tmp_path / "out.ipynb").read_text())
    errors = [o for cell in saved["cells"] for o in cell.get("outputs", []) if o["output_type"] == "error"]
    assert [(o["ename"], len(o["traceback"])) for o in errors] == [("UsageError", 1)]  # one line


@pytest.mark.timeout(240)
def test_a_wrong_password_is_explained_in_papermills_output(tmp_path, local):
    local.use_clock(SYSTEM_CLOCK)  # the kernel lives on the real clock
    wrong = "Wrong-Passw0rd-7d!"
    result = run_papermill(
        tmp_path, local, "%load_ext nb_cognito\n%cognito_login alice", NB_COGNITO_PASSWORD=wrong
    )
    assert result.returncode == 1
    after = result.stderr.split('Exception encountered at "In [1]":', 1)[1]
    assert "UsageError: Sign-in failed: Incorrect username or password." in after
    assert wrong not in result.stdout + result.stderr + (tmp_path / "out.ipynb").read_text()
