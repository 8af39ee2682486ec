"""duckdb with the session's AWS credentials, kept current with no refused request.

>>> con = nb_cognito.duckdb.connect()            # a new in-memory connection, managed
>>> con.sql("SELECT * FROM 's3://bucket/data.parquet'")
>>> nb_cognito.duckdb.attach(existing_connection)   # or manage one you already have

The connection gets a temporary S3 secret (``nb_cognito`` by default) holding the session's
current key; the session re-creates it at every refresh, before the old key expires, drops it
at sign-out and replaces it at a sign-in as someone else. duckdb's own
``PROVIDER credential_chain, REFRESH auto`` also works (through the container endpoint) but
sends a few refused requests with the expired key before every query once the first key
expired; see ``docs/credentials.md``.

The S3 endpoint and region come from ``endpoint=`` / ``region=``, else from
``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` and the session's region. The httpfs extension
must be installed (``INSTALL httpfs``); duckdb loads it when the secret is made.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.integrations.duckdb_secrets import DuckDBSecrets, SecretOptions

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = ["DuckDBSecrets", "attach", "connect", "detach"]

_ENDPOINT_VARIABLES = (Env.AWS_ENDPOINT_URL_S3, Env.AWS_ENDPOINT_URL)


def _session(session: CognitoSession | None) -> CognitoSession:
    if session is not None:
        return session
    from nb_cognito.kernel import kernel_session

    return kernel_session()


def _integration(session: CognitoSession) -> DuckDBSecrets:
    existing = session.integrations.find(DuckDBSecrets)
    return existing if existing is not None else session.integrations.add(DuckDBSecrets())


def _options(
    session: CognitoSession,
    secret_name: str,
    endpoint: str | None,
    region: str | None,
    url_style: str | None,
    scope: str | None,
) -> SecretOptions:
    if endpoint is None:
        endpoint = next((os.environ[name] for name in _ENDPOINT_VARIABLES if os.environ.get(name)), None)
    use_ssl = True
    host = None
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        host = parts.netloc
        use_ssl = parts.scheme != "http"
        url_style = url_style or "path"  # a custom endpoint rarely serves bucket subdomains
    if region is None:
        try:
            region = session.settings.region
        except Exception:  # settings not complete yet: duckdb's default region
            region = None
    return SecretOptions(
        name=secret_name, region=region, endpoint=host, use_ssl=use_ssl, url_style=url_style, scope=scope
    )


def attach(
    connection: Any,
    *,
    session: CognitoSession | None = None,
    secret_name: str = "nb_cognito",
    endpoint: str | None = None,
    region: str | None = None,
    url_style: str | None = None,
    scope: str | None = None,
) -> Any:
    """Keep ``connection``'s S3 secret ``secret_name`` equal to the session's key; returns it.

    ``session`` defaults to the kernel's (``nb_cognito.session``). Attached before sign-in,
    the secret appears at sign-in. The connection is held weakly.
    """
    owner = _session(session)
    options = _options(owner, secret_name, endpoint, region, url_style, scope)
    _integration(owner).add(connection, options)
    return connection


def detach(connection: Any, *, session: CognitoSession | None = None, drop: bool = True) -> None:
    """Stop managing ``connection`` (and drop its secret unless ``drop=False``)."""
    integration = _session(session).integrations.find(DuckDBSecrets)
    if integration is not None:
        integration.remove(connection, drop=drop)


def connect(
    database: str = ":memory:",
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    *,
    session: CognitoSession | None = None,
    secret_name: str = "nb_cognito",
    endpoint: str | None = None,
    region: str | None = None,
    url_style: str | None = None,
    scope: str | None = None,
) -> Any:
    """``duckdb.connect(database, read_only, config)``, then :func:`attach`."""
    import duckdb

    connection = duckdb.connect(database, read_only=read_only, config=config or {})
    return attach(
        connection,
        session=session,
        secret_name=secret_name,
        endpoint=endpoint,
        region=region,
        url_style=url_style,
        scope=scope,
    )
