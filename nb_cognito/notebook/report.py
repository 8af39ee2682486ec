"""What ``%cognito_session`` returns: a secret-free report, a table in Jupyter, text in a terminal."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.models import SessionStatus
    from nb_cognito.settings.config import Settings

__all__ = ["SessionReport", "no_credentials_reason"]


def no_credentials_reason(settings: Settings) -> str | None:
    """Why a signed-in user gets no AWS credentials at all, naming the settings; None if they can.

    Without an identity pool (or a role ARN) the sign-in works but boto3 has nothing to sign
    with, and raises ``NoCredentialsError``: say so where the user looks first.
    """
    if settings.identity_pool_id or settings.role_arn:
        return None
    return (
        "no identity pool is configured (identity_pool_id is not set in any source: configure(), "
        "IPython config, NB_COGNITO_IDENTITY_POOL_ID or the Amplify file; nor is role_arn), so boto3 "
        "has nothing to sign with. Set identity_pool_id, e.g. "
        "nb_cognito.configure(identity_pool_id=...) or %cognito_login --identity-pool-id ID."
    )


class SessionReport:
    """A secret-free view of the session at one moment: a table in Jupyter, text in a terminal."""

    def __init__(
        self,
        status: SessionStatus,
        *,
        boto3: bool,
        remembered: str | None = None,
        device: str | None = None,
        now: dt.datetime | None = None,
        no_credentials: str | None = None,
    ) -> None:
        self.status = status
        self.boto3 = boto3
        self.remembered = remembered
        self.device = device  # the tracked device's state, never its password
        self.no_credentials = no_credentials
        self.now = now or dt.datetime.now(dt.timezone.utc)

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) pairs, relative times measured from ``now``."""
        rows = [*self.status.rows(self.now), ("boto3 injection", "on" if self.boto3 else "off")]
        if self.no_credentials and self.status.signed_in:
            instead = {
                "AWS credentials expire": ("AWS credentials", f"none: {self.no_credentials}"),
                "boto3 injection": ("boto3 injection", "off (no AWS credentials)"),
            }
            rows = [instead.get(label, (label, text)) for label, text in rows]
        if self.remembered:
            rows.append(("remembered", self.remembered))
        if self.device:
            rows.append(("device", self.device))
        return rows

    def __str__(self) -> str:
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label:<{width}}  {text}" for label, text in rows)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from nb_cognito.models import html_table

        return html_table(self.rows(), "nb-cognito-session", caption="AWS Cognito session")
