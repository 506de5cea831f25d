"""Run the verify children and turn their events into a report.

One child process per device, all at once (``envcheck.verify._child``, through
:func:`envcheck.proc.run` with a timeout); each writes JSON lines to its own events file, which
this module reads while they run (progress on stderr, and the NVML readings taken while a
performance measurement is running). With two or more GPUs, peer-to-peer copies (one child)
and an all-reduce (one child per GPU, ``torch.distributed``) run beside them, so that the wall
time of eight GPUs stays near one's; they are run again, after, on the GPUs that passed, when
some GPU failed its own checks.

The parent never imports torch. NVML, which creates no CUDA context, is read here: before and
after the run (new uncorrectable ECC errors, a lost GPU, pending retirement/remap) and, with
``--perf``, every half second while a measurement runs.
"""

from __future__ import annotations

import json
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
from envcheck.verify import _child
from envcheck.verify import classify as _classify
from envcheck.verify.model import CheckResult, DeviceReport, Failure, VerifyReport

__all__ = [
    "BOOT",
    "CHILD",
    "DEFAULT_TIMEOUT",
    "PERF_TIMEOUT",
    "parse_devices",
    "read_events",
    "device_report",
    "health_check",
    "allreduce_check",
    "p2p_checks",
    "verify",
]

BOOT = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
CHILD = Path(_child.__file__)
DEFAULT_TIMEOUT = 120.0  # seconds per device process: import torch (cold: 30 s) + the checks
PERF_TIMEOUT = 300.0  # with --perf
POLL = 0.2
SAMPLE_EVERY = 0.5  # NVML readings while a performance measurement runs
RETIRED_PAGES_LIMIT = 63  # DCGM fails a GPU with this many retired pages

Progress = Optional[Callable[[str], None]]


# ---------------------------------------------------------------------------------- devices


def parse_devices(texts: Sequence[str]) -> List[str]:
    """``("cpu", "cuda:1", "cuda")`` -> normalized, deduplicated; ``[]`` means every GPU or the CPU."""
    out: List[str] = []
    for raw in texts:
        for text in raw.split(","):
            t = text.strip().lower()
            if not t:
                continue
            if t == "gpu":
                t = "cuda"
            if t.startswith("cuda:"):
                index = t.split(":", 1)[1]
                if not index.isdigit():
                    raise InputError(f"Invalid device: {text!r} (expected cpu, cuda or cuda:N)")
                t = f"cuda:{int(index)}"
            elif t not in ("cpu", "cuda"):
                raise InputError(f"Invalid device: {text!r} (expected cpu, cuda or cuda:N)")
            if t not in out:
                out.append(t)
    return out


def _visible_guess(driver: Any, env: Mapping[str, str]) -> int:
    """How many GPUs torch will probably see: NVML's count, cut by CUDA_VISIBLE_DEVICES."""
    count = getattr(driver, "gpu_count", None) or len(getattr(driver, "gpus", ()) or ())
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return count
    entries = [v.strip() for v in visible.split(",")]
    if not entries or entries[0] in ("", "-1"):
        return 0
    return min(count, len(entries)) if count else len(entries)


# ----------------------------------------------------------------------------------- events


