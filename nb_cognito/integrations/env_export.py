"""Cognito credentials as ``AWS_*`` environment variables (opt-in: ``export_env=True``).

For tools that read only the environment (a shell ``!aws ...`` cell, R, a Spark launcher):
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` and
``AWS_CREDENTIAL_EXPIRATION`` are written when the session gets credentials (at sign-in) and
rewritten on every ``CREDENTIALS_REFRESH``; they are removed on sign-out.

These are static copies: a child process started before a refresh keeps the old ones until
they expire. Prefer ``subprocess_credentials=True`` for long-running children.

Credentials the user chose are never overridden: if ``AWS_ACCESS_KEY_ID`` (or the secret or
token), ``AWS_PROFILE`` or ``AWS_DEFAULT_PROFILE`` already holds a value nb_cognito did not
write, nothing is exported and a warning is shown once (exported keys would beat the profile).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings

from nb_cognito import forksafe
from nb_cognito.auth.integration import ChangeKind, Integration, SessionChange
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.integrations.process_env import EnvironmentWrites
from nb_cognito.models import AWSCredentials

__all__ = ["NAMES", "EnvExport"]

NAMES = (
    Env.AWS_ACCESS_KEY_ID,
    Env.AWS_SECRET_ACCESS_KEY,
    Env.AWS_SESSION_TOKEN,
    Env.AWS_CREDENTIAL_EXPIRATION,
)
# A user value in any of these means the user chose credentials. A profile counts: exported
# keys would take precedence over it in boto3 and every child, against the user's choice.
_USER_NAMES = (*NAMES[:3], Env.AWS_PROFILE, Env.AWS_DEFAULT_PROFILE)

log = logging.getLogger("nb_cognito")


def _values(creds: AWSCredentials) -> dict[str, str]:
    return {
        Env.AWS_ACCESS_KEY_ID: creds.access_key_id,
        Env.AWS_SECRET_ACCESS_KEY: creds.secret_access_key,
        Env.AWS_SESSION_TOKEN: creds.session_token,
        Env.AWS_CREDENTIAL_EXPIRATION: creds.expiration.astimezone(dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }


class EnvExport(Integration):
    """Writes the credentials into ``os.environ`` at sign-in and every refresh (``export_env``)."""

    name = "env export"

    def __init__(self, env: EnvironmentWrites | None = None) -> None:
        self.env = env if env is not None else EnvironmentWrites()
        self._lock = forksafe.Lock()
        self._warned = False

    # -- the integration ------------------------------------------------------------------------

    def session_changed(self, change: SessionChange) -> None:
        kind = change.kind
        if kind in (ChangeKind.SIGNED_IN, ChangeKind.CREDENTIALS_CHANGED):
            self._sync(change)
        elif kind is ChangeKind.SETTINGS_CHANGED:  # export_env turned on or off
            if change.settings is not None and change.settings.export_env:
                self._sync(change)
            else:
                self.clear()
        elif kind in (ChangeKind.SIGNED_OUT, ChangeKind.CLOSING):
            self.clear()

    def _sync(self, change: SessionChange) -> None:
        if change.settings is not None and change.settings.export_env and change.credentials is not None:
            self.export(change.credentials)

    # -- what it does -------------------------------------------------------------------------------

    def export(self, creds: AWSCredentials) -> bool:
        """Write ``creds`` into ``os.environ``; False (and a warning, once) if the user's own are there."""
        with self._lock:
            chosen = self.env.users_choice(_USER_NAMES)
            if chosen is not None:
                self.env.remove(NAMES)  # never leave a half-ours, half-theirs set behind
                if not self._warned:
                    self._warned = True
                    message = (
                        f"nb_cognito did not export Cognito credentials to the environment because "
                        f"{chosen} was already set there; unset it to use export_env."
                    )
                    warnings.warn(message, UserWarning, stacklevel=2)
                    log.warning(message)
                return False
            self.env.write(_values(creds))
            return True

    def clear(self) -> None:
        """Remove the variables nb_cognito wrote (those the user changed since are left alone)."""
        with self._lock:
            self.env.remove(NAMES)

    @property
    def exported(self) -> bool:
        """True while this integration's credentials are in the environment."""
        return any(self.env.is_ours(name) for name in NAMES)

    def __repr__(self) -> str:
        return f"<EnvExport {'exported' if self.exported else 'not exported'}>"
