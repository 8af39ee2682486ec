"""Every example notebook (nb_cognito/examples/, shipped with the package) runs, top to bottom,
in a real kernel against the offline Cognito.

The emulator runs in this test process and the kernel reaches it through the environment a
user would set (``nb_cognito.examples.demo.demo_env``: NB_COGNITO_*, NB_COGNITO_PASSWORD for the demo
user, AWS_ENDPOINT_URL). The quickstart and the session API notebooks are also run with no
settings at all, where their first cell falls back to ``%cognito_login --local``.
Notebooks are stored stripped: no outputs, no execution counts, no widget state.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from nb_cognito.examples import demo
from nb_cognito.local import DEMO_BUCKET, DEMO_PASSWORD, demo_spec

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "nb_cognito" / "examples"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
BY_NAME = {path.name: path for path in NOTEBOOKS}

# A notebook that waits for a person gets a cell that does what the person would, inserted
# after the cell with the given id. The widget: type the password and press Enter.
PERSON = {
    "widget.ipynb": (
        "widget",
        "import os, sys\n"
        "sys.path.insert(0, os.environ['WIDGET_DRIVER_DIR'])\n"
        "from ipywidgets.widgets.widget import _instances\n"
        "from widget_driver import WidgetDriver, all_widget_state\n"
        "(w,) = [x for x in list(_instances.values()) if isinstance(x, nb_cognito.SignInWidget)]\n"
        "person = WidgetDriver(w)\n"
        "person.sign_in(os.environ['NB_COGNITO_USERNAME'], os.environ['NB_COGNITO_PASSWORD'])  # then Enter\n"
        "assert w.view == 'signed_in', w.message\n"
        "assert os.environ['NB_COGNITO_PASSWORD'] not in all_widget_state()",
    ),
}

# What each notebook must show when it ran against the demo spec (cell id -> text in its output).
EXPECTED = {
    "quickstart.ipynb": {
        "sign-in": "Signed in as demo (identity us-east-1:",
        "session": "boto3 injection         on",
        "s3": "virginica",
        "refresh": "pandas after the refresh: 9 rows",
        "sign-out": "Signed out demo.",
        "after-sign-out": "SignedOutError: Nobody is signed in.",
    },
    "session_api.ipynb": {
        "sign-in": "AuthUser(username='demo'",
        "fetch": "identity id: us-east-1:",
        "refresh": "'TOKEN_REFRESH', 'CREDENTIALS_REFRESH'",
        "boto3": "boto3_session() signs with key …",
        "sign-out": "signed in: False | a child now gets: CredentialRetrievalError",
    },
    "widget.ipynb": {"list-buckets": DEMO_BUCKET, "status": "demo"},
}

# Run All in a fresh kernel, before a person could sign in (the widget waits for one): every
# cell runs without an error, and says what to do.
BEFORE_SIGN_IN = {"widget.ipynb": {"list-buckets": "Nobody is signed in yet: sign in with the widget above"}}

# The state each notebook leaves the kernel in (a cell the test appends): the widget notebook
# leaves the person signed in; the two tutorials end with their sign-out section on purpose.
END_STATE = {"quickstart.ipynb": "False", "session_api.ipynb": "False", "widget.ipynb": "True"}
END_CELL = "import nb_cognito\nprint(nb_cognito.session.is_signed_in)"


def test_the_notebooks_folder_holds_the_three_notebooks():
    assert {"quickstart.ipynb", "session_api.ipynb", "widget.ipynb"} <= set(BY_NAME)
    assert set(EXPECTED) == set(BY_NAME), "a new notebook needs its expected outputs here"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_stripped(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in raw["metadata"], "widget state is saved in the notebook"
    for cell in raw["cells"]:
        assert "widgets" not in cell.get("metadata", {})
        assert "execution" not in cell.get("metadata", {}), "execution timings are saved"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {cell.get('id')} has outputs"
            assert cell["execution_count"] is None, f"cell {cell.get('id')} has an execution count"


def run(path: Path, env: dict[str, str], tmp_path: Path, person: bool = True):
    """Execute a copy of ``path`` (plus any PERSON cell, and the END_CELL) the way
    ``nb-cognito demo`` does; an error in any cell raises (nothing is shown in red)."""
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(END_CELL, id="end-state"))
    if person and path.name in PERSON:
        after, source = PERSON[path.name]
        index = next(i for i, cell in enumerate(nb.cells) if cell.get("id") == after)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source, id="person"))
    copy = tmp_path / path.name
    nbformat.write(nb, str(copy))
    executed = demo.run_notebook(copy, env, tmp_path / "scratch", echo=lambda _text: None)
    texts = {cell.get("id"): demo.cell_text(cell) for cell in executed.cells if cell.cell_type == "code"}
    return texts, executed


@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_against_the_emulator(path, make_local, tmp_path):
    local = make_local(demo_spec())
    (tmp_path / "scratch").mkdir()
    env = demo.demo_env(local, tmp_path / "scratch")
    env["WIDGET_DRIVER_DIR"] = str(Path(__file__).resolve().parent)  # the person's cell drives the widget
    outputs, executed = run(path, env, tmp_path)

    for cell_id, text in EXPECTED[path.name].items():
        assert text in outputs[cell_id], f"{path.name} cell {cell_id!r} printed:\n{outputs[cell_id]}"
    assert local.received_access_keys("s3") or local.received_access_keys("sts")
    # What a run adds to a notebook (outputs, widget state) never holds the password, which came
    # from the environment (widget.ipynb's own text names the demo password: it is not a secret).
    added = json.dumps([executed.metadata, *(cell.get("outputs", []) for cell in executed.cells)])
    assert DEMO_PASSWORD not in added
    assert outputs["end-state"].strip() == END_STATE[path.name]
    if path.name == "session_api.ipynb":
        keys = re.search(r"child process key (\S+) \| kernel key (\S+)", outputs["subprocess"])
        child, kernel = keys.groups()
        assert child == kernel  # the child got the kernel's Cognito credentials


@pytest.mark.kernel
@pytest.mark.parametrize("name", ["quickstart.ipynb", "session_api.ipynb"])
def test_notebook_falls_back_to_local_without_settings(name, tmp_path):
    """No NB_COGNITO_* at all: the first cell runs %cognito_login --local (moto in the kernel)."""
    import os

    (tmp_path / "scratch").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NB_COGNITO_", "AWS_ENDPOINT_URL"))}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    outputs, _ = run(BY_NAME[name], env, tmp_path)
    assert "Offline Cognito running at http://127.0.0.1:" in outputs["sign-in"]
    for cell_id, text in EXPECTED[name].items():
        assert text in outputs[cell_id], f"{name} cell {cell_id!r} printed:\n{outputs[cell_id]}"


@pytest.mark.kernel
def test_run_all_of_the_widget_notebook_before_anyone_signs_in(tmp_path):
    """Run All in a fresh kernel with no settings, as a newcomer does: the first cell starts the
    offline Cognito and shows the widget; no cell fails (no red traceback) while nobody is
    signed in yet; nothing signs anyone out; the text matches what the notebook says."""
    import os

    (tmp_path / "scratch").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NB_COGNITO_", "AWS_ENDPOINT_URL"))}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    outputs, executed = run(BY_NAME["widget.ipynb"], env, tmp_path, person=False)

    assert "Offline Cognito running at http://127.0.0.1:" in outputs["widget"]
    assert "'demo', password 'Demo-Passw0rd!'" in outputs["widget"]
    for cell_id, text in BEFORE_SIGN_IN["widget.ipynb"].items():
        assert text in outputs[cell_id], outputs[cell_id]
    assert outputs["end-state"].strip() == "False"
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert "Traceback" not in json.dumps([c.get("outputs", []) for c in executed.cells])
    intro = executed.cells[0].source
    assert "Demo-Passw0rd!" in intro and "%cognito_login --local --widget" in intro
    assert not re.search(
        r"^\s*(nb_cognito\.sign_out|%cognito_logout)",
        "\n".join(c.source for c in executed.cells if c.cell_type == "code"),
        re.M,
    ), "a code cell signs out: Run All would sign the person out"


def test_the_notebooks_describe_nb_cognito_local_as_it_prints_today():
    """What a notebook tells about ``nb-cognito local`` matches what it prints now: every
    variable the notebook names is an ``export`` line (AWS_ENDPOINT_URL was once a commented
    line), and the demo user's password is the one it prints."""
    import subprocess
    import sys

    said = [cell.source for path in NOTEBOOKS for cell in nbformat.read(str(path), as_version=4).cells]
    said = [text for text in said if "nb-cognito local" in text]
    assert said, "widget.ipynb tells how to use nb-cognito local"
    process = subprocess.Popen(
        [sys.executable, "-m", "nb_cognito.cli", "local"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("export AWS_DEFAULT_REGION"):  # the last line
                break
    finally:
        process.terminate()
        process.communicate(timeout=30)
    exports = {
        line.split("=", 1)[0].removeprefix("export ") for line in printed if line.startswith("export ")
    }
    for text in said:
        assert "commented" not in text
        for name in re.findall(r"`((?:NB_COGNITO|AWS)_[A-Z_]+)`", text):
            assert name in exports, f"the notebook names {name}; nb-cognito local prints {sorted(exports)}"
        for password in re.findall(r"`demo` / `([^`]+)`", text):
            assert f"password: {password} " in "".join(printed)