def read_events(text: str) -> List[Dict[str, Any]]:
    """The child's JSON lines; a line cut short by a kill, or noise, is skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("event"), str):
            out.append(obj)
    return out


def _first(events: Sequence[Mapping[str, Any]], kind: str) -> Optional[Mapping[str, Any]]:
    for e in events:
        if e.get("event") == kind:
            return e
    return None


def _process_words(result: Any, timeout: float) -> str:
    if result is None:
        return "not started"
    if result.timed_out:
        return f"killed after {timeout:g} s (no answer)"
    if result.ok:
        return f"ok ({result.seconds:.1f} s)"
    return result.describe()


def _fix_context(events: Sequence[Mapping[str, Any]], label: str, driver: Any) -> _classify.FixContext:
    t = _first(events, "torch") or {}
    d = _first(events, "device") or {}
    return _classify.FixContext(
        device=str(d.get("device") or label),
        name=d.get("name"),
        cc=d.get("cc"),
        torch_version=t.get("version"),
        cuda_build=t.get("cuda_build"),
        arch_list=tuple(str(a) for a in t.get("arch_list") or ()),
        driver=getattr(driver, "version", None),
        driver_facts=driver,
    )


def _check_results(events: Sequence[Mapping[str, Any]], result: Any, planned: Sequence[str],
                   timeout: float, ctx: _classify.FixContext) -> List[CheckResult]:
    ends: Dict[str, Mapping[str, Any]] = {}
    begun: List[str] = []
    for e in events:
        if e.get("event") == "begin":
            begun.append(str(e.get("check")))
        elif e.get("event") == "end":
            ends[str(e.get("check"))] = e
    running = next((c for c in reversed(begun) if c not in ends), None)
    names = list(planned) + [c for c in list(begun) + list(ends) if c not in planned]
    names = list(dict.fromkeys(names))
    out = []
    for name in names:
        e = ends.get(name)
        if e is not None:
            out.append(_from_end(name, e, ctx))
        elif name == running and result is not None:
            failure = _classify.failure_for_process(result, check=name, timeout=timeout,
                                                    gpu=not ctx.device.startswith("cpu"))
            out.append(CheckResult(name, "failed", failure.summary, failure=failure))
        else:
            where = f"the process ended during {running}" if running else (
                "the process ended before it" if result is not None and not result.ok else "not reached")
            out.append(CheckResult(name, "not-run", f"not run: {where}"))
    return out


def _from_end(name: str, e: Mapping[str, Any], ctx: _classify.FixContext) -> CheckResult:
    status = e.get("status")
    seconds = e.get("seconds") if isinstance(e.get("seconds"), (int, float)) else None
    values = e.get("values") if isinstance(e.get("values"), dict) else {}
    detail = str(e.get("detail") or "")
    if status in ("passed", "skipped", "not-run"):
        return CheckResult(name, str(status), detail, seconds, values)
    if status == "failed":
        failure = _classify.failure_for_wrong(detail, check=name)
        return CheckResult(name, "failed", detail, seconds, values, failure)
    text = str(e.get("error") or detail or "unknown error")
    failure = _classify.failure_for_error(text, ctx, check=name)
    return CheckResult(name, "failed", failure.summary, seconds, values, failure)


def device_report(events: Sequence[Mapping[str, Any]], result: Any, *, label: str,
                  planned: Sequence[str], timeout: float, driver: Any = None) -> DeviceReport:
    """Pure: one device child's events and :class:`~envcheck.proc.ProcResult` -> its report.

    Performance measurements that worked stay out of ``checks`` (they are judged separately);
    one that failed, hung or crashed is a failed check like any other.
    """
    d = _first(events, "device") or {}
    device = str(d.get("device") or label)
    ctx = _fix_context(events, device, driver)
    pci = d.get("pci")
    report = DeviceReport(
        device=device,
        kind=str(d.get("kind") or ("cpu" if device == "cpu" else "cuda" if device.startswith("cuda") else "unknown")),
        name=d.get("name"),
        cc=d.get("cc"),
        memory_mib=d.get("total_mib") if d.get("kind") == "cuda" else d.get("memory_available_mib"),
        uuid=d.get("uuid"),
        pci=tuple(int(x) for x in pci) if isinstance(pci, list) and len(pci) == 3 else None,
        process=_process_words(result, timeout),
        seconds=round(result.seconds, 3) if result is not None else None,
    )
    if d.get("error"):
        report.notes.append(f"device properties: {d['error']}")
    for c in _check_results(events, result, planned, timeout, ctx):
        if c.name.startswith("perf:") and c.status != "failed":
            continue
        report.checks.append(c)
    ended = {str(e.get("check")) for e in events if e.get("event") == "end"}
    if result is not None and result.timed_out and planned and all(p in ended for p in planned):
        report.process = f"every check finished, then the process did not exit within the {timeout:g} s timeout (killed)"
        report.notes.append("the check process hung on its way out (torch's or CUDA's shutdown): the checks "
                            "count; if it repeats, `py-spy dump` on a hung verify child shows where")
    return report


def perf_measurements(events: Sequence[Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """metric -> {status, value, detail} from the ``perf:*`` end events."""
    out: Dict[str, Dict[str, Any]] = {}
    for e in events:
        if e.get("event") == "end" and str(e.get("check", "")).startswith("perf:"):
            values = e.get("values") if isinstance(e.get("values"), dict) else {}
            out[str(e["check"])[5:]] = {
                "status": e.get("status"),
                "value": values.get("value"),
                "detail": e.get("detail") or e.get("error") or "",
                "values": values,
            }
    return out


# ------------------------------------------------------------------------------------- NVML


def _norm_uuid(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    t = str(text).strip().lower()
    for prefix in ("gpu-", "mig-"):
        if t.startswith(prefix):
            t = t[len(prefix):]
    return t


def _bus(text: Optional[str]) -> Optional[Tuple[int, int, int]]:
    """``"00000000:65:00.0"`` -> ``(0, 0x65, 0)``."""
    try:
        domain, bus, rest = str(text).split(":")
        return int(domain, 16), int(bus, 16), int(rest.split(".")[0], 16)
    except (ValueError, AttributeError):
        return None


def _find_gpu(driver: Any, report: DeviceReport) -> Any:
    if driver is None or getattr(driver, "status", None) != "ok":
        return None
    want = _norm_uuid(report.uuid)
    for g in driver.gpus:
        if want and _norm_uuid(g.uuid) == want:
            return g
    if report.pci is not None:
        for g in driver.gpus:
            if _bus(g.pci_bus_id) == report.pci:
                return g
    return None


def health_check(report: DeviceReport, before: Any, after: Any) -> CheckResult:
    """NVML's view of the GPU around the run: lost, new uncorrectable ECC errors, pending repairs."""
    if after is None or getattr(after, "status", None) != "ok":
        why = getattr(after, "detail", "") if after is not None else "not read"
        return CheckResult("health", "skipped", f"NVML not available ({why}): ECC counters and GPU state not read")
    g = _find_gpu(after, report)
    if g is None:
        return CheckResult("health", "skipped", "the GPU was not found in NVML's list (matched by UUID and PCI bus id)")
    dev = report.device
    if g.status == "lost":
        f = Failure("gpu-lost", f"{dev} fell off the bus (NVML: GPU_IS_LOST, Xid 79)", "NVML status lost",
                    "reboot; check the GPU's power, cooling and PCIe seating (`dmesg` shows the Xid)")
        return CheckResult("health", "failed", f.summary, failure=f)
    g0 = _find_gpu(before, report)
    after_ecc = g.ecc_uncorrected_volatile
    before_ecc = g0.ecc_uncorrected_volatile if g0 is not None else None
    problems = []
    if isinstance(after_ecc, int) and isinstance(before_ecc, int) and after_ecc > before_ecc:
        problems.append(("ecc", f"{after_ecc - before_ecc} new uncorrectable ECC error(s) during the run"))
    if g.retired_pages_pending or g.remap_pending:
        problems.append(("ecc", "a page retirement or row remap is pending: the GPU needs a reset"))
    if g.remap_failed:
        problems.append(("ecc", "a row remap failed: the GPU needs service"))
    retired = (g.retired_pages_sbe or 0) + (g.retired_pages_dbe or 0)
    if retired >= RETIRED_PAGES_LIMIT:
        problems.append(("ecc", f"{retired} retired pages (DCGM fails a GPU at {RETIRED_PAGES_LIMIT})"))
    if problems:
        words = "; ".join(p[1] for p in problems)
        f = Failure("ecc", f"{dev}: {words}", f"NVML: uncorrected volatile ECC {before_ecc} -> {after_ecc}",
                    "reset the GPU (`nvidia-smi -r`) or reboot; `nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER` "
                    "shows the counters; if it comes back, the GPU needs service")
        return CheckResult("health", "failed", f.summary, failure=f)
    ecc = "ECC off or not reported" if after_ecc is None else f"uncorrectable ECC errors {after_ecc} (none new)"
    return CheckResult("health", "passed", f"NVML: GPU present, {ecc}, no pending retirement or remap")


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
        from envcheck.verify.perf import readings_from_gpu

        best = None
        for busy, facts in self.samples:
            stage = busy.get(label, "")
            if not stage.startswith("perf:"):
                continue
            g = _find_gpu(facts, report)
            if g is None:
                continue
            rank = (stage.startswith("perf:matmul"), g.power_draw_w or 0.0)
            if best is None or rank > best[0]:
                best = (rank, g, stage)
        if best is not None:
            return readings_from_gpu(best[1], f"during {best[2]}, at the highest power draw seen")
        g = _find_gpu(after, report)
        return readings_from_gpu(g, "after the run (idle: clocks and link may have dropped)") if g else None


