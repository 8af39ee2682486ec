"""Cognito credentials in boto3's default session.

After sign-in, a credential provider named ``custom-nb-cognito`` goes first in the chain of
``boto3.DEFAULT_SESSION``, so ``boto3.client("s3")`` in any later cell signs with the
session's credentials, which refresh themselves (:mod:`nb_cognito.auth.botocore_adapter`).

Precedence: static credentials the user put in the environment (``AWS_ACCESS_KEY_ID``) or
a chosen profile (``AWS_PROFILE``) are never overridden silently: with ``inject_boto3=True``
(the default) nb_cognito leaves the default session alone and warns once; with
``inject_boto3="always"`` it goes first anyway and warns once that it shadows them. A session
with neither an identity pool nor a role ARN earns no AWS credentials and leaves boto3 alone.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.auth.botocore_adapter import (
    CANONICAL_NAME,
    default_botocore_session,
    has_provider,
    provider,
    put_provider_first,
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
        elif kind in (ChangeKind.SIGNED_OUT, ChangeKind.CLOSING):
            self.uninstall()

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
        if session is None or "boto3" not in sys.modules or not session.is_signed_in:
            return
        default = default_botocore_session()
        if default is not None and default is self._installed_on:
            return
        try:
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
