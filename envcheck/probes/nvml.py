"""The NVIDIA driver and its GPUs, through NVML (``pynvml``, package ``nvidia-ml-py``).

NVML never creates a CUDA context, but it is a C library talking to the kernel driver: on a
broken driver ``nvmlInit`` can hang or crash the process that loaded it. So the real pynvml runs
in a child process (:mod:`envcheck.children.nvml_driver`) with a deadline, and a crash or a hang
is a fact (``crashed``, ``timed-out``), never a dead or stuck envcheck. Each per-field call is wrapped: ``NOT_SUPPORTED`` becomes ``None``,
any other error is kept as a :class:`FieldError`, and a lost GPU stops its own queries.

When NVML cannot start (no library, no driver, driver/library mismatch, no permission ...) the
failure is a fact with a :data:`error code <ERROR_CODES>`, and two fallbacks fill in what they
can: ``/proc/driver/nvidia/version`` (the kernel module, always read: it is also the evidence for
a driver/library mismatch) and ``nvidia-smi --query-gpu=... --format=csv`` (never its table).

Tests inject a recorded ``nvml`` module object; :func:`probe_nvml` never imports pynvml then.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any, Callable, Optional, Tuple

from envcheck.children.nvml_driver import NVML_CODES, cuda_version_string, import_pynvml, read
from envcheck.facts.model import DriverFacts, FieldError, GpuFacts, KernelModuleFacts, SmiFacts, SmiGpu

__all__ = [
    "ERROR_CODES",
    "SMI_TIMEOUT",
    "NVML_TIMEOUT",
    "SMI_QUERY",
    "cuda_version_string",
    "parse_proc_driver_version",
    "parse_smi_csv",
    "read_kernel_module",
    "probe_smi",
    "probe_nvml",
    "smi_error",
    "facts_from",
]

SMI_TIMEOUT = 4.0  # seconds for the nvidia-smi fallback
NVML_TIMEOUT = 6.0  # seconds for init + all queries (in-process, so bounded by a thread)
SMI_QUERY = "index,name,uuid,pci.bus_id,driver_version,memory.total,compute_cap"

_MAIN_CODES = (
    "pynvml-missing",  # the Python binding is not installed (status missing)
    "library-not-found",  # libnvidia-ml.so.1 / nvml.dll not found (status missing)
    "driver-not-loaded",  # the kernel module is not loaded (status missing)
    "driver-library-mismatch",  # NVML_ERROR_LIB_RM_VERSION_MISMATCH (F4)
    "no-permission",
    "gpu-lost",  # NVML_ERROR_GPU_IS_LOST (Xid 79, fallen off the bus)
    "timeout",  # NVML's own, or no answer within NVML_TIMEOUT (or nvidia-smi's SMI_TIMEOUT)
    "crashed",  # the NVML child or nvidia-smi was killed by a signal (a segfault inside the driver)
    "no-devices",  # nvidia-smi: "No devices were found"
    "unknown",
)
ERROR_CODES = tuple(dict.fromkeys(_MAIN_CODES + tuple(sorted(NVML_CODES.values()))))



# ---------------------------------------------------------------------------------------------
# Facts


# ---------------------------------------------------------------------------------------------
# Pure parsers

_NVRM = re.compile(
    r"NVRM version:\s+NVIDIA UNIX\s+(?:(?!Open\b)(?P<arch1>\S+)\s+)?(?P<open>Open\s+)?Kernel Module"
    r"(?:\s+for\s+(?P<arch2>\S+))?\s+(?P<version>\d+(?:\.\d+)+)"
)
_GCC = re.compile(r"^GCC version:\s*(.+?)\s*$", re.MULTILINE)


def parse_proc_driver_version(text: str) -> KernelModuleFacts:
    m = _NVRM.search(text)
    if not m:
        first = (text.strip().splitlines() or [""])[0][:200]
        return KernelModuleFacts(status="failed", detail="unrecognised: {!r}".format(first))
    gcc = _GCC.search(text)
    gcc_text = gcc.group(1) if gcc else None
    if gcc_text and gcc_text.startswith("gcc version "):
        gcc_text = gcc_text[len("gcc version ") :]
    return KernelModuleFacts(
        status="ok",
        detail="kernel module {}".format(m.group("version")),
        version=m.group("version"),
        flavor="open" if m.group("open") else "proprietary",
        arch=m.group("arch1") or m.group("arch2"),
        gcc=gcc_text,
    )


def _int_or_none(text: str) -> Optional[int]:
    text = text.strip()
    try:
        return int(float(text))
    except ValueError:
        return None


def _field(text: str) -> Optional[str]:
    text = text.strip()
    if not text or text.startswith("[") or text in ("N/A", "[N/A]"):
        return None
    return text


def parse_smi_csv(text: str) -> Tuple[SmiGpu, ...]:
    """Rows of ``nvidia-smi --query-gpu=SMI_QUERY --format=csv,noheader,nounits``."""
    import csv

    rows = []
    for cols in csv.reader(line for line in text.splitlines() if line.strip()):
        if len(cols) < 6:
            continue
        index = _int_or_none(cols[0])
        if index is None:
            continue
        rows.append(
            SmiGpu(
                index=index,
                name=_field(cols[1]),
                uuid=_field(cols[2]),
                pci_bus_id=_field(cols[3]),
                driver_version=_field(cols[4]),
                memory_total_mib=_int_or_none(cols[5]),
                compute_capability=_field(cols[6]) if len(cols) > 6 else None,
            )
        )
    return tuple(rows)


# ---------------------------------------------------------------------------------------------
# Capture


def read_kernel_module(root: str = "/") -> KernelModuleFacts:
    path = os.path.join(root, "proc", "driver", "nvidia", "version")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(8192)
    except FileNotFoundError:
        return KernelModuleFacts(status="missing", detail="{} not found".format(path))
    except OSError as exc:
        return KernelModuleFacts(status="failed", detail="{}: {}".format(path, exc))
    return parse_proc_driver_version(text)


# What nvidia-smi prints when it fails, in NVML's error codes (first match wins). These are the
# lines users paste most; each is read so that a failing nvidia-smi is never taken for "no GPU".
_SMI_MESSAGES = (
    (re.compile(r"couldn.t communicate with the NVIDIA driver", re.I), "driver-not-loaded"),
    (re.compile(r"Driver/library version mismatch", re.I), "driver-library-mismatch"),
    (re.compile(r"Insufficient Permissions|No permission", re.I), "no-permission"),
    (re.compile(r"couldn.t find libnvidia-ml|NVML Shared Library Not Found", re.I), "library-not-found"),
    (re.compile(r"GPU is lost|fallen off the bus", re.I), "gpu-lost"),
    (re.compile(r"GPU access blocked by the operating system", re.I), "operating-system"),
    (re.compile(r"No devices were found", re.I), "no-devices"),
    (re.compile(r"Failed to initialize NVML|Unable to determine the device handle", re.I), "unknown"),
)
# nvidia-smi's documented exit codes, for a failure whose text is not one of the above.
_SMI_EXIT_CODES = {4: "no-permission", 6: "no-devices", 9: "driver-not-loaded", 12: "library-not-found",
                   15: "gpu-lost", 18: "driver-library-mismatch"}


def smi_error(output: str, returncode: Optional[int]) -> Tuple[Optional[str], str]:
    """(NVML error code, the line that says it) for a failed nvidia-smi: its message, else its
    exit code; ``(None, last line)`` when neither is known."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for pattern, code in _SMI_MESSAGES:
        for line in lines:
            if pattern.search(line):
                extra = [ln for ln in lines if ln.startswith("NVML library version")][:1]
                return code, "; ".join([line[:300]] + extra)
    last = lines[-1][:300] if lines else ""
    return _SMI_EXIT_CODES.get(returncode) if returncode is not None else None, last


