"""botocore credentials backed by a session: the adapter every boto3 client signs through.

:class:`CognitoRefreshableCredentials` is a botocore ``RefreshableCredentials`` whose every
read asks the session, which refreshes (single-flight, on the injected clock) and answers from
memory while fresh: a client made once keeps working for hours, picks up a forced refresh at
once, and raises :class:`SignedOutError` after sign-out. :func:`put_provider_first` puts a
``custom-nb-cognito`` provider first in a botocore session's chain (botocore's sanctioned
place for a custom provider); :func:`new_boto3_session` builds an independent ``boto3.Session``
on it. Putting it into boto3's *default* session is an integration's job
(:mod:`nb_cognito.integrations.boto3_injection`), through the functions here.

This is the one module that touches botocore's and boto3's private attributes (the
architecture test allows it nowhere else), and ``tests/test_botocore_contract.py`` checks each
one on the installed botocore: ``RefreshableCredentials``' ``_access_key``, ``_secret_key``,
``_token``, ``_expiry_time`` and ``_frozen_credentials``, which its properties read after
calling the ``_refresh`` we override; a botocore session's cached ``_credentials``; a boto3
session's ``_session``. Everything else goes through public arguments and methods.
"""

from __future__ import annotations

import datetime
import functools
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.exceptions import AuthError, ConfigurationError, SignedOutError

if TYPE_CHECKING:
    from nb_cognito.auth.integration import SessionAPI
    from nb_cognito.models import AWSCredentials

__all__ = [
    "CANONICAL_NAME",
    "STANDBY_NAME",
    "default_botocore_session",
    "forget_credentials",
    "has_provider",
    "new_boto3_session",
    "provider",
    "put_provider_first",
    "put_standby_provider",
    "remove_provider",
]

CANONICAL_NAME = "custom-nb-cognito"
#: The provider that waits, before sign-in, where botocore would ask the container endpoint.
STANDBY_NAME = "custom-nb-cognito-standby"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
log = logging.getLogger("nb_cognito")


@functools.cache
def _credentials_class() -> type:
    from botocore.credentials import ReadOnlyCredentials, RefreshableCredentials

    class CognitoRefreshableCredentials(RefreshableCredentials):
        """botocore credentials that the nb_cognito session keeps fresh.

        Every read (``get_frozen_credentials`` and the properties) asks the session, which
        answers from an immutable snapshot; the key, secret and token therefore always come
        from one refresh.
        """

        def __init__(self, session: SessionAPI, first: AWSCredentials | None) -> None:
            # ``first`` None: the session exists but has no credentials right now (Cognito
            # unreachable, session expired); every read asks again and raises until it has.
            self._nb_session = session
            self._seen = first
            self._swap_lock = forksafe.Lock()
            super().__init__(  # botocore's public arguments; it keeps them in the fields _adopt writes
                access_key=first.access_key_id if first else "",
                secret_key=first.secret_access_key if first else "",
                token=first.session_token if first else "",
                expiry_time=first.expiration if first else _EPOCH,
                refresh_using=self._metadata,
                method=CANONICAL_NAME,
            )

        def _metadata(self) -> dict[str, str]:
            creds = self._nb_session.current_credentials()
            return {
                "access_key": creds.access_key_id,
                "secret_key": creds.secret_access_key,
                "token": creds.session_token,
                "expiry_time": creds.expiration.isoformat(),
            }

        def _refresh(self) -> Any:
            """Take the session's current credentials; returns them frozen (one refresh's triple).

            The session is asked again under the lock: a thread that read older credentials
            (the previous user's, say) before another wrote newer ones can never write them back.
            """
            if self._nb_session.current_credentials() is self._seen:  # raises SignedOutError etc.
                return self._frozen_credentials
            with self._swap_lock:
                creds = self._nb_session.current_credentials()
                if creds is not self._seen:
                    self._adopt(creds)
                return self._frozen_credentials

        def _adopt(self, creds: AWSCredentials) -> None:
            """Write ``creds`` where botocore's properties and ``_refresh`` callers read them."""
            self._access_key = creds.access_key_id
            self._secret_key = creds.secret_access_key
            self._token = creds.session_token
            self._expiry_time = creds.expiration
            self._frozen_credentials = ReadOnlyCredentials(
                creds.access_key_id, creds.secret_access_key, creds.session_token, None
            )
            self._seen = creds

        def refresh_needed(self, refresh_in: float | None = None) -> bool:
            return self._nb_session.current_credentials() is not self._seen

        def get_frozen_credentials(self) -> Any:
            return self._refresh()

        def __repr__(self) -> str:
            hint = self._seen.access_key_hint if self._seen else "-"
            return f"<CognitoRefreshableCredentials key {hint}>"

    return CognitoRefreshableCredentials


