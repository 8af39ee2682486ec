"""What nb_cognito leaves in ``os.environ``: the user's choices win, and nothing outlives its use.

* ``export_env=True`` never overrides the user's ``AWS_PROFILE`` / ``AWS_DEFAULT_PROFILE``
  (issue 15, item 7): boto3 and a child process still get the profile's keys.
* ``%cognito_login --local`` points ``AWS_ENDPOINT_URL`` at the emulator only while the local
  session lasts (issue 15, item 11): sign-out, or settings for another pool, put the user's
  value back.
"""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import pytest
from helpers import PASSWORD

from nb_cognito.integrations import env_export

PROFILE_KEY = "AKIAPROFILEKEY000001"
NAMES = (*env_export.NAMES, "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    for name in NAMES:
        monkeypatch.setenv(name, "x")  # record it, so that teardown restores the original
        monkeypatch.delenv(name)
    yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def profile(monkeypatch, tmp_path) -> str:
    """A named profile with static keys, as ``aws configure --profile mine`` writes it."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[mine]\naws_access_key_id = {PROFILE_KEY}\naws_secret_access_key = profile-secret-000000000000\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return "mine"


@pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
def test_export_env_leaves_the_users_profile_in_charge(new_session, monkeypatch, profile, variable):
    monkeypatch.setenv(variable, profile)
    session = new_session(attach=True, export_env=True)

    with pytest.warns(UserWarning, match=f"did not export.*{variable}"):
        session.sign_in("alice", PASSWORD)
    session.fetch_auth_session(force_refresh=True)  # a refresh does not export either

    assert not any(name in os.environ for name in env_export.NAMES)
    assert boto3.Session().get_credentials().access_key == PROFILE_KEY
    child = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.Session().get_credentials().access_key)"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == PROFILE_KEY
    assert os.environ[variable] == profile
