"""Named server misbehaviour: answers a real Cognito could send that a client must survive.

The :class:`~nb_cognito.local.FaultProxy` breaks the *transport* (throttling, 5xx, dropped
connections). These modes break the *content* of otherwise successful answers, which no proxy
can do without parsing and re-signing them, so the emulator itself produces them:

>>> with local.faults.mode(FaultMode.ID_TOKEN_WRONG_AUDIENCE):
...     session.sign_in("alice", password)   # the ID token names another app client

A mode lasts until the ``with`` block ends (or ``local.faults.clear()`` / ``local.reset()``;
:mod:`.fault_switch` holds the switches). Tests use these instead of patching moto or the emulator.
"""

from __future__ import annotations

import enum

__all__ = ["FaultMode"]


class FaultMode(enum.Enum):
    """One way the server misbehaves while the mode is on."""

    #: Every ID token issued carries ``aud = "someone-else"`` (not the app client).
    ID_TOKEN_WRONG_AUDIENCE = "id_token_wrong_audience"
    #: Every ID token issued carries ``iss = "https://evil.example/pool"``.
    ID_TOKEN_WRONG_ISSUER = "id_token_wrong_issuer"
    #: Every ID token issued says ``token_use = "access"``.
    ID_TOKEN_WRONG_TOKEN_USE = "id_token_wrong_token_use"
    #: Every ID token issued carries an ``exp`` that is not a time: NaN, infinity, ``1e300``, ``true``
    #: (a broken server; the JSON holds the bare ``NaN`` / ``Infinity`` Python writes).
    ID_TOKEN_EXP_NAN = "id_token_exp_nan"
    ID_TOKEN_EXP_INFINITY = "id_token_exp_infinity"
    ID_TOKEN_EXP_HUGE = "id_token_exp_huge"
    ID_TOKEN_EXP_TRUE = "id_token_exp_true"
    #: Every JWT issued (ID and access) has a signature that does not match its content.
    TOKENS_BAD_SIGNATURE = "tokens_bad_signature"
    #: Refresh answers (REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken) lack the ``IdToken``.
    REFRESH_WITHOUT_ID_TOKEN = "refresh_without_id_token"
    #: Refresh answers (REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken) lack the ``AccessToken``.
    REFRESH_WITHOUT_ACCESS_TOKEN = "refresh_without_access_token"
    #: GetCredentialsForIdentity answers without ``Credentials.SessionToken`` (partial credentials).
    CREDENTIALS_WITHOUT_SESSION_TOKEN = "credentials_without_session_token"
    #: ... without ``Credentials.SecretKey``.
    CREDENTIALS_WITHOUT_SECRET_KEY = "credentials_without_secret_key"
    #: ... with an empty ``Credentials.AccessKeyId``.
    CREDENTIALS_BLANK_ACCESS_KEY = "credentials_blank_access_key"
    #: ... without ``Credentials.Expiration``.
    CREDENTIALS_WITHOUT_EXPIRATION = "credentials_without_expiration"
    #: ... with an ``Expiration`` that is not a time (``"soon"``).
    CREDENTIALS_GARBAGE_EXPIRATION = "credentials_garbage_expiration"
    #: ... with an empty ``Credentials`` object.
    CREDENTIALS_EMPTY = "credentials_empty"
    #: ... with credentials that expired a minute ago.
    CREDENTIALS_ALREADY_EXPIRED = "credentials_already_expired"
    #: ... with credentials that expire as they are issued.
    CREDENTIALS_EXPIRING_NOW = "credentials_expiring_now"

    @classmethod
    def parse(cls, value: FaultMode | str) -> FaultMode:
        """``value`` as a mode; a string is the mode's value (``"tokens_bad_signature"``)."""
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(mode.value for mode in cls)
            raise ValueError(f"unknown fault mode {value!r}; known: {known}") from None
