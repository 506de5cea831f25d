"""torch at run time, in a child process: the parent side (the parent never imports torch).

The child is :mod:`envcheck.children.torch_runtime`, started through
:func:`envcheck.proc.run_child` with a timeout. Its events (:mod:`envcheck.children.events`): a
``stage`` before each step (so a crash can be placed), a ``partial`` with what it knows before the
riskier torchvision step, and a final ``result``.

Outcomes (:attr:`TorchRuntimeFacts.status`): ``ok``; ``import-failed`` (the exception line);
``crashed`` (killed by a signal, or exited without a result: the stage says where);
``timed-out``; ``bad-output`` (exited 0 without a readable result); ``failed`` (the interpreter
could not be started).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Mapping, Optional

from envcheck.children import events
from envcheck.facts.model import LoadedLibrary, TorchDevice, TorchRuntimeFacts, TorchvisionCheck
from envcheck.probes.torch_static import shadows_from

__all__ = [
    "TORCH_TIMEOUT",
    "parse_child_output",
    "probe_torch_child",
]

TORCH_TIMEOUT = 60.0  # seconds: a cold `import torch` from a network filesystem can take 30+


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
    out["sys_path"] = strs("sys_path")
    out["shadows"] = shadows_from(data.get("shadows"))
    out.update(extra)
    return out


def parse_child_output(result: Any, interpreter: Optional[str] = None) -> TorchRuntimeFacts:
    """Pure: a :class:`envcheck.proc.ProcResult` of the child -> facts."""
    stage: Optional[str] = None
    partial: Optional[Dict[str, Any]] = None
    final: Optional[Dict[str, Any]] = None
    unreadable: List[str] = []
    for event in events.parse(result.stdout, unreadable):
        kind = event["event"]
        if kind == "stage" and isinstance(event.get("name"), str):
            stage = event["name"]
        elif kind == "partial":
            partial = event
        elif kind == "result":
            final = event
    junk = bool(unreadable)
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
    from envcheck.proc import run_child

    interpreter = python or sys.executable
    child = run_child(interpreter, "torch_runtime", timeout=timeout, env=env, cwd=cwd, bound="torch")
    return parse_child_output(child.result, interpreter=interpreter)
