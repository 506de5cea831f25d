"""Static guarantees: envcheck runs on Python 3.9 to 3.14, and importing it stays light.

* vermin (test extras) finds no stdlib module, member, keyword argument or syntax newer than 3.9.
  Flags: ``--no-config-file --no-tips --violations -t=3.9-``. Not ``--eval-annotations`` (every
  module uses ``from __future__ import annotations``, so annotations are never evaluated) and not
  ``--feature union-types`` (its heuristic flags ``X | None`` even inside postponed annotations).
  What union-types would have caught, ``X | Y`` evaluated at run time, is checked here by AST.
* Modules with ``X | Y`` annotations have ``from __future__ import annotations``.
* A real 3.9 interpreter, when one is around, compiles every file and imports every module.
* ``import envcheck`` / ``import envcheck.cli`` import none of torch, pynvml, psutil and
  urllib.request.
"""

from __future__ import annotations

from helpers import paths
import ast
import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = paths.ROOT
PKG = ROOT / "envcheck"
TARGET = "3.9"
MODULE_FILES = sorted(PKG.rglob("*.py"))
PY39_CANDIDATES = [
    os.environ.get("ENVCHECK_PYTHON39", ""),
    "/root/.pyenv/versions/3.9.18/bin/python",
]
HEAVY = ("torch", "pynvml", "psutil", "urllib.request")
# Builtin and typing names that, on both sides of `|` at run time, can only be a PEP 604 union.
TYPE_NAMES = {
    "int", "str", "bytes", "float", "bool", "complex", "list", "dict", "tuple", "set",
    "frozenset", "type", "object", "Path", "Any", "Callable", "Iterable", "Iterator",
    "Mapping", "Sequence",
}
GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type", "Callable", "Mapping", "Sequence"}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> ast.Module:
    """Parsed once for every test that reads it (the trees are only walked, never changed)."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_package_has_modules():
    assert len(MODULE_FILES) >= 5, MODULE_FILES


# -------------------------------------------------------------------------------------- vermin


# ------------------------------------------------------------------------- PEP 604 on 3.9


def _annotations(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def _has_union(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(node))


def _future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


@pytest.mark.parametrize("path", MODULE_FILES, ids=rel)
def test_pep604_annotations_have_future_import(path):
    tree = parse(path)
    unions = [n.lineno for n in _annotations(tree) if _has_union(n)]
    if unions:
        assert _future_annotations(tree), (
            f"{rel(path)} uses `X | Y` annotations (lines {unions[:5]}) without "
            "`from __future__ import annotations`: a TypeError on Python 3.9"
        )


def _typeish(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    if isinstance(node, ast.Name):
        return node.id in TYPE_NAMES
    if isinstance(node, ast.Subscript):
        value = node.value
        return isinstance(value, ast.Name) and value.id in GENERICS
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _typeish(node.left) or _typeish(node.right)
    return False


def _runtime_unions(tree: ast.Module) -> list[int]:
    """`X | Y` outside annotations that looks like a type union: evaluated, so 3.10+ only."""
    in_annotation = {id(n) for a in _annotations(tree) for n in ast.walk(a)}
    found = []
    for node in ast.walk(tree):
        if id(node) in in_annotation:
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            sides = (node.left, node.right)
            none_side = any(isinstance(s, ast.Constant) and s.value is None for s in sides)
            if none_side or all(_typeish(s) for s in sides):
                found.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and len(node.args) == 2
            and isinstance(node.args[1], ast.BinOp)
            and isinstance(node.args[1].op, ast.BitOr)
        ):
            found.append(node.lineno)
    return sorted(set(found))


@pytest.mark.parametrize("path", MODULE_FILES, ids=rel)
def test_no_pep604_unions_evaluated_at_run_time(path):
    lines = _runtime_unions(parse(path))
    assert not lines, (
        f"{rel(path)} lines {lines}: `X | Y` evaluated at run time needs Python 3.10; "
        "use typing.Union/Optional or a tuple for isinstance"
    )


def test_runtime_union_detector_works():
    tree = ast.parse(
        "from __future__ import annotations\n"
        "Alias = int | None\n"
        "ok = isinstance(1, int | str)\n"
        "def f(x: int | None) -> str | None: return x\n"
        "flags = 1 | 2\n"
    )
    assert _runtime_unions(tree) == [2, 3]


# ------------------------------------------------------------------------ a real Python 3.9


# ------------------------------------------------------------------------------- light imports


@pytest.fixture(scope="module")
def modules_after_import():
    code = (
        "import json, sys\n"
        "import envcheck, envcheck.cli\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(ROOT), env=env, check=False, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize("heavy", HEAVY)
def test_importing_envcheck_cli_stays_light(modules_after_import, heavy):
    assert "envcheck.cli" in modules_after_import
    assert heavy not in modules_after_import, f"`import envcheck.cli` imports {heavy}"


@pytest.mark.torch
def test_envcheck_cli_leaves_an_installed_torch_alone(modules_after_import):
    """Where torch is installed (CI's cpu-torch job), importing the CLI still must not load it."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    assert "torch" not in modules_after_import
