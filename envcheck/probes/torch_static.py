"""torch as installed, read without importing it: the parent side.

The capture half is the child :mod:`envcheck.children.torch_static` (standard library only): a
scan of ``*.dist-info`` and ``torch/version.py`` read as text, plus what shadows torch. For this
interpreter it runs in-process, on ``sys.path`` cut by the children's policy
(:func:`envcheck.children.syspath.policy_path`); for another (``--python PATH``) it runs there
through :func:`envcheck.proc.run_child`. :func:`facts_from_raw` (parse) turns its data into
:class:`TorchStaticFacts`, using ``packaging`` for versions, local labels, requirements and markers.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from envcheck.children.torch_static import (
    ECOSYSTEM,
    READER_VERSION,
    canonical_name,
    is_cuda_dist,
    marker_environment,
    parse_version_py,
    read_static,
)
from envcheck.facts.model import CudaPackage, CudaPin, Dist, ModuleShadow, Package, TorchStaticFacts

__all__ = [
    "ECOSYSTEM",
    "parse_version_py",
    "read_static",
    "facts_from_raw",
    "marker_environment",
    "probe_torch_static",
    "shadows_from",
    "CHILD_TIMEOUT",
]

CHILD_TIMEOUT = 10.0  # seconds for the child reader of another interpreter (metadata only)

CHILD_TIMEOUT = 10.0  # seconds for the child reader of another interpreter (metadata only)


# ---------------------------------------------------------------------------------------------
# Parse (parent side; uses packaging)

# CUDA wheels without a -cuNN suffix whose own version follows the CUDA version (13.0.x for CUDA
# 13.0). Others (cufft 12.x, cusparse 12.x, curand 10.x ...) have independent versions.
_CUDA_VERSIONED = frozenset(
    {
        "nvidia-cuda-runtime",
        "nvidia-cuda-nvrtc",
        "nvidia-cuda-cupti",
        "nvidia-cuda-nvcc",
        "nvidia-cuda-cccl",
        "nvidia-cuda-crt",
        "nvidia-cuda-culibos",
        "nvidia-nvjitlink",
        "nvidia-nvtx",
        "nvidia-nvvm",
        "nvidia-cublas",
        "cuda-toolkit",
        "cuda-bindings",
    }
)
_SUFFIX = re.compile(r"-cu(\d+)$")


def _cuda_major(canon: str, version: str) -> Optional[int]:
    m = _SUFFIX.search(canon)
    if m:
        return int(m.group(1))
    if canon in _CUDA_VERSIONED:
        head = version.split(".", 1)[0]
        if head.isdigit():
            return int(head)
    return None


def _local_label(*versions: Optional[str]) -> Optional[str]:
    from packaging.version import InvalidVersion, Version

    for text in versions:
        if not text:
            continue
        try:
            local = Version(text).local
        except InvalidVersion:
            continue
        if local:
            return local
    return None


def _derive_variant(
    label: Optional[str],
    cuda: Optional[str],
    hip: Optional[str],
    xpu: Optional[str],
    have_version_py: bool,
) -> Optional[str]:
    """The build variant: the local label when it names one, else what version.py says."""
    if label and re.match(r"^(cu\d+|cpu|rocm[\d.]+|xpu)$", label):
        return label
    if cuda:
        return "cu" + cuda.replace(".", "")
    if hip:
        parts = hip.split(".")
        return "rocm" + ".".join(parts[:2])
    if xpu:
        return "xpu"
    if have_version_py:
        return "cpu"
    return None


def _pins(
    torch_requires: Sequence[str], installed: Dict[str, Dict[str, Any]], env: Dict[str, str]
) -> tuple[CudaPin, ...]:
    # A CPU build declares no CUDA wheels: skip packaging.requirements (tens of ms to import).
    if not any(is_cuda_dist(canonical_name(re.split(r"[\s;\[<>=!~(]", line.strip(), 1)[0])) for line in torch_requires):
        return ()
    from packaging.requirements import InvalidRequirement, Requirement

    out: List[CudaPin] = []
    seen: set = set()

    def check(req: Any, via: Optional[str]) -> None:
        canon = canonical_name(req.name)
        if (canon, str(req.specifier)) in seen:  # one pin repeated for several extras
            return
        seen.add((canon, str(req.specifier)))
        have = installed.get(canon)
        have_version = have["version"] if have else None
        satisfied: Optional[bool]
        if have_version is None:
            satisfied = False
        else:
            try:
                satisfied = req.specifier.contains(have_version, prereleases=True)
            except Exception:  # noqa: BLE001 - an unparsable installed version
                satisfied = None
        out.append(
            CudaPin(
                name=canon,
                specifier=str(req.specifier),
                marker=str(req.marker) if req.marker else None,
                via=via,
                installed=have_version,
                satisfied=satisfied,
            )
        )

    def applies(req: Any, extras: Sequence[str]) -> bool:
        if req.marker is None:
            return True
        for extra in list(extras) or [""]:
            try:
                if req.marker.evaluate(dict(env, extra=extra)):
                    return True
            except Exception:  # noqa: BLE001 - an unknown marker variable
                return False
        return False

    for line in torch_requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        canon = canonical_name(req.name)
        if not is_cuda_dist(canon) or not applies(req, ()):
            continue
        check(req, None)
        # One level through a metapackage (torch >= 2.10 pins cuda-toolkit[cublas,...]).
        meta = installed.get(canon)
        if req.extras and meta is not None:
            via = "{}[{}]".format(canon, ",".join(sorted(req.extras)))
            for sub_line in meta.get("requires") or ():
                try:
                    sub = Requirement(sub_line)
                except InvalidRequirement:
                    continue
                if (
                    is_cuda_dist(canonical_name(sub.name))
                    and sub.marker is not None
                    and applies(sub, sorted(req.extras))
                ):
                    check(sub, via)
    return tuple(out)


# PEP 508 requirements and markers, read without packaging.requirements (about 25 ms to import,
# more than the whole scan): "name [extras] (specifier) ; marker". Markers are evaluated by the
# small evaluator below; what it cannot read goes to packaging.markers.
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?\s*([^;()@]*?)\s*\)?\s*(?:;\s*(.*))?$")
_TOKEN = re.compile(r"\s*(\(|\)|===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b|and\b|or\b|\"[^\"]*\"|'[^']*'|[A-Za-z_.]+)")
_VERSION_VARS = ("python_version", "python_full_version", "implementation_version")


class _MarkerError(ValueError):
    pass


def _marker_tokens(text: str) -> List[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _MarkerError(text)
        out.append(re.sub(r"\s+", " ", m.group(1)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _compare(left: str, op: str, right: str, version: bool) -> bool:
    if op in ("in", "not in"):
        return (left in right) == (op == "in")
    if version:
        from packaging.version import InvalidVersion, Version

        try:
            a, b = Version(left), Version(right)
        except InvalidVersion:
            raise _MarkerError(left + op + right) from None
        if op == "~=":
            raise _MarkerError(op)
        return {"==": a == b, "===": left == right, "!=": a != b, "<": a < b, "<=": a <= b,
                ">": a > b, ">=": a >= b}[op]
    if op in ("==", "==="):
        return left == right
    if op == "!=":
        return left != right
    raise _MarkerError(op)


def _evaluate(tokens: List[str], env: Dict[str, str]) -> bool:
    pos = 0

    def value(tok: str) -> Tuple[str, bool]:
        if tok[:1] in ("'", '"'):
            return tok[1:-1], False
        if tok not in env:
            raise _MarkerError(tok)
        return env[tok], tok in _VERSION_VARS

    def atom() -> bool:
        nonlocal pos
        if pos >= len(tokens):
            raise _MarkerError("end")
        if tokens[pos] == "(":
            pos += 1
            got = expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise _MarkerError(")")
            pos += 1
            return got
        if pos + 2 >= len(tokens):
            raise _MarkerError("short")
        (left, lv), op, (right, rv) = value(tokens[pos]), tokens[pos + 1], value(tokens[pos + 2])
        pos += 3
        return _compare(left, op, right, lv or rv)

    def conj() -> bool:
        nonlocal pos
        got = atom()
        while pos < len(tokens) and tokens[pos] == "and":
            pos += 1
            got = atom() and got
        return got

    def expr() -> bool:
        nonlocal pos
        got = conj()
        while pos < len(tokens) and tokens[pos] == "or":
            pos += 1
            got = conj() or got
        return got

    result = expr()
    if pos != len(tokens):
        raise _MarkerError("trailing")
    return result


def marker_applies(marker: Optional[str], env: Dict[str, str]) -> bool:
    """Whether a PEP 508 marker holds here, with no extra requested (``extra == "x"`` is false)."""
    if not marker:
        return True
    full = dict(env, extra="")
    try:
        return _evaluate(_marker_tokens(marker), full)
    except (_MarkerError, IndexError, KeyError):
        pass
    try:
        from packaging.markers import Marker

        return bool(Marker(marker).evaluate(full))
    except Exception:  # noqa: BLE001 - an unreadable marker: count it as not applying
        return False


def split_requirement(line: str) -> Optional[Tuple[str, str, Optional[str]]]:
    """``(canonical name, specifier, marker)`` of a Requires-Dist line; None for a URL or an
    unreadable one. ``triton (==3.2.0) ; platform_system == "Linux"`` ->
    ``("triton", "==3.2.0", 'platform_system == "Linux"')``."""
    m = _REQ.match(line)
    if not m:
        return None
    return canonical_name(m.group(1)), re.sub(r"\s+", "", m.group(2) or ""), (m.group(3) or "").strip() or None


def _package(d: Dict[str, Any], env: Dict[str, str]) -> Package:
    requires = []
    for line in d.get("requires") or ():
        parts = split_requirement(line)
        if parts is None or not marker_applies(parts[2], env):
            continue
        requires.append(parts[0] + parts[1])
    wheel = d.get("wheel") if isinstance(d.get("wheel"), str) else None
    return Package(d["name"], d["version"], d.get("location"), d.get("installer"), tuple(requires), wheel)


def _triton_pin(torch_requires: Sequence[str], first: Dict[str, Dict[str, Any]],
                env: Dict[str, str]) -> Optional[CudaPin]:
    for line in torch_requires:
        parts = split_requirement(line)
        if parts is None or parts[0] not in ("triton", "pytorch-triton", "pytorch-triton-rocm"):
            continue
        if not marker_applies(parts[2], env):
            continue
        name, spec, marker = parts
        have = first.get(name)
        satisfied: Optional[bool] = False
        if have is not None and spec:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet

            try:
                satisfied = SpecifierSet(spec).contains(have["version"], prereleases=True)
            except (InvalidSpecifier, ValueError):
                satisfied = None
        elif have is not None:
            satisfied = True
        return CudaPin(name=name, specifier=spec, marker=marker,
                       installed=have["version"] if have else None, satisfied=satisfied)
    return None


def facts_from_raw(raw: Dict[str, Any]) -> TorchStaticFacts:
    """Pure: the reader's data -> facts. Raises ValueError on data that is not the reader's."""
    if not isinstance(raw, dict) or raw.get("reader") != READER_VERSION:
        raise ValueError("not the output of envcheck's static torch reader")
    py = raw.get("python") or {}
    env = raw.get("marker_env") or {}
    conda = raw.get("conda") or {}
    first: Dict[str, Dict[str, Any]] = {}
    shadowed: List[Dist] = []
    for d in raw.get("dists") or ():
        record = Dist(d["name"], d["version"], d.get("location"), d.get("installer"))
        if d["canon"] in first:
            shadowed.append(record)
        else:
            first[d["canon"]] = d

    def dist(canon: str) -> Optional[Dist]:
        d = first.get(canon)
        if d is None:
            return None
        return Dist(d["name"], d["version"], d.get("location"), d.get("installer"))

    cuda_packages = tuple(
        CudaPackage(d["name"], d["version"], _cuda_major(c, d["version"]), d.get("location"))
        for c, d in sorted(first.items())
        if is_cuda_dist(c)
    )
    conda_records = tuple(conda.get("records") or ())
    common = dict(
        interpreter=py.get("executable"),
        python_version=py.get("version"),
        sys_platform=env.get("sys_platform"),
        machine=env.get("platform_machine"),
        conda_env=bool(conda.get("env")),
        conda_records=conda_records,
        torchvision=dist("torchvision"),
        torchaudio=dist("torchaudio"),
        triton=dist("triton") or dist("pytorch-triton") or dist("pytorch-triton-rocm"),
        cuda_packages=cuda_packages,
        packages=tuple(_package(d, env) for c, d in sorted(first.items()) if d.get("ecosystem")),
        shadowed=tuple(shadowed),
        sys_path=tuple(str(p) for p in raw.get("sys_path") or () if isinstance(p, str)),
        shadows=shadows_from(raw.get("shadows")),
    )
    torch = first.get("torch")
    if torch is None:
        conda_torch = [r for r in conda_records if r.startswith("pytorch-")]
        detail = "torch is not installed"
        if conda_torch:
            detail += " (conda-meta lists {} but no torch metadata on sys.path)".format(
                conda_torch[0]
            )
        return TorchStaticFacts(status="missing", detail=detail, **common)  # type: ignore[arg-type]

    vpy = raw.get("version_py") or None
    values = (vpy or {}).get("values") or {}
    vpy_version = values.get("__version__") if isinstance(values.get("__version__"), str) else None
    cuda = values.get("cuda") if isinstance(values.get("cuda"), str) else None
    hip = values.get("hip") if isinstance(values.get("hip"), str) else None
    xpu = values.get("xpu") if isinstance(values.get("xpu"), str) else None
    label = _local_label(torch["version"], vpy_version)
    installer = torch.get("installer")
    if installer is None and any(r.startswith(("pytorch-", "libtorch-")) for r in conda_records):
        installer = "conda"
    detail = "torch {}".format(torch["version"])
    if vpy is None:
        detail += "; torch/version.py not found"
    elif vpy_version and vpy_version.split("+")[0] != torch["version"].split("+")[0]:
        detail += "; torch/version.py says {}".format(vpy_version)
    return TorchStaticFacts(
        status="ok",
        detail=detail,
        version=torch["version"],
        local_label=label,
        variant=_derive_variant(label, cuda, hip, xpu, vpy is not None),
        cuda_build=cuda,
        hip=hip,
        xpu=xpu,
        git_version=values.get("git_version")
        if isinstance(values.get("git_version"), str)
        else None,
        debug=values.get("debug") if isinstance(values.get("debug"), bool) else None,
        version_py=(vpy or {}).get("path"),
        version_py_version=vpy_version,
        installer=installer,
        location=torch.get("location"),
        cuda_pins=_pins(torch.get("requires") or (), first, env),
        triton_pin=_triton_pin(torch.get("requires") or (), first, env),
        **common,  # type: ignore[arg-type]
    )


def shadows_from(data: Any) -> Tuple[ModuleShadow, ...]:
    """A child's ``shadows`` list -> facts (tolerant of junk: a pasted or old snapshot)."""
    out: List[ModuleShadow] = []
    for d in data if isinstance(data, list) else ():
        if isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("shadow"), str):
            installed = d.get("installed")
            out.append(ModuleShadow(d["name"], d["shadow"], str(d.get("via") or "sys.path"),
                                    installed if isinstance(installed, str) else None))
    return tuple(out)


