"""What ``settings.describe()`` returns: the settings as a table that IPython shows well.

It is a ``str`` (one line per setting, columns as wide as their longest value, so a long pool
id never pushes the source out of line), so code can search, print or log it as before; in
IPython a bare ``settings.describe()`` shows that text as it is (not one line full of ``\\n``),
and Jupyter shows an HTML table. Nothing secret is in it: the caller passes display values.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = ["SettingsDescription"]


class SettingsDescription(str):
    """One line per setting, ``name  value  source``, aligned; a table in Jupyter."""

    rows: tuple[tuple[str, str, str], ...]

    def __new__(cls, rows: Sequence[tuple[str, str, str]]) -> SettingsDescription:
        rows = tuple(rows)
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
        text = "\n".join(
            f"{name:<{widths[0]}}  {value:<{widths[1]}}  {source}".rstrip() for name, value, source in rows
        )
        self = super().__new__(cls, text)
        self.rows = rows
        return self

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        labels = ("setting", "value", "source")
        head = "".join(f"<th style='text-align:left'>{label}</th>" for label in labels)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:left;font-family:var(--jp-code-font-family,monospace)'>"
                f"{html.escape(cell)}</td>"
                for cell in row
            )
            + "</tr>"
            for row in self.rows
        )
        table = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        return f"<table class='nb-cognito-settings'>{table}</table>"
