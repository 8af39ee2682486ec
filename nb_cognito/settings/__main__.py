"""``python -m nb_cognito.settings --readme``: print the configuration table of docs/settings.md;
``--write-readme PATH``: rewrite the table in that file after a setting's row changed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nb_cognito.settings.readme import render_table, replace_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nb_cognito.settings", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--readme", action="store_true", help="print the table of docs/settings.md")
    group.add_argument("--write-readme", metavar="PATH", help="rewrite the configuration table in PATH")
    args = parser.parse_args(argv)
    if args.readme:
        print(render_table())
        return 0
    path = Path(args.write_readme)
    text = path.read_text(encoding="utf-8")
    path.write_text(replace_table(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
