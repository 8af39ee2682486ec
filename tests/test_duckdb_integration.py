"""``nb_cognito.duckdb``: a connection's S3 secret follows the session, with no refused request.

duckdb's ``credential_chain`` with ``REFRESH auto`` sends the expired key (refused) before it
resolves again (tests/test_consumers.py). A managed connection instead gets the new key when
the session refreshes, before the old one expires: S3 refuses nothing.
"""

from __future__ import annotations

import gc

import pytest
from helpers import PASSWORD, duckdb_connection, two_user_world

from nb_cognito import duckdb as nb_duckdb
from nb_cognito.integrations.duckdb_secrets import DuckDBSecrets, SecretOptions, secret_sql
from nb_cognito.models import AWSCredentials

LIFETIME = 4
QUERY = "SELECT species FROM read_csv('s3://data/iris.csv') ORDER BY 1"


@pytest.fixture
def world(make_local, new_session, monkeypatch, tmp_path):
    return two_user_world(make_local, new_session, monkeypatch, tmp_path, LIFETIME)


def _received(local, since: int) -> list[str]:
    return local.received_access_keys("s3")[since:]


def test_the_secret_follows_every_refresh_with_no_refused_request(world, clock, tmp_path):
    local, session = world
    connection = nb_duckdb.attach(duckdb_connection(str(tmp_path / "ext")), session=session)  # before sign-in
    session.sign_in("alice", PASSWORD)
    keys = []
    for _ in range(3):
        seen = len(local.received_access_keys("s3"))
        assert connection.execute(QUERY).fetchall() == [("setosa",), ("virginica",)]
        current = session.current_credentials().access_key_id
        assert set(_received(local, seen)) == {current}
        keys.append(current)
        clock.advance(LIFETIME + 1)  # the first key expires for S3 ...
        session.current_credentials()  # ... after the session renewed it (its refresher's job)
    assert len(set(keys)) == 3
    assert local.s3_refusals() == []  # not one request with an expired key

    session.sign_in("bob", PASSWORD)  # another user: the secret is bob's at once
    seen = len(local.received_access_keys("s3"))
    connection.execute(QUERY).fetchall()
    assert set(_received(local, seen)) == {session.current_credentials().access_key_id}

    session.sign_out()  # dropped: nothing signed reaches S3 any more
    seen = len(local.received_access_keys("s3"))
    with pytest.raises(Exception):  # noqa: B017 - duckdb's IOException, S3's refusal of an unsigned read
        connection.execute(QUERY).fetchall()
    assert _received(local, seen) == []
    assert connection.execute("SELECT count(*) FROM duckdb_secrets()").fetchone() == (0,)


def test_connect_uses_the_kernel_session_and_the_environments_endpoint(world, tmp_path):
    from nb_cognito import kernel

    local, session = world
    previous = kernel.use_kernel_session(session)
    try:
        duckdb_connection(str(tmp_path / "ext")).close()  # httpfs installed there: duckdb autoloads it
        session.sign_in("alice", PASSWORD)
        connection = nb_duckdb.connect(config={"extension_directory": str(tmp_path / "ext")})
        rows = connection.execute("SELECT secret_string FROM duckdb_secrets()").fetchall()
        assert local.endpoint_url.removeprefix("http://") in rows[0][0]
        assert session.integrations.find(DuckDBSecrets).managed() == [connection]  # type: ignore[union-attr]
        nb_duckdb.detach(connection)
        assert session.integrations.find(DuckDBSecrets).managed() == []  # type: ignore[union-attr]
    finally:
        kernel.use_kernel_session(previous)


def test_a_dropped_connection_is_forgotten(world, tmp_path):
    _, session = world
    connection = nb_duckdb.attach(duckdb_connection(str(tmp_path / "ext")), session=session)
    integration = session.integrations.find(DuckDBSecrets)
    assert integration is not None and len(integration.managed()) == 1
    del connection
    gc.collect()
    assert integration.managed() == []
    session.sign_in("alice", PASSWORD)  # nothing to write to, nothing fails


def test_a_closed_connection_is_forgotten_at_the_next_refresh(world, tmp_path):
    _, session = world
    connection = nb_duckdb.attach(duckdb_connection(str(tmp_path / "ext")), session=session)
    connection.close()
    session.sign_in("alice", PASSWORD)
    assert session.integrations.find(DuckDBSecrets).managed() == []  # type: ignore[union-attr]


def test_values_cannot_break_out_of_the_statement():
    """A quote in a value is doubled, and a secret name is an identifier or refused."""
    import datetime as dt

    hostile = AWSCredentials("AKIA'X", "s'); DROP TABLE t; --", "t'", dt.datetime.now(dt.timezone.utc))
    sql = secret_sql(SecretOptions(endpoint="h'ost"), hostile)
    assert "KEY_ID 'AKIA''X'" in sql and "SECRET 's''); DROP TABLE t; --'" in sql
    assert "ENDPOINT 'h''ost'" in sql
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        secret_sql(SecretOptions(name="x (TYPE s3); --"), hostile)
