"""Failures in words a user understands: what the error text, signal or timeout means, and the fix.

Pure, apart from the fixes that name a command: those consult the compatibility matrix
(:mod:`envcheck.install.choose`), and fall back to naming ``envcheck install-command`` when the
data cannot answer.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from envcheck.errors import EnvcheckError
from envcheck.verify.model import Failure

__all__ = [
    "KINDS",
    "FixContext",
    "classify_text",
    "failure_for_error",
    "failure_for_process",
    "failure_for_wrong",
    "arch_lists",
    "arch_fix",
    "install_command",
    "cuda_unavailable_reason",
]

KINDS = (
    "no-kernel-image",
    "out-of-memory",
    "illegal-address",
    "ecc",
    "gpu-lost",
    "kernel-fault",
    "nccl",
    "collective",
    "library",
    "driver",
    "device-busy",
    "timeout",
    "crash",
    "wrong-result",
    "error",
    "shadowed",
)

# Ordered: the first rule whose marker occurs (case-insensitively) decides.
_RULES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("no-kernel-image", (
        "no kernel image is available",
        "cudaerrornokernelimagefordevice",
        "invalid device function",
        "is not compatible with the current pytorch installation",
    )),
    ("ecc", ("uncorrectable ecc", "ecc error")),
    ("gpu-lost", ("fallen off the bus", "gpu is lost", "gpu_is_lost")),
    ("illegal-address", ("illegal memory access", "illegal address", "misaligned address")),
    ("kernel-fault", (
        "unspecified launch failure",
        "illegal instruction",
        "launch timed out",
        "device-side assert",
        "hardware stack error",
    )),
    ("out-of-memory", ("out of memory", "outofmemoryerror", "cudaerrormemoryallocation", "cublas_status_alloc_failed")),
    ("device-busy", ("busy or unavailable",)),
    ("library", (
        "cudnn version incompatibility",
        "undefined symbol",
        "cannot open shared object file",
        "cublas_status_arch_mismatch",
    )),
    ("nccl", ("nccl",)),
    ("driver", (
        "driver version is insufficient",
        "found no nvidia driver",
        "no cuda gpus are available",
        "driver initialization failed",
        "cuda driver initialization",
        "the nvidia driver on your system is too old",
    )),
    ("collective", ("gloo", "connection closed by peer", "connection reset by peer", "distbackenderror")),
)


@dataclass(frozen=True)
class FixContext:
    """What a fix may need to know about the device and the torch build."""

    device: str = ""
    name: Optional[str] = None
    cc: Optional[str] = None  # "6.1"
    torch_version: Optional[str] = None
    cuda_build: Optional[str] = None
    arch_list: Tuple[str, ...] = ()  # torch.cuda.get_arch_list(): ("sm_75", ..., "compute_120")
    driver: Optional[str] = None  # NVML's driver version, when known
    driver_facts: Any = None  # envcheck.facts.model.DriverFacts, for the install command


def classify_text(text: str) -> str:
    low = (text or "").lower()
    for kind, markers in _RULES:
        if any(m in low for m in markers):
            return kind
    return "error"


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:500]
    return ""


def _evidence(text: str) -> str:
    """The informative line: CUDA puts "CUDA error: ..." first and advice after it."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for line in lines:
        if "error" in line.lower():
            return line[:500]
    return lines[0][:500] if lines else ""


# ----------------------------------------------------------------------------------- arch fix


