"""verify's machinery inside the child: the check protocol, the device context, torch's build.

Shared by :mod:`~envcheck.children.verify_device`, :mod:`~envcheck.children.verify_multi` and
:mod:`~envcheck.children.timing`. A check is a function that returns ``{"detail", "values"}``,
raises :class:`Wrong` (it ran and the answer is wrong), :class:`Skip` (it does not apply here) or
anything else (an error, classified by the parent). :func:`run_check` frames it with ``begin`` and
``end`` events; after a sticky CUDA error the remaining checks are reported as not run.

Faults for rehearsals and envcheck's own tests come from ``ENVCHECK_FAULT``
(``verify.CHECK=ACTION``; see :mod:`envcheck.faults`, imported only while it is set).
Standard library and torch only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from contextlib import contextmanager

from envcheck.children import events
from envcheck.children.torch_runtime import error_line, origin, probe

__all__ = ["Ctx", "STICKY", "Skip", "Wrong", "child_main", "cudnn_info", "device_info", "err", "fault",
           "full_error", "host_link_lock", "math_mode", "matmul_skip", "mem_available", "normwise",
           "random_bits", "run_check", "same_bytes", "sticky", "torch_info"]

# After these errors the CUDA context is unusable (or every kernel fails the same way): the
# remaining checks are reported as not run instead of repeating the same failure.
STICKY = (
    "illegal memory access",
    "illegal address",
    "misaligned address",
    "illegal instruction",
    "unspecified launch failure",
    "uncorrectable ecc",
    "fallen off the bus",
    "device-side assert",
    "launch timed out",
    "no kernel image",
    "invalid device function",
    "not compatible with the current pytorch installation",
    "hardware stack error",
)


class Wrong(Exception):
    """The check ran and the answer is wrong."""

    def __init__(self, detail, values=None):
        super().__init__(detail)
        self.detail = detail
        self.values = values or {}


class Skip(Exception):
    """The check does not apply to this device; the message says why."""


def err(exc):
    return error_line(exc, 600)


def full_error(exc):
    """All of the message (CUDA errors put the useful part on later lines)."""
    return ("%s: %s" % (type(exc).__name__, str(exc).strip()))[:3000]


def sticky(text):
    low = (text or "").lower()
    return any(marker in low for marker in STICKY)


def fault(check):
    """Misbehave here if ``ENVCHECK_FAULT`` names ``verify.CHECK`` (see :mod:`envcheck.faults`)."""
    if not os.environ.get("ENVCHECK_FAULT"):
        return
    from envcheck.faults import trigger

    trigger("verify." + check, wrong=Wrong)


# ------------------------------------------------------------------------------------ context



class Ctx(object):
    def __init__(self, torch, spec, index, link_lock=None):
        self.torch = torch
        self.spec = spec
        self.link_lock = link_lock
        self.buffers = {}
        self.cuda = index is not None
        self.index = index
        self.dev = torch.device("cuda", index) if self.cuda else torch.device("cpu")
        self.cc = None
        if self.cuda:
            torch.cuda.set_device(index)  # CUDA events and the default stream follow it
            self.cc = tuple(torch.cuda.get_device_capability(index))

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize(self.dev)

    def cc_text(self):
        return "%d.%d" % self.cc if self.cc else "?"


@contextmanager
def host_link_lock(path):
    """One GPU at a time measures its host link: the sibling children (one per GPU, all at once)
    take an exclusive lock on the same file. No lock where there is no flock (Windows)."""
    if not path:
        yield
        return
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextmanager
def math_mode(torch, tf32, reduced=False):
    """TF32 on/off for matmul and cuDNN; fp16/bf16 reduced-precision reductions (None: leave)."""
    mm = torch.backends.cuda.matmul
    cd = torch.backends.cudnn
    wanted = [(mm, "allow_tf32", tf32), (cd, "allow_tf32", tf32)]
    if reduced is not None:
        wanted += [
            (mm, "allow_fp16_reduced_precision_reduction", reduced),
            (mm, "allow_bf16_reduced_precision_reduction", reduced),
        ]
    saved = []
    for obj, name, value in wanted:
        try:
            saved.append((obj, name, getattr(obj, name)))
            setattr(obj, name, value)
        except Exception:  # an older torch without the switch
            pass
    try:
        yield
    finally:
        for obj, name, value in reversed(saved):
            try:
                setattr(obj, name, value)
            except Exception:
                pass


def normwise(out, ref):
    """max |out - ref| / max |ref| (0 when both are 0)."""
    scale = float(ref.abs().max())
    diff = float((out - ref).abs().max())
    return diff / scale if scale else diff


def random_bits(torch, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-(2 ** 31), 2 ** 31 - 1, (n,), dtype=torch.int32, generator=g)


def same_bytes(torch, a, b):
    return torch.equal(a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


def mem_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def matmul_skip(c, name):
    if name == "tf32":
        if not c.cuda:
            raise Skip("TF32 is a GPU tensor-core mode: not applicable on the CPU")
        if c.cc < (8, 0):
            raise Skip("TF32 needs compute capability 8.0 (Ampere) or newer; this GPU is %s" % c.cc_text())
    if name == "bf16" and c.cuda and c.cc < (8, 0):
        raise Skip(
            "no bf16 hardware before compute capability 8.0 (Ampere); this GPU is %s and torch "
            "emulates bf16 slowly" % c.cc_text()
        )
    if name == "fp16" and c.cuda and c.cc < (5, 3):
        raise Skip("no fp16 arithmetic before compute capability 5.3; this GPU is %s" % c.cc_text())


def cudnn_info(torch):
    """cuDNN's runtime and build versions and torch's own compatibility verdict."""
    info = {"available": bool(torch.backends.cudnn.is_available())}
    if not info["available"]:
        return info
    info["version"] = torch.backends.cudnn.version()  # raises on a version incompatibility
    c = getattr(torch._C, "_cudnn", None)
    if c is not None and hasattr(c, "getCompileVersion"):
        compiled = tuple(c.getCompileVersion())
        runtime = tuple(c.getRuntimeVersion())
        info["compiled"] = ".".join(str(v) for v in compiled)
        info["runtime"] = ".".join(str(v) for v in runtime)
        # torch/backends/cudnn/__init__.py: same major; minor at least the build's from cuDNN 7.
        if runtime[0] != compiled[0]:
            ok = False
        elif runtime[0] < 7:
            ok = runtime[1] == compiled[1]
        else:
            ok = runtime[1] >= compiled[1]
        info["matches_build"] = ok
    return info


def run_check(ev, name, fn, state):
    """One check: begin, an injected fault if ENVCHECK_FAULT names it, the work, end. Returns the status."""
    if state.get("abandoned"):
        ev.emit("end", check=name, status="not-run", detail="not run: " + state["abandoned"])
        return "not-run"
    ev.emit("begin", check=name)
    start = time.monotonic()
    out = {}
    try:
        fault(name)
        out = fn() or {}
        status = "passed"
    except Skip as exc:
        status, out = "skipped", {"detail": str(exc)}
    except Wrong as exc:
        status, out = "failed", {"detail": exc.detail, "values": exc.values}
    except Exception as exc:
        status = "error"
        out = {"error": full_error(exc), "traceback": traceback.format_exc()[-2500:]}
        if sticky(str(exc)):
            state["abandoned"] = "the GPU is unusable after the error in %s" % name
    ev.emit("end", check=name, status=status, seconds=round(time.monotonic() - start, 4), **out)
    return status


# --------------------------------------------------------------------------------- the child



def torch_info(torch):
    """The ``torch`` event: the build as the torch child sees it (one collector,
    :func:`envcheck.children.torch_runtime.probe`, in verify's field names) plus what verify adds:
    cuDNN's build/runtime agreement, the TF32 switches, the thread count, where it came from."""
    res = probe(torch, devices=False)  # each child opens only its own GPU
    errors = res["errors"]
    available = bool(res.get("is_available"))
    info = {
        "version": res["version"],
        "cuda_build": res["cuda_build"],
        "hip": res["hip"],
        "file": res["torch_file"],
        "is_available": available,
        "available_warnings": res["available_warnings"],
        "device_count": int(res.get("device_count") or 0) if available else 0,
    }
    cuda_error = errors.get("is_available") or (errors.get("device_count") if available else None)
    if cuda_error:
        info["cuda_error"] = cuda_error
    if info["cuda_build"]:
        if "arch_list" in res:
            info["arch_list"] = res["arch_list"]
        else:
            info["arch_error"] = errors.get("arch_list")
        try:
            info["cudnn"] = cudnn_info(torch)
        except Exception as exc:
            info["cudnn_error"] = err(exc)
        if "nccl_version" in res:
            info["nccl"] = res["nccl_version"]
        elif "nccl_version" in errors:
            info["nccl_error"] = errors["nccl_version"]
    else:
        info["arch_list"] = []
    tf32 = {}
    for key, read in (
        ("matmul", lambda: torch.backends.cuda.matmul.allow_tf32),
        ("cudnn", lambda: torch.backends.cudnn.allow_tf32),
        ("float32_matmul_precision", lambda: torch.get_float32_matmul_precision()),
    ):
        try:
            tf32[key] = read()
        except Exception as exc:
            tf32[key] = err(exc)
    if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"):
        tf32["override_env"] = os.environ["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"]
    info["tf32"] = tf32
    try:
        info["threads"] = torch.get_num_threads()
    except Exception as exc:
        info["threads_error"] = err(exc)
    info.update(origin())
    return info


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "CPU"


def device_info(torch, spec, index):
    if index is None:
        out = {"device": "cpu", "kind": "cpu", "name": cpu_name(), "memory_available_mib": (mem_available() or 0) >> 20}
        try:
            out["threads"] = torch.get_num_threads()
        except Exception as exc:
            out["error"] = full_error(exc)
        return out
    out = {"device": spec, "kind": "cuda", "index": index}
    try:
        p = torch.cuda.get_device_properties(index)
        out.update(name=p.name, cc="%d.%d" % (p.major, p.minor), total_mib=int(p.total_memory) >> 20,
                   sm_count=getattr(p, "multi_processor_count", None))
        uuid = getattr(p, "uuid", None)
        if uuid is not None:
            out["uuid"] = str(uuid)
        if hasattr(p, "pci_bus_id"):
            out["pci"] = [getattr(p, "pci_domain_id", 0), p.pci_bus_id, getattr(p, "pci_device_id", 0)]
    except Exception as exc:
        out["error"] = full_error(exc)
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(prog="envcheck-verify-child")
    p.add_argument("--events", default=None)
    p.add_argument("--mode", choices=("checks", "p2p", "allreduce"), default="checks")
    p.add_argument("--device", default="auto")
    p.add_argument("--perf", action="store_true")
    p.add_argument("--only", default="")
    p.add_argument("--devices", default="")
    p.add_argument("--backend", default="nccl")
    p.add_argument("--rank", type=int, default=0)
    p.add_argument("--world", type=int, default=1)
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--collective-timeout", type=float, default=60.0)
    p.add_argument("--link-lock", default=None)
    return p.parse_args(argv)


def child_main(mode, argv=None):
    """A verify child: ``start``, ``import torch`` (or ``import-failed``), ``torch`` (the build,
    and where it and its neighbours came from), then ``mode(ev, torch, info, args)``, ``done``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with events.Emitter(args.events) as ev:
        return _run(ev, mode, args)


def _run(ev, mode, args):
    ev.emit("start", pid=os.getpid(), python=sys.executable,
            python_version="%d.%d.%d" % sys.version_info[:3], mode=args.mode, device=args.device,
            **origin())
    try:
        import torch
    except BaseException as exc:
        missing = isinstance(exc, ModuleNotFoundError) and getattr(exc, "name", None) == "torch"
        ev.emit("import-failed", missing=missing, error=full_error(exc),
                traceback=traceback.format_exc()[-3000:], **origin())
        return 0
    ev.emit("imported", version=str(getattr(torch, "__version__", "")))
    info = torch_info(torch)  # CUDA initialisation: can hang or crash on a broken driver
    ev.emit("torch", **info)
    mode(ev, torch, info, args)
    ev.emit("done")
    return 0