def provider(
    session: SessionAPI, *, name: str = CANONICAL_NAME, answer_signed_out: Callable[[], bool] | None = None
) -> Any:
    """A botocore credential provider that loads ``session``'s credentials.

    Signed out, it lets the chain go on, unless ``answer_signed_out()`` is true: then it binds
    the client to the session anyway, so that its calls fail at once with "sign in" (and work
    as soon as someone signs in) instead of botocore retrying our endpoint's 401 for seconds.
    """
    from botocore.credentials import CredentialProvider

    credentials_class = _credentials_class()

    class CognitoCredentialProvider(CredentialProvider):
        METHOD = name
        CANONICAL_NAME = name

        def load(self) -> Any:
            try:
                first = session.current_credentials()
            except SignedOutError as error:
                if answer_signed_out is not None and answer_signed_out():
                    return credentials_class(session, None)
                log.debug("nb_cognito has no AWS credentials to offer: %s", type(error).__name__)
                return None
            except ConfigurationError as error:  # nobody to speak for: go on
                log.debug("nb_cognito has no AWS credentials to offer: %s", type(error).__name__)
                return None
            except AuthError as error:
                # Signed in (or expired), but no credentials at this moment. Falling through
                # would silently sign with whatever else the machine has (~/.aws, instance
                # role); bind the client to Cognito instead: its calls raise this error until
                # the credentials are back.
                log.debug("nb_cognito credentials are unavailable for now: %s", type(error).__name__)
                first = None
            return credentials_class(session, first)

    return CognitoCredentialProvider()


def put_provider_first(botocore_session: Any, provider: Any) -> None:
    """Put ``provider`` first in ``botocore_session``'s chain (replacing an earlier one of ours)."""
    from botocore.exceptions import UnknownCredentialError

    resolver = botocore_session.get_component("credential_provider")
    resolver.remove(CANONICAL_NAME)
    try:
        resolver.insert_before("env", provider)
    except UnknownCredentialError:  # a session made with profile_name= has no 'env' provider
        resolver.providers.insert(0, provider)
    forget_credentials(botocore_session)


def remove_provider(botocore_session: Any, name: str = CANONICAL_NAME) -> None:
    """Take our provider ``name`` out of ``botocore_session``'s chain (idempotent)."""
    botocore_session.get_component("credential_provider").remove(name)
    forget_credentials(botocore_session)


def forget_credentials(botocore_session: Any) -> None:
    """``get_credentials()`` caches what the chain gave; make it ask the chain again."""
    botocore_session._credentials = None


def default_botocore_session(*, create: bool = False) -> Any:
    """The botocore session under ``boto3.DEFAULT_SESSION`` (None if there is none yet, or
    boto3 is not imported); ``create``: import boto3 and set up its default session if needed."""
    if create:
        import boto3 as imported

        if imported.DEFAULT_SESSION is None:
            imported.setup_default_session()
    boto3: Any = sys.modules.get("boto3")
    if boto3 is None or boto3.DEFAULT_SESSION is None:
        return None
    return boto3.DEFAULT_SESSION._session


def put_standby_provider(botocore_session: Any, provider: Any) -> None:
    """Put ``provider`` just before botocore's container provider (``container-role``).

    Everything the user chose (environment keys, profiles, ``~/.aws``) still comes first; the
    standby answers only where botocore would otherwise ask the container endpoint.
    """
    from botocore.exceptions import UnknownCredentialError

    resolver = botocore_session.get_component("credential_provider")
    resolver.remove(STANDBY_NAME)
    try:
        resolver.insert_before("container-role", provider)
    except UnknownCredentialError:  # a chain without it: last, before nothing
        resolver.providers.append(provider)
    botocore_session._credentials = None


def has_provider(botocore_session: Any) -> bool:
    resolver = botocore_session.get_component("credential_provider")
    return any(getattr(p, "METHOD", None) == CANONICAL_NAME for p in resolver.providers)


def new_boto3_session(session: SessionAPI, region_name: str | None = None) -> Any:
    """An independent ``boto3.Session`` whose credentials are the session's, refreshing."""
    import boto3
    import botocore.session

    botocore_session = botocore.session.Session()
    put_provider_first(botocore_session, provider(session))
    return boto3.Session(
        botocore_session=botocore_session, region_name=region_name or session.settings.region
    )
