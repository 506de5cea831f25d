"""torch as installed, read without importing it.

Two halves, as everywhere in envcheck:

* :func:`read_static` (capture) uses only the standard library: a scan of ``*.dist-info`` for the
  distributions of the torch family and the CUDA wheels (``nvidia-*``, ``cuda-*``), and
  ``torch/version.py`` read as *text*. It returns plain JSON-able data. This module imports only
  the standard library at module level, so the very same source runs inside another interpreter
  (``--python PATH``): as ``python -m envcheck.probes.torch_static`` where envcheck is installed,
  or as ``python -c <this file's source>`` where it is not (what :func:`probe_torch_static`
  does). Either way it prints one JSON object.
* :func:`facts_from_raw` (parse) turns that data into :class:`TorchStaticFacts`, using
  ``packaging`` for versions, local labels, requirements and markers.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __name__ != "__main__":  # the parent side; run as a child reader, this source has only the standard library
    from envcheck.facts.model import CudaPackage, CudaPin, Dist, Package, TorchStaticFacts

__all__ = [
    "parse_version_py",
    "read_static",
    "facts_from_raw",
    "probe_torch_static",
    "CHILD_TIMEOUT",
]

CHILD_TIMEOUT = 10.0  # seconds for the child reader of another interpreter (metadata only)

READER_VERSION = 1
_FAMILY = ("torch", "torchvision", "torchaudio", "triton", "pytorch-triton", "pytorch-triton-rocm")
# The libraries around torch whose versions the peers' reports list (collect_env, accelerate env,
# ds_report) and whose builds break against another torch; any name starting with "torch" too.
ECOSYSTEM = (
    "numpy", "triton", "pytorch-triton", "pytorch-triton-rocm", "xformers", "flash-attn",
    "flash-attn-3", "flashinfer-python", "vllm", "sglang", "transformers", "accelerate", "deepspeed",
    "apex", "bitsandbytes", "peft", "trl", "diffusers", "lightning", "pytorch-lightning", "timm",
    "mamba-ssm", "causal-conv1d", "liger-kernel", "unsloth", "fbgemm-gpu", "fbgemm-gpu-genai",
    "onnxruntime-gpu", "tensorrt", "sentence-transformers", "safetensors", "pyg-lib", "mmcv",
    "nvidia-dali-cuda120", "cupy-cuda12x", "cupy-cuda11x", "jax", "jaxlib", "tensorflow",
)
# The Requires-Dist names kept for each ecosystem package: what can pin it to another torch.
_REQUIRED = ("torch", "torchvision", "torchaudio", "triton", "pytorch-triton", "xformers", "numpy",
             "flash-attn")
_CUDA_NAMES = ("cuda-toolkit", "cuda-bindings", "cuda-python", "cuda-pathfinder")
_NOT_CUDA_WHEELS = ("nvidia-ml-py", "nvidia-ml-py3", "nvidia-pyindex")  # bindings, not libraries
_CONDA_RECORD = re.compile(
    r"^(pytorch|pytorch-cuda|pytorch-gpu|pytorch-cpu|libtorch|cpuonly|cudatoolkit|cuda-version|"
    r"cuda-runtime|cudnn|nccl|torchvision|torchaudio)-\d"
)
_MAX_METADATA = 256 * 1024  # headers come first; the long description may follow
_MAX_VERSION_PY = 64 * 1024
_MAX_CONDA_META = 20000  # directory entries looked at, at most


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_ecosystem(canon: str) -> bool:
    return canon in ECOSYSTEM or (canon.startswith("torch") and canon != "torch")


def _is_cuda_dist(canon: str) -> bool:
    if canon in _NOT_CUDA_WHEELS:
        return False
    return canon.startswith("nvidia-") or canon in _CUDA_NAMES


# ---------------------------------------------------------------------------------------------
# Facts


# ---------------------------------------------------------------------------------------------
# Capture (standard library only; runs inside the inspected interpreter)


def parse_version_py(text: str) -> Dict[str, Any]:
    """Module-level literal assignments of ``torch/version.py``: ``{"cuda": "12.8", ...}``."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    out: Dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if literal is None or isinstance(literal, (str, bool, int, float)):
            out[target.id] = literal
    return out


