"""One node's preflight: collect facts, run diagnose, verify and the performance check, judge.

The order, and what bounds each step (the whole run stays inside ``budget`` seconds, 55 by
default, so that a default run on an 8-GPU node finishes within a minute):

1. facts (:func:`envcheck.probes.collect`; the torch child only when diagnose runs), together
   with free space on the configured paths (each ``statvfs`` in a thread with a deadline: a hung
   network mount is a finding, not a hang);
2. diagnose (pure rules over the facts and the compatibility data);
3. verify (quick) and the performance check, in child processes, through envcheck.verify; while
   they load the GPUs, NVML is sampled for the PCIe link (the gen/width only count under load);
4. the threshold checks (:mod:`envcheck.preflight.checks`).

Progress goes to ``progress`` (stderr from the CLI); nothing here prints on stdout.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from envcheck.outcome import gate_of_verdict
from envcheck.preflight.checks import Check, HostReadings, apply_severity, exit_code, finding_checks, node_checks, not_run

__all__ = [
    "NodeReport",
    "DEFAULT_BUDGET",
    "COVERED_FINDINGS",
    "summarize",
    "measure_disks",
    "PcieSampler",
    "run_node",
]

DEFAULT_BUDGET = 55.0  # seconds for a whole node run
# diagnose findings that preflight judges itself, with its own (configurable) thresholds.
COVERED_FINDINGS = {
    "EC601": "gpu.count",  # gpu-lost
    "EC602": "gpu.ecc_errors",  # ecc-uncorrectable
    "EC603": "gpu.row_remap",  # memory-repair-pending (also gpu.retired_pages)
    "EC408": "host.shm",  # shm-small
}
_DISK_TIMEOUT = 3.0

Progress = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


@dataclass
class NodeReport:
    """What one node (or one rank) found: its summary, its checks and how long it took."""

    host: str
    summary: Dict[str, Any]
    checks: List[Check]
    seconds: float = 0.0
    profile: str = "default"
    strict: bool = False
    rank: Optional[int] = None
    local_rank: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)  # per-rank measurements (perf, busbw)

    @property
    def exit_code(self) -> int:
        return exit_code(self.checks, strict=self.strict)

    @property
    def status(self) -> str:
        from envcheck.outcome import gate_status

        return gate_status(self.exit_code)

    def counts(self) -> Dict[str, int]:
        out: Dict[str, int] = {}
        for c in self.checks:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def to_dict(self) -> Dict[str, Any]:
        return {
            "host": self.host,
            "rank": self.rank,
            "local_rank": self.local_rank,
            "status": self.status,
            "exit_code": self.exit_code,
            "profile": self.profile,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "summary": self.summary,
            "checks": [c.to_dict() for c in self.checks],
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "NodeReport":
        return cls(
            host=str(d.get("host") or "?"),
            summary=dict(d.get("summary") or {}),
            checks=[Check.from_dict(c) for c in d.get("checks") or ()],
            seconds=float(d.get("seconds") or 0.0),
            profile=str(d.get("profile") or "default"),
            rank=d.get("rank"),
            local_rank=d.get("local_rank"),
            extra=dict(d.get("extra") or {}),
        )


def summarize(facts: Any) -> Dict[str, Any]:
    """The values the cluster report compares between nodes."""
    from envcheck.facts.machine import Machine

    m = Machine.from_facts(facts)
    d = facts.driver
    gpus = [g for g in d.gpus or ()]
    return {
        "hostname": facts.host.hostname,
        "driver": d.version,
        "driver_cuda": d.cuda_max,
        "torch": m.torch_version,
        "torch_cuda": m.cuda_build,
        "python": m.python_version,
        "gpu_count": len(gpus),
        "gpu_names": sorted({g.name for g in gpus if g.name}),
        "gpus": [{"index": g.index, "name": g.name, "uuid": g.uuid, "pci_bus_id": g.pci_bus_id} for g in gpus],
        "kernel": facts.host.kernel,
    }


def measure_disks(paths: Sequence[str], timeout: float = _DISK_TIMEOUT) -> Tuple[Tuple[str, Optional[int], Optional[str]], ...]:
    """Free bytes on each path, each ``statvfs`` bounded by ``timeout`` (a hung mount)."""
    from envcheck.probes.bounded import run_bounded

    def free(path: str) -> int:
        try:
            import psutil  # type: ignore[import-untyped]

            return int(psutil.disk_usage(path).free)
        except ImportError:  # pragma: no cover - psutil is a dependency
            import shutil

            return int(shutil.disk_usage(path).free)

    from envcheck import faults

    timeout = faults.bound("disk", timeout)  # ENVCHECK_FAULT=timeout.disk=S cuts it
    out = []
    for path in paths:
        if not os.path.exists(path):
            out.append((path, None, "{} does not exist".format(path)))
            continue
        done, value, error = run_bounded(lambda p=path: free(p), timeout, "disk")
        if not done:
            out.append((path, None, "no answer from {} within {:.0f} s (hung mount?)".format(path, timeout)))
        elif error is not None:
            out.append((path, None, "{}: {}".format(type(error).__name__, error)))
        else:
            out.append((path, value, None))
    return tuple(out)


class _NoNvml:
    """A pynvml stand-in whose init refuses: the sampler then records why and takes no samples."""

    class NVMLError(Exception):
        pass

    def nvmlInit(self) -> None:
        raise self.NVMLError("NVML did not answer envcheck's probe; not sampled in this process")


class PcieSampler:
    """Samples every GPU's current PCIe generation and width through NVML while a load runs.

    A sample counts only while that GPU is busy: utilisation >= 50% when NVML reports it,
    else an SM clock at >= 50% of its maximum (an idle GPU's link trains down; that says
    nothing). :attr:`best` maps a GPU index to the highest (gen, width) seen in at least two
    busy samples. NVML creates no CUDA context; it runs in envcheck's process only on a driver
    whose NVML already answered the probe's child. ``nvml`` is a pynvml-like module (tests pass a
    recorded one).
    """

    def __init__(self, nvml: Any = None, interval: float = 0.2) -> None:
        self.nvml = nvml
        self.interval = interval
        self._best: Dict[int, Tuple[int, int]] = {}
        self._busy: Dict[int, int] = {}
        self.samples = 0
        self.error: Optional[str] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="envcheck-pcie", daemon=True)

    @property
    def best(self) -> Dict[int, Tuple[int, int]]:
        return {i: v for i, v in self._best.items() if self._busy.get(i, 0) >= 2}

    def __enter__(self) -> "PcieSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> Dict[int, Tuple[int, int]]:
        self._stop.set()
        self._thread.join(2.0)
        return self.best

    @staticmethod
    def _busy_now(nvml: Any, h: Any) -> bool:
        try:
            return int(nvml.nvmlDeviceGetUtilizationRates(h).gpu) >= 50
        except Exception:  # noqa: BLE001 - not reported: judge by the clock
            pass
        try:
            sm = getattr(nvml, "NVML_CLOCK_SM", 1)
            return int(nvml.nvmlDeviceGetClockInfo(h, sm)) >= 0.5 * int(nvml.nvmlDeviceGetMaxClockInfo(h, sm))
        except Exception:  # noqa: BLE001 - no evidence of load: the sample does not count
            return False

    def _run(self) -> None:
        nvml = self.nvml
        try:
            if nvml is None:
                import pynvml as nvml  # type: ignore[import-not-found,no-redef]
            nvml.nvmlInit()
        except Exception as exc:  # noqa: BLE001 - no NVML: no samples, said so
            self.error = "{}: {}".format(type(exc).__name__, exc)
            return
        try:
            handles = []
            for i in range(int(nvml.nvmlDeviceGetCount())):
                try:
                    handles.append((i, nvml.nvmlDeviceGetHandleByIndex(i)))
                except Exception:  # noqa: BLE001 - a lost GPU: the count check reports it
                    continue
            while True:
                for i, h in handles:
                    try:
                        gen = int(nvml.nvmlDeviceGetCurrPcieLinkGeneration(h))
                        width = int(nvml.nvmlDeviceGetCurrPcieLinkWidth(h))
                    except Exception:  # noqa: BLE001 - not supported: no sample
                        continue
                    if not self._busy_now(nvml, h):
                        continue
                    self._busy[i] = self._busy.get(i, 0) + 1
                    old = self._best.get(i, (0, 0))
                    self._best[i] = (max(old[0], gen), max(old[1], width))
                self.samples += 1
                if self._stop.wait(self.interval):
                    break
        finally:
            try:
                nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass


# --------------------------------------------------------------------------- the integrations


def run_diagnose(facts: Any) -> Tuple[Optional[List[Any]], str]:
    """diagnose's findings (typed ``Finding``s), or (None, why) when diagnose cannot run here."""
    try:
        from envcheck.rules import diagnose
    except ImportError as exc:
        return None, "diagnose is not available in this envcheck ({})".format(exc)
    from envcheck.matrix import store

    try:
        matrix = store.load()
    except Exception as exc:  # noqa: BLE001 - corrupt data: diagnose cannot judge
        return None, "compatibility data unusable: {}".format(exc)
    result = diagnose(facts, matrix)
    return list(result.findings), ""