def probe_smi(smi: str = "nvidia-smi", timeout: float = SMI_TIMEOUT) -> SmiFacts:
    from envcheck.proc import run

    res = run([smi, "--query-gpu=" + SMI_QUERY, "--format=csv,noheader,nounits"], timeout=timeout, name="smi")
    if res.not_found:
        return SmiFacts(status="missing", detail=res.describe())
    if res.timed_out:
        return SmiFacts(status="timed-out", detail="no answer within {:.1f} s (killed)".format(res.seconds),
                        error_code="timeout")
    if res.signal is not None:
        return SmiFacts(status="failed", detail="killed by {}".format(res.signal_name), error_code="crashed")
    if res.error:
        return SmiFacts(status="failed", detail=res.describe())
    if not res.ok:
        code, line = smi_error(res.stdout + "\n" + res.stderr, res.returncode)
        return SmiFacts(status="failed", detail="exit status {}{}".format(res.returncode, ": " + line if line else ""),
                        error_code=code or "unknown")
    gpus = parse_smi_csv(res.stdout)
    if not gpus and res.stdout.strip():
        code, line = smi_error(res.stdout, None)
        if code is not None:  # exit 0, but the text is one of its failures ("No devices were found")
            return SmiFacts(status="failed", detail=line, error_code=code)
        return SmiFacts(status="failed", detail="unexpected output: " + res.stdout.strip()[:200], error_code="unknown")
    return SmiFacts(status="ok", detail="{} GPU(s)".format(len(gpus)), gpus=gpus)


