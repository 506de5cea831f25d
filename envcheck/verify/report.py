"""verify's report (pure): a child's events and how its process ended -> check results, a
device report, the NVML health check, and the errors that stop verify (torch missing, broken,
shadowed).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from envcheck.children import events as _events
from envcheck.errors import CannotRunError
from envcheck.verify import classify as _classify
from envcheck.verify.model import CheckResult, DeviceReport, Failure

__all__ = ["RETIRED_PAGES_LIMIT", "check_results", "device_report", "find_gpu", "first_event", "gpus_unused",
           "health_check", "imported_shadow", "perf_measurements", "process_words", "read_events", "shadow_lines",
           "torch_unusable", "torch_warnings"]

RETIRED_PAGES_LIMIT = 63  # DCGM fails a GPU with this many retired pages


def read_events(text: str) -> List[Dict[str, Any]]:
    """The child's events (:mod:`envcheck.children.events`); a line cut short by a kill, or
    noise, is skipped."""
    return _events.parse(text)


def first_event(events: Sequence[Mapping[str, Any]], kind: str) -> Optional[Mapping[str, Any]]:
    for e in events:
        if e.get("event") == kind:
            return e
    return None


def process_words(result: Any, timeout: float) -> str:
    if result is None:
        return "not started"
    if result.timed_out:
        return f"killed after {timeout:g} s (no answer)"
    if result.ok:
        return f"ok ({result.seconds:.1f} s)"
    return result.describe()


def _fix_context(events: Sequence[Mapping[str, Any]], label: str, driver: Any) -> _classify.FixContext:
    t = first_event(events, "torch") or {}
    d = first_event(events, "device") or {}
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


def imported_shadow(event: Optional[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The shadow (of a child event's ``shadows``) that the child itself imported, if any: a
    torch, torchvision or numpy from PYTHONPATH instead of the installed one."""
    if not event:
        return None
    modules = dict(event.get("modules") or {})
    if event.get("file"):
        modules["torch"] = event["file"]
    for s in event.get("shadows") or ():
        if isinstance(s, Mapping) and s.get("shadow") and modules.get(s.get("name")) == s.get("shadow"):
            return s
    return None


def _blame_shadow(r: CheckResult, s: Mapping[str, Any]) -> CheckResult:
    """A failed check, explained first by the shadowing module the child imported."""
    if r.status != "failed" or r.failure is None:
        return r
    name, where = s.get("name"), str(s.get("shadow"))
    folder = where.rsplit("/" + str(name), 1)[0] if f"/{name}" in where else where
    installed = f"the installed one at {s['installed']}" if s.get("installed") else "no installed copy"
    failure = Failure(
        kind="shadowed",
        summary=f"{name} was imported from {where} ({s.get('via')}), not {installed}: {r.failure.summary}",
        evidence=r.failure.evidence,
        fix=f"remove {folder} from PYTHONPATH (or rename the local {name}), then run verify again (EC315)",
    )
    return dataclasses.replace(r, detail=failure.summary, failure=failure)


def check_results(events: Sequence[Mapping[str, Any]], result: Any, planned: Sequence[str],
                   timeout: float, ctx: _classify.FixContext) -> List[CheckResult]:
    out = _plain_results(events, result, planned, timeout, ctx)
    shadow = imported_shadow(first_event(events, "torch"))
    return [_blame_shadow(r, shadow) for r in out] if shadow else out


def _plain_results(events: Sequence[Mapping[str, Any]], result: Any, planned: Sequence[str],
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
    d = first_event(events, "device") or {}
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
        process=process_words(result, timeout),
        seconds=round(result.seconds, 3) if result is not None else None,
    )
    if d.get("error"):
        report.notes.append(f"device properties: {d['error']}")
    for c in check_results(events, result, planned, timeout, ctx):
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


