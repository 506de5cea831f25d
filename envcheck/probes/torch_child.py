"""torch at run time, in a child process: the parent never imports torch.

The child runs :data:`CHILD_SCRIPT` (standard library + torch) through
:func:`envcheck.proc.run` with a timeout. It prints lines starting with :data:`MARK`: a
``{"stage": ...}`` line before each step (so a crash can be placed), a ``{"partial": ...}`` line
with what it knows before the riskier torchvision step, and a final ``{"result": ...}``.

Outcomes (:attr:`TorchRuntimeFacts.status`): ``ok``; ``import-failed`` (the exception line);
``crashed`` (killed by a signal, or exited without a result: the stage says where);
``timed-out``; ``bad-output`` (exited 0 without a readable result); ``failed`` (the interpreter
could not be started).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List, Mapping, Optional

from envcheck.facts.model import LoadedLibrary, TorchDevice, TorchRuntimeFacts, TorchvisionCheck

__all__ = [
    "CHILD_SCRIPT",
    "MARK",
    "TORCH_TIMEOUT",
    "parse_child_output",
    "probe_torch_child",
]

TORCH_TIMEOUT = 60.0  # seconds: a cold `import torch` from a network filesystem can take 30+
MARK = "@@envcheck-torch "

CHILD_SCRIPT = r"""
import json, os, sys, warnings
MARK = "@@envcheck-torch "
def emit(obj):
    sys.stdout.write(MARK + json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
def err(exc):
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, text.splitlines()[0] if text else "")
LIBS = ("libcudart", "libcudnn", "libnccl", "libcublas", "libnvJitLink", "libcuda.",
        "libnvrtc", "libcusparse", "libcufft", "libcurand", "libcusolver", "libnvshmem",
        "libamdhip64", "libtorch_cuda")
def loaded_libraries():
    out, seen = [], set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) < 6:
                    continue
                path = parts[5].strip()
                base = os.path.basename(path)
                if path in seen or not base.startswith(LIBS):
                    continue
                seen.add(path)
                out.append(path)
    except OSError:
        return None
    return out
res = {"python": sys.executable, "python_version": "%d.%d.%d" % sys.version_info[:3],
       "errors": {}}
emit({"stage": "import torch"})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        import torch
    except BaseException as exc:
        import traceback
        res["import_error"] = err(exc)
        res["traceback"] = traceback.format_exc()[-3000:]
        res["status"] = "import-failed"
        emit({"result": res})
        sys.exit(0)
res["import_warnings"] = [str(w.message)[:500] for w in caught]
res["version"] = str(getattr(torch, "__version__", ""))
tv = getattr(torch, "version", None)
res["cuda_build"] = getattr(tv, "cuda", None)
res["hip"] = getattr(tv, "hip", None)
res["torch_file"] = getattr(torch, "__file__", None)
emit({"stage": "torch.cuda.is_available"})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        res["is_available"] = bool(torch.cuda.is_available())
    except Exception as exc:
        res["errors"]["is_available"] = err(exc)
res["available_warnings"] = [str(w.message)[:1000] for w in caught]
emit({"stage": "torch.cuda.device_count"})
try:
    res["device_count"] = int(torch.cuda.device_count())
except Exception as exc:
    res["errors"]["device_count"] = err(exc)
emit({"stage": "arch list"})
try:
    archs = list(torch.cuda.get_arch_list())
    if not archs and hasattr(torch._C, "_cuda_getArchFlags"):
        flags = torch._C._cuda_getArchFlags()
        archs = flags.split() if flags else []
    res["arch_list"] = archs
except Exception as exc:
    res["errors"]["arch_list"] = err(exc)
try:
    abi = getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", None)
    if isinstance(abi, bool):
        res["cxx11_abi"] = abi
except Exception as exc:
    res["errors"]["cxx11_abi"] = err(exc)
emit({"stage": "cudnn"})
try:
    res["cudnn_version"] = torch.backends.cudnn.version()
except Exception as exc:
    res["errors"]["cudnn_version"] = err(exc)
