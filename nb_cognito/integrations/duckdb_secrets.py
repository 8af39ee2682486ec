"""duckdb connections whose S3 secret is the session's credentials, re-created at every refresh.

duckdb copies a key into a secret when the secret is made. With ``PROVIDER credential_chain,
REFRESH auto`` it resolves the chain again only after S3 refused the old key (five refused
requests before every query once the first key expired). :class:`DuckDBSecrets` instead
writes the session's current key into each managed connection's secret whenever the session
has new credentials (before the old ones expire: the session refreshes ahead of time), so no
request carries an expired key. At sign-out and when the session ends the secret is dropped;
at a sign-in as someone else it is replaced by the new user's.

Connections are held weakly: one the user drops is forgotten. The secret is written through a
cursor of its own (a duckdb connection is not safe to share between threads, and refreshes
come from the session's background thread); secrets belong to the database, so the user's
connection sees it at once.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
from nb_cognito.exceptions import AuthError

if TYPE_CHECKING:
    from nb_cognito.auth.integration import SessionAPI
    from nb_cognito.models import AWSCredentials

__all__ = ["DuckDBSecrets", "SecretOptions", "secret_sql"]

log = logging.getLogger("nb_cognito")


@dataclass(frozen=True)
class SecretOptions:
    """What goes into the secret besides the key: its name and where S3 is."""

    name: str = "nb_cognito"
    region: str | None = None
    endpoint: str | None = None  # host[:port], no scheme (duckdb's ENDPOINT)
    use_ssl: bool = True
    url_style: str | None = None  # "path" or "vhost"; duckdb's default when None
    scope: str | None = None  # e.g. "s3://my-bucket": this secret only for that prefix


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"A duckdb secret name is letters, digits and underscores, not {name!r}.")
    return name


def secret_sql(options: SecretOptions, creds: AWSCredentials) -> str:
    """``CREATE OR REPLACE SECRET`` for ``creds`` (the statement holds the key: never log it)."""
    fields = [
        ("TYPE", "s3"),
        ("KEY_ID", _literal(creds.access_key_id)),
        ("SECRET", _literal(creds.secret_access_key)),
        ("SESSION_TOKEN", _literal(creds.session_token)),
    ]
    if options.region:
        fields.append(("REGION", _literal(options.region)))
    if options.endpoint:
        fields.append(("ENDPOINT", _literal(options.endpoint)))
    if not options.use_ssl:
        fields.append(("USE_SSL", "false"))
    if options.url_style:
        fields.append(("URL_STYLE", _literal(options.url_style)))
    if options.scope:
        fields.append(("SCOPE", _literal(options.scope)))
    body = ", ".join(f"{key} {value}" for key, value in fields)
    return f"CREATE OR REPLACE TEMPORARY SECRET {_identifier(options.name)} ({body})"


class DuckDBSecrets(Integration):
    """Keeps the S3 secret of every attached duckdb connection equal to the session's key."""

    name = "duckdb"

    def __init__(self) -> None:
        self._session: SessionAPI | None = None
        self._connections: weakref.WeakKeyDictionary[Any, SecretOptions] = weakref.WeakKeyDictionary()
        self._lock = forksafe.Lock()

    def attach(self, session: SessionAPI) -> None:
        self._session = session

    def add(self, connection: Any, options: SecretOptions) -> None:
        """Manage ``connection``: its secret now (if signed in) and at every change."""
        _identifier(options.name)
        with self._lock:
            self._connections[connection] = options
        self._write(connection, options, self._current())

    def remove(self, connection: Any, *, drop: bool = True) -> None:
        with self._lock:
            options = self._connections.pop(connection, None)
        if options is not None and drop:
            self._write(connection, options, None)

    def managed(self) -> list[Any]:
        with self._lock:
            return list(self._connections)

    # -- the session's changes ----------------------------------------------------------------------

    def session_changed(self, change: SessionChange) -> None:
        """Every refresh writes the new key; a sign-in (the previous user's key goes now, the new
        one follows at once), a sign-out and the session's end drop it."""
        if change.kind is ChangeKind.CREDENTIALS_CHANGED:
            self._write_all(change.credentials)
        elif change.kind is ChangeKind.SIGNED_IN or change.ended or change.kind is ChangeKind.CLOSING:
            self._write_all(None)

    # -- writing ----------------------------------------------------------------------------------------

    def _current(self) -> AWSCredentials | None:
        session = self._session
        if session is None or not session.is_signed_in:
            return None
        try:
            return session.current_credentials()
        except AuthError as error:
            log.debug("No credentials for duckdb yet: %s", type(error).__name__)
            return None

    def _write_all(self, creds: AWSCredentials | None) -> None:
        with self._lock:
            connections = list(self._connections.items())
        for connection, options in connections:
            self._write(connection, options, creds)

    def _write(self, connection: Any, options: SecretOptions, creds: AWSCredentials | None) -> None:
        """Replace the secret with ``creds``, or drop it (None). A closed connection is forgotten."""
        try:
            cursor = connection.cursor()
        except Exception:  # closed: nothing to keep up to date
            with self._lock:
                self._connections.pop(connection, None)
            return
        try:
            if creds is None:
                cursor.execute(f"DROP SECRET IF EXISTS {_identifier(options.name)}")
            else:
                cursor.execute(secret_sql(options, creds))
        except Exception as error:  # the statement holds the key: log the kind of error only
            log.warning(
                "nb_cognito could not update the duckdb secret %r (%s); is the httpfs extension "
                "installed (INSTALL httpfs)?",
                options.name,
                type(error).__name__,
            )
        finally:
            cursor.close()

    def __repr__(self) -> str:
        return f"<DuckDBSecrets {len(self.managed())} connection(s)>"
