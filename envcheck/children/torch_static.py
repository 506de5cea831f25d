"""torch and its family as installed, read without importing them (a child; standard library only).

A scan of ``*.dist-info`` for the distributions of the torch family, the CUDA wheels
(``nvidia-*``, ``cuda-*``) and the libraries around torch, and ``torch/version.py`` read as
*text*; plus the ``sys.path`` it read and what shadows torch there
(:func:`envcheck.children.syspath.shadows`). :func:`read_static` returns plain JSON-able data;
as a child (``envcheck.proc.run_child(python, "torch_static")``) it is one ``static`` event.
The parent side, :mod:`envcheck.probes.torch_static`, turns it into facts.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from envcheck.children import events, syspath

__all__ = ["ECOSYSTEM", "canonical_name", "is_cuda_dist", "is_ecosystem", "main", "marker_environment",
           "parse_version_py", "read_static"]

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


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def is_ecosystem(canon: str) -> bool:
    return canon in ECOSYSTEM or (canon.startswith("torch") and canon != "torch")


def is_cuda_dist(canon: str) -> bool:
    if canon in _NOT_CUDA_WHEELS:
        return False
    return canon.startswith("nvidia-") or canon in _CUDA_NAMES


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


def marker_environment() -> Dict[str, str]:
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
            guess = canonical_name(name.rsplit(".", 1)[0].split("-", 1)[0])
            if guess not in _FAMILY and not is_cuda_dist(guess) and not is_ecosystem(guess):
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
            canon = canonical_name(real)
            family = canon in _FAMILY or is_cuda_dist(canon)
            if not family and not is_ecosystem(canon):
                continue
            is_dir = os.path.isdir(folder)
            installer = _read_text_bounded(os.path.join(folder, "INSTALLER"), 256) if is_dir else None
            record: Dict[str, Any] = {
                "name": real,
                "canon": canon,
                "version": fields.get("Version") or "",
                "location": os.path.abspath(entry or "."),
                "installer": (installer or "").strip() or None,
                "requires": requires if (canon == "torch" or is_cuda_dist(canon)) else [],
            }
            if is_ecosystem(canon):
                record["ecosystem"] = True
                record["requires"] = [r for r in requires if _req_name(r) in _REQUIRED]
                wheel = _direct_url_wheel(os.path.join(folder, "direct_url.json")) if is_dir else None
                if wheel:
                    record["wheel"] = wheel
            out.append(record)
    return out


def _req_name(line: str) -> str:
    return canonical_name(re.split(r"[\s;\[<>=!~(@]", line.strip(), 1)[0])


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


def read_static(path: Optional[Sequence[str]] = None, cwd: Optional[str] = None) -> Dict[str, Any]:
    """Everything this module reports, as plain data, for ``path`` (default ``sys.path``, which
    in a child the runner has already cut to the policy's) and a program started in ``cwd``
    (default the working directory)."""
    search = list(sys.path if path is None else path)
    cwd = os.getcwd() if cwd is None else cwd
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
        "marker_env": marker_environment(),
        "conda": {
            "env": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
            "records": _conda_records(sys.prefix),
        },
        "dists": dists,
        "version_py": version_py,
        "sys_path": search,
        "cwd": cwd,
        "shadows": syspath.shadows(search, cwd),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The child: one ``static`` event (``ARGS``: the sys.path to read instead of its own)."""
    args = list(sys.argv[1:] if argv is None else argv)
    events.emit("static", **read_static(args or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())


