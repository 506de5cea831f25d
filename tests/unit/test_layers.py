"""The import contract between envcheck's layers, read from the source (AST), not by importing.

* ``envcheck.facts.model`` imports nothing from envcheck and nothing that does I/O: it is the model
  every other layer reads.
* ``envcheck.facts`` (the model, its codec and the derived machine) never imports a probe, a rule,
  the installer, verify or preflight: probes import the model, never the reverse.
"""

from __future__ import annotations

from helpers import paths
import ast
from pathlib import Path

import pytest

PKG = paths.ROOT / "envcheck"


def imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
