"""The promise, in a fresh Jupyter kernel: ``%cognito_login``, then pandas, polars, ``!aws`` and
a Dask LocalCluster read S3 with no other setting, before and after a refresh.

The kernel gets only what ``nb-cognito demo`` gives it (the emulator's pool settings, the demo
user, S3's URL); the emulator's S3 is strict (:mod:`nb_cognito.local.s3`), so every read below
was signed with credentials the identity pool vended to the signed-in user.
"""

from __future__ import annotations

import dataclasses
import re

import nbformat
import pytest

from nb_cognito.examples import demo
from nb_cognito.local import demo_spec

CELLS = {
    "sign-in": "%load_ext nb_cognito\n%cognito_login",
    "read": (
        "import pandas as pd, polars as pl\n"
        'df = pd.read_csv("s3://nb-cognito-demo/iris.csv")\n'
        'df.to_parquet("s3://nb-cognito-demo/iris.parquet")\n'
        'print("pandas", len(df), "| polars", pl.read_parquet("s3://nb-cognito-demo/iris.parquet").height)'
    ),
    "aws": "!aws s3 ls s3://nb-cognito-demo/",
    "dask": (
        "from dask.distributed import Client, LocalCluster\n"
        "import dask.dataframe as dd\n"
        "cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)\n"
        "client = Client(cluster)\n"
        'print("dask rows", len(dd.read_csv("s3://nb-cognito-demo/iris.csv").compute()))'
    ),
    "refresh": (
        "import nb_cognito\n"
        "before = nb_cognito.fetch_auth_session().aws_credentials_result.unwrap().access_key_hint\n"
        "after = nb_cognito.fetch_auth_session(force_refresh=True).aws_credentials_result.unwrap()\n"
        'print("refreshed", before, "->", after.access_key_hint)'
    ),
    "read-again": (
        'print("pandas", len(pd.read_csv("s3://nb-cognito-demo/iris.csv")),\n'
        '      "| polars", pl.read_parquet("s3://nb-cognito-demo/iris.parquet").height)'
    ),
    "aws-again": "!aws s3 ls s3://nb-cognito-demo/",
    "dask-again": (
        'print("dask rows", len(dd.read_csv("s3://nb-cognito-demo/iris.csv").compute()))\n'
        "client.close(); cluster.close()"
    ),
}


@pytest.mark.kernel
@pytest.mark.timeout(240)
def test_pandas_polars_aws_cli_and_dask_just_work_after_cognito_login(make_local, tmp_path):
    local = make_local(dataclasses.replace(demo_spec(), strict_s3=True))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = demo.demo_env(local, scratch)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, id=cell_id) for cell_id, source in CELLS.items()]
    path = tmp_path / "fresh.ipynb"
    nbformat.write(notebook, str(path))

    executed = demo.run_notebook(path, env, scratch, echo=lambda _text: None)
    out = {cell.get("id"): demo.cell_text(cell) for cell in executed.cells}

    assert "Signed in as demo" in out["sign-in"]
    for cell_id in ("read", "read-again"):
        assert "pandas 9 | polars 9" in out[cell_id], out[cell_id]
    for cell_id in ("aws", "aws-again"):
        assert "iris.csv" in out[cell_id] and "iris.parquet" in out[cell_id], out[cell_id]
    for cell_id in ("dask", "dask-again"):
        assert "dask rows 9" in out[cell_id], out[cell_id]
    old, new = re.search(r"refreshed …(\w{4}) -> …(\w{4})", out["refresh"]).groups()
    assert old != new

    keys = local.received_access_keys("s3")
    assert keys and all(key.startswith("ASIA") for key in keys)
    assert {key[-4:] for key in keys} == {old, new}  # only the session's two credentials
    assert local.s3_refusals() == []  # strict S3 refused nothing
