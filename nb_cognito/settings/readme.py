"""The configuration table of ``docs/settings.md``, rendered from the settings table.

That table is where a user reads about a setting, so it must not drift from the code:
a test compares the table in ``docs/settings.md`` with :func:`render_table`, and
``python -m nb_cognito.settings --write-readme docs/settings.md`` rewrites it after a row changes.
"""

from __future__ import annotations

from nb_cognito.settings.table import AMPLIFY_FILE_SETTING, SETTINGS, Setting

__all__ = ["HEADER", "render_table", "replace_table", "table_in"]

#: The table's first line, by which it is found in the file.
HEADER = (
    "| setting | IPython config | environment | Amplify Gen 2 (`amplify_outputs.json`) "
    "| Amplify Gen 1 (`amplifyconfiguration.json` ¹ / `aws-exports`) | default |"
)
_NONE = "—"


def _default(setting: Setting) -> str:
    if setting.doc_default is not None:
        return setting.doc_default
    if setting.required:
        return "— (required)"
    if setting.default is None:
        return "none"
    if isinstance(setting.default, str):
        return f"`{setting.default}`"
    return f"`{setting.default!r}`"


def _gen2(setting: Setting) -> str:
    if setting.name == AMPLIFY_FILE_SETTING:
        return "(names the file)"
    return f"`auth.{setting.amplify_gen2}`" if setting.amplify_gen2 else _NONE


def _gen1(setting: Setting) -> str:
    if setting.name == AMPLIFY_FILE_SETTING:
        return "(names the file)"
    if not (setting.amplify_gen1 or setting.aws_exports):
        return _NONE
    gen1 = f"`…{setting.amplify_gen1}`" if setting.amplify_gen1 else _NONE
    exports = f"`{setting.aws_exports}`" if setting.aws_exports else _NONE
    return f"{gen1} / {exports}{setting.doc_note}"


def _row(setting: Setting) -> str:
    cells = (
        setting.name,
        f"`c.CognitoConfig.{setting.name}`",
        f"`{setting.env}`",
        _gen2(setting),
        _gen1(setting),
        _default(setting),
    )
    return "| " + " | ".join(cells) + " |"


def render_table() -> str:
    """The Markdown table: one row per setting, without a final newline."""
    return "\n".join([HEADER, "|---|---|---|---|---|---|", *(_row(setting) for setting in SETTINGS)])


def _bounds(lines: list[str]) -> tuple[int, int]:
    start = lines.index(HEADER)  # ValueError: the file has no configuration table
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def table_in(readme: str) -> str:
    """The configuration table as it stands in ``readme``."""
    lines = readme.split("\n")
    start, end = _bounds(lines)
    return "\n".join(lines[start:end])


def replace_table(readme: str) -> str:
    """``readme`` with its configuration table replaced by :func:`render_table`."""
    lines = readme.split("\n")
    start, end = _bounds(lines)
    return "\n".join([*lines[:start], render_table(), *lines[end:]])