def find_gpu(driver: Any, report: DeviceReport) -> Any:
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
    g = find_gpu(after, report)
    if g is None:
        return CheckResult("health", "skipped", "the GPU was not found in NVML's list (matched by UUID and PCI bus id)")
    dev = report.device
    if g.status == "lost":
        f = Failure("gpu-lost", f"{dev} fell off the bus (NVML: GPU_IS_LOST, Xid 79)", "NVML status lost",
                    "reboot; check the GPU's power, cooling and PCIe seating (`dmesg` shows the Xid)")
        return CheckResult("health", "failed", f.summary, failure=f)
    g0 = find_gpu(before, report)
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


def _finding(code: str) -> str:
    """Where diagnose explains the same problem: its finding code."""
    return f"diagnose reports this as {code} (envcheck explain {code})"


def shadow_lines(event: Optional[Mapping[str, Any]]) -> List[str]:
    """What shadows torch, torchvision or numpy, in words, from a child event's ``shadows``."""
    out = []
    for s in (event or {}).get("shadows") or ():
        if not isinstance(s, Mapping) or not s.get("shadow"):
            continue
        via = "the working directory" if s.get("via") == "working directory" else s.get("via")
        installed = f"the installed one at {s['installed']}" if s.get("installed") else "which is not installed"
        who = "programs started there import" if via == "the working directory" else "Python imports"
        out.append(f"{s.get('name')} from {via} ({s['shadow']}) shadows {installed}: {who} it instead (EC315)")
    return out


def _with_shadows(error: CannotRunError, events: Sequence[Mapping[str, Any]]) -> CannotRunError:
    """The error, with what shadows torch named first: the likeliest cause."""
    lines = shadow_lines(first_event(events, "import-failed") or first_event(events, "start"))
    if not lines:
        return error
    return CannotRunError(f"{error.message}; {'; '.join(lines)}",
                          hint="rename the local copy or remove it from PYTHONPATH (envcheck diagnose "
                               "prints the command)" + (f"; {error.hint}" if error.hint else ""))


def torch_unusable(events: Sequence[Mapping[str, Any]], result: Any, python: str, timeout: float,
                    driver: Any) -> Optional[CannotRunError]:
    """A CannotRunError when torch itself could not be imported in the child, else None."""
    error = _torch_unusable_error(events, result, python, timeout, driver)
    return None if error is None else _with_shadows(error, events)


def _torch_unusable_error(events: Sequence[Mapping[str, Any]], result: Any, python: str, timeout: float,
                          driver: Any) -> Optional[CannotRunError]:
    failed = first_event(events, "import-failed")
    if failed is not None:
        error = _classify.first_line(str(failed.get("error") or ""))
        started = first_event(events, "start") or {}
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
    if first_event(events, "torch") is None and result is not None and not result.ok:
        imported = first_event(events, "imported")
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


def gpus_unused(torch_info: Mapping[str, Any], count: int, driver: Any, env: Mapping[str, str]) -> CheckResult:
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


def driver_silent(driver: Any) -> CheckResult:
    """An NVIDIA driver is there but does not answer (nvidia-smi fails, NVML hangs or crashes):
    the GPUs could not even be counted, so a pass on the CPU must not read as a healthy node."""
    detail = str(getattr(driver, "detail", "") or getattr(driver, "error_code", "") or "no answer")
    f = Failure(
        "driver",
        "the NVIDIA driver does not answer ({}): no GPU could be verified, only the CPU".format(
            getattr(driver, "error_code", None) or getattr(driver, "status", "failed")),
        detail,
        "`envcheck diagnose` names the cause and the fix (a driver reload, a reboot, a reinstall)",
        None,
    )
    return CheckResult("cuda", "failed", f.summary, failure=f)


def torch_warnings(info: Mapping[str, Any]) -> List[str]:
    out = []
    cudnn = info.get("cudnn") if isinstance(info.get("cudnn"), dict) else None
    if cudnn and cudnn.get("matches_build") is False:
        out.append(f"cuDNN {cudnn.get('runtime')} is loaded but torch was built for {cudnn.get('compiled')}")
    if info.get("cudnn_error"):
        out.append(f"cuDNN: {info['cudnn_error']}")
    return out + shadow_lines(info)

