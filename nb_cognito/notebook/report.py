"""What ``%cognito_session`` returns: a secret-free report, a table in Jupyter, text in a terminal."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.models import SessionStatus

__all__ = ["SessionReport"]


class SessionReport:
    """A secret-free view of the session at one moment: a table in Jupyter, text in a terminal."""

    def __init__(
        self,
        status: SessionStatus,
        *,
        boto3: bool,
        remembered: str | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.status = status
        self.boto3 = boto3
        self.remembered = remembered
        self.now = now or dt.datetime.now(dt.timezone.utc)

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) pairs, relative times measured from ``now``."""
        rows = [*self.status.rows(self.now), ("boto3 injection", "on" if self.boto3 else "off")]
        if self.remembered:
            rows.append(("remembered", self.remembered))
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