def probe_nvml(
    nvml: Any = None,
    *,
    root: str = "/",
    smi: Optional[str] = "nvidia-smi",
    smi_timeout: float = SMI_TIMEOUT,
    nvml_timeout: Optional[float] = NVML_TIMEOUT,
    importer: Optional[Callable[[], Tuple[Any, Optional[str]]]] = None,
    in_child: bool = True,
) -> DriverFacts:
    """Driver and GPUs. ``nvml``: a pynvml-like module (default: the real pynvml).

    By default NVML runs in the ``nvml_driver`` child, bounded by ``nvml_timeout``: a segfault in
    ``libnvidia-ml`` is then a ``crashed`` fact, not a dead envcheck. A given ``nvml`` module (a
    recording) or ``importer`` runs in this process, in a daemon thread bounded by
    ``nvml_timeout`` (None: inline). ``root`` prefixes ``/proc/driver/nvidia/version``; ``smi``
    is the nvidia-smi to run when NVML fails (None: do not run it). Never raises for an absent
    or broken driver. ``in_child=False`` runs the real pynvml here (verify's samples during a run,
    on a driver that has already answered the child: no process per sample).
    """
    kernel = read_kernel_module(root)
    err: Optional[str] = None
    if nvml is None and importer is None and nvml_timeout is not None and in_child:
        facts = _nvml_in_child(nvml_timeout)  # the real library: a crash in it must not kill envcheck
    else:
        if nvml is None:
            nvml, err = (importer or import_pynvml)()
        facts = _nvml_here(nvml, err, nvml_timeout)
    return _with_fallbacks(facts, kernel, smi, smi_timeout)


def _nvml_here(nvml: Any, err: Optional[str], nvml_timeout: Optional[float]) -> DriverFacts:
    """NVML in this process: a recorded module (tests), or pynvml when asked with no bound."""
    if nvml is None:
        facts = DriverFacts(
            status="missing", detail="pynvml: " + str(err), error_code="pynvml-missing"
        )
    elif nvml_timeout is None:
        facts = facts_from(read(nvml))
    else:
        from envcheck import faults
        from envcheck.probes.bounded import run_bounded

        module = nvml
        nvml_timeout = faults.bound("nvml", nvml_timeout)  # ENVCHECK_FAULT=timeout.nvml=S cuts it
        finished, result, _ = run_bounded(lambda: facts_from(read(module)), nvml_timeout, "nvml")
        if finished and result is not None:
            facts = result
        else:
            facts = DriverFacts(
                status="timed-out",
                error_code="timeout",
                detail="NVML: no answer within {:.1f} s".format(nvml_timeout),
            )
    return facts


