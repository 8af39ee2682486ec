"""A credential error that nb_cognito's endpoint explains is shown short in IPython.

``pd.read_csv("s3://...")`` signed in without an identity pool used to end in a ~300-line
traceback through pandas, fsspec, s3fs, aiobotocore and botocore, nb_cognito's message on its
last line. In a real IPython shell, against the emulator and the kernel's own credentials
endpoint, the error now shows the cell's frames, the error, and the message on its own line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from botocore.exceptions import CredentialRetrievalError
from helpers import PASSWORD
from testing_shell import TestingShell, close_shell, new_shell

from nb_cognito import kernel
from nb_cognito.auth.session import CognitoSession
from nb_cognito.exceptions import AuthError, SignedOutError
from nb_cognito.local import default_test_spec
from nb_cognito.notebook import extension, short_errors
from nb_cognito.settings.config import CognitoConfig

ANSI = re.compile(r"\x1b\[[0-9;]*m")
READ_CSV = "import pandas as pd\npd.read_csv('s3://nb-cognito-demo/iris.csv')"
NO_IDENTITY_POOL = "No identity pool or role ARN is configured"


@pytest.fixture
def shell(tmp_path) -> Iterator[TestingShell]:
    sh = new_shell(tmp_path)
    yield sh
    extension.unload_extension(sh)
    close_shell(sh)


@pytest.fixture
def signed_in_without_identity_pool(make_local, clock, shell, monkeypatch) -> Iterator[CognitoSession]:
    """The kernel-wide session (its credentials endpoint included), signed in to a pool with
    no identity pool: tokens, but no AWS credentials."""
    local = make_local(replace(default_test_spec(), identity_pool=None))
    for name, value in local.settings.as_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NB_COGNITO_IDENTITY_POOL_ID", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint_url)
    session = kernel.make_session(CognitoConfig(parent=shell), clock=clock)
    previous = kernel.use_kernel_session(session)
    shell.run_cell("%load_ext nb_cognito")
    session.sign_in("alice", PASSWORD)
    yield session
    kernel.use_kernel_session(previous)
    session.sign_out()
    session.close()


def shown(shell: TestingShell, cell: str, capsys, error: type = CredentialRetrievalError) -> str:
    """What IPython shows for ``cell``, which fails with ``error``."""
    capsys.readouterr()
    with pytest.raises(error):
        shell.run_cell(cell)
    captured = capsys.readouterr()
    return ANSI.sub("", captured.out + captured.err)


def test_pandas_without_an_identity_pool_shows_a_short_error_with_the_message(
    signed_in_without_identity_pool, shell, capsys
):
    text = shown(shell, READ_CSV, capsys)
    lines = text.strip().splitlines()
    assert len(lines) < 25, text
    assert "CredentialRetrievalError" in text
    assert f"nb_cognito: {NO_IDENTITY_POOL}" in text and "identity_pool_id" in text
    assert "pd.read_csv('s3://nb-cognito-demo/iris.csv')" in text  # the user's own line
    assert "site-packages" not in text and "MetadataRetrievalError" not in text
    assert "%tb" in text

    # The whole story is still there for whoever asks: %tb shows every frame.
    capsys.readouterr()
    shell.run_cell("%tb")
    full = ANSI.sub("", capsys.readouterr().out)
    assert len(full.splitlines()) > 100 and "s3fs" in full and NO_IDENTITY_POOL in full


def test_boto3_with_nobody_signed_in_names_the_next_step(local, clock, shell, monkeypatch, capsys):
    for name, value in local.settings.as_env().items():
        monkeypatch.setenv(name, value)
    session = kernel.make_session(CognitoConfig(parent=shell), clock=clock)
    previous = kernel.use_kernel_session(session)
    try:
        shell.run_cell("%load_ext nb_cognito")
        shell.run_cell("import boto3")  # botocore now imported: installed before the next cell
        # Made after %load_ext: nb_cognito's standby provider in boto3 answers at once.
        text = shown(
            shell, "boto3.client('s3', region_name='us-east-1').list_buckets()", capsys, SignedOutError
        )
    finally:
        kernel.use_kernel_session(previous)
        session.close()
    assert len(text.strip().splitlines()) < 25, text
    assert "nb_cognito: Nobody is signed in" in text and "%cognito_login" in text


def test_xmode_verbose_shows_everything_as_before(signed_in_without_identity_pool, shell, capsys):
    shell.run_cell("%xmode Verbose")
    text = shown(shell, READ_CSV, capsys)
    assert len(text.splitlines()) > 100 and "MetadataRetrievalError" in text
    assert "\nnb_cognito: " not in text


def test_other_errors_are_shown_as_ipython_shows_them(signed_in_without_identity_pool, shell, capsys):
    """Not from nb_cognito's endpoint (a CredentialRetrievalError of another provider, or an
    answer whose code is none of nb_cognito's errors): IPython's own traceback, untouched."""
    forged = '{"code": "Whatever", "message": "not ours"}'
    for cell in (
        "from botocore.exceptions import CredentialRetrievalError as E\n"
        "raise E(provider='sso', error_msg='token expired')",
        "from botocore.exceptions import CredentialRetrievalError as E\n"
        f"raise E(provider='container-role', error_msg='from container metadata: {forged}')",
    ):
        text = shown(shell, cell, capsys)
        assert "\nnb_cognito: " not in text and "left out" not in text
    assert short_errors.nb_cognito_answer(ValueError(f"from container metadata: {forged}")) is None


def test_another_librarys_handler_is_left_alone(local, clock, shell):
    def theirs(self, etype, value, tb, tb_offset=None):
        return ["theirs"]

    shell.set_custom_exc((KeyError,), theirs)
    shell.run_cell("import botocore.exceptions")
    shell.run_cell("%load_ext nb_cognito")
    shell.run_cell("1")
    assert shell.custom_exceptions == (KeyError,)
    extension.unload_extension(shell)
    assert shell.custom_exceptions == (KeyError,)


def test_unload_removes_the_handler(signed_in_without_identity_pool, shell):
    assert shell.custom_exceptions == (CredentialRetrievalError, AuthError)
    extension.unload_extension(shell)
    assert shell.custom_exceptions == ()


def test_the_troubleshooting_page_says_what_users_see(signed_in_without_identity_pool, shell, capsys):
    """docs/troubleshooting.md's row for a missing identity pool quotes the error the SDK raises
    and the line nb_cognito adds, as they are shown here."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    text = shown(shell, READ_CSV, capsys)
    (row,) = [line for line in doc.splitlines() if line.startswith("|") and NO_IDENTITY_POOL in line]
    assert "CredentialRetrievalError: Error when retrieving credentials from container-role:" in text
    assert "`CredentialRetrievalError: Error when retrieving credentials from container-role:" in row
    assert '"code": "ConfigurationError"' in text and '"code": "ConfigurationError"' in row
    assert f"nb_cognito: {NO_IDENTITY_POOL}" in text and f"`nb_cognito: {NO_IDENTITY_POOL} …`" in row
    assert "%tb" in row and "NoCredentialsError" not in row
