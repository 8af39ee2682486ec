"""Cognito credentials in boto3's default session.

After sign-in, a credential provider named ``custom-nb-cognito`` goes first in the chain of
``boto3.DEFAULT_SESSION``, so ``boto3.client("s3")`` in any later cell signs with the
session's credentials. Those are a :class:`botocore.credentials.RefreshableCredentials`
whose every read asks the kernel session, which refreshes them (single-flight, on the
injected clock) and answers from memory while they are fresh. So a client made once keeps
working for hours, picks up a forced refresh at once, and raises :class:`SignedOutError`
after sign-out.

Precedence: static credentials the user put in the environment (``AWS_ACCESS_KEY_ID``) or
a chosen profile (``AWS_PROFILE``) are never overridden silently: with ``inject_boto3=True``
(the default) nb_cognito leaves the default session alone and warns once; with
``inject_boto3="always"`` it goes first anyway and warns once that it shadows them. A session
with neither an identity pool nor a role ARN earns no AWS credentials and leaves boto3 alone.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import sys
import threading
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nb_cognito.exceptions import AuthError, ConfigurationError, SignedOutError

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.models import AWSCredentials

__all__ = ["CANONICAL_NAME", "attach", "ensure_installed", "install", "is_installed", "uninstall"]

CANONICAL_NAME = "custom-nb-cognito"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
log = logging.getLogger("nb_cognito")

_lock = threading.Lock()
_installed_on: Any = None  # the botocore session our provider was put in
_session_ref: CognitoSession | None = None
_warned: set[str] = set()
_exported: dict[str, str] = {}  # env values nb_cognito itself wrote (export_env), not the user's


@functools.cache
def _credentials_class() -> type:
    from botocore.credentials import ReadOnlyCredentials, RefreshableCredentials

    class CognitoRefreshableCredentials(RefreshableCredentials):
        """botocore credentials that the nb_cognito session keeps fresh.

        Every read (``get_frozen_credentials`` and the properties) asks the session, which
        answers from an immutable snapshot; the key, secret and token therefore always come
        from one refresh.
        """

        def __init__(self, session: CognitoSession, first: AWSCredentials | None) -> None:
            # ``first`` None: the session exists but has no credentials right now (Cognito
            # unreachable, session expired); every read asks again and raises until it has.
            self._nb_session = session
            self._seen = first
            self._swap_lock = threading.Lock()
            super().__init__(
                first.access_key_id if first else "",
                first.secret_access_key if first else "",
                first.session_token if first else "",
                first.expiration if first else _EPOCH,
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

        def _refresh(self) -> None:
            creds = self._nb_session.current_credentials()  # raises SignedOutError etc.
            if creds is not self._seen:
                with self._swap_lock:
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
            self._refresh()
            return self._frozen_credentials

        def __repr__(self) -> str:
            hint = self._seen.access_key_hint if self._seen else "-"
            return f"<CognitoRefreshableCredentials key {hint}>"

    return CognitoRefreshableCredentials


def _provider(session: CognitoSession) -> Any:
    from botocore.credentials import CredentialProvider

    credentials_class = _credentials_class()

    class CognitoCredentialProvider(CredentialProvider):
        METHOD = CANONICAL_NAME
        CANONICAL_NAME = CANONICAL_NAME

        def __init__(self) -> None:
            super().__init__()
            self.nb_session = session

        def load(self) -> Any:
            try:
                first = session.current_credentials()
            except (SignedOutError, ConfigurationError) as error:  # nobody to speak for: go on
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


def _put_first(botocore_session: Any, provider: Any) -> None:
    from botocore.exceptions import UnknownCredentialError

    resolver = botocore_session.get_component("credential_provider")
    resolver.remove(CANONICAL_NAME)
    try:
        resolver.insert_before("env", provider)
    except UnknownCredentialError:  # a session made with profile_name= has no 'env' provider
        resolver.providers.insert(0, provider)
    botocore_session._credentials = None  # get_credentials() caches; make it ask the chain again


def _user_credentials_in_env() -> str | None:
    """The name of an env variable through which the *user* chose credentials, if any."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        value = os.environ.get(name)
        if value and _exported.get(name) != value:
            return name
    return None


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)
        log.warning(message)


