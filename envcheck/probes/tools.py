"""The build tools around torch: the compilers and generators that a source build of an extension
(flash-attn, apex, a ``cpp_extension``) or ``torch.compile``'s C++ path would use.

Capture: each tool is found on ``PATH`` and asked ``--version`` through :mod:`envcheck.proc`, all
in parallel, each with :data:`TOOL_TIMEOUT`. Parse: :func:`parse_tool_version` is pure and tested
on recorded outputs (GNU, LLVM, Apple clang, cmake, ninja).
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Mapping, Optional, Tuple

from envcheck.facts.model import BuildTool

__all__ = ["TOOLS", "TOOL_TIMEOUT", "parse_tool_version", "probe_tools"]

TOOLS = ("gcc", "clang", "cmake", "ninja")
TOOL_TIMEOUT = 5.0

_LABELLED = re.compile(r"\bversion\s+v?(\d+(?:\.\d+)+)")
_ANY = re.compile(r"(?<![\w.])(\d+\.\d+(?:\.\d+)*)(?![\w.])")


def parse_tool_version(text: str) -> Tuple[Optional[str], str]:
    """``(version, first line)`` of a ``--version`` output; ``(None, line)`` when it names none.

    ``gcc (Debian 12.2.0-14+deb12u1) 12.2.0`` -> 12.2.0 (the last version on the line, not the
    package's), ``Apple clang version 15.0.0 (clang-1500.3.9.4)`` -> 15.0.0, ``cmake version
    3.25.1`` -> 3.25.1, ``1.11.1`` (ninja) -> 1.11.1.
    """
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    m = _LABELLED.search(first)
    if m:
        return m.group(1), first
    found = _ANY.findall(first)
    return (found[-1] if found else None), first


def _one(name: str, path_env: Optional[str]) -> BuildTool:
    from envcheck.proc import run

    path = shutil.which(name, path=path_env)
    if path is None:
        return BuildTool(name=name, status="missing", detail="not on PATH")
    result = run([path, "--version"], timeout=TOOL_TIMEOUT, name="tool")
    if result.timed_out:
        return BuildTool(name=name, status="timed-out", path=path, detail=result.describe())
    if not result.ok:
        return BuildTool(name=name, status="failed", path=path, detail=result.describe())
    version, first = parse_tool_version(result.stdout or result.stderr)
    if version is None:
        return BuildTool(name=name, status="failed", path=path,
                         detail="no version in its output: {!r}".format(first[:120]))
    return BuildTool(name=name, status="ok", path=path, version=version, detail=first[:200])


def probe_tools(environ: Optional[Mapping[str, str]] = None) -> Tuple[BuildTool, ...]:
    """Every tool of :data:`TOOLS`, in that order; never raises."""
    from concurrent.futures import ThreadPoolExecutor

    env = os.environ if environ is None else environ
    path_env = env.get("PATH")
    with ThreadPoolExecutor(max_workers=len(TOOLS)) as pool:
        return tuple(pool.map(lambda name: _one(name, path_env), TOOLS))
