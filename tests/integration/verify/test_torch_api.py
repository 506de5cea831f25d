"""The GPU-only code, held against the real torch API where no GPU exists.

The CUDA and NCCL branches of verify and preflight run only on GPU machines, so a misspelt
``torch.cuda.*`` name or a keyword argument torch does not take would first show there. These
tests read the code that imports torch (the verify child, the preflight rank process, the torch
probe's child script) and resolve every ``torch...`` name it uses against the installed torch,
then bind the keyword arguments of every call to a Python-level torch function against that
function's real signature. torch's CPU build carries the whole ``torch.cuda`` and
``torch.distributed`` Python API, so this runs in CI's torch job.
"""

from __future__ import annotations

from helpers import paths
import ast
import importlib
import importlib.util
import inspect
import warnings
from typing import Dict, Iterator, List, Optional, Tuple

import pytest


ROOT = paths.ROOT
HAS_TORCH = importlib.util.find_spec("torch") is not None
pytestmark = [pytest.mark.torch, pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")]



@pytest.fixture(scope="module", autouse=True)
def _torch():
    """torch imported once, its import-time warnings ignored (without numpy installed it warns,
    and the suite's filterwarnings=error would leave torch half-imported)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch
    return torch


SOURCES = {
    "envcheck/children/checks.py": None,
    "envcheck/children/verify_device.py": None,
    "envcheck/children/verify_multi.py": None,
    "envcheck/children/timing.py": None,
    "envcheck/children/torch_runtime.py": None,
    "envcheck/preflight/dist.py": None,
}
# Local names that stand for a torch module in that code.
ALIASES = {"torch": "torch", "dist": "torch.distributed", "nn": "torch.nn", "F": "torch.nn.functional"}


def _guarded(tree: ast.AST, names: Dict[str, str]) -> set:
    """Names the code tests with ``hasattr(obj, "name")`` before it uses them: they may be absent
    from some builds (``torch._C._cuda_getArchFlags`` is not in the CPU build)."""
    out = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr"
                and len(node.args) == 2 and isinstance(node.args[1], ast.Constant)):
            base = _dotted(node.args[0], names)
            if base:
                out.add("{}.{}".format(base, node.args[1].value))
    return out


def _prepared(label: str):
    """(the code's syntax tree, its torch aliases, the names it guards with hasattr)."""
    tree = _tree(label)
    names = _aliases(tree)
    return tree, names, _guarded(tree, names)


def _tree(label: str) -> ast.AST:
    text = SOURCES[label]
    if text is None:
        text = (ROOT / label).read_text(encoding="utf-8")
    return ast.parse(text)


def _aliases(tree: ast.AST) -> Dict[str, str]:
    names = dict(ALIASES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            for a in node.names:
                names[a.asname or a.name] = "{}.{}".format(node.module, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "torch" and a.asname:
                    names[a.asname] = a.name
    return names


def _dotted(node: ast.AST, names: Dict[str, str]) -> Optional[str]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in names:
        return ".".join([names[node.id]] + parts[::-1])
    return None


def _chains(tree: ast.AST, names: Dict[str, str]) -> Iterator[Tuple[str, int]]:
    """Every outermost ``torch.a.b.c`` chain, with its line."""
    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            dotted = _dotted(node, names)
            if dotted:
                yield dotted, node.lineno
    for alias, target in names.items():
        if alias not in ALIASES and "." in target:
            yield target, 0  # from torch.x import y


def _resolve(dotted: str):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))  # a submodule not yet imported
    return obj


@pytest.mark.parametrize("label", sorted(SOURCES))
def test_every_torch_name_the_gpu_code_uses_exists(label):
    tree, names, guarded = _prepared(label)
    seen, missing = set(), []
    for dotted, line in _chains(tree, names):
        if dotted in seen or dotted in guarded:
            continue
        seen.add(dotted)
        try:
            _resolve(dotted)
        except (AttributeError, ImportError) as exc:
            missing.append("line {}: {} ({})".format(line, dotted, exc))
    assert len(seen) >= 5, "too few torch names found in {}: the alias table is out of date".format(label)
    assert not missing, "\n".join(missing)


def _python_signature(obj) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):  # a C++ binding without a Python signature
        return None


@pytest.mark.parametrize("label", sorted(SOURCES))
def test_every_call_into_torch_passes_arguments_torch_accepts(label):
    tree, names, guarded = _prepared(label)
    checked, wrong = 0, []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func, names) if isinstance(node.func, ast.Attribute) else (
            names.get(node.func.id) if isinstance(node.func, ast.Name) and node.func.id not in ALIASES else None)
        if not dotted or dotted in guarded:
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue
        obj = _resolve(dotted)
        sig = _python_signature(obj)
        if sig is None:
            continue
        args = [None] * len(node.args)
        try:
            sig.bind_partial(*args, **{k.arg: None for k in node.keywords})
        except TypeError as exc:
            wrong.append("line {}: {}({}) : {}".format(
                node.lineno, dotted, ", ".join(k.arg for k in node.keywords), exc))
        checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked >= 1, "no call into torch checked in {}".format(label)


def test_the_math_mode_switches_exist_and_are_restored():
    """math_mode sets torch's TF32 / reduced-precision switches by name inside a try: a misspelt
    name would be skipped silently, so set them and read them back."""
    import torch

    from envcheck.children import checks as _child

    mm, cd = torch.backends.cuda.matmul, torch.backends.cudnn
    switches = [(mm, "allow_tf32"), (cd, "allow_tf32"), (mm, "allow_fp16_reduced_precision_reduction"),
                (mm, "allow_bf16_reduced_precision_reduction")]
    before = [getattr(o, n) for o, n in switches]
    for tf32, reduced in ((True, True), (False, False)):
        with _child.math_mode(torch, tf32=tf32, reduced=reduced):
            assert [getattr(o, n) for o, n in switches] == [tf32, tf32, reduced, reduced]
        assert [getattr(o, n) for o, n in switches] == before
