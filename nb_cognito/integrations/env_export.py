"""Cognito credentials as ``AWS_*`` environment variables (opt-in: ``export_env=True``).

For tools that read only the environment (a shell ``!aws ...`` cell, R, a Spark launcher):
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` and
``AWS_CREDENTIAL_EXPIRATION`` are written when the session gets credentials (at sign-in) and
rewritten on every ``CREDENTIALS_REFRESH``; they are removed on sign-out.

These are static copies: a child process started before a refresh keeps the old ones until
they expire. Prefer ``subprocess_credentials=True`` for long-running children.

Credentials the user set before are never overwritten: if ``AWS_ACCESS_KEY_ID`` (or the secret
or token) already holds a value nb_cognito did not write, nothing is exported and a warning is
shown once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import warnings
from typing import TYPE_CHECKING, Any

from nb_cognito.integrations import boto3_injection
from nb_cognito.models import AuthEvent, AWSCredentials

if TYPE_CHECKING:
    from nb_cognito.auth.session import CognitoSession

__all__ = ["NAMES", "attach", "clear", "export", "exported"]

NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION")
_USER_NAMES = NAMES[:3]  # a user value in any of these means the user chose credentials

log = logging.getLogger("nb_cognito")

_lock = threading.Lock()
_written: dict[str, str] = {}  # what we put in os.environ, to remove exactly that
_warned = False


def _values(creds: AWSCredentials) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
        "AWS_CREDENTIAL_EXPIRATION": creds.expiration.astimezone(dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }


def _user_owned() -> str | None:
    for name in _USER_NAMES:
        value = os.environ.get(name)
        if value and _written.get(name) != value:
            return name
    return None


def export(creds: AWSCredentials) -> bool:
    """Write ``creds`` into ``os.environ``; False (and a warning, once) if the user's own are there."""
    global _warned
    with _lock:
        chosen = _user_owned()
        if chosen is not None:
            _remove_locked()  # never leave a half-ours, half-theirs set behind
            if not _warned:
                _warned = True
                message = (
                    f"nb_cognito did not export Cognito credentials to the environment because "
                    f"{chosen} was already set there; unset it to use export_env."
                )
                warnings.warn(message, UserWarning, stacklevel=2)
                log.warning(message)
            return False
        values = _values(creds)
        boto3_injection.note_exported(values)  # before they become visible
        os.environ.update(values)
        _written.clear()
        _written.update(values)
        return True


def _remove_locked() -> None:
    for name, value in _written.items():
        if os.environ.get(name) == value:
            del os.environ[name]
    boto3_injection.note_exported(dict.fromkeys(_written))
    _written.clear()


def clear() -> None:
    """Remove the variables nb_cognito wrote (those the user changed since are left alone)."""
    with _lock:
        _remove_locked()


def exported() -> bool:
    """True while nb_cognito's credentials are in the environment."""
    return bool(_written)


def _current(session: CognitoSession) -> AWSCredentials | None:
    # Read the state directly, not fetch_auth_session(): CREDENTIALS_REFRESH listeners run
    # inside the refresh, where asking the session to refresh again could wait on itself.
    return getattr(session._state, "credentials", None)


def attach(session: CognitoSession) -> None:
    """Export on sign-in and every credentials refresh when ``settings.export_env`` is on."""

    def sync(_: Any) -> None:
        try:
            if not session.settings.export_env:
                return
            creds = _current(session)
            if creds is not None:
                export(creds)
        except Exception:
            log.exception("Could not export Cognito credentials to the environment.")

    def apply_settings() -> None:  # export_env turned on or off while signed in
        if session.settings.export_env:
            sync(None)
        else:
            clear()

    session.on(AuthEvent.SIGNED_IN, sync)
    session.on(AuthEvent.CREDENTIALS_REFRESH, sync)
    session.on(AuthEvent.SIGNED_OUT, lambda _: clear())
    session._add_settings_listener(apply_settings)
