"""The layout keeps its promises (CONTRIBUTING.md): arrows one way, small modules, no module
reading another's private names. Read from the source, so that a change that breaks one fails."""

from __future__ import annotations

import ast
import pathlib

import nb_cognito

PACKAGE = pathlib.Path(nb_cognito.__file__).parent
MAX_LINES = 500


def modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: pathlib.Path, known: dict[str, pathlib.Path]) -> set[str]:
    """Every nb_cognito module ``path`` imports, wherever the import stands (functions and
    ``TYPE_CHECKING`` blocks included), absolute or relative."""

    def module_of(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = here[:-1]  # a module's package; an __init__'s is its own folder
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # from .x import y, from .. import z
            base = ".".join(package[: len(package) - node.level + 1])
            module = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                target = module_of(f"{module}.{alias.name}")
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nb_cognito"):
            for alias in node.names:
                target = module_of(f"{node.module}.{alias.name}")
                if target:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found.update(
                filter(None, (module_of(a.name) for a in node.names if a.name.startswith("nb_cognito")))
            )
    return found


def test_no_import_cycle_even_for_type_checkers():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_module_is_over_500_lines():
    long = {
        name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("nb_cognito")
            ):
                offenders += [
                    f"{name}: {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []


def test_the_auth_core_knows_no_integration_front_end_or_kernel():
    for name, path in modules().items():
        if name.startswith("nb_cognito.auth"):
            upward = {
                m
                for m in imports(path, modules())
                if m.startswith(("nb_cognito.integrations", "nb_cognito.notebook", "nb_cognito.kernel"))
            }
            assert upward == set(), name


def test_the_settings_know_no_session():
    for name, path in modules().items():
        if name.startswith("nb_cognito.settings"):
            upward = {m for m in imports(path, modules()) if m.startswith("nb_cognito.auth")}
            assert upward == set(), name