def install(session: CognitoSession) -> bool:
    """Put the provider first in ``boto3.DEFAULT_SESSION`` (created if None). Idempotent.

    Returns False when the user's own environment credentials take precedence.
    """
    global _installed_on, _session_ref
    settings = session.settings
    mode = settings.inject_boto3
    if mode is False or not (settings.identity_pool_id or settings.role_arn):
        return False  # off, or the session earns no AWS credentials: leave boto3 alone
    chosen = _user_credentials_in_env()
    if chosen and mode != "always":
        _warn_once(
            f"skip:{chosen}",
            f"nb_cognito did not put Cognito credentials into boto3's default session because "
            f"{chosen} is set in the environment and takes precedence. Use "
            f"nb_cognito.session.boto3_session(), or configure(inject_boto3='always') to override.",
        )
        return False
    import boto3

    with _lock:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        botocore_session = boto3.DEFAULT_SESSION._session
        if _installed_on is botocore_session and _session_ref is session and _has_provider(botocore_session):
            return True
        _put_first(botocore_session, _provider(session))
        if botocore_session.get_config_variable("region") is None:
            botocore_session.set_config_variable("region", session.settings.region)
        _installed_on, _session_ref = botocore_session, session
    if chosen:
        _warn_once(
            f"shadow:{chosen}", f"Cognito credentials now come before {chosen} in boto3's default session."
        )
    return True


def _has_provider(botocore_session: Any) -> bool:
    resolver = botocore_session.get_component("credential_provider")
    return any(getattr(p, "METHOD", None) == CANONICAL_NAME for p in resolver.providers)


def is_installed() -> bool:
    """True when boto3's current default session has our provider."""
    boto3 = sys.modules.get("boto3")
    if boto3 is None or boto3.DEFAULT_SESSION is None:
        return False
    return _has_provider(boto3.DEFAULT_SESSION._session)


def uninstall() -> None:
    """Remove the provider from the default session it was put in (idempotent)."""
    global _installed_on, _session_ref
    with _lock:
        botocore_session, _installed_on, _session_ref = _installed_on, None, None
    if botocore_session is not None:
        botocore_session.get_component("credential_provider").remove(CANONICAL_NAME)
        botocore_session._credentials = None


def ensure_installed() -> None:
    """Re-install after user code replaced ``boto3.DEFAULT_SESSION`` (IPython ``pre_run_cell``).

    Cheap when nothing changed: no import, two attribute reads.
    """
    session = _session_ref
    boto3 = sys.modules.get("boto3")
    if session is None or boto3 is None or not session.is_signed_in:
        return
    default = boto3.DEFAULT_SESSION
    if default is not None and default._session is _installed_on:
        return
    install(session)


def attach(session: CognitoSession) -> None:
    """Wire a session: install on sign-in (when enabled), remove on sign-out."""

    def on_signed_in(_: Any) -> None:
        global _session_ref
        try:
            if not install(session):
                _session_ref = session  # keep the pre_run_cell hook informed
        except Exception:
            log.exception("Could not put Cognito credentials into boto3's default session.")

    from nb_cognito.models import AuthEvent

    def apply_settings() -> None:  # inject_boto3 changed while signed in
        if session.settings.inject_boto3 is False:
            uninstall()
        else:
            on_signed_in(None)

    session.on(AuthEvent.SIGNED_IN, on_signed_in)
    session.on(AuthEvent.SIGNED_OUT, lambda _: uninstall())
    session._add_settings_listener(apply_settings)


def new_boto3_session(session: CognitoSession, region_name: str | None = None) -> Any:
    """An independent ``boto3.Session`` whose credentials are the session's, refreshing."""
    import boto3
    import botocore.session

    botocore_session = botocore.session.Session()
    _put_first(botocore_session, _provider(session))
    return boto3.Session(
        botocore_session=botocore_session, region_name=region_name or session.settings.region
    )


def note_exported(values: Mapping[str, str | None]) -> None:
    """Record env values nb_cognito wrote itself, so they are not mistaken for the user's."""
    for name, value in values.items():
        if value is None:
            _exported.pop(name, None)
        else:
            _exported[name] = value