def _nvml_default() -> Any:
    from envcheck.probes import nvml

    return nvml.probe_nvml()


def _nvml_sample() -> Any:
    from envcheck.probes import nvml

    return nvml.probe_nvml(smi=None, nvml_timeout=2.0)


# ------------------------------------------------------------------------------------- jobs


class _Job:
    """One child: runs in a thread through envcheck.proc; its events file is polled."""

    def __init__(self, label: str, args: Sequence[str], events: Path, timeout: float,
                 env: Optional[Mapping[str, str]], python: str, planned: Sequence[str] = ()) -> None:
        self.label = label
        self.path = events
        self.timeout = faults.bound("verify", timeout, env)
        self.env = env
        self.planned = list(planned)
        self.argv = [python, "-c", BOOT, str(CHILD), "--events", str(events), *args]
        self.events: List[Dict[str, Any]] = []
        self.stage: Optional[str] = None
        self.result: Any = None
        self._offset = 0
        self._partial = ""
        self._thread = threading.Thread(target=self._run, name="envcheck-verify-" + label, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self.result = proc.run(self.argv, timeout=self.timeout, env=self.env)  # capped in __init__

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
                    progress(f"verify: {j.label}: {_process_words(j.result, j.timeout)}{during}")
        if sampler is not None:
            sampler.tick(jobs)
        if all(j.done for j in jobs) and len(told) == len(jobs):
            return
        time.sleep(POLL)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------ multi-GPU


def _multi_gpu_checks(indices: Sequence[int], **kw: Any) -> List[CheckResult]:
    """Peer-to-peer copies between every pair of ``indices``, then an all-reduce across them."""
    return p2p_checks(indices, **kw) + [allreduce_check([f"cuda:{i}" for i in indices], **kw)]


def p2p_checks(indices: Sequence[int], *, timeout: float, env: Optional[Mapping[str, str]] = None,
               python: Optional[str] = None, progress: Progress = None, driver: Any = None) -> List[CheckResult]:
    """Peer-to-peer copies between each pair of GPUs (one child that sees them all)."""
    planned = [f"p2p cuda:{a}<->cuda:{b}" for i, a in enumerate(indices) for b in indices[i + 1:]]
    with tempfile.TemporaryDirectory(prefix="envcheck-verify-") as tmp:
        job = _Job("p2p", ["--mode", "p2p", "--devices", ",".join(str(i) for i in indices)],
                   Path(tmp) / "p2p.jsonl", timeout, env, python or sys.executable, planned)
        _run_jobs([job], lambda j, e: _progress_event(progress, j, e), progress=progress)
    ctx = _classify.FixContext(device="peer-to-peer", driver=getattr(driver, "version", None), driver_facts=driver)
    return _check_results(job.events, job.result, planned, timeout, ctx)


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
                                 python or sys.executable, ["allreduce"]))
            _run_jobs(jobs, lambda j, e: _progress_event(progress, j, e), progress=progress)
        ranks = []
        for rank, j in enumerate(jobs):
            ctx = _classify.FixContext(device=f"rank {rank} ({devices[rank]})",
                                       driver=getattr(driver, "version", None), driver_facts=driver)
            ranks.append(_check_results(j.events, j.result, ["allreduce"], timeout, ctx)[0])
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


