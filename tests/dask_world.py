"""The Dask tests' world: the emulator with strict S3, two users, a session wired as the
kernel's, and what runs on workers (``pytest_plugins = ("dask_world",)`` brings the fixtures).

Tasks are plain functions of this module: workers import it by name (the tests' directory is
on their ``sys.path``), and report what they saw as text, so a test can say whose key S3 got.
It holds no assertion, so pytest need not rewrite it: PYTEST_DONT_REWRITE (the test modules
import it before pytest loads it as a plugin).
"""

from __future__ import annotations

import pytest
from helpers import two_user_world

BOB_PASSWORD = "Bob-Passw0rd!1"
LIFETIME = 540  # inside botocore's 10-minute mandatory refresh margin, with room for skew
LONG_LIFETIME = 3600  # Cognito's default: botocore and s3fs keep such a key for 45 minutes


def make_world(make_local, new_session, monkeypatch, tmp_path, lifetime):
    return two_user_world(make_local, new_session, monkeypatch, tmp_path, lifetime, bob_password=BOB_PASSWORD)


@pytest.fixture
def world(make_local, new_session, monkeypatch, tmp_path):
    """(local, session); credentials live ``LIFETIME`` seconds: every SDK asks again each time."""
    return make_world(make_local, new_session, monkeypatch, tmp_path, LIFETIME)


@pytest.fixture
def long_world(make_local, new_session, monkeypatch, tmp_path):
    """(local, session); credentials live an hour, so SDK caches keep them (what users see)."""
    return make_world(make_local, new_session, monkeypatch, tmp_path, LONG_LIFETIME)


def keys_after(local, before):
    return local.received_access_keys("s3")[before:]


def s3_task():
    """Runs on a worker: one S3 call with the worker's boto3 default session."""
    import boto3

    try:
        boto3.client("s3").list_objects_v2(Bucket="data")
    except Exception as error:  # reported, so that the test can say what the worker saw
        return f"{type(error).__name__}: {error}"
    return "ok"


def pandas_task():
    """Runs on a worker: pandas reads s3:// through s3fs (its cached filesystem, if any)."""
    import pandas as pd

    try:
        return ",".join(pd.read_csv("s3://data/iris.csv")["species"])
    except Exception as error:
        return f"{type(error).__name__}: {error}"