QUICK_CHECKS = ("tensor", "copy", "matmul-fp32", "matmul-bf16", "autograd")  # verify's suite, trimmed for time


def run_verify(th: Any, budget: float, devices: Optional[Sequence[str]] = None,
               driver: Any = None, python: Optional[str] = None) -> Tuple[List[Check], Dict[str, Any]]:
    """verify (quick) and the performance check, through envcheck.verify, as checks.

    verify's correctness checks: :data:`QUICK_CHECKS` on ``devices`` (None: every GPU, one child
    per GPU, at once; ``["cpu"]`` on a node without GPUs: torch itself must work), no
    peer-to-peer or all-reduce (the distributed path measures collectives). Performance:
    verify's measurements and verdicts (the GPU table's class rule); a ``perf_fractions`` entry
    for the GPU's class replaces the fail fraction for matmuls. ``driver`` (NVML's facts) names
    each GPU by its NVML index, as every other check does; ``python``: the interpreter whose torch
    is verified (default this one). Absent verify: not-run.
    """
    try:
        from envcheck.verify import verify as _verify
    except ImportError as exc:
        why = "verify is not available in this envcheck ({})".format(exc)
        return [not_run("verify", why, "passes"), not_run("perf", why, "per GPU class")], {}
    from envcheck.errors import EnvcheckError

    devices = list(devices or [])
    try:
        report = _verify(devices, perf=bool(th.perf), checks=QUICK_CHECKS if th.verify else (),
                         timeout=max(10.0, budget), multi_gpu=False, python=python)
    except EnvcheckError as exc:
        out = []
        if th.verify:
            out.append(Check("verify", "fail" if exc.exit_code in (1, 3) else "not-run", exc.message, "passes",
                             detail=exc.hint or ""))
        if th.perf:
            out.append(not_run("perf", "verify could not run: " + exc.message, "per GPU class"))
        return out, {}
    except Exception as exc:  # noqa: BLE001 - a bug in verify must not pass a node
        why = "verify raised {}: {}".format(type(exc).__name__, exc)
        return [not_run("verify", why, "passes"), not_run("perf", why, "per GPU class")], {}
    return verify_checks(report, th, driver)