# ---------------------------------------------------------------------------------- progress


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


# -------------------------------------------------------------------------------------- run


def _finding(code: str) -> str:
    """Where diagnose explains the same problem: its finding code."""
    return f"diagnose reports this as {code} (envcheck explain {code})"


def _torch_unusable(events: Sequence[Mapping[str, Any]], result: Any, python: str, timeout: float,
                    driver: Any) -> Optional[CannotRunError]:
    """A CannotRunError when torch itself could not be imported in the child, else None."""
    failed = _first(events, "import-failed")
    if failed is not None:
        error = _classify._first_line(str(failed.get("error") or ""))
        started = _first(events, "start") or {}
        command = _classify.install_command(driver_facts=driver, python_exe=python,
                                            python_version=started.get("python_version"))
        how = f"install it: {command}" if command else "envcheck install-command prints the command for this machine"
        if failed.get("missing"):
            return CannotRunError(f"torch is not installed for {python} ({error})",
                                  hint=f"{how} (envcheck install-command explains the choice); "
                                       f"{_finding('EC002')}")
        low = error.lower()
        why = ""
        if "cannot open shared object" in low or "undefined symbol" in low or "dll load failed" in low:
            why = ": a library it needs is missing or another copy shadows it (check LD_LIBRARY_PATH)"
        return CannotRunError(f"torch is installed for {python} but `import torch` fails{why}: {error}",
                              hint=(f"reinstall: {command}" if command else how) + "; " + _finding("EC003"))
    if _first(events, "torch") is None and result is not None and not result.ok:
        imported = _first(events, "imported")
        step = "`import torch`"
        if imported is not None:
            step = f"torch {imported.get('version')} imported, but asking it about CUDA (is_available, device_count, cuDNN)"
        if result.timed_out:
            what = f"{step} did not finish within {timeout:g} s (killed)"
        elif result.signal is not None:
            what = f"{step} crashed (killed by {result.signal_name})"
        elif imported is not None:
            what = f"{step} failed: {result.describe()}"
        else:
            what = f"the check process failed before torch was imported: {result.describe()}"
        tail = _classify.stderr_lines(result.stderr)
        if tail:
            what += f": {tail[-1][:300]}"
        code = "EC005" if result.timed_out else ("EC004" if result.signal is not None else "EC003")
        hint = "envcheck diagnose runs the same import with more detail; " + _finding(code)
        if result.timed_out:
            hint = (f"a cold `import torch` (a network filesystem, a loaded machine) can take 30 s: give it more "
                    f"time with --timeout (now {timeout:g} s); if it never finishes, {hint}")
        return CannotRunError(f"{what} (Python {python})", hint=hint)
    return None


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
    guess = _visible_guess(before, env_map) if before is not None else 0
    selected = list(_child.CHECKS if checks is None else checks)
    for name in selected:
        if name not in _child.CHECKS:
            raise InputError(f"Unknown check: {name!r} (checks: {', '.join(_child.CHECKS)})")
    planned = selected + (list(_child.PERF_CHECKS) if perf else [])
    child_args = ["--only", ",".join(planned) or "none"] + (["--perf"] if perf else [])

    labels: List[str] = []
    all_gpus = not specs or "cuda" in specs
    if not specs:
        labels = ["auto"] + [f"cuda:{i}" for i in range(1, guess)]
    else:
        for s in specs:
            if s == "cuda":
                labels += [f"cuda:{i}" for i in range(max(1, guess))]
            else:
                labels.append(s)
        labels = list(dict.fromkeys(labels))
    sampler = _Sampler(nvml_sample or _nvml_sample) if perf and wants_gpu and before is not None else None
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
        problem = _torch_unusable(j.events, j.result, python, timeout, before)
        if problem is not None:
            raise problem
    device_jobs = []
    notes: List[str] = []
    for j in jobs:
        explicit = j.label in specs or (j.label.startswith("cuda:") and "cuda" in specs)
        if _first(j.events, "absent") is not None:
            e = _first(j.events, "absent")
            if j.label in specs:
                count = int(e.get("count") or 0)
                seen = f"cuda:0 to cuda:{count - 1}" if count > 1 else ("cuda:0" if count == 1 else "none")
                raise InputError(f"No such device: {j.label} (torch sees {count} GPU(s): {seen})")
            continue  # NVML's count was higher than torch's (CUDA_VISIBLE_DEVICES)
        if _first(j.events, "unavailable") is not None:
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
            from envcheck.verify.perf import judge

            readings = sampler.readings(j.label, r, after) if (sampler is not None and r.kind == "cuda") else None
            r.perf = judge(r.device, r.name, perf_measurements(j.events), readings)
        if r.kind == "cpu" and not specs and guess > 0:
            r.checks.insert(0, _gpus_unused(report_torch, guess, before, env_map))

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
    report.warnings += _torch_warnings(report_torch)
    return report


