"""The NVIDIA driver and its GPUs, through NVML (``pynvml``, package ``nvidia-ml-py``).

NVML never creates a CUDA context, so it is safe in envcheck's own process; it can still hang
on a wedged driver, which is why :func:`envcheck.probes.collect` runs this probe in a daemon
thread with a deadline. Each per-field call is wrapped: ``NOT_SUPPORTED`` becomes ``None``,
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
from typing import Any, Callable, List, Optional, Tuple

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
]

SMI_TIMEOUT = 4.0  # seconds for the nvidia-smi fallback
NVML_TIMEOUT = 6.0  # seconds for init + all queries (in-process, so bounded by a thread)
SMI_QUERY = "index,name,uuid,pci.bus_id,driver_version,memory.total,compute_cap"

# NVML return codes (stable C ABI values) -> envcheck's error codes.
_NVML_CODES = {
    1: "uninitialized",
    2: "invalid-argument",
    3: "not-supported",
    4: "no-permission",
    9: "driver-not-loaded",
    10: "timeout",
    12: "library-not-found",
    13: "function-not-found",
    14: "corrupted-inforom",
    15: "gpu-lost",
    16: "reset-required",
    17: "operating-system",
    18: "driver-library-mismatch",
    20: "memory",
    999: "unknown",
}
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
ERROR_CODES = tuple(dict.fromkeys(_MAIN_CODES + tuple(sorted(_NVML_CODES.values()))))
_MISSING_CODES = ("pynvml-missing", "library-not-found", "driver-not-loaded")

_COMPUTE_MODES = {0: "default", 1: "exclusive-thread", 2: "prohibited", 3: "exclusive-process"}
_THROTTLE_BITS = (
    (0x1, "gpu-idle"),
    (0x2, "applications-clocks-setting"),
    (0x4, "sw-power-cap"),
    (0x8, "hw-slowdown"),
    (0x10, "sync-boost"),
    (0x20, "sw-thermal-slowdown"),
    (0x40, "hw-thermal-slowdown"),
    (0x80, "hw-power-brake-slowdown"),
    (0x100, "display-clock-setting"),
)


# ---------------------------------------------------------------------------------------------
# Facts


# ---------------------------------------------------------------------------------------------
# Pure parsers

_NVRM = re.compile(
    r"NVRM version:\s+NVIDIA UNIX\s+(?:(?!Open\b)(?P<arch1>\S+)\s+)?(?P<open>Open\s+)?Kernel Module"
    r"(?:\s+for\s+(?P<arch2>\S+))?\s+(?P<version>\d+(?:\.\d+)+)"
)
_GCC = re.compile(r"^GCC version:\s*(.+?)\s*$", re.MULTILINE)


def cuda_version_string(raw: int) -> str:
    """NVML's integer CUDA version to text: 12080 -> "12.8", 11020 -> "11.2"."""
    return "{}.{}".format(raw // 1000, (raw % 1000) // 10)


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


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _error_code(exc: BaseException) -> str:
    value = getattr(exc, "value", None)
    return _NVML_CODES.get(value, "unknown") if isinstance(value, int) else "unknown"


class _GpuLost(Exception):
    pass


class _Device:
    """Queries of one GPU: each wrapped, errors collected."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        self.nvml = nvml
        self.handle = handle
        self.errors: List[FieldError] = []

    def call(self, field: str, names: Tuple[str, ...], *args: Any) -> Any:
        fn = None
        for name in names:
            fn = getattr(self.nvml, name, None)
            if fn is not None:
                break
        if fn is None:
            return None
        try:
            return fn(self.handle, *args)
        except self.nvml.NVMLError as exc:
            code = _error_code(exc)
            if code == "not-supported":
                return None
            self.errors.append(FieldError(field, code, str(exc)))
            if code == "gpu-lost":
                raise _GpuLost() from None
            return None
        except Exception as exc:  # noqa: BLE001 - a binding bug is a fact, not a crash
            self.errors.append(
                FieldError(field, "unknown", "{}: {}".format(type(exc).__name__, exc))
            )
            return None


def _const(nvml: Any, name: str, default: int) -> int:
    value = getattr(nvml, name, default)
    return value if isinstance(value, int) else default


def _pair(value: Any) -> Tuple[Any, Any]:
    if isinstance(value, (tuple, list)) and len(value) >= 2:
        return value[0], value[1]
    return None, None


def _attr(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _gpu(nvml: Any, index: int) -> GpuFacts:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except nvml.NVMLError as exc:
        code = _error_code(exc)
        return GpuFacts(
            index=index,
            status="lost" if code == "gpu-lost" else "failed",
            errors=(FieldError("handle", code, str(exc)),),
        )
    except Exception as exc:  # noqa: BLE001 - a binding bug is a fact, not a crash
        message = "{}: {}".format(type(exc).__name__, exc)
        return GpuFacts(
            index=index, status="failed", errors=(FieldError("handle", "unknown", message),)
        )
    dev = _Device(nvml, handle)
    values: dict = {}
    try:
        _query(nvml, dev, values)
        status = "ok"
    except _GpuLost:
        status = "lost"
    return GpuFacts(index=index, status=status, errors=tuple(dev.errors), **values)


def _query(nvml: Any, dev: _Device, v: dict) -> None:
    """Fill ``v`` field by field; raises _GpuLost to stop at a lost GPU (keeping what it has)."""
    c = dev.call
    v["name"] = _text(c("name", ("nvmlDeviceGetName",)))
    v["uuid"] = _text(c("uuid", ("nvmlDeviceGetUUID",)))
    v["serial"] = _text(c("serial", ("nvmlDeviceGetSerial",)))
    pci = c("pci_bus_id", ("nvmlDeviceGetPciInfo",))
    bus = _text(_attr(pci, "busId")) or _text(_attr(pci, "busIdLegacy"))
    v["pci_bus_id"] = bus
    cc = c("compute_capability", ("nvmlDeviceGetCudaComputeCapability",))
    if isinstance(cc, (tuple, list)) and len(cc) == 2:
        v["compute_capability"] = "{}.{}".format(cc[0], cc[1])
    mem = c("memory", ("nvmlDeviceGetMemoryInfo",))
    total, used = _attr(mem, "total"), _attr(mem, "used")
    v["memory_total_mib"] = int(total) // (1 << 20) if isinstance(total, int) else None
    v["memory_used_mib"] = int(used) // (1 << 20) if isinstance(used, int) else None

    mig_cur, mig_pend = _pair(c("mig_mode", ("nvmlDeviceGetMigMode",)))
    v["mig_enabled"] = bool(mig_cur) if mig_cur is not None else None
    v["mig_enabled_after_reset"] = bool(mig_pend) if mig_pend is not None else None
    mode = c("compute_mode", ("nvmlDeviceGetComputeMode",))
    v["compute_mode"] = _COMPUTE_MODES.get(mode, str(mode)) if mode is not None else None
    pers = c("persistence_mode", ("nvmlDeviceGetPersistenceMode",))
    v["persistence_mode"] = bool(pers) if pers is not None else None

    ecc_cur, ecc_pend = _pair(c("ecc_mode", ("nvmlDeviceGetEccMode",)))
    v["ecc_enabled"] = bool(ecc_cur) if ecc_cur is not None else None
    v["ecc_enabled_after_reboot"] = bool(ecc_pend) if ecc_pend is not None else None
    unc = _const(nvml, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1)
    v["ecc_uncorrected_volatile"] = c(
        "ecc_uncorrected_volatile",
        ("nvmlDeviceGetTotalEccErrors",),
        unc,
        _const(nvml, "NVML_VOLATILE_ECC", 0),
    )
    v["ecc_uncorrected_aggregate"] = c(
        "ecc_uncorrected_aggregate",
        ("nvmlDeviceGetTotalEccErrors",),
        unc,
        _const(nvml, "NVML_AGGREGATE_ECC", 1),
    )
    sbe = c(
        "retired_pages_sbe",
        ("nvmlDeviceGetRetiredPages",),
        _const(nvml, "NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS", 0),
    )
    dbe = c(
        "retired_pages_dbe",
        ("nvmlDeviceGetRetiredPages",),
        _const(nvml, "NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR", 1),
    )
    v["retired_pages_sbe"] = len(sbe) if isinstance(sbe, (list, tuple)) else None
    v["retired_pages_dbe"] = len(dbe) if isinstance(dbe, (list, tuple)) else None
    pend = c("retired_pages_pending", ("nvmlDeviceGetRetiredPagesPendingStatus",))
    v["retired_pages_pending"] = bool(pend) if pend is not None else None
    rows = c("remapped_rows", ("nvmlDeviceGetRemappedRows",))
    if isinstance(rows, (tuple, list)) and len(rows) >= 4:
        v["remapped_rows_correctable"] = int(rows[0])
        v["remapped_rows_uncorrectable"] = int(rows[1])
        v["remap_pending"] = bool(rows[2])
        v["remap_failed"] = bool(rows[3])

    v["temperature_c"] = c(
        "temperature", ("nvmlDeviceGetTemperature",), _const(nvml, "NVML_TEMPERATURE_GPU", 0)
    )
    draw = c("power_draw", ("nvmlDeviceGetPowerUsage",))
    limit = c("power_limit", ("nvmlDeviceGetPowerManagementLimit",))
    v["power_draw_w"] = round(draw / 1000.0, 1) if isinstance(draw, (int, float)) else None
    v["power_limit_w"] = round(limit / 1000.0, 1) if isinstance(limit, (int, float)) else None
    sm = _const(nvml, "NVML_CLOCK_SM", 1)
    memclk = _const(nvml, "NVML_CLOCK_MEM", 2)
    v["clock_sm_mhz"] = c("clock_sm", ("nvmlDeviceGetClockInfo",), sm)
    v["clock_sm_max_mhz"] = c("clock_sm_max", ("nvmlDeviceGetMaxClockInfo",), sm)
    v["clock_mem_mhz"] = c("clock_mem", ("nvmlDeviceGetClockInfo",), memclk)
    v["clock_mem_max_mhz"] = c("clock_mem_max", ("nvmlDeviceGetMaxClockInfo",), memclk)
    mask = c(
        "throttle_reasons",
        ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"),
    )
    if isinstance(mask, int):
        v["throttle_reasons"] = tuple(name for bit, name in _THROTTLE_BITS if mask & bit)
    v["pcie_gen_current"] = c("pcie_gen_current", ("nvmlDeviceGetCurrPcieLinkGeneration",))
    v["pcie_gen_max"] = c("pcie_gen_max", ("nvmlDeviceGetMaxPcieLinkGeneration",))
    v["pcie_width_current"] = c("pcie_width_current", ("nvmlDeviceGetCurrPcieLinkWidth",))
    v["pcie_width_max"] = c("pcie_width_max", ("nvmlDeviceGetMaxPcieLinkWidth",))


def _system(nvml: Any, name: str, errors: List[FieldError]) -> Any:
    fn = getattr(nvml, name, None)
    if fn is None:
        return None
    try:
        return fn()
    except nvml.NVMLError as exc:
        code = _error_code(exc)
        if code != "not-supported":
            errors.append(FieldError(name, code, str(exc)))
        return None


def _nvml_query(nvml: Any) -> DriverFacts:
    """Init, read, shut down. Returns NVML's part of the facts (no fallbacks)."""
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        code = _error_code(exc)
        return DriverFacts(
            status="missing" if code in _MISSING_CODES else "failed",
            detail="nvmlInit: {}".format(exc),
            error_code=code,
        )
    try:
        errors: List[FieldError] = []
        version = _text(_system(nvml, "nvmlSystemGetDriverVersion", errors))
        raw = _system(nvml, "nvmlSystemGetCudaDriverVersion_v2", errors)
        if raw is None:
            raw = _system(nvml, "nvmlSystemGetCudaDriverVersion", errors)
        nvml_version = _text(_system(nvml, "nvmlSystemGetNVMLVersion", errors))
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as exc:
            code = _error_code(exc)
            return DriverFacts(
                status="failed",
                detail="nvmlDeviceGetCount: {}".format(exc),
                error_code=code,
                version=version,
                version_source="nvml" if version else None,
                cuda_max=cuda_version_string(raw) if isinstance(raw, int) else None,
                cuda_max_raw=raw if isinstance(raw, int) else None,
                nvml_version=nvml_version,
            )
        gpus = tuple(_gpu(nvml, i) for i in range(count))
        lost = [g.index for g in gpus if g.status == "lost"]
        detail = "driver {}, CUDA {}, {} GPU(s)".format(
            version, cuda_version_string(raw) if isinstance(raw, int) else "?", count
        )
        if lost:
            detail += "; lost: " + ", ".join(str(i) for i in lost)
        if errors:
            detail += "; " + "; ".join("{}: {}".format(e.field, e.message) for e in errors)
        return DriverFacts(
            status="ok",
            detail=detail,
            error_code="gpu-lost" if lost else None,
            version=version,
            version_source="nvml" if version else None,
            cuda_max=cuda_version_string(raw) if isinstance(raw, int) else None,
            cuda_max_raw=raw if isinstance(raw, int) else None,
            nvml_version=nvml_version,
            gpu_count=count,
            gpus=gpus,
        )
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - shutting down is best effort
            pass


def _import_pynvml() -> Tuple[Any, Optional[str]]:
    try:
        import pynvml  # type: ignore[import-not-found]
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken install
        return None, "{}: {}".format(type(exc).__name__, exc)
    return pynvml, None


def probe_nvml(
    nvml: Any = None,
    *,
    root: str = "/",
    smi: Optional[str] = "nvidia-smi",
    smi_timeout: float = SMI_TIMEOUT,
    nvml_timeout: Optional[float] = NVML_TIMEOUT,
    importer: Optional[Callable[[], Tuple[Any, Optional[str]]]] = None,
) -> DriverFacts:
    """Driver and GPUs. ``nvml``: a pynvml-like module (default: import pynvml).

    ``root`` prefixes ``/proc/driver/nvidia/version``; ``smi`` is the nvidia-smi to run when
    NVML fails (None: do not run it); ``nvml_timeout`` bounds NVML (init and every query) by
    running it in a daemon thread (None: run inline). Never raises for an absent or broken
    driver.
    """
    kernel = read_kernel_module(root)
    err: Optional[str] = None
    if nvml is None:
        nvml, err = (importer or _import_pynvml)()
    if nvml is None:
        facts = DriverFacts(
            status="missing", detail="pynvml: " + str(err), error_code="pynvml-missing"
        )
    elif nvml_timeout is None:
        facts = _guarded(nvml)
    else:
        from envcheck import faults
        from envcheck.probes.bounded import run_bounded

        module = nvml
        nvml_timeout = faults.bound("nvml", nvml_timeout)  # ENVCHECK_FAULT=timeout.nvml=S cuts it
        finished, result, _ = run_bounded(lambda: _guarded(module), nvml_timeout, "nvml")
        if finished and result is not None:
            facts = result
        else:
            facts = DriverFacts(
                status="timed-out",
                error_code="timeout",
                detail="NVML: no answer within {:.1f} s".format(nvml_timeout),
            )
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
    if facts.status != "missing" and facts.error_code not in (None, "unknown"):
        return facts
    detail = "nvidia-smi: {}".format(smi.detail)
    if facts.detail:
        detail += "; NVML: {}".format(facts.detail)
    return replace(facts, status="timed-out" if smi.status == "timed-out" else "failed",
                   error_code=smi.error_code, detail=detail)


def _guarded(nvml: Any) -> DriverFacts:
    try:
        return _nvml_query(nvml)
    except Exception as exc:  # noqa: BLE001 - a binding bug must not take the tool down
        return DriverFacts(
            status="failed",
            detail="NVML: {}: {}".format(type(exc).__name__, exc),
            error_code=_error_code(exc),
        )
