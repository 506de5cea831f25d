"""The one ``sys.path`` policy of every child, and what shadows torch.

**Policy.** Python puts the script's folder (or, for ``-c`` and ``-m``, the working directory)
first on ``sys.path``. A child leaves that entry out, as ``python -P`` (3.11+) does, so that a
``torch/`` folder or a ``numpy.py`` where envcheck happens to run can never stand in for the
installed one, and every child (the static reader in-process as well) sees the same path.
``PYTHONPATH`` and ``.pth`` entries stay: they are the user's setting, and what they shadow is
reported instead.

**Shadows.** :func:`shadows` says, for torch, torchvision and numpy, where ``import NAME`` would
come from for a program started in the working directory (``python train.py`` there has it first
on its path) and where the installed distribution lives; when the two differ, the first shadows
the second, and the report carries both paths.

Standard library only: this runs inside the inspected interpreter.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["WATCHED", "child_path", "find_module", "installed_at", "policy_path", "prepended_entry", "shadows"]

WATCHED = ("torch", "torchvision", "numpy")
_EXTENSIONS = (".py", ".pyc", ".so", ".pyd")


def _same(a: str, b: str) -> bool:
    try:
        return os.path.realpath(a or ".") == os.path.realpath(b or ".")
    except (OSError, ValueError):
        return False


def child_path(path: Sequence[str], prepended: Optional[str]) -> List[str]:
    """``path`` without its first entry when that entry is the one Python prepended
    (``prepended``: the script's folder, ``""`` for the working directory), as ``-P`` would."""
    out = list(path)
    if out and prepended is not None and (out[0] == prepended or _same(out[0], prepended)):
        del out[0]
    return out


def policy_path() -> List[str]:
    """This process's ``sys.path`` as the policy gives it to a child (for envcheck's own process,
    which Python started with its script's folder or the working directory first)."""
    return child_path(sys.path, prepended_entry())


def prepended_entry() -> Optional[str]:
    """The entry this interpreter put first on ``sys.path`` for its script, working directory or
    ``-m``; ``None`` under ``-P``/``PYTHONSAFEPATH`` (nothing was put there)."""
    if getattr(sys.flags, "safe_path", False):
        return None
    return sys.path[0] if sys.path else None


def _names(entry: str, cache: Optional[Dict[str, List[str]]] = None) -> List[str]:
    """The names in a sys.path entry (none for a zip or a missing folder), listed once per cache."""
    if cache is not None and entry in cache:
        return cache[entry]
    try:
        names = os.listdir(entry or ".")
    except OSError:
        names = []
    if cache is not None:
        cache[entry] = names
    return names


def find_module(name: str, entry: str, cache: Optional[Dict[str, List[str]]] = None) -> Optional[str]:
    """What ``import name`` finds in the sys.path ``entry``: a package's ``__init__``, a module
    file or an extension; ``None`` when nothing there would be imported. A folder without an
    ``__init__.py`` is a namespace portion, imported only when no other entry has the name: it
    is returned as the folder itself. ``cache`` keeps each entry's listing for the next call."""
    folder = entry or "."
    names = _names(entry, cache)
    base = os.path.join(folder, name)
    try:
        if name in names and os.path.isdir(base):
            for init in ("__init__.py", "__init__.pyc"):
                if os.path.isfile(os.path.join(base, init)):
                    return os.path.join(base, init)
        for fname in names:
            if fname.startswith(name + ".") and fname.endswith(_EXTENSIONS):
                stem = fname[len(name):]
                if stem in (".py", ".pyc") or stem.endswith((".so", ".pyd")):
                    return os.path.join(folder, fname)
        if name in names and os.path.isdir(base):
            return base + os.sep
    except OSError:
        return None
    return None


def installed_at(name: str, path: Sequence[str], cache: Optional[Dict[str, List[str]]] = None) -> Optional[str]:
    """Where the distribution ``name`` is installed: the module ``import`` would find in the
    first ``path`` entry that holds its ``*.dist-info`` (or ``*.egg-info``)."""
    prefix = name.lower().replace("-", "_") + "-"
    for entry in path:
        for fname in _names(entry, cache):
            if fname.lower().startswith(prefix) and fname.endswith((".dist-info", ".egg-info")):
                found = find_module(name, entry, cache)
                if found:
                    return found
    return None


def _lookup(name: str, entries: Sequence[str], cache: Dict[str, List[str]]) -> Optional[tuple]:
    """(entry, file) that ``import name`` takes along ``entries``: the first regular module or
    package; a namespace folder only when there is none."""
    namespace = None
    for entry in entries:
        found = find_module(name, entry, cache)
        if not found:
            continue
        if found.endswith(os.sep):
            namespace = namespace or (entry, found)
            continue
        return entry, found
    return namespace


def _via(entry: str, cwd: str, pythonpath: Sequence[str]) -> str:
    if _same(entry, cwd):
        return "working directory"
    if any(_same(entry, p) for p in pythonpath if p):
        return "PYTHONPATH"
    return "sys.path"


def shadows(path: Sequence[str], cwd: Optional[str] = None,
            pythonpath: Optional[Sequence[str]] = None,
            names: Sequence[str] = WATCHED) -> List[Dict[str, Any]]:
    """Each watched module that a program started in ``cwd`` would import from somewhere other
    than its installed distribution: ``{"name", "shadow", "via", "installed"}``. ``path`` is the
    policy's sys.path. Where nothing is installed, only a copy in the working directory counts
    (``installed`` None): one on PYTHONPATH is then the user's own torch, not a shadow."""
    cwd = os.getcwd() if cwd is None else cwd
    if pythonpath is None:
        pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    search = [cwd] + [p for p in path if not _same(p, cwd)]
    out: List[Dict[str, Any]] = []
    cache: Dict[str, List[str]] = {}
    for name in names:
        first = _lookup(name, search, cache)
        if first is None:
            continue
        installed = installed_at(name, path, cache)
        reference = installed or (_lookup(name, path, cache) or (None, None))[1]
        if reference is not None and _same(first[1], reference):
            continue  # the installed one (or, without metadata, the one the path itself gives)
        via = _via(first[0], cwd, pythonpath)
        if installed is None and via != "working directory":
            continue  # nothing installed to shadow: the user's own torch on PYTHONPATH, a system package
        out.append({"name": name, "shadow": first[1], "via": via, "installed": installed})
    return out