emit({"stage": "nccl"})
try:
    if res.get("cuda_build") and hasattr(torch.cuda, "nccl"):
        v = torch.cuda.nccl.version()
        res["nccl_version"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
except Exception as exc:
    res["errors"]["nccl_version"] = err(exc)
devices = []
if res.get("is_available"):
    for i in range(res.get("device_count") or 0):
        emit({"stage": "device %d" % i})
        try:
            cap = torch.cuda.get_device_capability(i)
            props = torch.cuda.get_device_properties(i)
            devices.append({"index": i, "name": torch.cuda.get_device_name(i),
                            "capability": "%d.%d" % tuple(cap),
                            "total_memory_mib": int(props.total_memory) // (1 << 20)})
        except Exception as exc:
            res["errors"]["device %d" % i] = err(exc)
res["devices"] = devices
res["loaded_libraries"] = loaded_libraries()
emit({"partial": res})
emit({"stage": "import torchvision"})
tvr = {"status": "missing"}
try:
    import torchvision
    tvr["version"] = str(getattr(torchvision, "__version__", ""))
    emit({"stage": "torchvision.ops.nms"})
    try:
        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0],
                              [50.0, 50.0, 60.0, 60.0]])
        scores = torch.tensor([0.9, 0.8, 0.7])
        keep = torchvision.ops.nms(boxes, scores, 0.5).tolist()
        tvr["status"] = "ok" if keep == [0, 2] else "wrong-result"
        tvr["detail"] = "nms kept %s" % (keep,)
    except Exception as exc:
        tvr["status"] = "nms-failed"
        tvr["detail"] = err(exc)
except ModuleNotFoundError as exc:
    if getattr(exc, "name", None) == "torchvision":
        tvr["detail"] = "torchvision is not installed"
    else:
        tvr["status"] = "import-failed"
        tvr["detail"] = err(exc)
except Exception as exc:
    tvr["status"] = "import-failed"
    tvr["detail"] = err(exc)
res["torchvision"] = tvr
res["loaded_libraries"] = loaded_libraries()
res["status"] = "ok"
emit({"result": res})
"""


_LIB_FAMILIES = (
    "libcudart",
    "libcudnn",
    "libnccl",
    "libcublasLt",
    "libcublas",
    "libnvJitLink",
    "libcuda",
    "libnvrtc",
    "libcusparse",
    "libcufft",
    "libcurand",
    "libcusolver",
    "libnvshmem",
    "libamdhip64",
    "libtorch_cuda",
)


def _family(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    for fam in _LIB_FAMILIES:
        if base.startswith(fam):
            return fam
    return base.split(".", 1)[0]


def _tail(text: str, limit: int = 2000) -> str:
    text = text.strip()
    return text[-limit:]


def _from_payload(data: Mapping[str, Any], **extra: Any) -> Dict[str, Any]:
    """Fields of TorchRuntimeFacts from the child's result/partial dict (tolerant of junk)."""

    def s(key: str) -> Optional[str]:
        v = data.get(key)
        return v if isinstance(v, str) else None

    def strs(key: str) -> tuple:
        v = data.get(key)
        return tuple(str(x) for x in v) if isinstance(v, list) else ()

    out: Dict[str, Any] = dict(
        python_version=s("python_version"),
        import_error=s("import_error"),
        version=s("version"),
        cuda_build=s("cuda_build"),
        hip=s("hip"),
        torch_file=s("torch_file"),
        is_available=data.get("is_available")
        if isinstance(data.get("is_available"), bool)
        else None,
        available_warnings=strs("available_warnings"),
        import_warnings=strs("import_warnings"),
        device_count=data.get("device_count")
        if isinstance(data.get("device_count"), int)
        else None,
        arch_list=strs("arch_list"),
        cudnn_version=data.get("cudnn_version")
        if isinstance(data.get("cudnn_version"), int)
        else None,
        cxx11_abi=data.get("cxx11_abi") if isinstance(data.get("cxx11_abi"), bool) else None,
        nccl_version=s("nccl_version"),
        errors={str(k): str(v) for k, v in (data.get("errors") or {}).items()}
        if isinstance(data.get("errors"), dict)
        else {},
    )
    devices: List[TorchDevice] = []
    for d in data.get("devices") or ():
        if isinstance(d, dict) and isinstance(d.get("index"), int):
            devices.append(
                TorchDevice(
                    d["index"],
                    str(d.get("name")),
                    str(d.get("capability")),
                    d.get("total_memory_mib")
                    if isinstance(d.get("total_memory_mib"), int)
                    else None,
                )
            )
    out["devices"] = tuple(devices)
    libs = data.get("loaded_libraries")
    if isinstance(libs, list):
        out["loaded_libraries"] = tuple(LoadedLibrary(_family(str(p)), str(p)) for p in libs)
    tv = data.get("torchvision")
    if isinstance(tv, dict):
        out["torchvision"] = TorchvisionCheck(
            status=str(tv.get("status", "missing")),
            version=tv.get("version") if isinstance(tv.get("version"), str) else None,
            detail=str(tv.get("detail", "")),
        )
    out.update(extra)
    return out


