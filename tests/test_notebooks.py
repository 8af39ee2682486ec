"""Every example notebook (nb_cognito/examples/, shipped with the package) runs, top to bottom,
in a real kernel against the offline Cognito.

The emulator runs in this test process and the kernel reaches it through the environment a
user would set (``nb_cognito.demo.demo_env``: NB_COGNITO_*, NB_COGNITO_PASSWORD for the demo
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

from nb_cognito import demo
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
        "from widget_driver import WidgetDriver, all_widget_state\n"
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
    "widget.ipynb": {"list-buckets": DEMO_BUCKET, "sign-out": ""},
}


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


def run(path: Path, env: dict[str, str], tmp_path: Path):
    """Execute a copy of ``path`` (plus any PERSON cell) the way ``nb-cognito demo`` does."""
    nb = nbformat.read(str(path), as_version=4)
    if path.name in PERSON:
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