def arch_lists(arch_list: Sequence[str]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """``("sm_75", "sm_90a", "compute_120")`` -> SASS ``("7.5", "9.0a")``, PTX ``("12.0",)``."""
    sass, ptx = [], []
    for entry in arch_list:
        kind, _, digits = entry.partition("_")
        suffix = ""
        if digits[-1:] in ("a", "f"):
            digits, suffix = digits[:-1], digits[-1]
        if not digits.isdigit() or len(digits) < 2:
            continue
        text = f"{int(digits[:-1])}.{digits[-1]}{suffix}"
        if kind == "sm":
            sass.append(text)
        elif kind == "compute":
            ptx.append(text)
    return tuple(sass), tuple(ptx)


def install_command(*, ccs: Sequence[str] = (), driver_facts: Any = None, driver: Optional[str] = None,
                    cpu: bool = False, python_exe: Optional[str] = None,
                    python_version: Optional[str] = None, keep: Optional[str] = None) -> Optional[str]:
    """The pip command envcheck would recommend, or None when the data cannot say: the one repair
    path (:func:`envcheck.install.fix.install_fix`) over the machine verify saw. ``driver_facts``:
    NVML's view of the driver and GPUs; ``ccs``/``driver``: the failing GPU's compute capability
    and the driver, when NVML gave nothing; ``cpu``: the CPU build; ``python_exe``/``python_version``
    ("3.12.1"): the interpreter verified (``PATH -m pip`` when it is not envcheck's own); ``keep``:
    the installed torch ("2.6.0+cu124"), whose release is kept when one of its builds fits."""
    try:
        import sys

        from envcheck.install.fix import Repairs
        from envcheck.matrix import store

        foreign = python_exe if python_exe and python_exe != sys.executable else None
        machine = _machine(driver_facts, ccs, driver, foreign, python_version, keep)
        repairs = Repairs(store.load(), machine)
        if cpu:
            from envcheck.install.choose import choose
            from envcheck.install.commands import manager_command

            return manager_command(choose(repairs.matrix, repairs.target().with_flags(cpu=True)), pip=machine.pip)
        fix = repairs.install()
        # Never a CPU build for a GPU that failed: no command rather than a wrong one.
        return fix.command if fix is not None and not fix.cpu_fallback else None
    except (EnvcheckError, ValueError, LookupError):
        return None


def _machine(driver_facts: Any, ccs: Sequence[str], driver: Optional[str], python_exe: Optional[str],
             python_version: Optional[str], keep: Optional[str]) -> Any:
    """The machine verify saw, as facts: NVML's driver view (or the failing GPU), this OS, the
    verified interpreter and its torch."""
    import platform
    import sys

    from envcheck.facts.machine import Machine
    from envcheck.facts.model import DriverFacts, Facts, GpuFacts, HostFacts, TorchStaticFacts

    d = driver_facts if isinstance(driver_facts, DriverFacts) else DriverFacts()
    if ccs:  # the GPU that failed: a build must carry its code
        d = DriverFacts(status="ok", version=driver or d.version, cuda_max=d.cuda_max,
                        gpus=tuple(GpuFacts(index=i, compute_capability=str(cc)) for i, cc in enumerate(ccs)))
    python = python_version or "{}.{}.{}".format(*sys.version_info[:3])
    label = keep.split("+", 1)[1] if keep and "+" in keep else None
    torch = TorchStaticFacts(status="ok", version=keep, variant=label, python_version=python,
                             interpreter=python_exe) if keep else TorchStaticFacts(python_version=python)
    return Machine.from_facts(Facts(python=python_exe, host=HostFacts(system=platform.system()),
                                    driver=d, torch=torch))


def arch_fix(ctx: FixContext) -> Tuple[str, Optional[str], Optional[str]]:
    """(why, fix, command) for "no kernel image" on ``ctx``'s GPU."""
    from envcheck.matrix.archs import generation, runs_on
    from envcheck.matrix.variants import parse_cc

    build = f"torch {ctx.torch_version or '?'}"
    if not ctx.cc:
        return (f"{build} carries no GPU code this GPU can run", "reinstall torch with a build for this GPU "
                "(envcheck install-command picks one)", None)
    try:
        cc = parse_cc(ctx.cc)
    except EnvcheckError:
        return (f"{build} carries no GPU code for compute capability {ctx.cc}", None, None)
    gpu = f"{ctx.name or 'this GPU'} (compute capability {cc}, {cc.sm}, {generation(cc)})"
    why = f"{build} has no code for {gpu}"
    sass, ptx = arch_lists(ctx.arch_list)
    if sass or ptx:
        verdict = runs_on(cc, sass, ptx)
        have = ", ".join(ctx.arch_list)
        why += f": {verdict.reason}" if not verdict.runs else f" (its arch list: {have})"
        if not verdict.runs and "the wheel has" not in verdict.reason:
            why += f" (its arch list: {have})"
    command = install_command(ccs=(str(cc),), driver=ctx.driver, keep=ctx.torch_version)
    if command:
        fix = f"install a build that carries {cc.sm} code (envcheck install-command --cc {cc} explains the choice)"
    else:
        fix = (f"no torch build in envcheck's data carries {cc.sm} code for this setup; "
               f"envcheck matrix --cc {cc} shows which releases ran on it")
    return why, fix, command


# ---------------------------------------------------------------------------------- failures


def _library_fix(ctx: FixContext) -> Tuple[str, Optional[str]]:
    command = install_command(driver_facts=ctx.driver_facts, keep=ctx.torch_version)
    return (
        "remove other CUDA/cuDNN/NCCL library folders from LD_LIBRARY_PATH (they shadow the ones torch "
        "ships) and reinstall torch, torchvision and torchaudio from one index in one command",
        command,
    )


def failure_for_error(text: str, ctx: FixContext, *, check: str = "") -> Failure:
    """An exception raised inside a check (the child's full error text)."""
    kind = classify_text(text)
    evidence = _evidence(text)
    where = f" (in the {check} check)" if check else ""
    dev = ctx.device or "the device"
    if kind == "no-kernel-image":
        why, fix, command = arch_fix(ctx)
        return Failure(kind, f"no kernel image{where}: {why}", evidence, fix, command)
    if kind == "out-of-memory":
        return Failure(kind, f"out of memory{where}: {dev} had too little free memory for the check",
                       evidence, "free the GPU (nvidia-smi lists the processes using it) and run again")
    if kind == "illegal-address":
        return Failure(
            kind,
            f"illegal memory access{where}: a kernel touched memory it does not own; with torch's own "
            "kernels this points at the driver or the hardware, and the GPU is unusable until the "
            "process ends",
            evidence,
            "run again; if it repeats, look for Xid errors in `dmesg` (13, 31 and 43 point at software, "
            "48, 63, 64, 94 and 95 at memory) and run `dcgmi diag -r 3`",
        )
    if kind == "ecc":
        return Failure(
            kind,
            f"uncorrectable ECC error{where}: {dev}'s memory returned corrupted data",
            evidence,
            "reset the GPU (`nvidia-smi -r`) or reboot; `nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER` "
            "shows the counters; if it comes back, the GPU needs service",
        )
    if kind == "gpu-lost":
        return Failure(kind, f"{dev} fell off the bus{where} (Xid 79): the driver lost contact with it",
                       evidence, "reboot; check the GPU's power, cooling and PCIe seating (`dmesg` shows the Xid)")
    if kind == "kernel-fault":
        return Failure(
            kind,
            f"a kernel crashed{where} (the GPU is unusable until the process ends)",
            evidence,
            "run again with CUDA_LAUNCH_BLOCKING=1 to place it; a GPU that drives a display kills long "
            "kernels (watchdog); otherwise look for Xid errors in `dmesg`",
        )
    if kind == "device-busy":
        return Failure(
            kind,
            f"{dev} is busy or unavailable{where}: it is in exclusive-process compute mode and another "
            "process holds it, or it is prohibited",
            evidence,
            "stop the other process, or set the compute mode to DEFAULT (`nvidia-smi -c DEFAULT`)",
        )
    if kind == "nccl":
        return Failure(
            kind,
            f"NCCL error{where}: the collective across the GPUs failed",
            evidence,
            "rerun with NCCL_DEBUG=INFO; in containers give /dev/shm room (--ipc=host or --shm-size=1g); "
            "NCCL_P2P_DISABLE=1 tells whether peer-to-peer (IOMMU/ACS on PCIe switches) is the problem",
        )
    if kind == "collective":
        return Failure(kind, f"the collective{where} failed: a peer process went away or could not connect",
                       evidence, "see the other ranks' errors; a firewall or a full /dev/shm can cause it")
    if kind == "library":
        fix, command = _library_fix(ctx)
        return Failure(kind, f"a library torch needs does not load or does not match its build{where}",
                       evidence, fix, command)
    if kind == "driver":
        return Failure(kind, f"torch cannot start CUDA{where}", evidence,
                       "envcheck diagnose explains why (driver, device nodes, CUDA_VISIBLE_DEVICES)",
                       install_command(driver_facts=ctx.driver_facts, keep=ctx.torch_version))
    return Failure("error", f"error{where}: {first_line(text)}", evidence)


def failure_for_wrong(detail: str, *, check: str = "") -> Failure:
    """The check ran and its answer was wrong."""
    return Failure(
        "wrong-result",
        f"wrong result{' in the ' + check + ' check' if check else ''}: {detail}",
        detail,
        "run again; wrong answers from torch's own kernels on a GPU point at the hardware (memory, "
        "overclocking, overheating): run `dcgmi diag -r 3` and look for Xid errors in `dmesg`",
    )


_WARNING_LINE = re.compile(r"\b\w*Warning: ")


def stderr_lines(text: Optional[str]) -> List[str]:
    """The child's stderr without Python warnings (``file:line: XWarning: ...`` and the source
    line printed under it): a warning on import is not evidence of a crash."""
    out: List[str] = []
    skip_source = False
    for raw in (text or "").splitlines():
        if skip_source and raw[:1].isspace():
            skip_source = False
            continue
        skip_source = False
        if _WARNING_LINE.search(raw):
            skip_source = True
            continue
        if raw.strip():
            out.append(raw.strip())
    return out


def failure_for_process(result: Any, *, check: Optional[str], timeout: float, gpu: bool = True) -> Failure:
    """The child died or hung while ``check`` was running (a :class:`envcheck.proc.ProcResult`);
    ``gpu``: the check ran on a GPU (else the CPU, where a hang is no driver's doing)."""
    during = f"during {check}" if check else "before its first check"
    stderr = stderr_lines(result.stderr)
    tail = stderr[-1][:300] if stderr else ""
    if result.timed_out and not gpu:
        return Failure(
            "timeout",
            f"no answer within {timeout:g} s {during}: the check did not finish and its process was killed",
            tail or result.describe(),
            f"on the CPU that is a slow or busy machine, or a deadlock (OpenMP threads: try OMP_NUM_THREADS=1): "
            f"give it more time with --timeout (it bounds the whole process, `import torch` included; "
            f"{timeout:g} s was given)",
        )
    if result.timed_out:
        return Failure(
            "timeout",
            f"no answer within {timeout:g} s {during}: the check hung and its process was killed",
            tail or result.describe(),
            "a hung kernel or a stuck driver: look for Xid errors in `dmesg` and stuck processes in "
            "nvidia-smi; on a slow machine give it more time with --timeout",
        )
    if result.signal is not None:
        kind = classify_text("\n".join(stderr[-20:]))
        summary = f"the process was killed by {result.signal_name} {during}: torch or a CUDA library crashed"
        if kind not in ("error", "collective"):
            summary += f" ({kind.replace('-', ' ')})"
        return Failure("crash", summary, tail or result.describe(),
                       "run again; if it repeats, the last lines of stderr and `dmesg` say where")
    if result.not_found or result.error:
        return Failure("crash", f"the check process could not start: {result.describe()}", result.describe())
    return Failure("crash", f"the process ended {during} with exit status {result.returncode}",
                   tail or result.describe(), "run again; the last lines of stderr say where")


def cuda_unavailable_reason(torch_info: Mapping[str, Any], env: Optional[Mapping[str, str]] = None) -> str:
    """Why ``torch.cuda.is_available()`` is False, from what the child saw."""
    env = os.environ if env is None else env
    version = torch_info.get("version") or "?"
    if torch_info.get("hip"):
        return f"torch {version} is a ROCm build (AMD GPUs)"
    if not torch_info.get("cuda_build"):
        return f"torch {version} is a CPU-only build (torch.version.cuda is None)"
    reasons = []
    for w in torch_info.get("available_warnings") or ():
        reasons.append(first_line(str(w)))
    if torch_info.get("cuda_error"):
        reasons.append(str(torch_info["cuda_error"]))
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        reasons.append(f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU")
    why = "; ".join(reasons) if reasons else "torch.cuda.is_available() is False without a warning"
    return f"torch {version} (CUDA {torch_info.get('cuda_build')} build) cannot use a GPU: {why}"
