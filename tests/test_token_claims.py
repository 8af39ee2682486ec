"""``TokenVerifier`` refuses time claims that are not plausible numbers (issue 15, item 10).

``exp``, ``iat`` and ``auth_time`` of NaN, Infinity, ``1e300`` or a bool were accepted (NaN
compares false with everything, ``True`` is an ``int``), and a server issuing NaN made
``sign_in`` fail later with a bare ``ValueError``. Each is now a
:class:`~nb_cognito.exceptions.TokenValidationError` at verification. The tokens are signed
with the emulator's own private key and verified against its JWKS over HTTP.
"""

from __future__ import annotations

import json

import pytest
from test_reliability_hostile import _emulator_private_key, claims_for, sign

from nb_cognito import exceptions as errors
from nb_cognito.auth.tokens import TokenVerifier
from nb_cognito.settings.config import Settings

BAD_TIMES = {
    "nan": float("nan"),
    "infinity": float("inf"),
    "-infinity": float("-inf"),
    "1e300": 1e300,
    "true": True,
    "false": False,
    "negative": -5.0,
}


@pytest.fixture(scope="module")
def key():
    return _emulator_private_key()


@pytest.fixture
def verifier(local):
    return TokenVerifier.for_settings(Settings(**local.settings.as_config()))


def signed(claims, key) -> str:
    # PyJWT writes NaN/Infinity as json.dumps does (bare NaN, Infinity): what a broken server sends.
    return sign(claims, key)


@pytest.mark.parametrize("claim", ["exp", "iat", "auth_time"])
@pytest.mark.parametrize("bad", list(BAD_TIMES))
@pytest.mark.parametrize("use", ["id", "access"])
def test_implausible_time_claims_are_a_typed_error(local, verifier, key, claim, bad, use):
    token = signed(claims_for(local, use, **{claim: BAD_TIMES[bad]}), key)
    assert json.dumps(BAD_TIMES[bad]) in _payload_text(token) or bad in ("true", "false")

    for now in (None, local.clock.time()):
        with pytest.raises(errors.TokenValidationError, match=claim):
            verifier.verify(token, token_use=use, now=now)


def test_plausible_claims_still_verify(local, verifier, key):
    """The control: integers and floats within range, and no auth_time at all, are fine."""
    now = local.clock.time()
    for changes in ({}, {"exp": now + 3600.5, "iat": now + 0.25}, {"auth_time": None}):
        claims = verifier.verify(signed(claims_for(local, "id", **changes), key), token_use="id", now=now)
        assert claims["cognito:username"] == "alice"


def _payload_text(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