def _nvml_index(device: Any, driver: Any) -> int:
    """The NVML index of a verified GPU (by UUID, then PCI bus id): CUDA_VISIBLE_DEVICES and
    CUDA_DEVICE_ORDER renumber torch's devices, NVML's indexes are the node's."""
    from envcheck.verify.report import find_gpu as _find_gpu

    g = _find_gpu(driver, device) if driver is not None else None
    if g is not None:
        return int(g.index)
    return int(device.device.split(":")[1]) if ":" in device.device else 0


def verify_checks(report: Any, th: Any, driver: Any = None) -> Tuple[List[Check], Dict[str, Any]]:
    """A verify report (envcheck.verify.model.VerifyReport) as preflight's verify and perf checks."""
    out: List[Check] = []
    extra: Dict[str, Any] = {"perf": {}}
    if th.verify:
        failed, ran = [], 0
        for d in report.devices:
            for c in d.checks:
                if c.status in ("passed", "failed"):
                    ran += 1
                if c.status == "failed":
                    failed.append("{} {}: {}".format(d.device, c.name, c.detail or (c.failure.summary if c.failure else "")))
        if failed:
            out.append(Check("verify", "fail", "; ".join(failed[:4]) + (" ..." if len(failed) > 4 else ""), "passes",
                             value=len(failed)))
        elif ran:
            out.append(Check("verify", "pass", "{} check(s) on {} device(s) passed".format(ran, len(report.devices)),
                             "passes", value=0))
        else:
            out.append(not_run("verify", "verify ran no check", "passes"))
    if th.perf:
        from envcheck.verify.perf import with_profile_floor

        per_gpu, texts = [], []
        for d in report.devices:
            p = d.perf
            if p is None or d.kind != "cuda":
                continue
            override = th.fraction_for(p.gpu_class) if p.gpu_class else None
            worst_line = "pass"
            shown = []
            for line in p.lines:
                if line.status != "measured":
                    continue
                verdict = line.verdict
                if line.metric.startswith("matmul"):
                    verdict = with_profile_floor(verdict, line.fraction, override)
                st = gate_of_verdict(verdict)
                if st == "fail" or (st == "warn" and worst_line != "fail") or (st == "not-run" and worst_line == "pass"):
                    worst_line = st
                frac = " ({:.2f} of peak)".format(line.fraction) if line.fraction is not None else ""
                shown.append("{} {:.1f} {}{}".format(line.metric, line.value, line.unit, frac))
                if line.metric.startswith("matmul") and "perf_tflops" not in extra["perf"].get(d.device, {}):
                    extra["perf"].setdefault(d.device, {})["perf_tflops"] = line.value
            if not shown:
                worst_line = "not-run"
                shown.append("no measurement: " + "; ".join(p.notes))
            index = _nvml_index(d, driver)
            per_gpu.append((index, worst_line, ", ".join(shown)))
            texts.append("{}: {}".format(d.device, ", ".join(shown[:2])))
        if per_gpu:
            from envcheck.preflight.checks import worst

            status = worst(s for _, s, _ in per_gpu)
            bad = [t for (i, s, m), t in zip(per_gpu, texts) if s == status] if status != "pass" else texts[:1]
            out.append(Check("perf", status, "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else ""),
                             "GPU table class rule" + (" / profile perf_fractions" if th.perf_fractions else ""),
                             per_gpu=tuple(per_gpu), source="verify"))
        else:
            out.append(not_run("perf", "no GPU measured", "per GPU class"))
    return out, extra


