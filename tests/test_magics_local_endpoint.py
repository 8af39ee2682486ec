"""``%cognito_login --local`` points ``AWS_ENDPOINT_URL`` at the emulator only while it lasts.

Issue 15, item 11: the variable stayed for the rest of the kernel, so boto3 kept talking to the
emulator after sign-out and after a sign-in to a real pool. A real IPython shell, the demo
emulator that ``--local`` starts, and the test's own emulator as "another pool".
"""

from __future__ import annotations

import os

import pytest
from helpers import PASSWORD

from nb_cognito.notebook import login_flow
from nb_cognito.notebook.local_endpoint import LocalEndpoint

pytest_plugins = ["test_magics"]  # its fixtures: shell, session, ext, prompts


@pytest.fixture
def local_login(ext, session, prompts):
    """Run ``%cognito_login --local``; stop the demo emulator afterwards."""
    try:
        yield lambda: ext.run_cell("%cognito_login --local")
    finally:
        session.sign_out()
        integration = session.integrations.find(LocalEndpoint)
        if integration is not None:
            integration.restore()
        if login_flow._local_emulator is not None:
            login_flow._local_emulator.stop()
            login_flow._local_emulator = None


@pytest.mark.parametrize("before", [None, "https://s3.eu-west-1.amazonaws.com"])
@pytest.mark.parametrize("ending", ["sign-out", "another pool"])
def test_the_users_endpoint_is_back_when_the_local_session_ends(
    ext, session, local, local_login, monkeypatch, before, ending
):
    if before is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", before)
    local_login()
    assert os.environ["AWS_ENDPOINT_URL"] == login_flow._local_emulator.endpoint_url
    assert session.get_current_user().username == "demo"

    if ending == "sign-out":
        ext.run_cell("%cognito_logout")
    else:  # settings for another pool, then a sign-in there
        session.configure(**local.settings.as_config())
        session.sign_in("alice", PASSWORD)
        assert session.get_current_user().username == "alice"

    assert os.environ.get("AWS_ENDPOINT_URL") == before


def test_a_value_the_user_set_meanwhile_is_left_alone(ext, session, local_login, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    local_login()
    os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"  # e.g. the user's localstack

    ext.run_cell("%cognito_logout")

    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
