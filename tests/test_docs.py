"""The README is a short front door, and the documents it links to stay true.

Every relative link in ``README.md`` and ``docs/*.md`` leads to a file that exists (and, with an
anchor, to a heading it has); every test a document cites as ``tests/<file>.py::<name>`` exists;
and every document in ``docs/`` is reachable from the README.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CITED = re.compile(r"(tests/[\w/]+\.py)(?:::([A-Za-z_]\w*))?")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {
        _anchor(line.lstrip("#"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 350, f"README.md has {len(lines)} lines: move details into docs/ and link them"


def test_every_relative_link_leads_somewhere():
    broken = []
    for doc in DOCUMENTS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path_part, _, anchor = target.partition("#")
            path = (doc.parent / path_part).resolve()
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.relative_to(ROOT)} -> {target} (no such heading)")
    assert not broken, broken


def test_every_cited_test_exists():
    missing = []
    for doc in DOCUMENTS:
        for file, name in CITED.findall(doc.read_text(encoding="utf-8")):
            path = ROOT / file
            if not path.is_file():
                missing.append(f"{doc.relative_to(ROOT)}: {file}")
            elif name and name not in _test_names(path):
                missing.append(f"{doc.relative_to(ROOT)}: {file}::{name}")
    assert not missing, missing


def test_every_document_is_reachable_from_the_readme():
    seen: set[Path] = set()
    todo = [ROOT / "README.md"]
    while todo:
        doc = todo.pop()
        if doc in seen:
            continue
        seen.add(doc)
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            path = (doc.parent / target.partition("#")[0]).resolve()
            if path.suffix == ".md" and path.is_file():
                todo.append(path)
    unreachable = [doc.name for doc in DOCUMENTS if doc not in seen]
    assert not unreachable, f"not linked from the README (or a page it links): {unreachable}"