# --------------------------------------------------------------------------------------- run


def run_node(
    th: Any,
    *,
    progress: Progress = _quiet,
    budget: float = DEFAULT_BUDGET,
    strict: bool = False,
    collect: Optional[Callable[..., Any]] = None,
    diagnose: Optional[Callable[[Any], Tuple[Optional[List[Dict[str, Any]]], str]]] = None,
    verify: Optional[Callable[..., Tuple[List[Check], Dict[str, Any]]]] = None,
    sampler: Optional[Callable[[], PcieSampler]] = None,
    judge_gpus: Optional[Sequence[int]] = None,
    python: Optional[str] = None,
) -> NodeReport:
    """Run the whole single-node preflight. Collaborators are parameters for tests.

    ``judge_gpus``: the NVML indexes whose health this report judges (a distributed rank judges
    its own GPU); the GPU count always covers the whole node. ``python``: the interpreter whose
    torch is judged and verified (a Slurm prolog runs as root, the job in its own venv).
    """
    start = time.monotonic()
    deadline = start + budget

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    from envcheck.probes import collect as _collect

    collect = collect or _collect
    diagnose = diagnose or run_diagnose
    verify = verify or run_verify
    steps = 1 + int(th.diagnose) + int(th.verify or th.perf)
    step = [0]

    def say(text: str) -> None:
        step[0] += 1
        progress("preflight: [{}/{}] {} ({:.1f} s)".format(step[0], steps, text, time.monotonic() - start))

    say("collecting facts: driver, GPUs, host" + (", torch (child process)" if th.diagnose else ""))
    torch_timeout = min(60.0, max(5.0, left() * 0.4))
    disk_paths = [p for p, n in th.min_free_disk if n > 0]
    disks: List[Any] = []
    disk_thread = threading.Thread(target=lambda: disks.extend(measure_disks(disk_paths)), daemon=True)
    disk_thread.start()
    facts = collect(quick=not th.diagnose, timeout=torch_timeout, **({"python": python} if python else {}))
    disk_thread.join(_DISK_TIMEOUT + 1.0)
    checks: List[Check] = []
    if th.diagnose:
        say("diagnose")
        findings, why = diagnose(facts)
        if findings is not None:
            findings = [f for f in findings if f.code not in COVERED_FINDINGS]
        checks += apply_severity(finding_checks(findings, why), th)
    under_load: Dict[int, Tuple[int, int]] = {}
    extra: Dict[str, Any] = {}
    if th.verify or th.perf:
        say("verify and performance check (child processes)")
        gpus_present = bool(facts.driver.gpus)
        if not gpus_present:
            if th.perf:
                checks.append(Check("perf", "n/a", "no GPU", "per GPU class"))
            if th.verify:  # no GPU: torch itself must still work, on the CPU
                from dataclasses import replace

                vchecks, extra = verify(replace(th, perf=False), left(), ["cpu"], facts.driver, python)
                checks += apply_severity([c for c in vchecks if c.id == "verify"], th)
        else:
            # NVML in this process only once its child answered: on a driver that crashed or hung
            # the child, the sampler would take envcheck down with it (the GPUs came from nvidia-smi)
            smp = sampler() if sampler else PcieSampler(None if facts.driver.status == "ok" else _NoNvml())
            with smp:
                vchecks, extra = verify(th, left(), None, facts.driver, python)
            under_load = smp.best
            wanted = {"verify"} if th.verify else set()
            if th.perf:
                wanted.add("perf")
            checks += apply_severity([c for c in vchecks if c.id in wanted], th)
    readings = HostReadings(disks=tuple(disks), pcie_under_load=under_load,
                            judge_gpus=tuple(judge_gpus) if judge_gpus is not None else None)
    checks = node_checks(facts, th, readings) + checks
    host = facts.host.hostname or socket.gethostname()
    report = NodeReport(
        host=host,
        summary=summarize(facts),
        checks=checks,
        seconds=time.monotonic() - start,
        profile=th.profile,
        strict=strict,
        extra=extra,
    )
    progress("preflight: done in {:.1f} s".format(report.seconds))
    return report