def _gpus_unused(torch_info: Mapping[str, Any], count: int, driver: Any, env: Mapping[str, str]) -> CheckResult:
    """NVML sees GPUs, but torch fell back to the CPU."""
    why = _classify.cuda_unavailable_reason(torch_info, env)
    command = _classify.install_command(driver_facts=driver, keep=torch_info.get("version"))
    f = Failure(
        "driver" if torch_info.get("cuda_build") else "library",
        f"the driver reports {count} GPU(s), but {why}; only the CPU was checked",
        "; ".join(str(w) for w in torch_info.get("available_warnings") or ()) or str(torch_info.get("version")),
        "install a torch build for this machine's driver and GPUs (envcheck install-command explains the "
        "choice; envcheck diagnose explains what is wrong)",
        command,
    )
    return CheckResult("cuda", "failed", f.summary, failure=f)


def _torch_warnings(info: Mapping[str, Any]) -> List[str]:
    out = []
    cudnn = info.get("cudnn") if isinstance(info.get("cudnn"), dict) else None
    if cudnn and cudnn.get("matches_build") is False:
        out.append(f"cuDNN {cudnn.get('runtime')} is loaded but torch was built for {cudnn.get('compiled')}")
    if info.get("cudnn_error"):
        out.append(f"cuDNN: {info['cudnn_error']}")
    return out
