"""The server's half of an SRP challenge, as the sign-in steps and device SRP both send it.

Apart from :mod:`.steps` and :mod:`.devices`, which both start one, so that neither imports the
other for it.
"""

from __future__ import annotations

from moto.cognitoidp import models as idp

from .. import srp

__all__ = ["srp_parameters", "srp_started"]


def srp_started(started: srp.SrpChallenge | None) -> srp.SrpChallenge:
    """``started``, the server's half of an SRP exchange; None (the client's A was not a
    valid value) is refused as Cognito refuses it."""
    if started is None:
        raise idp.InvalidParameterException("SRP_A is not a valid value")
    return started


def srp_parameters(started: srp.SrpChallenge, username: str, **extra: str) -> dict[str, str]:
    """A PASSWORD_VERIFIER / DEVICE_PASSWORD_VERIFIER challenge's parameters for ``started``."""
    return {
        "SALT": started.salt_hex,
        "SRP_B": started.srp_b_hex,
        "SECRET_BLOCK": started.secret_block_b64,
        "USERNAME": username,
        **extra,
    }
