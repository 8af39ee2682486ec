"""The layout keeps its promises (CONTRIBUTING.md): arrows one way, small modules, no module
reading another's private names. Read from the source, so that a change that breaks one fails."""

from __future__ import annotations

import ast
import pathlib

import nb_cognito

PACKAGE = pathlib.Path(nb_cognito.__file__).parent
MAX_LINES = 400
MAX_METHODS = 25  # per class, its bases from this package included


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


def test_no_module_is_over_400_lines():
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


# Private attributes of other libraries that nb_cognito knowingly depends on, each only in the
# one module that wraps it (and checked where it matters: tests/test_botocore_contract.py).
# nb_cognito's own private attributes are never read across modules.
THIRD_PARTY_PRIVATE = {
    # botocore/boto3: a session's cached credentials, boto3's botocore session.
    "nb_cognito.auth.botocore_adapter": {"_credentials", "_session"},
    "nb_cognito.notebook.magic_line": {"_actions"},  # argparse has no public list of its actions
    # IPython's documented hook for subclasses, which ipykernel overrides to send the error
    "nb_cognito.notebook.short_errors": {"_showtraceback"},
    "nb_cognito.dask.integration": {"_register_worker_plugin"},  # distributed, as registered today
    # moto, whose Cognito backend the emulator patches.
    "nb_cognito.local": {"_get_user", "_get_param", "_validate_password"},
}


def _defined_here(tree: ast.AST) -> set[str]:
    """Every name a module defines: functions, classes, variables, attributes of self/cls."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return names


def private_uses(tree: ast.AST) -> list[ast.Attribute]:
    """``x._name`` where ``x`` is not ``self``, ``cls`` or ``super()``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue
        found.append(node)
    return found


def test_no_module_reads_another_modules_private_attributes():
    """``session.describe().state`` outside the module that defines ``_state`` is a private read: the
    module that owns an attribute offers a function or a view instead (``describe()``)."""
    offenders = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        allowed = _defined_here(tree)
        for prefix, names in THIRD_PARTY_PRIVATE.items():
            if name == prefix or name.startswith(prefix + "."):
                allowed |= names
        offenders += [
            f"{name}:{node.lineno}: {ast.unparse(node)}"
            for node in private_uses(tree)
            if node.attr not in allowed
        ]
    assert offenders == []


SESSION_INTERNALS = {
    "_state",
    "_refresher",
    "_flight",
    "_pending",
    "_snapshot",
    "_lock",
    "_retry_at",
    "_box",
    "_engine",
    "_settings",
    "_sign_in",
    "_devices",
    "_fetch",
    "_events",
    "_listeners",
}


# The fork test starts and stops the inherited refresher in the child: it drives it, reads nothing.
DRIVEN = {
    ("test_reliability_kernel_life.py", "session._engine"),
    ("helpers.py", "session._engine"),  # CountingRefresh wraps the engine's one refresh, to count overlaps
}


def test_tests_read_no_private_session_state():
    """Tests read the session through ``describe()`` (a frozen view), never its internals."""
    offenders = []
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        for node in private_uses(ast.parse(path.read_text())):
            if node.attr in SESSION_INTERNALS and (path.name, ast.unparse(node)) not in DRIVEN:
                offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


def test_no_class_has_more_than_25_methods_mixins_included():
    """Every ``def`` of a class and of its bases defined in this package (mixins included)."""
    classes: dict[str, ast.ClassDef] = {}
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)

    def methods(node: ast.ClassDef, seen: set[str]) -> int:
        own = sum(isinstance(x, ast.FunctionDef | ast.AsyncFunctionDef) for x in node.body)
        for base in node.bases:
            name = base.id if isinstance(base, ast.Name) else None
            if name in classes and name not in seen:
                seen.add(name)
                own += methods(classes[name], seen)
        return own

    too_many = {name: n for name, node in classes.items() if (n := methods(node, {name})) > MAX_METHODS}
    assert too_many == {}
