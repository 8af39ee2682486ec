"""The magics in a real Jupyter kernel, run by nbclient as a notebook would be.

The emulator runs in this test process; the kernel reaches it through the environment a
user would set (NB_COGNITO_*, NB_COGNITO_PASSWORD, AWS_ENDPOINT_URL). The kernel runs with
this interpreter (a kernelspec in tmp_path) and without stdin, like a headless run.
"""

from __future__ import annotations

import os

import ipykernel  # noqa: F401  (the test extra installs it)
import nbclient
import nbformat
import pytest

from nb_cognito.local import LocalSpec, UserSpec
from nb_cognito.notebook import kernelspec

CANARY = "Canary-9c1e-Pw!"
BUCKET = "nb-cognito-kernel"

pytestmark = pytest.mark.kernel


def kernel_manager(tmp_path):
    return kernelspec.kernel_manager(tmp_path, "nb-cognito-test", "nb_cognito test")


def text_of(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


def test_a_notebook_signs_in_uses_s3_and_signs_out(make_local, tmp_path):
    local = make_local(
        LocalSpec(users=(UserSpec("demo", CANARY),), buckets={BUCKET: {"hello.txt": b"hello\n"}})
    )
    env = {
        **os.environ,
        **local.settings.as_env(),
        "NB_COGNITO_PASSWORD": CANARY,
        "AWS_ENDPOINT_URL": local.endpoint_url,
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    cells = [
        "%load_ext nb_cognito",
        "%cognito_login",  # no username anywhere, and nbclient gives the kernel no stdin
        "%cognito_login demo",
        "import boto3\n[b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']]",
        "%cognito_session",
        "%cognito_logout",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    client = nbclient.NotebookClient(
        nb, km=kernel_manager(tmp_path), timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=env)

    load, no_stdin, login, s3, status, logout = (text_of(cell) for cell in nb.cells)
    assert load == ""
    assert no_stdin.startswith("UsageError: This frontend cannot ask for input")
    assert "--widget" in no_stdin and "NB_COGNITO_PASSWORD" in no_stdin
    assert "Traceback" not in no_stdin
    assert login.startswith("Signed in as demo (identity us-east-1:")
    assert "boto3 now uses its AWS credentials; they refresh automatically." in login
    assert BUCKET in s3
    assert local.received_access_keys("s3")  # the S3 call was signed with the vended credentials
    html = next(o.data["text/html"] for o in nb.cells[4].outputs if o.output_type == "execute_result")
    assert "<table" in html and "demo" in html and "boto3 injection" in html
    assert "user                    demo" in status and "boto3 injection         on" in status
    assert logout.strip() == "Signed out demo."

    path = tmp_path / "run.ipynb"
    nbformat.write(nb, str(path))
    saved = path.read_text(encoding="utf-8")
    assert CANARY not in saved
    assert "%cognito_login demo" in saved
