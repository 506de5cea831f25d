"""The NVIDIA driver and its GPUs through NVML, in a child process (:mod:`envcheck.probes.nvml` is
the parent side and turns what this prints into DriverFacts).

NVML is a C library loaded into the process that calls it: on a broken driver ``nvmlInit`` can
crash the process (a segfault inside ``libnvidia-ml.so``) or hang in the kernel. Run here, a
crash kills only this child; the parent reads the last ``stage`` event (the NVML call that was
running) and reports ``crashed``, and a hang is cut at the parent's timeout.

Runs in envcheck's own interpreter (it needs ``pynvml``, from ``nvidia-ml-py``); standard library
and pynvml only. :func:`read` is the whole reading, from any pynvml-like module (the parent
replays recordings through it in-process): init, the driver's version and CUDA ceiling, every
GPU field by field (``NOT_SUPPORTED`` is None, any other error is kept, a lost GPU stops its own
queries), shut down. Events: a ``stage`` before every NVML call, then one ``result``.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Tuple

from envcheck.children import events

__all__ = ["MISSING_CODES", "NVML_CODES", "cuda_version_string", "import_pynvml", "read", "main"]

# NVML return codes (stable C ABI values) -> envcheck's error codes.
NVML_CODES = {
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
MISSING_CODES = ("pynvml-missing", "library-not-found", "driver-not-loaded")


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



def cuda_version_string(raw: int) -> str:
    """NVML's integer CUDA version to text: 12080 -> "12.8", 11020 -> "11.2"."""
    return "{}.{}".format(raw // 1000, (raw % 1000) // 10)


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _error_code(exc: BaseException) -> str:
    value = getattr(exc, "value", None)
    return NVML_CODES.get(value, "unknown") if isinstance(value, int) else "unknown"


class _GpuLost(Exception):
    pass


class _Device:
    """Queries of one GPU: each wrapped, errors collected."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        self.nvml = nvml
        self.handle = handle
        self.errors: List[Dict[str, Any]] = []

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
            self.errors.append(_error(field, code, str(exc)))
            if code == "gpu-lost":
                raise _GpuLost() from None
            return None
        except Exception as exc:  # noqa: BLE001 - a binding bug is a fact, not a crash
            self.errors.append(
                _error(field, "unknown", "{}: {}".format(type(exc).__name__, exc))
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


def _gpu(nvml: Any, index: int) -> Dict[str, Any]:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except nvml.NVMLError as exc:
        code = _error_code(exc)
        return dict(
            index=index,
            status="lost" if code == "gpu-lost" else "failed",
            errors=(_error("handle", code, str(exc)),),
        )
    except Exception as exc:  # noqa: BLE001 - a binding bug is a fact, not a crash
        message = "{}: {}".format(type(exc).__name__, exc)
        return dict(
            index=index, status="failed", errors=(_error("handle", "unknown", message),)
        )
    dev = _Device(nvml, handle)
    values: dict = {}
    try:
        _query(nvml, dev, values)
        status = "ok"
    except _GpuLost:
        status = "lost"
    return dict(index=index, status=status, errors=list(dev.errors), **values)


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
        v["throttle_reasons"] = [name for bit, name in _THROTTLE_BITS if mask & bit]
    v["pcie_gen_current"] = c("pcie_gen_current", ("nvmlDeviceGetCurrPcieLinkGeneration",))
    v["pcie_gen_max"] = c("pcie_gen_max", ("nvmlDeviceGetMaxPcieLinkGeneration",))
    v["pcie_width_current"] = c("pcie_width_current", ("nvmlDeviceGetCurrPcieLinkWidth",))
    v["pcie_width_max"] = c("pcie_width_max", ("nvmlDeviceGetMaxPcieLinkWidth",))


def _system(nvml: Any, name: str, errors: List[Dict[str, Any]]) -> Any:
    fn = getattr(nvml, name, None)
    if fn is None:
        return None
    try:
        return fn()
    except nvml.NVMLError as exc:
        code = _error_code(exc)
        if code != "not-supported":
            errors.append(_error(name, code, str(exc)))
        return None


def _nvml_query(nvml: Any) -> Dict[str, Any]:
    """Init, read, shut down. Returns NVML's part of the facts (no fallbacks)."""
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        code = _error_code(exc)
        return dict(
            status="missing" if code in MISSING_CODES else "failed",
            detail="nvmlInit: {}".format(exc),
            error_code=code,
        )
    try:
        errors: List[Dict[str, Any]] = []
        version = _text(_system(nvml, "nvmlSystemGetDriverVersion", errors))
        raw = _system(nvml, "nvmlSystemGetCudaDriverVersion_v2", errors)
        if raw is None:
            raw = _system(nvml, "nvmlSystemGetCudaDriverVersion", errors)
        nvml_version = _text(_system(nvml, "nvmlSystemGetNVMLVersion", errors))
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as exc:
            code = _error_code(exc)
            return dict(
                status="failed",
                detail="nvmlDeviceGetCount: {}".format(exc),
                error_code=code,
                version=version,
                version_source="nvml" if version else None,
                cuda_max=cuda_version_string(raw) if isinstance(raw, int) else None,
                cuda_max_raw=raw if isinstance(raw, int) else None,
                nvml_version=nvml_version,
            )
        gpus = [_gpu(nvml, i) for i in range(count)]
        lost = [g["index"] for g in gpus if g["status"] == "lost"]
        detail = "driver {}, CUDA {}, {} GPU(s)".format(
            version, cuda_version_string(raw) if isinstance(raw, int) else "?", count
        )
        if lost:
            detail += "; lost: " + ", ".join(str(i) for i in lost)
        if errors:
            detail += "; " + "; ".join("{}: {}".format(e["field"], e["message"]) for e in errors)
        return dict(
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


def import_pynvml() -> Tuple[Any, Optional[str]]:
    try:
        import pynvml
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken install
        return None, "{}: {}".format(type(exc).__name__, exc)
    return pynvml, None


def read(nvml: Any) -> Dict[str, Any]:
    """NVML's reading of the driver and its GPUs as plain data (DriverFacts' fields); never
    raises for NVML's sake (a binding bug is a ``failed`` reading)."""
    try:
        return _nvml_query(nvml)
    except Exception as exc:  # noqa: BLE001 - a binding bug must not take the tool down
        return dict(
            status="failed",
            detail="NVML: {}: {}".format(type(exc).__name__, exc),
            error_code=_error_code(exc),
        )


def _error(field: str, code: str, message: str) -> Dict[str, Any]:
    return {"field": field, "code": code, "message": message}


class _Staged:
    """A pynvml module whose every ``nvml*`` call says its name first (a crash is then placed)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not (name.startswith("nvml") and callable(value)):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            events.emit("stage", name=name)
            return value(*args, **kwargs)

        return call


def main(argv: Optional[List[str]] = None) -> int:
    events.emit("stage", name="import pynvml")
    module, error = import_pynvml()
    if module is None:
        found = {"status": "missing", "detail": "pynvml: " + str(error), "error_code": "pynvml-missing"}
    else:
        found = read(_Staged(module))
    events.emit("result", driver=found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