def parse_child_output(result: Any, interpreter: Optional[str] = None) -> TorchRuntimeFacts:
    """Pure: a :class:`envcheck.proc.ProcResult` of the child -> facts."""
    stage: Optional[str] = None
    partial: Optional[Dict[str, Any]] = None
    final: Optional[Dict[str, Any]] = None
    junk = False
    for line in result.stdout.splitlines():
        if not line.startswith(MARK):
            continue
        try:
            obj = json.loads(line[len(MARK) :])
        except ValueError:
            junk = True
            continue
        if not isinstance(obj, dict):
            junk = True
        elif isinstance(obj.get("stage"), str):
            stage = obj["stage"]
        elif isinstance(obj.get("partial"), dict):
            partial = obj["partial"]
        elif isinstance(obj.get("result"), dict):
            final = obj["result"]
    common = dict(
        interpreter=interpreter,
        seconds=round(result.seconds, 3),
        stage=stage,
        returncode=result.returncode,
        signal=result.signal_name,
        stderr_tail=_tail(result.stderr),
    )
    if result.not_found or result.error:
        return TorchRuntimeFacts(status="failed", detail=result.describe(), **common)
    if result.timed_out:
        known = _from_payload(partial) if partial else {}
        return TorchRuntimeFacts(
            status="timed-out",
            detail="{} (during {})".format(result.describe(), stage or "start-up"),
            **dict(known, **common),
        )
    if final is not None and result.returncode == 0:
        status = final.get("status")
        if status == "import-failed":
            return TorchRuntimeFacts(
                status="import-failed",
                detail="import torch: {}".format(final.get("import_error")),
                **_from_payload(final, **common),
            )
        if status == "ok":
            tv = final.get("torchvision") or {}
            detail = "torch {}, CUDA build {}, is_available={}".format(
                final.get("version"), final.get("cuda_build"), final.get("is_available")
            )
            if isinstance(tv, dict) and tv.get("status") not in (None, "ok", "missing"):
                detail += "; torchvision: {} ({})".format(tv.get("status"), tv.get("detail"))
            return TorchRuntimeFacts(status="ok", detail=detail, **_from_payload(final, **common))
    if result.signal is not None or (result.returncode not in (0, None) and final is None):
        known = _from_payload(partial) if partial else {}
        how = (
            "killed by {}".format(result.signal_name)
            if result.signal is not None
            else "exit status {}".format(result.returncode)
        )
        last = _tail(result.stderr, 300).splitlines()
        detail = "{} during {}".format(how, stage or "start-up")
        if last:
            detail += ": " + last[-1]
        return TorchRuntimeFacts(status="crashed", detail=detail, **dict(known, **common))
    why = "unreadable result line" if junk else "no result line"
    return TorchRuntimeFacts(
        status="bad-output",
        detail="{} ({}; last stage {})".format(why, result.describe(), stage or "none"),
        **common,
    )


def probe_torch_child(
    python: Optional[str] = None,
    *,
    timeout: float = TORCH_TIMEOUT,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
) -> TorchRuntimeFacts:
    """Import torch in a child of ``python`` (default: this interpreter) and report."""
    from envcheck.proc import run

    interpreter = python or sys.executable
    result = run([interpreter, "-c", CHILD_SCRIPT], timeout=timeout, env=env, cwd=cwd, name="torch")
    return parse_child_output(result, interpreter=interpreter)