def _marker_environment() -> Dict[str, str]:
    """PEP 508 marker values of this interpreter (what packaging's default_environment gives)."""
    impl = sys.implementation
    iver = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
    if impl.version.releaselevel != "final":
        iver += impl.version.releaselevel[0] + str(impl.version.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": iver,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _read_text_bounded(path: str, limit: int = 0) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit or _MAX_VERSION_PY)
    except OSError:
        return None


def _conda_records(prefix: str) -> List[str]:
    meta = os.path.join(prefix, "conda-meta")
    out: List[str] = []
    try:
        with os.scandir(meta) as it:
            for i, entry in enumerate(it):
                if i >= _MAX_CONDA_META:
                    break
                if entry.name.endswith(".json") and _CONDA_RECORD.match(entry.name):
                    out.append(entry.name[: -len(".json")])
    except OSError:
        pass
    return sorted(out)


def _headers(text: str) -> Tuple[Dict[str, str], List[str]]:
    """The RFC 822 header block of a METADATA file: single fields and every Requires-Dist."""
    fields: Dict[str, str] = {}
    requires: List[str] = []
    for line in text.splitlines():
        if not line.strip():
            break  # the body (the long description) starts here
        if line[:1] in (" ", "\t") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "Requires-Dist":
            requires.append(value)
        else:
            fields.setdefault(key, value)
    return fields, requires


def _scan_dists(search: Sequence[str]) -> List[Dict[str, Any]]:
    """Installed torch-family and CUDA distributions, in sys.path order, without importlib.metadata.

    Only the ``*.dist-info`` / ``*.egg-info`` folders whose names belong to the family are
    opened, so a site-packages with hundreds of packages costs one directory listing.
    """
    out: List[Dict[str, Any]] = []
    for entry in search:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                meta_name = "METADATA"
            elif name.endswith(".egg-info"):
                meta_name = "PKG-INFO"
            else:
                continue
            guess = _canon(name.rsplit(".", 1)[0].split("-", 1)[0])
            if guess not in _FAMILY and not _is_cuda_dist(guess) and not _is_ecosystem(guess):
                continue
            folder = os.path.join(entry or ".", name)
            meta_path = os.path.join(folder, meta_name) if os.path.isdir(folder) else folder
            text = _read_text_bounded(meta_path, _MAX_METADATA)
            if text is None:
                continue
            fields, requires = _headers(text)
            real = fields.get("Name")
            if not real:
                continue
            canon = _canon(real)
            family = canon in _FAMILY or _is_cuda_dist(canon)
            if not family and not _is_ecosystem(canon):
                continue
            is_dir = os.path.isdir(folder)
            installer = _read_text_bounded(os.path.join(folder, "INSTALLER"), 256) if is_dir else None
            record = {
                "name": real,
                "canon": canon,
                "version": fields.get("Version") or "",
                "location": os.path.abspath(entry or "."),
                "installer": (installer or "").strip() or None,
                "requires": requires if (canon == "torch" or _is_cuda_dist(canon)) else [],
            }
            if _is_ecosystem(canon):
                record["ecosystem"] = True
                record["requires"] = [r for r in requires if _req_name(r) in _REQUIRED]
                wheel = _direct_url_wheel(os.path.join(folder, "direct_url.json")) if is_dir else None
                if wheel:
                    record["wheel"] = wheel
            out.append(record)
    return out


def _req_name(line: str) -> str:
    return _canon(re.split(r"[\s;\[<>=!~(@]", line.strip(), 1)[0])


def _direct_url_wheel(path: str) -> Optional[str]:
    """The wheel file name of a URL or file install (PEP 610 ``direct_url.json``), e.g.
    ``flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp312-cp312-linux_x86_64.whl``."""
    text = _read_text_bounded(path, 16384)
    if not text:
        return None
    try:
        url = json.loads(text).get("url")
    except (ValueError, AttributeError):
        return None
    if not isinstance(url, str):
        return None
    from urllib.parse import unquote

    name = unquote(url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    return name if name.endswith(".whl") else None


def read_static(path: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Everything this module reports, as plain data, for ``path`` (default ``sys.path``)."""
    search = list(sys.path if path is None else path)
    dists = _scan_dists(search)

    version_py = None
    torch_dist = next((d for d in dists if d["canon"] == "torch"), None)
    if torch_dist is not None and torch_dist["location"]:
        candidate = os.path.join(torch_dist["location"], "torch", "version.py")
        text = _read_text_bounded(candidate)
        if text is not None:
            version_py = {"path": candidate, "values": parse_version_py(text)}

    return {
        "reader": READER_VERSION,
        "python": {
            "executable": sys.executable,
            "version": platform.python_version(),
            "prefix": sys.prefix,
        },
        "marker_env": _marker_environment(),
        "conda": {
            "env": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
            "records": _conda_records(sys.prefix),
        },
        "dists": dists,
        "version_py": version_py,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    sys.stdout.write(json.dumps(read_static(args or None)) + "\n")
    return 0


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
    if not any(_is_cuda_dist(_canon(re.split(r"[\s;\[<>=!~(]", line.strip(), 1)[0])) for line in torch_requires):
        return ()
    from packaging.requirements import InvalidRequirement, Requirement

    out: List[CudaPin] = []
    seen: set = set()

    def check(req: Any, via: Optional[str]) -> None:
        canon = _canon(req.name)
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
        canon = _canon(req.name)
        if not _is_cuda_dist(canon) or not applies(req, ()):
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
                    _is_cuda_dist(_canon(sub.name))
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
    return _canon(m.group(1)), re.sub(r"\s+", "", m.group(2) or ""), (m.group(3) or "").strip() or None


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
        if _is_cuda_dist(c)
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


def _reader_source() -> str:
    with open(os.path.abspath(__file__), encoding="utf-8") as fh:
        return fh.read()


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
        try:
            raw = read_static(path)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
            return TorchStaticFacts(status="failed", detail="reading metadata: {!r}".format(exc))
        return facts_from_raw(raw)

    from envcheck.proc import run

    result = run([python, "-c", _reader_source()], timeout=timeout, env=env, name="python")
    if result.timed_out:
        return TorchStaticFacts(status="timed-out", detail=result.describe(), interpreter=python)
    if result.not_found or result.error:
        return TorchStaticFacts(status="failed", detail=result.describe(), interpreter=python)
    if result.returncode != 0:
        return TorchStaticFacts(status="failed", detail=result.describe(), interpreter=python)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    try:
        return facts_from_raw(json.loads(lines[-1]))
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        return TorchStaticFacts(
            status="failed",
            detail="{}: unreadable output ({})".format(os.path.basename(python), exc),
            interpreter=python,
        )


if __name__ == "__main__":
    sys.exit(main())
