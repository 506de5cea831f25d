"""The import contract between envcheck's layers, read from the source (AST), not by importing.

* ``envcheck.facts.model`` imports nothing from envcheck and nothing that does I/O: it is the model
  every other layer reads.
* ``envcheck.facts`` (the model, its codec and the derived machine) never imports a probe, a rule,
  the installer, verify or preflight: probes import the model, never the reverse.
"""

from __future__ import annotations

from helpers import paths
import ast
import functools
from pathlib import Path

import pytest

PKG = paths.ROOT / "envcheck"


@functools.lru_cache(maxsize=None)
def tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module if node.level == 0 else "." * node.level + node.module)
    return found


def test_the_model_imports_nothing_from_envcheck_and_no_io_module():
    found = imports(PKG / "facts" / "model.py")
    assert found, "the AST walk found no import at all: the test would pass vacuously"
    bad = [m for m in found if m.startswith((".", "envcheck")) or m.split(".")[0] in (
        "subprocess", "socket", "urllib", "shutil", "glob", "pathlib", "json", "io")]
    assert bad == []


@pytest.mark.parametrize("path", sorted((PKG / "facts").glob("*.py")), ids=lambda p: p.name)
def test_the_facts_package_never_imports_a_consumer(path):
    allowed = ("envcheck.facts", "envcheck.errors", "envcheck.matrix.variants")
    bad = [m for m in imports(path) if m.startswith("envcheck") and not m.startswith(allowed)]
    assert bad == [], f"{path.name} imports {bad}"


# A parser's intermediate result (one ``nvcc --version``), folded into the model's Toolkit.
NOT_FACTS = {"NvccVersion"}


def test_probes_take_their_types_from_the_model():
    """No probe defines an observed-state dataclass of its own."""
    for path in sorted((PKG / "probes").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
                   and any("dataclass" in ast.unparse(d) for d in n.decorator_list)
                   and n.name not in NOT_FACTS]
        assert classes == [], f"{path.name} defines {classes}; they belong in envcheck/facts/model.py"


# What runs inside the target interpreter: the standard library and torch only, plus the other
# children and envcheck.faults (stdlib only, imported only while ENVCHECK_FAULT is set).
CHILDREN = sorted((PKG / "children").glob("*.py"))
CHILD_MAY_IMPORT = ("envcheck.children", "envcheck.faults", "torch", "torchvision", "fcntl")


@pytest.mark.parametrize("path", CHILDREN, ids=lambda p: p.name)
def test_children_import_only_the_standard_library_torch_and_each_other(path):
    import sys

    stdlib = set(sys.stdlib_module_names)
    found = imports(path)
    assert found or path.name == "__init__.py", "the AST walk found no import: the test would pass vacuously"
    bad = [m for m in found if not m.startswith(CHILD_MAY_IMPORT) and m.split(".")[0] not in stdlib]
    assert bad == [], f"{path.name} imports {bad}"


def test_children_parse_on_the_oldest_python_a_target_may_have():
    """A target interpreter can be older than envcheck's own (3.8 for ``envcheck fix``)."""
    for path in CHILDREN + [PKG / "faults.py", PKG / "__init__.py"]:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 8))


def test_no_python_program_is_passed_as_a_string():
    """Every child is a module started through proc.run_child: nothing runs ``python -c``."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if '"-c"' not in text and "'-c'" not in text:
            continue  # no such constant at all: nothing to walk
        for node in ast.walk(tree(path)):
            # [python, "-c", source]: an interpreter and a program in a string (conda's own
            # channel flag, ["conda", "install", "-c", ...] or [..., "-c", channel], is not one)
            if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) >= 3:
                second = node.elts[1]
                if isinstance(second, ast.Constant) and second.value == "-c" and not isinstance(node.elts[0], ast.Constant):
                    offenders.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert offenders == []


def _graph(package: str) -> dict:
    """module -> the modules of ``package`` it imports (function-level imports included)."""
    out = {}
    for path in sorted((PKG / package).glob("*.py")):
        name = f"envcheck.{package}.{path.stem}" if path.stem != "__init__" else f"envcheck.{package}"
        deps = set()
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                deps.add(base)
                deps.update(f"{base}.{a.name}" for a in node.names)  # `from envcheck.verify import perf`
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        out[name] = {d for d in deps if d.startswith(f"envcheck.{package}.") and d != name}
    return out


def _cycle(graph: dict):
    state: dict = {}

    def visit(node, trail):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return trail + [node, dep]
            if dep not in state:
                found = visit(dep, trail + [node])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


@pytest.mark.parametrize("package", ["verify", "children", "probes"])
def test_no_import_cycle(package):
    graph = _graph(package)
    assert len(graph) > 3 and any(graph.values()), "nothing read: the test would pass vacuously"
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_verify_plan_report_and_perf_start_nothing_and_import_no_other_part():
    graph = _graph("verify")
    for part in ("plan", "report", "perf"):
        deps = graph[f"envcheck.verify.{part}"]
        assert not deps & {"envcheck.verify.run", "envcheck.verify.plan", "envcheck.verify.report",
                           "envcheck.verify.perf"}, (part, deps)
        assert "envcheck.proc" not in imports(PKG / "verify" / f"{part}.py")
