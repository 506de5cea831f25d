"""What ``envcheck verify`` found: checks, per device, and the whole run; all plain data.

A check ends ``passed``, ``failed`` (a wrong answer, an error, a hang or a crash: then
:attr:`CheckResult.failure` says which, in words), ``skipped`` (does not apply here, with the
reason) or ``not-run`` (an earlier failure stopped the process or made the GPU unusable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from envcheck.outcome import CHECK_STATUSES as STATUSES

__all__ = [
    "STATUSES",
    "Failure",
    "CheckResult",
    "PerfLine",
    "PerfReport",
    "DeviceReport",
    "VerifyReport",
]


@dataclass(frozen=True)
class Failure:
    kind: str  # one of envcheck.verify.classify.KINDS
    summary: str  # what went wrong, in words a user understands
    evidence: str = ""  # the error line, signal or stderr tail it rests on
    fix: Optional[str] = None
    command: Optional[str] = None  # a command that fixes it, when there is one

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "evidence": self.evidence,
            "fix": self.fix,
            "command": self.command,
        }


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # STATUSES
    detail: str = ""
    seconds: Optional[float] = None
    values: Mapping[str, Any] = field(default_factory=dict)
    failure: Optional[Failure] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "seconds": self.seconds,
            "values": dict(self.values),
            "failure": self.failure.to_dict() if self.failure else None,
        }


@dataclass(frozen=True)
class PerfLine:
    metric: str  # matmul-bf16 | matmul-fp16 | matmul-tf32 | matmul-fp32 | copy-d2d | copy-h2d | copy-d2h
    status: str  # measured | skipped | failed (the measurement itself did not work)
    value: Optional[float] = None
    unit: str = ""
    peak: Optional[float] = None  # the datasheet figure it is compared with
    fraction: Optional[float] = None
    healthy: Optional[Tuple[float, float]] = None  # the class's healthy fraction range
    verdict: str = "none"  # ok | low | fail | high | none (no verdict)
    note: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {
            "metric": self.metric,
            "status": self.status,
            "value": self.value,
            "unit": self.unit,
            "peak": self.peak,
            "fraction": self.fraction,
            "healthy": list(self.healthy) if self.healthy else None,
            "verdict": self.verdict,
            "note": self.note,
        }


@dataclass(frozen=True)
class PerfReport:
    device: str
    name: Optional[str]  # as the device reported it
    row: Optional[str] = None  # the GPU table row's key
    row_name: Optional[str] = None
    gpu_class: Optional[str] = None
    confidence: Optional[str] = None  # of the row's peaks
    lines: Tuple[PerfLine, ...] = ()
    readings: Optional[Mapping[str, Any]] = None  # clocks, power, throttle reasons, PCIe link
    notes: Tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return any(line.verdict == "fail" for line in self.lines)

    @property
    def judged(self) -> bool:
        return any(line.verdict != "none" for line in self.lines)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "device": self.device,
            "name": self.name,
            "table_row": self.row,
            "table_name": self.row_name,
            "class": self.gpu_class,
            "confidence": self.confidence,
            "lines": [line.to_dict() for line in self.lines],
            "readings": dict(self.readings) if self.readings is not None else None,
            "notes": list(self.notes),
        }


@dataclass
class DeviceReport:
    device: str  # "cpu" | "cuda:0"
    kind: str  # cpu | cuda
    name: Optional[str] = None
    cc: Optional[str] = None
    memory_mib: Optional[int] = None
    uuid: Optional[str] = None
    pci: Optional[Tuple[int, int, int]] = None  # (domain, bus, device)
    checks: List[CheckResult] = field(default_factory=list)
    perf: Optional[PerfReport] = None
    process: str = ""  # how the child process ended, in words
    seconds: Optional[float] = None
    notes: List[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0 or (self.perf is not None and self.perf.failed)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "device": self.device,
            "kind": self.kind,
            "name": self.name,
            "compute_capability": self.cc,
            "memory_mib": self.memory_mib,
            "uuid": self.uuid,
            "status": "failed" if self.failed else "passed",
            "checks": [c.to_dict() for c in self.checks],
            "perf": self.perf.to_dict() if self.perf else None,
            "process": self.process,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


@dataclass
class VerifyReport:
    torch: Mapping[str, Any]  # the build as the child saw it (version, CUDA, cuDNN, TF32 ...)
    python: Optional[str]
    devices: List[DeviceReport] = field(default_factory=list)
    multi_gpu: List[CheckResult] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    seconds: float = 0.0

    def all_checks(self) -> List[CheckResult]:
        return [c for d in self.devices for c in d.checks] + list(self.multi_gpu)

    @property
    def failed(self) -> bool:
        return any(d.failed for d in self.devices) or any(c.status == "failed" for c in self.multi_gpu)

    @property
    def exit_code(self) -> int:
        from envcheck.outcome import verify_exit

        verdicts = [line.verdict for d in self.devices if d.perf is not None for line in d.perf.lines]
        return verify_exit([c.status for c in self.all_checks()], verdicts)

    def summary(self) -> Dict[str, Any]:
        checks = self.all_checks()
        out: Dict[str, Any] = {s.replace("-", "_"): sum(1 for c in checks if c.status == s) for s in STATUSES}
        out["checks"] = len(checks)
        out["devices"] = [d.device for d in self.devices]
        out["perf_failed"] = [d.device for d in self.devices if d.perf is not None and d.perf.failed]
        out["verdict"] = "failed" if self.failed else "passed"
        return out

    def to_dict(self) -> Dict[str, Any]:
        return {
            "torch": dict(self.torch),
            "python": self.python,
            "devices": [d.to_dict() for d in self.devices],
            "multi_gpu": [c.to_dict() for c in self.multi_gpu],
            "summary": self.summary(),
            "seconds": round(self.seconds, 3),
        }
