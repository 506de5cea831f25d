"""``import torch`` in the inspected interpreter, and what it can do (a child).

Run by :func:`envcheck.probes.torch_child.probe_torch_child` through
:func:`envcheck.proc.run_child`. Events, in order: ``stage`` (``name``) before each step, so that
a crash or a hang is placed; ``partial`` (everything known) before the riskier torchvision step;
``result`` last. ``status`` in the result: ``ok`` or ``import-failed``.

Every payload says where things came from: the ``sys_path`` the child ran with (the runner's
policy), ``torch_file``, ``modules`` (the file of torchvision and numpy where they were
imported) and ``shadows`` (:func:`envcheck.children.syspath.shadows`). Standard library and
torch only.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
import warnings
from typing import Any, Dict, List, Optional

from envcheck.children import events, syspath

__all__ = ["LIBRARIES", "error_line", "loaded_libraries", "main", "origin", "probe", "torchvision_check"]

LIBRARIES = ("libcudart", "libcudnn", "libnccl", "libcublas", "libnvJitLink", "libcuda.",
             "libnvrtc", "libcusparse", "libcufft", "libcurand", "libcusolver", "libnvshmem",
             "libamdhip64", "libtorch_cuda")


def error_line(exc: BaseException, limit: Optional[int] = None) -> str:
    """``Type: first line of the message`` (that line cut at ``limit`` characters)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return "%s: %s" % (type(exc).__name__, first[:limit] if limit else first)


def loaded_libraries(maps: str = "/proc/self/maps") -> Optional[List[str]]:
    """The CUDA (and ROCm) libraries this process has loaded, by path; None without ``maps``."""
    out: List[str] = []
    seen = set()
    try:
        with open(maps) as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) < 6:
                    continue
                path = parts[5].strip()
                if path in seen or not os.path.basename(path).startswith(LIBRARIES):
                    continue
                seen.add(path)
                out.append(path)
    except OSError:
        return None
    return out


def origin() -> Dict[str, Any]:
    """Where this child's modules come from: its ``sys.path``, the file of each watched module
    it has imported, and what shadows the installed ones."""
    modules = {}
    for name in syspath.WATCHED:
        mod = sys.modules.get(name)
        if mod is not None:
            modules[name] = getattr(mod, "__file__", None) or str(getattr(mod, "__path__", ""))
    return {"sys_path": list(sys.path), "modules": modules, "shadows": _shadows(tuple(sys.path), os.getcwd())}


@functools.lru_cache(maxsize=4)
def _shadows(path: tuple, cwd: str) -> List[Dict[str, Any]]:
    """Scanned once per path and folder: a child reports its origin in several events."""
    return syspath.shadows(path, cwd)


def torchvision_check(torch: Any, stage: Any) -> Dict[str, Any]:
    """Import torchvision and run one ``nms`` (the call that fails when torchvision was built
    for another torch)."""
    out: Dict[str, Any] = {"status": "missing"}
    try:
        import torchvision
    except ModuleNotFoundError as exc:
        if getattr(exc, "name", None) == "torchvision":
            out["detail"] = "torchvision is not installed"
        else:
            out.update(status="import-failed", detail=error_line(exc))
        return out
    except Exception as exc:
        out.update(status="import-failed", detail=error_line(exc))
        return out
    out["version"] = str(getattr(torchvision, "__version__", ""))
    stage("torchvision.ops.nms")
    try:
        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
        scores = torch.tensor([0.9, 0.8, 0.7])
        keep = torchvision.ops.nms(boxes, scores, 0.5).tolist()
        out["status"] = "ok" if keep == [0, 2] else "wrong-result"
        out["detail"] = "nms kept %s" % (keep,)
    except Exception as exc:
        out.update(status="nms-failed", detail=error_line(exc))
    return out


def _attempt(res: Dict[str, Any], key: str, read: Any) -> None:
    try:
        res[key] = read()
    except Exception as exc:
        res["errors"][key] = error_line(exc)


def _archs(torch: Any) -> List[str]:
    archs = list(torch.cuda.get_arch_list())
    if not archs and hasattr(torch._C, "_cuda_getArchFlags"):
        flags = torch._C._cuda_getArchFlags()
        archs = flags.split() if flags else []
    return archs


def _nccl(torch: Any, res: Dict[str, Any]) -> Optional[str]:
    if not (res.get("cuda_build") and hasattr(torch.cuda, "nccl")):
        return None
    v = torch.cuda.nccl.version()
    return ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)


def probe(torch: Any, stage: Any = lambda name: None, devices: bool = True) -> Dict[str, Any]:
    """What ``torch`` (imported) can do; ``stage(name)`` is called before each step. ``devices``:
    read each GPU's name and capability too (that initialises CUDA on the first GPU: verify's
    per-device children, each on its own GPU, leave it out)."""
    res: Dict[str, Any] = {"errors": {}}
    res["version"] = str(getattr(torch, "__version__", ""))
    tv = getattr(torch, "version", None)
    res["cuda_build"] = getattr(tv, "cuda", None)
    res["hip"] = getattr(tv, "hip", None)
    res["torch_file"] = getattr(torch, "__file__", None)
    stage("torch.cuda.is_available")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _attempt(res, "is_available", lambda: bool(torch.cuda.is_available()))
    res["available_warnings"] = [str(w.message)[:1000] for w in caught]
    stage("torch.cuda.device_count")
    _attempt(res, "device_count", lambda: int(torch.cuda.device_count()))
    stage("arch list")
    _attempt(res, "arch_list", lambda: _archs(torch))
    try:
        abi = getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", None)
        if isinstance(abi, bool):
            res["cxx11_abi"] = abi
    except Exception as exc:
        res["errors"]["cxx11_abi"] = error_line(exc)
    stage("cudnn")
    _attempt(res, "cudnn_version", lambda: torch.backends.cudnn.version())
    stage("nccl")
    try:
        value = _nccl(torch, res)
        if value is not None:
            res["nccl_version"] = value
    except Exception as exc:
        res["errors"]["nccl_version"] = error_line(exc)
    found = []
    if devices and res.get("is_available"):
        for i in range(res.get("device_count") or 0):
            stage("device %d" % i)
            try:
                cap = torch.cuda.get_device_capability(i)
                props = torch.cuda.get_device_properties(i)
                found.append({"index": i, "name": torch.cuda.get_device_name(i),
                              "capability": "%d.%d" % tuple(cap),
                              "total_memory_mib": int(props.total_memory) // (1 << 20)})
            except Exception as exc:
                res["errors"]["device %d" % i] = error_line(exc)
    res["devices"] = found
    return res


def main(argv: Optional[List[str]] = None) -> int:
    def stage(name: str) -> None:
        events.emit("stage", name=name)

    res: Dict[str, Any] = {"python": sys.executable,
                           "python_version": "%d.%d.%d" % sys.version_info[:3]}
    stage("import torch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import torch
        except BaseException as exc:
            res.update(origin(), errors={}, import_error=error_line(exc),
                       traceback=traceback.format_exc()[-3000:], status="import-failed")
            events.emit("result", **res)
            return 0
    res["import_warnings"] = [str(w.message)[:500] for w in caught]
    res.update(probe(torch, stage))
    res["loaded_libraries"] = loaded_libraries()
    res.update(origin())
    events.emit("partial", **res)
    stage("import torchvision")
    res["torchvision"] = torchvision_check(torch, stage)
    res["loaded_libraries"] = loaded_libraries()
    res.update(origin(), status="ok")
    events.emit("result", **res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
