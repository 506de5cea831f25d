"""CUDA toolkits on this machine, and the one torch's ``cpp_extension`` would build with.

Capture: :func:`find_toolkits` lists candidate roots from ``PATH``, ``CUDA_HOME``, ``CUDA_PATH``,
``CUDA_PATH_V*`` (Windows) and the usual install directories, deduplicated by the real path of
their ``nvcc``; :func:`probe_nvcc` runs ``nvcc --version`` for each, in parallel, each with its
own timeout. Parse: :func:`parse_nvcc_version` is pure and tested on recorded outputs.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

from envcheck.facts.model import NvccFacts, Toolkit

__all__ = [
    "NvccVersion",
    "NVCC_TIMEOUT",
    "parse_nvcc_version",
    "cpp_extension_cuda_home",
    "find_toolkits",
    "probe_nvcc",
]

NVCC_TIMEOUT = 5.0  # seconds per `nvcc --version`; all toolkits run in parallel

_WINDOWS = sys.platform == "win32"
_RELEASE = re.compile(r"release\s+(\d+\.\d+)\s*,\s*(V\d+(?:\.\d+)+)")
_BUILD = re.compile(r"^Build\s+(\S+)", re.MULTILINE)
_BUILT_ON = re.compile(r"^Built on\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class NvccVersion:
    release: str  # "13.0"
    build: str  # "V13.0.88"
    build_tag: Optional[str] = None  # "cuda_13.0.r13.0/compiler.36424714_0" (absent before 11.0)
    built_on: Optional[str] = None  # "Wed_Aug_20_01:58:59_PM_PDT_2025"


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _alias_home(toolkits: List[Toolkit], home: Optional[str]) -> List[Toolkit]:
    """Record ``home`` (cpp_extension's CUDA_HOME) as an alias of the toolkit it resolves to, so
    that the model can match it as text (``NvccFacts.selected`` reads no file system)."""
    from dataclasses import replace

    if not home:
        return toolkits
    probe = NvccFacts(toolkits=tuple(toolkits), cpp_extension_home=home)
    if probe.selected is not None:
        return toolkits
    want = _norm(home)
    for i, tk in enumerate(toolkits):
        if want in (_norm(r) for r in (tk.root,) + tk.aliases):
            return toolkits[:i] + [replace(tk, aliases=tk.aliases + (home,))] + toolkits[i + 1:]
    return toolkits


def parse_nvcc_version(text: str) -> Optional[NvccVersion]:
    """Parse ``nvcc --version``; None when the text has no release line."""
    m = _RELEASE.search(text)
    if not m:
        return None
    build = _BUILD.search(text)
    built_on = _BUILT_ON.search(text)
    return NvccVersion(
        release=m.group(1),
        build=m.group(2),
        build_tag=build.group(1) if build else None,
        built_on=built_on.group(1) if built_on else None,
    )


def _nvcc_name() -> str:
    return "nvcc.exe" if _WINDOWS else "nvcc"


def cpp_extension_cuda_home(
    environ: Optional[Mapping[str, str]] = None,
    *,
    which: Optional[Callable[[str], Optional[str]]] = None,
    exists: Callable[[str], bool] = os.path.exists,
    default_home: Optional[str] = None,
) -> Tuple[Optional[str], Optional[str]]:
    """``(home, source)`` by torch's ``_find_cuda_home`` rule.

    ``CUDA_HOME`` or ``CUDA_PATH`` (an empty value counts as unset, as with ``or``), else the
    parent of the directory of the ``nvcc`` found on ``PATH`` (not resolved: a wrapper in
    ``/usr/local/bin`` gives ``/usr/local``), else ``/usr/local/cuda`` (Windows: the newest
    ``CUDA/v*.*`` under Program Files) if it exists.
    """
    env = os.environ if environ is None else environ
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if env.get(var):
            return env[var], var
    if which is None:
        path = env.get("PATH", "")

        def which(name: str) -> Optional[str]:
            return shutil.which(name, path=path)

    nvcc = which("nvcc")
    if nvcc:
        return os.path.dirname(os.path.dirname(nvcc)), "PATH"
    if default_home is not None:
        default = default_home
    elif _WINDOWS:  # pragma: no cover - Windows
        homes = sorted(glob.glob("C:/Program Files/NVIDIA GPU Computing Toolkit/CUDA/v*.*"))
        default = homes[-1] if homes else ""
    else:
        default = "/usr/local/cuda"
    if default and exists(default):
        return default, "default"
    return None, None


def _version_key(path: str) -> Tuple[int, ...]:
    nums = re.findall(r"\d+", os.path.basename(path))
    return tuple(int(n) for n in nums)


def _default_search_dirs() -> List[str]:
    if _WINDOWS:  # pragma: no cover - Windows
        base = "C:/Program Files/NVIDIA GPU Computing Toolkit/CUDA"
        return sorted(glob.glob(base + "/v*"), key=_version_key)
    return (
        ["/usr/local/cuda"]
        + sorted(glob.glob("/usr/local/cuda-*"), key=_version_key)
        + ["/opt/cuda"]
    )


def find_toolkits(
    environ: Optional[Mapping[str, str]] = None,
    search_dirs: Optional[Sequence[str]] = None,
) -> List[Toolkit]:
    """Candidate toolkits (not yet run), deduplicated by the real path of their nvcc."""
    env = os.environ if environ is None else environ
    candidates: List[Tuple[str, str]] = []  # (root, source)
    on_path = shutil.which("nvcc", path=env.get("PATH", ""))
    if on_path:
        candidates.append((os.path.dirname(os.path.dirname(on_path)), "PATH"))
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if env.get(var):
            candidates.append((env[var], var))
    for var in sorted(k for k in env if k.startswith("CUDA_PATH_V")):
        if env[var]:
            candidates.append((env[var], var))
    dirs = _default_search_dirs() if search_dirs is None else list(search_dirs)
    for d in dirs:
        if os.path.isdir(d):
            candidates.append((d, d))

    merged: List[dict] = []
    by_key: dict = {}
    for root, source in candidates:
        nvcc = os.path.join(root, "bin", _nvcc_name())
        if source == "PATH" and on_path:
            nvcc = on_path
        has_nvcc = os.path.isfile(nvcc)
        real = os.path.realpath(nvcc) if has_nvcc else None
        key = os.path.normcase(real) if real else "root:" + _norm(root)
        entry = by_key.get(key)
        if entry is None:
            entry = {
                "root": root,
                "nvcc": nvcc if has_nvcc else None,
                "real": real,
                "sources": [],
                "aliases": [],
            }
            by_key[key] = entry
            merged.append(entry)
        if source not in entry["sources"]:
            entry["sources"].append(source)
        if root != entry["root"] and root not in entry["aliases"]:
            entry["aliases"].append(root)
    return [
        Toolkit(
            root=e["root"],
            nvcc=e["nvcc"],
            nvcc_realpath=e["real"],
            sources=tuple(e["sources"]),
            aliases=tuple(e["aliases"]),
            status="missing" if e["nvcc"] is None else "ok",
            detail="" if e["nvcc"] else "no bin/{} under {}".format(_nvcc_name(), e["root"]),
        )
        for e in merged
    ]


def _run_one(tk: Toolkit, timeout: float) -> Toolkit:
    from dataclasses import replace

    from envcheck.proc import run

    if tk.nvcc is None:
        return tk
    res = run([tk.nvcc, "--version"], timeout=timeout, name="nvcc")  # this process's environment
    if res.timed_out:
        return replace(tk, status="timed-out", detail=res.describe())
    if not res.ok:
        return replace(tk, status="failed", detail=res.describe())
    parsed = parse_nvcc_version(res.stdout)
    if parsed is None:
        first = (res.stdout.strip().splitlines() or ["(no output)"])[-1][:200]
        return replace(tk, status="failed", detail="nvcc: no release line in output: " + first)
    return replace(
        tk,
        status="ok",
        detail="release {}, {}".format(parsed.release, parsed.build),
        release=parsed.release,
        build=parsed.build,
        build_tag=parsed.build_tag,
    )


def probe_nvcc(
    environ: Optional[Mapping[str, str]] = None,
    *,
    search_dirs: Optional[Sequence[str]] = None,
    default_home: Optional[str] = None,
    timeout: float = NVCC_TIMEOUT,
) -> NvccFacts:
    """Every toolkit found, each ``nvcc --version`` run in parallel (worst case ~``timeout``).

    ``environ`` (where to look: PATH, CUDA_HOME, ...), ``search_dirs`` and ``default_home``
    (torch's last guess, ``/usr/local/cuda``) default to this machine; tests pass their own.
    nvcc itself runs with this process's environment.
    """
    from concurrent.futures import ThreadPoolExecutor

    env = os.environ if environ is None else environ
    toolkits = find_toolkits(env, search_dirs)
    home, source = cpp_extension_cuda_home(env, default_home=default_home)
    toolkits = _alias_home(toolkits, home)
    runnable = [tk for tk in toolkits if tk.nvcc is not None]
    if runnable:
        with ThreadPoolExecutor(max_workers=min(8, len(runnable))) as pool:
            done = dict(
                zip(
                    [id(tk) for tk in runnable],
                    pool.map(lambda tk: _run_one(tk, timeout), runnable),
                )
            )
        toolkits = [done.get(id(tk), tk) for tk in toolkits]
    if not toolkits:
        return NvccFacts(
            status="missing",
            detail="no CUDA toolkit found",
            cpp_extension_home=home,
            cpp_extension_source=source,
        )
    ok = [tk for tk in toolkits if tk.status == "ok"]
    if ok:
        status = "ok"
        detail = "; ".join("{} at {}".format(tk.release, tk.root) for tk in ok)
    elif any(tk.status == "timed-out" for tk in toolkits):
        status, detail = "timed-out", "; ".join(tk.detail for tk in toolkits)
    elif any(tk.status == "failed" for tk in toolkits):
        status, detail = "failed", "; ".join(tk.detail for tk in toolkits)
    else:
        status, detail = "missing", "; ".join(tk.detail for tk in toolkits)
    return NvccFacts(
        status=status,
        detail=detail,
        toolkits=tuple(toolkits),
        cpp_extension_home=home,
        cpp_extension_source=source,
    )
