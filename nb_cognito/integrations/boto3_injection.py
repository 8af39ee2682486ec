"""Cognito credentials in boto3's default session.

After sign-in, a credential provider named ``custom-nb-cognito`` goes first in the chain of
``boto3.DEFAULT_SESSION``, so ``boto3.client("s3")`` in any later cell signs with the
session's credentials, which refresh themselves (:mod:`nb_cognito.auth.botocore_adapter`).

Precedence: static credentials the user put in the environment (``AWS_ACCESS_KEY_ID``) or
a chosen profile (``AWS_PROFILE``) are never overridden silently: with ``inject_boto3=True``
(the default) nb_cognito leaves the default session alone and warns once; with
``inject_boto3="always"`` it goes first anyway and warns once that it shadows them. A session
with neither an identity pool nor a role ARN earns no AWS credentials and leaves boto3 alone.

Before sign-in (the kernel's session, from ``%load_ext`` or its first use), a standby provider
waits just before botocore's container provider: where botocore would ask our endpoint and
retry its 401 for 3 s, it binds the client to the session instead, so a call fails at once
with "sign in", and the same client works as soon as someone signs in.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.auth.botocore_adapter import (
    CANONICAL_NAME,
    STANDBY_NAME,
    default_botocore_session,
    has_provider,
    provider,
    put_provider_first,
    put_standby_provider,
    remove_provider,
)
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.integrations.process_env import EnvironmentWrites

if TYPE_CHECKING:
    from nb_cognito.auth.integration import SessionAPI

__all__ = ["CANONICAL_NAME", "USER_CHOICE_VARIABLES", "Boto3Injection", "is_installed"]

log = logging.getLogger("nb_cognito")


def is_installed() -> bool:
    """True when boto3's current default session has an nb_cognito provider."""
    botocore_session = default_botocore_session()
    return botocore_session is not None and has_provider(botocore_session)


#: Variables through which the user chooses credentials; while one is theirs, it wins.
USER_CHOICE_VARIABLES = (Env.AWS_ACCESS_KEY_ID, Env.AWS_PROFILE, Env.AWS_DEFAULT_PROFILE)


class Boto3Injection(Integration):
    """Puts the session's provider first in ``boto3.DEFAULT_SESSION`` while signed in.

    ``env`` is the kernel's record of the variables nb_cognito wrote itself (env export), so
    that our own ``AWS_ACCESS_KEY_ID`` is never taken for the user's choice.
    """

    name = "boto3"

    def __init__(self, env: EnvironmentWrites | None = None) -> None:
        self.env = env if env is not None else EnvironmentWrites()
        self._session: SessionAPI | None = None
        self._installed_on: Any = None  # the botocore session our provider was put in
        self._standby = False  # the kernel's session: a standby provider from load time on
        self._standby_on: Any = None  # the botocore session the standby was put in
        self._warned: set[str] = set()
        self._lock = forksafe.Lock()

    # -- the integration ------------------------------------------------------------------------

    def attach(self, session: SessionAPI) -> None:
        self._session = session

    def session_changed(self, change: SessionChange) -> None:
        kind = change.kind
        if kind is ChangeKind.SIGNED_IN:
            self.install()
        elif kind is ChangeKind.SETTINGS_CHANGED:  # inject_boto3 changed while signed in
            if change.settings is not None and change.settings.inject_boto3 is False:
                self.uninstall()
            else:
                self.install()
        elif kind is ChangeKind.SIGNED_OUT:
            self.uninstall()
        elif kind is ChangeKind.CLOSING:
            self.uninstall()
            self._standby = False
            self.remove_standby()

    # -- what it does -------------------------------------------------------------------------------

    def install(self) -> bool:
        """Put the provider first in ``boto3.DEFAULT_SESSION`` (created if None). Idempotent.

        Returns False when injection is off, the session earns no AWS credentials, or the
        user's own environment credentials take precedence.
        """
        session = self._session
        if session is None:
            return False
        settings = session.settings
        mode = settings.inject_boto3
        if mode is False or not (settings.identity_pool_id or settings.role_arn):
            return False  # off, or the session earns no AWS credentials: leave boto3 alone
        chosen = self.env.users_choice(USER_CHOICE_VARIABLES)
        if chosen and mode != "always":
            self._warn_once(
                f"skip:{chosen}",
                f"nb_cognito did not put Cognito credentials into boto3's default session because "
                f"{chosen} is set in the environment and takes precedence. Use "
                f"nb_cognito.session.boto3_session(), or configure(inject_boto3='always') to override.",
            )
            return False
        with self._lock:
            botocore_session = default_botocore_session(create=True)
            if self._installed_on is botocore_session and has_provider(botocore_session):
                return True
            put_provider_first(botocore_session, provider(session))
            if botocore_session.get_config_variable("region") is None:
                botocore_session.set_config_variable("region", settings.region)
            self._installed_on = botocore_session
        if chosen:
            self._warn_once(
                f"shadow:{chosen}",
                f"Cognito credentials now come before {chosen} in boto3's default session.",
            )
        return True

    def standby(self) -> None:
        """From now on keep a standby provider in boto3's default session (the kernel's session).

        Idempotent; imports boto3. Re-placed by :meth:`ensure_installed` when user code
        replaces ``boto3.DEFAULT_SESSION``.
        """
        session = self._session
        if session is None:
            return
        with self._lock:
            self._standby = True
            botocore_session = default_botocore_session(create=True)
            if self._standby_on is botocore_session:
                return
            put_standby_provider(
                botocore_session,
                provider(session, name=STANDBY_NAME, answer_signed_out=self._endpoint_is_next),
            )
            self._standby_on = botocore_session

    def remove_standby(self) -> None:
        with self._lock:
            botocore_session, self._standby_on = self._standby_on, None
        if botocore_session is not None:
            remove_provider(botocore_session, STANDBY_NAME)

    def _endpoint_is_next(self) -> bool:
        """True when botocore's next stop would be our own endpoint (nothing else to fall to)."""
        return bool(os.environ.get(Env.AWS_CONTAINER_CREDENTIALS_FULL_URI)) and self.env.is_ours(
            Env.AWS_CONTAINER_CREDENTIALS_FULL_URI
        )

    def uninstall(self) -> None:
        """Remove the provider from the default session it was put in (idempotent)."""
        with self._lock:
            botocore_session, self._installed_on = self._installed_on, None
        if botocore_session is not None:
            remove_provider(botocore_session)

    def ensure_installed(self) -> None:
        """Re-install after user code replaced ``boto3.DEFAULT_SESSION`` (IPython ``pre_run_cell``).

        Cheap when nothing changed: no import, two attribute reads.
        """
        session = self._session
        if session is None or "boto3" not in sys.modules:
            return
        default = default_botocore_session()
        try:
            if self._standby and (default is None or default is not self._standby_on):
                self.standby()
            if not session.is_signed_in:
                return
            if default is not None and default is self._installed_on:
                return
            self.install()
        except Exception:  # never break the user's cell
            log.debug("nb_cognito could not re-install its boto3 provider.", exc_info=True)

    def pre_run_cell(self, *args: Any) -> None:
        """The IPython ``pre_run_cell`` hook (registered as this bound method, found by identity)."""
        self.ensure_installed()

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=4)
            log.warning(message)

    def __repr__(self) -> str:
        return f"<Boto3Injection {'installed' if self._installed_on is not None else 'not installed'}>"
