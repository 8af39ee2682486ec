"""What nb_cognito relies on in botocore and boto3 beyond their public API, checked on the
installed versions.

Every private attribute used lives in ``nb_cognito/auth/botocore_adapter.py`` (the
architecture test keeps it there). pyproject.toml pins the botocore range this file was run
against; a new botocore minor version is admitted by raising that bound once this file passes
on it. Nothing here talks to the network: presigning a URL signs offline.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import urllib.parse
from pathlib import Path

import boto3
import botocore
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    Credentials,
    ReadOnlyCredentials,
    RefreshableCredentials,
)
from botocore.exceptions import UnknownCredentialError

from nb_cognito.auth import botocore_adapter
from nb_cognito.models import AWSCredentials

LATER = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)


def _creds(n: int) -> AWSCredentials:
    return AWSCredentials(f"ASIA{n:016d}", f"secret-{n}", f"token-{n}", LATER)


def test_the_installed_botocore_is_in_the_pinned_range():
    from packaging.requirements import Requirement

    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    project = text[text.index("[project]") : text.index("[project.optional-dependencies]")]
    # The range this contract covers is the package's own dependency (the demo extra narrows it
    # further, for pip's resolver: tests/test_demo_install.py).
    pins = re.findall(r'^\s*"(botocore[<>=!~][^"]*)"', project, flags=re.M)
    assert len(pins) == 1, "pyproject.toml's dependencies pin the botocore range this contract covers, once"
    pin = Requirement(pins[0])
    assert pin.specifier.contains(botocore.__version__), (botocore.__version__, str(pin))
    assert any(spec.operator == "<" for spec in pin.specifier), "an upper bound: a new minor is checked first"


def test_refreshable_credentials_takes_the_public_arguments_we_pass():
    parameters = inspect.signature(RefreshableCredentials.__init__).parameters
    for name in ("access_key", "secret_key", "token", "expiry_time", "refresh_using", "method"):
        assert name in parameters, name
    assert "refresh_in" in inspect.signature(RefreshableCredentials.refresh_needed).parameters


def test_refreshable_credentials_keeps_its_values_in_the_fields_we_write():
    """The constructor stores into ``_access_key``, ``_secret_key``, ``_token``, ``_expiry_time``
    and a ``ReadOnlyCredentials`` in ``_frozen_credentials``: our ``_refresh`` writes the same."""
    creds = RefreshableCredentials("AK", "SK", "TK", LATER, refresh_using=dict, method="contract")
    assert (creds._access_key, creds._secret_key, creds._token) == ("AK", "SK", "TK")
    assert creds._expiry_time == LATER
    assert isinstance(creds._frozen_credentials, ReadOnlyCredentials)
    assert tuple(creds._frozen_credentials)[:3] == ("AK", "SK", "TK")


def test_the_properties_call_the_refresh_we_override_then_read_those_fields():
    class Swapping(RefreshableCredentials):
        def _refresh(self):
            self._access_key, self._secret_key, self._token = "AK2", "SK2", "TK2"

    creds = Swapping("AK", "SK", "TK", LATER, refresh_using=dict, method="contract")
    assert (creds.access_key, creds.secret_key, creds.token) == ("AK2", "SK2", "TK2")


def test_a_client_signs_with_what_our_credentials_adopt_and_sees_a_change_at_once():
    """The signer reads ``get_frozen_credentials()`` for every request: after the session's
    credentials change, the very next request is signed with the new key, never a mixed triple."""
    current = [_creds(1)]

    class Session:  # the two things the adapter asks of a session
        settings = None

        def current_credentials(self):
            return current[0]

    botocore_session = botocore.session.Session()
    botocore_adapter.put_provider_first(botocore_session, botocore_adapter.provider(Session()))
    client = boto3.Session(botocore_session=botocore_session, region_name="us-east-1").client(
        "s3", config=Config(signature_version="s3v4")
    )

    def signed_key() -> str:
        url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
        query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        return query["X-Amz-Credential"][0].split("/")[0] + " " + query["X-Amz-Security-Token"][0]

    assert signed_key() == f"{current[0].access_key_id} token-1"
    current[0] = _creds(2)
    assert signed_key() == f"{current[0].access_key_id} token-2"
    frozen = botocore_session.get_credentials().get_frozen_credentials()
    assert tuple(frozen)[:3] == (current[0].access_key_id, "secret-2", "token-2")
    assert botocore_session.get_credentials().access_key == current[0].access_key_id


def test_a_botocore_session_caches_its_credentials_where_we_clear_them():
    botocore_session = botocore.session.Session()
    assert botocore_session._credentials is None
    loaded = []

    class Counting(CredentialProvider):
        METHOD = CANONICAL_NAME = "custom-contract"

        def load(self):
            loaded.append(1)
            return Credentials("AK", "SK", "TK")

    resolver = botocore_session.get_component("credential_provider")
    resolver.insert_before("env", Counting())
    botocore_session.get_credentials()
    botocore_session.get_credentials()
    assert len(loaded) == 1 and botocore_session._credentials is not None  # cached there
    botocore_session._credentials = None
    botocore_session.get_credentials()
    assert len(loaded) == 2  # cleared: the chain is asked again


def test_the_resolver_api_the_adapter_uses():
    assert isinstance(botocore.session.Session().get_component("credential_provider"), CredentialResolver)
    for name in ("insert_before", "remove", "get_provider", "providers"):
        assert hasattr(CredentialResolver([]), name), name
    empty = CredentialResolver([])
    with pytest.raises(UnknownCredentialError):
        empty.insert_before("env", CredentialProvider())
    empty.remove("not-there")  # removing what is absent is a no-op


def test_put_and_remove_provider_on_the_boto3_default_session():
    saved = boto3.DEFAULT_SESSION
    try:
        boto3.DEFAULT_SESSION = None
        assert botocore_adapter.default_botocore_session() is None
        made = botocore_adapter.default_botocore_session(create=True)
        assert made is boto3.DEFAULT_SESSION._session  # boto3 keeps its botocore session there
        assert isinstance(made, botocore.session.Session)

        class Session:
            settings = None

            def current_credentials(self):
                return _creds(3)

        botocore_adapter.put_provider_first(made, botocore_adapter.provider(Session()))
        assert botocore_adapter.has_provider(made)
        assert boto3.DEFAULT_SESSION.get_credentials().access_key == _creds(3).access_key_id
        botocore_adapter.remove_provider(made)
        assert not botocore_adapter.has_provider(made)
        assert made._credentials is None
    finally:
        boto3.DEFAULT_SESSION = saved