def probe_torch_static(
    python: Optional[str] = None,
    *,
    path: Optional[Sequence[str]] = None,
    timeout: float = CHILD_TIMEOUT,
    env: Optional[Dict[str, str]] = None,
) -> TorchStaticFacts:
    """Read torch's install without importing it.

    ``python=None`` reads this interpreter in-process (``path`` overrides ``sys.path``); a path
    to another interpreter runs this module's source there, in a child with a timeout.
    """
    if python is None:
        from envcheck.children.syspath import policy_path

        try:
            raw = read_static(policy_path() if path is None else path)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
            return TorchStaticFacts(status="failed", detail="reading metadata: {!r}".format(exc))
        return facts_from_raw(raw)

    from envcheck.proc import run_child

    child = run_child(python, "torch_static", timeout=timeout, env=env, bound="python")
    result = child.result
    if result.timed_out:
        return TorchStaticFacts(status="timed-out", detail=result.describe(), interpreter=python)
    if result.not_found or result.error or result.returncode != 0:
        return TorchStaticFacts(status="failed", detail=result.describe(), interpreter=python)
    data = next((e for e in reversed(child.events) if e["event"] == "static"), None)
    try:
        if data is None:
            raise ValueError("no static event")
        return facts_from_raw(data)
    except (ValueError, KeyError, TypeError) as exc:
        return TorchStaticFacts(
            status="failed",
            detail="{}: unreadable output ({})".format(os.path.basename(python), exc),
            interpreter=python,
        )
