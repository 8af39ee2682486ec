r"""STS: AssumeRoleWithWebIdentity with its expiry on the emulator clock and its session name checked.

moto took the credentials' ``Expiration`` from the wall clock, so tests with a ManualClock saw
credentials that never aged, and took any ``RoleSessionName``; STS refuses one outside
``[\w+=,.@-]`` or 2 to 64 characters (``ValidationError``). The web identity token is still not
verified.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from moto.sts.exceptions import STSValidationError

from ..state import current
from .common import original

__all__ = ["assume_role_with_web_identity"]


_ROLE_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def assume_role_with_web_identity(self: Any, **kwargs: Any) -> Any:
    r"""``STSBackend.assume_role_with_web_identity``, with the expiry on the emulator clock.

    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    (RoleSessionName: 2 to 64 characters of ``[\w+=,.@-]*``).
    """
    name = str(kwargs.get("role_session_name") or "")
    if not _ROLE_SESSION_NAME.fullmatch(name):
        raise STSValidationError(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )
    role = original("STSBackend.assume_role_with_web_identity")(self, **kwargs)
    state = current()
    expires = state.now() + int(kwargs.get("duration") or 3600)
    role.expiration = dt.datetime.fromtimestamp(expires, tz=dt.timezone.utc).replace(tzinfo=None)
    state.emit(
        "credentials_issued",
        credentials=(role.access_key_id, role.secret_access_key, role.session_token),
        expires=expires,
    )
    return role