def _nvml_in_child(timeout: float) -> DriverFacts:
    """NVML read by the ``nvml_driver`` child in envcheck's own interpreter, with a deadline.
    A child killed by a signal is ``crashed`` (with the NVML call it was in), one that does not
    finish is ``timed-out``: both findings, never a dead envcheck or a hang."""
    import sys

    from envcheck import faults
    from envcheck.proc import run_child

    timeout = faults.bound("nvml", timeout)  # ENVCHECK_FAULT=timeout.nvml=S cuts it
    ran = run_child(sys.executable, "nvml_driver", timeout=timeout, bound="nvml")
    res = ran.result
    stages = [e.get("name") for e in ran.events if e.get("event") == "stage"]
    during = " during {}".format(stages[-1]) if stages else ""
    result = next((e for e in ran.events if e.get("event") == "result"), None)
    if result is not None:
        return facts_from(result.get("driver"))
    if res.timed_out:
        return DriverFacts(status="timed-out", error_code="timeout",
                           detail="NVML: no answer within {:.1f} s{}".format(timeout, during))
    if res.signal is not None:
        return DriverFacts(status="failed", error_code="crashed",
                           detail="NVML: the probe process was killed by {}{}".format(res.signal_name, during))
    what = "exited without a result" if res.ok else res.describe()
    return DriverFacts(status="failed", error_code="unknown", detail="NVML child: {}{}".format(what, during))


def _with_fallbacks(facts: DriverFacts, kernel: KernelModuleFacts, smi: Optional[str],
                    smi_timeout: float) -> DriverFacts:
    """The kernel module's version, and nvidia-smi when NVML failed."""
    facts = replace(facts, kernel_module=kernel)
    if facts.status == "ok":
        return facts
    if smi:
        smi_facts = probe_smi(smi, smi_timeout)
        facts = _heard_from_smi(replace(facts, smi=smi_facts), smi_facts)
        if smi_facts.status == "ok" and smi_facts.gpus:
            first = smi_facts.gpus[0]
            facts = replace(
                facts,
                version=facts.version or first.driver_version,
                version_source=facts.version_source or "nvidia-smi",
                gpu_count=len(smi_facts.gpus),
                gpus=tuple(
                    GpuFacts(
                        index=g.index,
                        source="nvidia-smi",
                        name=g.name,
                        uuid=g.uuid,
                        pci_bus_id=g.pci_bus_id,
                        compute_capability=g.compute_capability,
                        memory_total_mib=g.memory_total_mib,
                    )
                    for g in smi_facts.gpus
                ),
            )
    if facts.version is None and kernel.version is not None:
        facts = replace(facts, version=kernel.version, version_source="kernel-module")
    return facts


def _heard_from_smi(facts: DriverFacts, smi: SmiFacts) -> DriverFacts:
    """An nvidia-smi that is installed but fails says more than an NVML that could not start:
    its failure becomes the driver's (status ``failed`` or ``timed-out``, its error code, its
    words first in the detail), so that a broken driver is never read as "no driver". NVML's own
    specific failure (a mismatch it reported) is kept."""
    if smi.status not in ("failed", "timed-out") or not smi.error_code:
        return facts
    if facts.error_code not in (None, "unknown", "pynvml-missing", "library-not-found"):
        return facts  # NVML said what is wrong (not loaded, a mismatch, no permission...)
    detail = "nvidia-smi: {}".format(smi.detail)
    if facts.detail:
        detail += "; NVML: {}".format(facts.detail)
    return replace(facts, status="timed-out" if smi.status == "timed-out" else "failed",
                   error_code=smi.error_code, detail=detail)


def facts_from(data: Any) -> DriverFacts:
    """DriverFacts from the plain data of :func:`envcheck.children.nvml_driver.read`; data that
    does not fit (another envcheck's child, a binding returning odd types) is a ``failed``
    reading, never an exception."""
    try:
        d = dict(data)
        gpus = tuple(
            GpuFacts(**dict(g, errors=tuple(FieldError(**e) for e in g.get("errors") or ()),
                            throttle_reasons=tuple(g.get("throttle_reasons") or ())))
            for g in d.pop("gpus", None) or ()
        )
        return DriverFacts(**d, gpus=gpus)
    except (TypeError, ValueError) as exc:
        return DriverFacts(status="failed", error_code="unknown",
                           detail="NVML: unreadable result ({}: {})".format(type(exc).__name__, exc))
