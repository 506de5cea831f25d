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

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from unit.test_static import MODULE_FILES, PKG, PY39_CANDIDATES, ROOT, TARGET, module_name  # shared with the unit twin

# Builtin and typing names that, on both sides of `|` at run time, can only be a PEP 604 union.


def vermin(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """vermin has no ``__main__``, so ``python -m vermin`` fails: call its entry point."""
    code = "import sys, vermin; sys.argv[0] = 'vermin'; sys.exit(vermin.main())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-config-file", "--no-tips", "--violations",
         f"-t={TARGET}-", "--processes=1", *args],
        cwd=str(cwd), check=False, capture_output=True, text=True, timeout=300,
    )


def python39() -> str | None:
    if sys.version_info[:2] == (3, 9):
        return sys.executable
    for candidate in PY39_CANDIDATES:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("python3.9")


@pytest.fixture(scope="module")
def vermin_available():
    try:
        import vermin  # noqa: F401
    except ImportError:
        pytest.fail("vermin is in the test extras and this check must run: pip install '.[test]'")

@pytest.fixture(scope="module")
def py39():
    exe = python39()
    if exe is None:
        pytest.skip("no Python 3.9 interpreter here (set ENVCHECK_PYTHON39); vermin still ran")
    return exe


def test_vermin_finds_nothing_newer_than_3_9(vermin_available):
    proc = vermin(str(PKG))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"envcheck needs more than Python {TARGET}:\n{out}"
    assert "not met" not in out, out


def test_vermin_flags_catch_3_10_features(vermin_available, tmp_path):
    """Guards the flags: with them, vermin must still reject code that needs 3.10+."""
    (tmp_path / "new.py").write_text(
        textwrap.dedent(
            """
            import itertools
            pairs = list(itertools.pairwise([1, 2, 3]))
            both = list(zip([1], [2], strict=True))
            """
        ),
        encoding="utf-8",
    )
    proc = vermin(str(tmp_path / "new.py"), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "itertools.pairwise" in out and "zip(strict)" in out, out


def test_every_file_compiles_with_python_3_9(py39):
    # In memory, like py_compile without writing .pyc files into the tree.
    code = (
        "import sys\n"
        "assert sys.version_info[:2] == (3, 9), sys.version\n"
        "bad = []\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n"
        "        compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)\n"
        "    except SyntaxError as e:\n"
        "        bad.append(f'{p}:{e.lineno}: {e.msg}')\n"
        "print('\\n'.join(bad)); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run(
        [py39, "-c", code, *map(str, MODULE_FILES)],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_module_imports_with_python_3_9(py39):
    deps = subprocess.run(
        [py39, "-c", "import click, packaging"], check=False, capture_output=True, timeout=60
    )
    if deps.returncode != 0:
        pytest.skip(f"{py39} lacks envcheck's dependencies (click, packaging)")
    modules = [module_name(p) for p in MODULE_FILES if p.name != "__main__.py"]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [py39, "-c", code, *modules],
        cwd=str(ROOT), env=env, check=False, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
