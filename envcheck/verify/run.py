"""verify's run: start the children, read their events as they come, sample NVML.

One child per device, all at once (:mod:`envcheck.children.verify_device`, through
:func:`envcheck.proc.run_child` with a timeout); each writes its events to its own file, which this
module reads while they run (progress on stderr, and the NVML readings taken while a performance
measurement is running). With two or more GPUs, peer-to-peer copies (one child) and an all-reduce
(one child per GPU, ``torch.distributed``; :mod:`envcheck.children.verify_multi`) run beside them,
so that the wall time of eight GPUs stays near one's; they are run again, after, on the GPUs that
passed, when some GPU failed its own checks. :mod:`~envcheck.verify.plan` decides what runs,
:mod:`~envcheck.verify.report` reads the events, :mod:`~envcheck.verify.perf` judges the figures.

The parent never imports torch. NVML, which creates no CUDA context, is read here: before and
after the run (new uncorrectable ECC errors, a lost GPU, pending retirement/remap) and, with
``--perf``, every half second while a measurement runs.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from envcheck import faults, proc
from envcheck.errors import CannotRunError, InputError
from envcheck.verify import classify as _classify
from envcheck.verify import perf as _perf
from envcheck.verify.model import CheckResult, DeviceReport, PerfReport, VerifyReport
from envcheck.verify.plan import (
    DEFAULT_TIMEOUT,
    PERF_TIMEOUT,
    checks_planned,
    device_labels,
    parse_devices,
    visible_guess,
)
from envcheck.verify.report import (
    check_results,
    device_report,
    find_gpu,
    first_event,
    driver_silent,
    gpus_unused,
    health_check,
    perf_measurements,
    process_words,
    read_events,
    torch_unusable,
    torch_warnings,
)

__all__ = ["allreduce_check", "p2p_checks", "perf_sanity", "verify"]

POLL = 0.2


SAMPLE_EVERY = 0.5  # NVML readings while a performance measurement runs


Progress = Optional[Callable[[str], None]]


class _Sampler:
    """NVML readings while a performance measurement runs (clocks, power, throttle, PCIe)."""

    def __init__(self, probe: Optional[Callable[[], Any]]) -> None:
        self.probe = probe
        self.samples: List[Tuple[Dict[str, str], Any]] = []
        self.last = 0.0

    def tick(self, jobs: Sequence["_Job"]) -> None:
        if self.probe is None:
            return
        busy = {j.label: j.stage for j in jobs if j.stage and j.stage.startswith("perf:")}
        if not busy or time.monotonic() - self.last < SAMPLE_EVERY:
            return
        self.last = time.monotonic()
        facts = self.probe()
        if getattr(facts, "status", None) != "ok":
            self.probe = None  # NVML does not work here: stop asking
            return
        self.samples.append((busy, facts))

    def readings(self, label: str, report: DeviceReport, after: Any) -> Optional[Dict[str, Any]]:
        best = None
        for busy, facts in self.samples:
            stage = busy.get(label, "")
            if not stage.startswith("perf:"):
                continue
            g = find_gpu(facts, report)
            if g is None:
                continue
            rank = (stage.startswith("perf:matmul"), g.power_draw_w or 0.0)
            if best is None or rank > best[0]:
                best = (rank, g, stage)
        if best is not None:
            return _perf.readings_from_gpu(best[1], f"during {best[2]}, at the highest power draw seen")
        g = find_gpu(after, report)
        return _perf.readings_from_gpu(g, "after the run (idle: clocks and link may have dropped)") if g else None


def _nvml_default() -> Any:
    from envcheck.probes import nvml

    return nvml.probe_nvml()


def _nvml_sample() -> Any:
    from envcheck.probes import nvml

    return nvml.probe_nvml(smi=None, nvml_timeout=2.0, in_child=False)  # many samples: no child each


class _Job:
    """One child: runs in a thread through envcheck.proc; its events file is polled."""

    def __init__(self, label: str, args: Sequence[str], events: Path, timeout: float,
                 env: Optional[Mapping[str, str]], python: str, planned: Sequence[str] = (),
                 child: str = "verify_device") -> None:
        self.label = label
        self.path = events
        self.timeout = faults.bound("verify", timeout, env)
        self.env = env
        self.planned = list(planned)
        self.python = python
        self.child = child
        self.args = ["--events", str(events), *args]
        self.events: List[Dict[str, Any]] = []
        self.stage: Optional[str] = None
        self.result: Any = None
        self._offset = 0
        self._partial = ""
        self._thread = threading.Thread(target=self._run, name="envcheck-verify-" + label, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self.result = proc.run_child(self.python, self.child, self.args, timeout=self.timeout, env=self.env,
                                     bound="verify").result

    @property
    def done(self) -> bool:
        return self.result is not None and not self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()

    def poll(self) -> List[Dict[str, Any]]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return []
        self._offset += len(data)
        text = self._partial + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        new = read_events("\n".join(lines))
        for e in new:
            if e["event"] == "begin":
                self.stage = str(e.get("check"))
            elif e["event"] == "end":
                self.stage = None
            elif e["event"] == "resolved":
                self.label = str(e.get("device") or self.label)
        self.events.extend(new)
        return new


def _run_jobs(jobs: List[_Job], on_event: Callable[[_Job, Dict[str, Any]], None],
              sampler: Optional[_Sampler] = None, progress: Progress = None) -> None:
    """Start every job; poll until all are done. ``on_event`` may append (and start) more jobs."""
    for j in jobs:
        j.start()
    told = set()
    while True:
        for j in list(jobs):
            for e in j.poll():
                on_event(j, e)
            if j.done and id(j) not in told:
                told.add(id(j))
                for e in j.poll():
                    on_event(j, e)
                if progress is not None and not j.result.ok:
                    during = f" during {j.stage}" if j.stage else ""
                    progress(f"verify: {j.label}: {process_words(j.result, j.timeout)}{during}")
        if sampler is not None:
            sampler.tick(jobs)
        if all(j.done for j in jobs) and len(told) == len(jobs):
            return
        time.sleep(POLL)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _multi_gpu_checks(indices: Sequence[int], **kw: Any) -> List[CheckResult]:
    """Peer-to-peer copies between every pair of ``indices``, then an all-reduce across them."""
    return p2p_checks(indices, **kw) + [allreduce_check([f"cuda:{i}" for i in indices], **kw)]


def p2p_checks(indices: Sequence[int], *, timeout: float, env: Optional[Mapping[str, str]] = None,
               python: Optional[str] = None, progress: Progress = None, driver: Any = None) -> List[CheckResult]:
    """Peer-to-peer copies between each pair of GPUs (one child that sees them all)."""
    planned = [f"p2p cuda:{a}<->cuda:{b}" for i, a in enumerate(indices) for b in indices[i + 1:]]
    with tempfile.TemporaryDirectory(prefix="envcheck-verify-") as tmp:
        job = _Job("p2p", ["--mode", "p2p", "--devices", ",".join(str(i) for i in indices)],
                   Path(tmp) / "p2p.jsonl", timeout, env, python or sys.executable, planned,
                   child="verify_multi")
        _run_jobs([job], lambda j, e: _progress_event(progress, j, e), progress=progress)
    ctx = _classify.FixContext(device="peer-to-peer", driver=getattr(driver, "version", None), driver_facts=driver)
    return check_results(job.events, job.result, planned, timeout, ctx)


def allreduce_check(devices: Sequence[str], *, timeout: float, env: Optional[Mapping[str, str]] = None,
                    python: Optional[str] = None, progress: Progress = None, driver: Any = None,
                    backend: Optional[str] = None) -> CheckResult:
    """An all-reduce across ``devices`` (``cuda:N`` with NCCL; ``cpu`` entries with gloo), one
    process per rank, with the sum checked exactly on every rank."""
    backend = backend or ("gloo" if all(d == "cpu" for d in devices) else "nccl")
    world = len(devices)
    collective = max(5.0, min(60.0, timeout / 2))
    for attempt in range(2):
        port = _free_port()
        jobs = []
        with tempfile.TemporaryDirectory(prefix="envcheck-verify-") as tmp:
            for rank, dev in enumerate(devices):
                index = int(dev.split(":", 1)[1]) if dev.startswith("cuda:") else 0
                args = ["--mode", "allreduce", "--backend", backend, "--rank", str(rank), "--world", str(world),
                        "--index", str(index), "--port", str(port), "--collective-timeout", f"{collective:g}"]
                jobs.append(_Job(f"rank {rank}", args, Path(tmp) / f"rank{rank}.jsonl", timeout, env,
                                 python or sys.executable, ["allreduce"], child="verify_multi"))
            _run_jobs(jobs, lambda j, e: _progress_event(progress, j, e), progress=progress)
        ranks = []
        for rank, j in enumerate(jobs):
            ctx = _classify.FixContext(device=f"rank {rank} ({devices[rank]})",
                                       driver=getattr(driver, "version", None), driver_facts=driver)
            ranks.append(check_results(j.events, j.result, ["allreduce"], timeout, ctx)[0])
        retry = any("address already in use" in (c.failure.evidence.lower() if c.failure else "") for c in ranks)
        if not retry or attempt:
            break
    name = f"allreduce ({backend}, {world} ranks: {', '.join(devices)})"
    failed = [(i, c) for i, c in enumerate(ranks) if c.status == "failed"]
    if not failed and all(c.status == "passed" for c in ranks):
        return CheckResult(name, "passed", ranks[0].detail, ranks[0].seconds, ranks[0].values)
    if not failed:
        return CheckResult(name, "not-run", "; ".join(f"rank {i}: {c.detail}" for i, c in enumerate(ranks)))
    # A rank that hung or crashed explains the others' connection errors: name it first.
    failed.sort(key=lambda ic: (ic[1].failure is None or ic[1].failure.kind in ("collective", "error"), ic[0]))
    i, first = failed[0]
    detail = f"rank {i} ({devices[i]}): {first.detail}"
    if len(failed) > 1:
        detail += f" (and {len(failed) - 1} more rank(s) failed)"
    return CheckResult(name, "failed", detail, first.seconds, first.values, first.failure)


def _progress_event(progress: Progress, job: _Job, e: Mapping[str, Any]) -> None:
    if progress is None:
        return
    kind = e.get("event")
    if kind == "device":
        what = e.get("name") or ""
        if e.get("cc"):
            what += f" (compute capability {e['cc']}, {int(e.get('total_mib') or 0) / 1024:.0f} GiB)"
        progress(f"verify: {e.get('device')}: {what}")
    elif kind == "end":
        status = e.get("status")
        line = f"verify: {job.label}: {e.get('check')} {status}"
        if isinstance(e.get("seconds"), (int, float)):
            line += f" ({e['seconds']:.2f} s)"
        text = str(e.get("detail") or e.get("error") or "").strip()
        if status in ("failed", "error") and text:
            line += ": " + text.splitlines()[0][:200]
        progress(line)


def verify(
    devices: Sequence[str] = (),
    *,
    perf: bool = False,
    checks: Optional[Sequence[str]] = None,
    timeout: Optional[float] = None,
    progress: Progress = None,
    env: Optional[Mapping[str, str]] = None,
    python: Optional[str] = None,
    nvml_probe: Optional[Callable[[], Any]] = None,
    nvml_sample: Optional[Callable[[], Any]] = None,
    multi_gpu: bool = True,
) -> VerifyReport:
    """Run the suite on ``devices`` (default: every visible GPU, or the CPU when there is none).

    ``checks``: the correctness checks to run (default all; ``()`` for performance only).
    Raises :class:`CannotRunError` when torch is missing or broken, or CUDA is unusable for a
    GPU asked for by name; :class:`InputError` for a device that does not exist.
    """
    start = time.monotonic()
    env_map = dict(os.environ if env is None else env)
    python = python or sys.executable
    timeout = faults.bound("verify", float(timeout or (PERF_TIMEOUT if perf else DEFAULT_TIMEOUT)), env_map)
    specs = parse_devices(devices)
    wants_gpu = not specs or any(s.startswith("cuda") for s in specs)
    before = (nvml_probe or _nvml_default)() if wants_gpu else None
    guess = visible_guess(before, env_map) if before is not None else 0
    planned = checks_planned(checks, perf)
    child_args = ["--only", ",".join(planned) or "none"] + (["--perf"] if perf else [])

    all_gpus = not specs or "cuda" in specs
    labels = device_labels(specs, guess)
    # samples read NVML in this process: only once NVML answered the probe's child (no crash, no hang)
    sampler = _Sampler(nvml_sample or _nvml_sample) \
        if perf and wants_gpu and before is not None and getattr(before, "status", None) == "ok" else None
    report_torch: Dict[str, Any] = {}
    # Several GPUs: peer-to-peer and the all-reduce start now, beside the per-GPU children, so
    # that eight GPUs take about as long as one (each child's `import torch` alone is ~2 s).
    # They run on the GPUs NVML counts; if some GPU then fails its own checks, they run again on
    # the GPUs that work (below).
    multi_early: Dict[str, Any] = {}
    early_thread = None
    if multi_gpu and checks is None and all_gpus and guess >= 2:
        early_indices = list(range(guess))

        def run_multi() -> None:
            try:
                found = _multi_gpu_checks(early_indices, timeout=timeout, env=env_map, python=python,
                                          progress=progress, driver=before)
                multi_early["indices"], multi_early["checks"] = early_indices, found
            except Exception as exc:  # noqa: BLE001 - run again below, the slow way
                multi_early["error"] = exc

        early_thread = threading.Thread(target=run_multi, name="envcheck-verify-multi", daemon=True)
        early_thread.start()

    with tempfile.TemporaryDirectory(prefix="envcheck-verify-") as tmp:
        made = [0]

        def job_for(label: str) -> _Job:
            made[0] += 1
            args = ["--device", label, *child_args, "--link-lock", str(Path(tmp) / "host-link.lock")]
            return _Job(label, args, Path(tmp) / f"job{made[0]}.jsonl",
                        timeout, env_map, python, planned)

        jobs = [job_for(label) for label in labels]
        launched = {label for label in labels}

        def on_event(job: _Job, e: Dict[str, Any]) -> None:
            kind = e["event"]
            if kind == "torch" and not report_torch:
                report_torch.update({k: v for k, v in e.items() if k not in ("event", "t")})
                if progress is not None:
                    build = f"CUDA {e.get('cuda_build')}" if e.get("cuda_build") else "CPU-only build"
                    progress(f"verify: torch {e.get('version')} ({build}), Python {python}")
            if kind == "torch" and all_gpus and e.get("is_available"):
                count = int(e.get("device_count") or 0)
                for i in range(count):  # torch sees more GPUs than NVML said: check those too
                    label = f"cuda:{i}"
                    if label not in launched and not (i == 0 and "auto" in launched):
                        launched.add(label)
                        extra = job_for(label)
                        jobs.append(extra)
                        extra.start()
            _progress_event(progress, job, e)

        _run_jobs(jobs, on_event, sampler, progress)
    if early_thread is not None:
        early_thread.join()

    for j in jobs:
        problem = torch_unusable(j.events, j.result, python, timeout, before)
        if problem is not None:
            raise problem
    device_jobs = []
    notes: List[str] = []
    for j in jobs:
        explicit = j.label in specs or (j.label.startswith("cuda:") and "cuda" in specs)
        if first_event(j.events, "absent") is not None:
            e = first_event(j.events, "absent")
            if j.label in specs:
                count = int(e.get("count") or 0)
                seen = f"cuda:0 to cuda:{count - 1}" if count > 1 else ("cuda:0" if count == 1 else "none")
                raise InputError(f"No such device: {j.label} (torch sees {count} GPU(s): {seen})")
            continue  # NVML's count was higher than torch's (CUDA_VISIBLE_DEVICES)
        if first_event(j.events, "unavailable") is not None:
            if not explicit:
                continue  # every GPU or the CPU: the CPU job reports that torch cannot use them
            why = _classify.cuda_unavailable_reason(report_torch, env_map)
            driver = getattr(before, "version", None)
            command = _classify.install_command(driver_facts=before, keep=report_torch.get("version")) if driver else None
            if command:
                hint = f"a build for driver {driver}: {command}"
            elif driver is None:
                hint = f"no NVIDIA driver found ({getattr(before, 'detail', '') or 'NVML not read'})"
            else:
                hint = "envcheck diagnose explains why"
            raise CannotRunError(f"cannot verify {j.label}: {why}",
                                 hint=hint + "; `envcheck verify --device cpu` checks the CPU")
        device_jobs.append(j)
    device_jobs.sort(key=lambda j: (1, int(j.label[5:])) if j.label.startswith("cuda:") else (0, 0))

    reports: List[DeviceReport] = []
    for j in device_jobs:
        r = device_report(j.events, j.result, label=j.label, planned=j.planned, timeout=timeout, driver=before)
        reports.append(r)
    after = (nvml_probe or _nvml_default)() if any(r.kind == "cuda" for r in reports) else None
    for r, j in zip(reports, device_jobs):
        if r.kind == "cuda":
            r.checks.append(health_check(r, before, after))
        if perf:
            readings = sampler.readings(j.label, r, after) if (sampler is not None and r.kind == "cuda") else None
            r.perf = _perf.judge(r.device, r.name, perf_measurements(j.events), readings)
        if r.kind == "cpu" and not specs and guess > 0:
            r.checks.insert(0, gpus_unused(report_torch, guess, before, env_map))
        elif r.kind == "cpu" and not specs and getattr(before, "status", None) in ("failed", "timed-out"):
            r.checks.insert(0, driver_silent(before))

    multi: List[CheckResult] = []
    usable = [r for r in reports if r.kind == "cuda" and any(c.name == "tensor" and c.status == "passed" for c in r.checks)]
    cuda_reports = [r for r in reports if r.kind == "cuda"]
    if multi_gpu and len(cuda_reports) >= 2 and checks is None:
        if len(usable) < 2:
            notes.append("peer-to-peer and all-reduce checks need two working GPUs: not run")
        else:
            indices = sorted(int(r.device.split(":")[1]) for r in usable)
            if multi_early.get("indices") == indices:
                multi += multi_early["checks"]
            else:
                multi += _multi_gpu_checks(indices, timeout=timeout, env=env_map, python=python, progress=progress,
                                           driver=before)
    report = VerifyReport(torch=report_torch, python=python, devices=reports, multi_gpu=multi,
                          warnings=notes, seconds=time.monotonic() - start)
    report.warnings += torch_warnings(report_torch)
    return report



def perf_sanity(devices: Sequence[str] = (), *, timeout: Optional[float] = None, progress: Progress = None,
                env: Optional[Mapping[str, str]] = None) -> Tuple[PerfReport, ...]:
    """Measure and judge every device (as ``envcheck verify --perf`` names them), in children.

    Runs only the performance measurements (not the correctness suite). Raises
    :class:`~envcheck.errors.CannotRunError` when torch cannot be imported.
    """
    report = verify(devices, perf=True, checks=(), timeout=timeout, progress=progress, env=env)
    return tuple(d.perf for d in report.devices if d.perf is not None)
