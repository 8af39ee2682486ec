"""STS: AssumeRoleWithWebIdentity with its expiry on the emulator clock.

moto took the credentials' ``Expiration`` from the wall clock, so tests with a ManualClock saw
credentials that never aged. The web identity token is still not verified.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..state import current
from .common import original

__all__ = ["assume_role_with_web_identity"]


def assume_role_with_web_identity(self: Any, **kwargs: Any) -> Any:
    """``STSBackend.assume_role_with_web_identity``, with the expiry on the emulator clock."""
    role = original("STSBackend.assume_role_with_web_identity")(self, **kwargs)
    expires = current().now() + int(kwargs.get("duration") or 3600)
    role.expiration = dt.datetime.fromtimestamp(expires, tz=dt.timezone.utc).replace(tzinfo=None)
    return role
