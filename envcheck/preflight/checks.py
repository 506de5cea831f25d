"""Facts + thresholds -> checks. Pure: no probing, no printing.

Every check has a stable id (the keys of a profile's ``[severity]`` table), a status, the
measured value and the threshold, both as text for people and as values for JSON.

Statuses, worst first: ``fail`` (exit 1), ``not-run`` (a check that was asked for but could not
be made: exit 3 when nothing failed, never counted as a pass), ``warn``, ``pass``, and ``n/a``
(does not apply here: persistence mode on Windows, ECC on a GPU without it).

GPU checks are made per GPU and shown as one line per check: the worst GPU decides the status,
the failing GPUs are named, and ``per_gpu`` (JSON) keeps every GPU's own result.

PCIe rule (see envcheck/preflight/README.md): links train down at idle to save power, so the current
generation and width are only judged against the maximum when the GPU was under load, either
in samples taken while the performance check ran or when the reading itself shows a busy GPU
(no ``gpu-idle`` clock event and SM clock at half its maximum or more). At idle a lower
generation passes with a note and a narrower width is a warning (a server GPU's width seldom
drops at idle; a bad riser or slot keeps it low under load too, where it fails).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from envcheck.outcome import GATE_STATUSES as STATUSES  # worst first
from envcheck.preflight.units import format_size

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.rules.findings import Finding

__all__ = [
    "STATUSES",
    "CHECK_IDS",
    "Check",
    "HostReadings",
    "worst",
    "exit_code",
    "node_checks",
    "finding_checks",
    "not_run",
    "apply_severity",
]


CHECK_IDS = (
    "gpu.count",
    "gpu.model",
    "gpu.memory",
    "gpu.memory_used",
    "gpu.temperature",
    "gpu.persistence",
    "gpu.ecc",
    "gpu.ecc_errors",
    "gpu.retired_pages",
    "gpu.row_remap",
    "gpu.throttle",
    "gpu.pcie",
    "driver.version",
    "driver.cuda",
    "torch.version",
    "host.ram",
    "host.disk",
    "host.shm",
    "host.open_files",
    "diagnose",
    "verify",
    "perf",
    "dist.launch",
    "dist.join",
    "dist.busbw_intra",
    "dist.busbw_inter",
    "dist.report",
)


@dataclass(frozen=True)
class Check:
    id: str
    status: str
    measured: str
    threshold: str
    subject: str = "node"
    detail: str = ""
    value: Any = None
    limit: Any = None
    source: str = ""  # where the threshold came from: profile NAME, config FILE, flag
    per_gpu: Tuple[Tuple[int, str, str], ...] = ()  # (index, status, measured)

    def to_dict(self) -> Dict[str, Any]:
        out = {
            "id": self.id,
            "status": self.status,
            "subject": self.subject,
            "measured": self.measured,
            "threshold": self.threshold,
            "value": self.value,
            "limit": self.limit,
            "source": self.source,
            "detail": self.detail,
        }
        if self.per_gpu:
            out["per_gpu"] = [{"index": i, "status": s, "measured": m} for i, s, m in self.per_gpu]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Check":
        return cls(
            id=str(d["id"]),
            status=str(d["status"]),
            measured=str(d.get("measured", "")),
            threshold=str(d.get("threshold", "")),
            subject=str(d.get("subject", "node")),
            detail=str(d.get("detail", "")),
            value=d.get("value"),
            limit=d.get("limit"),
            source=str(d.get("source", "")),
            per_gpu=tuple((int(g["index"]), str(g["status"]), str(g["measured"])) for g in d.get("per_gpu") or ()),
        )


@dataclass(frozen=True)
class HostReadings:
    """What preflight measured itself (beyond the facts): free space on the configured paths."""

    disks: Tuple[Tuple[str, Optional[int], Optional[str]], ...] = ()  # (path, free bytes, error)
    pcie_under_load: Mapping[int, Tuple[int, int]] = field(default_factory=dict)  # index -> (gen, width)
    # NVML indexes whose health this report judges (a distributed rank judges its own GPU);
    # None: every GPU. The count always covers every GPU of the node.
    judge_gpus: Optional[Tuple[int, ...]] = None


def worst(statuses: Iterable[str]) -> str:
    from envcheck.outcome import worst_gate

    return worst_gate(statuses)


def exit_code(checks: Iterable[Check], *, strict: bool = False) -> int:
    """1 when a check failed (or warned, with ``strict``); 3 when one could not run; else 0."""
    from envcheck.outcome import gate_exit

    return gate_exit((c.status for c in checks), strict=strict)


def not_run(check_id: str, why: str, threshold: str = "", source: str = "") -> Check:
    return Check(check_id, "not-run", "not run: " + why, threshold or "-", source=source)


def _apply_severity(check: Check, th: Any) -> Optional[Check]:
    sev = th.severity_of(check.id)
    if sev == "off":
        return None
    if sev == "warn" and check.status == "fail":
        return replace(check, status="warn", detail=(check.detail + " (severity: warn)").strip())
    return check


# --------------------------------------------------------------------------------- GPU checks


def gpu_ranges(indexes: Sequence[int]) -> str:
    """[0,1,2,5] -> "0-2,5"."""
    out: List[str] = []
    idx = sorted(indexes)
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(str(idx[i]) if i == j else "{}-{}".format(idx[i], idx[j]))
        i = j + 1
    return ",".join(out)


def _per_gpu(
    check_id: str,
    gpus: Sequence[Any],
    judge,
    threshold: str,
    source: str,
    limit: Any = None,
) -> Optional[Check]:
    """Run ``judge(gpu) -> (status, measured, value)`` per GPU; one aggregated Check."""
    rows = []
    for g in gpus:
        status, measured, value = judge(g)
        rows.append((g.index, status, measured, value))
    if not rows:
        return None
    status = worst(r[1] for r in rows)
    bad = [r for r in rows if r[1] == status] if status in ("fail", "warn", "not-run") else []
    if bad:
        same = len({r[2] for r in bad}) == 1
        if same:
            measured = "GPU {}: {}".format(gpu_ranges([r[0] for r in bad]), bad[0][2])
        else:
            measured = "; ".join("GPU {}: {}".format(r[0], r[2]) for r in bad)
        others = len(rows) - len(bad)
        if others:
            measured += " ({} other GPU(s) fine)".format(others)
    else:
        distinct = list(dict.fromkeys(r[2] for r in rows))
        label = "GPU {}".format(gpu_ranges([r[0] for r in rows]))
        measured = "{}: {}".format(label, distinct[0] if len(distinct) == 1 else ", ".join(distinct[:4]) + (" ..." if len(distinct) > 4 else ""))
    values = [r[3] for r in rows]
    return Check(
        check_id,
        status,
        measured,
        threshold,
        subject="gpu" + gpu_ranges([r[0] for r in rows]),
        value=values if len(values) > 1 else values[0],
        limit=limit,
        source=source,
        per_gpu=tuple((r[0], r[1], r[2]) for r in rows),
    )


def _model_matches(name: Optional[str], pattern: str) -> bool:
    if not name:
        return False
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], name, re.IGNORECASE) is not None
    return pattern.lower() in name.lower()


def _is_busy(g: Any) -> bool:
    if "gpu-idle" in (g.throttle_reasons or ()):
        return False
    if g.clock_sm_mhz is None or not g.clock_sm_max_mhz:
        return False
    return g.clock_sm_mhz >= 0.5 * g.clock_sm_max_mhz


def _pcie(g: Any, under_load: Mapping[int, Tuple[int, int]]) -> Tuple[str, str, Any]:
    gmax, wmax = g.pcie_gen_max, g.pcie_width_max
    if gmax is None or wmax is None or g.pcie_gen_current is None or g.pcie_width_current is None:
        return "n/a", "link not reported (not PCIe, or not supported)", None
    want = "Gen{} x{}".format(gmax, wmax)
    if g.index in under_load:
        gen, width = under_load[g.index]
        value = {"gen": gen, "width": width, "gen_max": gmax, "width_max": wmax, "under_load": True}
        text = "Gen{} x{} under load (max {})".format(gen, width, want)
        return ("pass" if gen >= gmax and width >= wmax else "fail"), text, value
    gen, width = g.pcie_gen_current, g.pcie_width_current
    busy = _is_busy(g)
    value = {"gen": gen, "width": width, "gen_max": gmax, "width_max": wmax, "under_load": busy}
    if gen >= gmax and width >= wmax:
        return "pass", "Gen{} x{}".format(gen, width), value
    if busy:
        return "fail", "Gen{} x{} while busy (max {})".format(gen, width, want), value
    if width < wmax:
        return "warn", "x{} of x{} at idle (Gen{} of {}): confirm under load".format(width, wmax, gen, gmax), value
    return "pass", "Gen{} x{} at idle (max {}; idle links train down)".format(gen, width, want), value


def _gpu_checks(driver: Any, th: Any, readings: HostReadings) -> List[Check]:
    src = th.source_of
    out: List[Optional[Check]] = []
    all_gpus = list(driver.gpus or ())
    usable = [g for g in all_gpus if g.status == "ok"]
    broken = [g for g in all_gpus if g.status != "ok"]
    # -- count
    detail = ""
    if driver.status != "ok":
        detail = "NVML {}: {}".format(driver.status, driver.detail)
    if broken:
        detail = (detail + "; " if detail else "") + ", ".join("GPU {} {}".format(g.index, g.status) for g in broken)
    if th.min_gpus == 0 and not all_gpus:
        out.append(Check("gpu.count", "n/a", "0 GPUs", "none required", value=0, limit=0, source=src("min_gpus"), detail=detail))
    elif driver.status != "ok" and driver.error_code == "pynvml-missing" and not all_gpus:
        out.append(not_run("gpu.count", "the NVML binding (nvidia-ml-py) is not installed", ">= {}".format(th.min_gpus), src("min_gpus")))
    else:
        n = len(usable) if driver.status == "ok" else len(all_gpus)
        status = "pass" if n >= th.min_gpus and not broken else "fail"
        measured = "{} GPU(s)".format(n)
        if broken:
            measured += " usable of {}".format(len(all_gpus))
        if status == "fail" and not all_gpus and driver.status == "missing":
            detail += ("; " if detail else "") + ("no NVIDIA driver: install it, or inside a container start it with "
                                                  "the GPUs (docker run --gpus all, the NVIDIA container toolkit)")
        out.append(Check("gpu.count", status, measured, ">= {}".format(th.min_gpus), value=n, limit=th.min_gpus,
                         source=src("min_gpus"), detail=detail))
    if readings.judge_gpus is not None:
        usable = [g for g in usable if g.index in readings.judge_gpus]
    nvml = [g for g in usable if g.source == "nvml"]
    smi_only = [g for g in usable if g.source != "nvml"]
    if smi_only and not nvml:
        why = "NVML unavailable ({}); nvidia-smi lists the GPUs but not their health".format(driver.error_code or driver.status)
        for cid in ("gpu.memory_used", "gpu.temperature", "gpu.ecc_errors", "gpu.row_remap", "gpu.throttle", "gpu.pcie"):
            out.append(not_run(cid, why))
    gpus = nvml or smi_only
    if not gpus and readings.judge_gpus is None:
        # no GPU to judge: a model or memory requirement is not met (n/a when none is required)
        none = ("n/a", "no GPU") if th.min_gpus == 0 else ("fail", "no usable GPU found")
        if th.gpu_model:
            out.append(Check("gpu.model", none[0], none[1], "matches {!r}".format(th.gpu_model), source=src("gpu_model")))
        if th.min_gpu_memory:
            out.append(Check("gpu.memory", none[0], none[1], ">= {}".format(format_size(th.min_gpu_memory)),
                             source=src("min_gpu_memory")))
    # -- model, memory (nvidia-smi has both)
    if th.gpu_model:
        out.append(_per_gpu("gpu.model", gpus, lambda g: (
            "pass" if _model_matches(g.name, th.gpu_model) else ("not-run" if not g.name else "fail"),
            g.name or "name unknown", g.name), "matches {!r}".format(th.gpu_model), src("gpu_model"), th.gpu_model))
    if th.min_gpu_memory:
        def mem(g):
            if g.memory_total_mib is None:
                return "not-run", "total memory unknown", None
            b = g.memory_total_mib << 20
            return ("pass" if b >= th.min_gpu_memory else "fail"), "{} MiB ({:.1f} GB)".format(g.memory_total_mib, b / 1e9), b
        out.append(_per_gpu("gpu.memory", gpus, mem, ">= {:.1f} GB ({})".format(th.min_gpu_memory / 1e9, format_size(th.min_gpu_memory)),
                            src("min_gpu_memory"), th.min_gpu_memory))
    if nvml:
        def used(g):
            if g.memory_used_mib is None:
                return "not-run", "memory use unknown", None
            b = g.memory_used_mib << 20
            return ("pass" if b <= th.max_gpu_memory_used else "fail"), "{} MiB used".format(g.memory_used_mib), b
        out.append(_per_gpu("gpu.memory_used", nvml, used, "<= {}".format(format_size(th.max_gpu_memory_used)),
                            src("max_gpu_memory_used"), th.max_gpu_memory_used))

        def temp(g):
            t = g.temperature_c
            if t is None:
                return "not-run", "temperature unknown", None
            return ("pass" if t <= th.max_temperature_c else "fail"), "{} C".format(t), t
        out.append(_per_gpu("gpu.temperature", nvml, temp, "<= {} C".format(th.max_temperature_c), src("max_temperature_c"),
                            th.max_temperature_c))
        if th.require_persistence:
            out.append(_per_gpu("gpu.persistence", nvml, lambda g: (
                "n/a" if g.persistence_mode is None else ("pass" if g.persistence_mode else "fail"),
                "not supported" if g.persistence_mode is None else ("on" if g.persistence_mode else "off"),
                g.persistence_mode), "on", src("require_persistence"), True))
        if th.require_ecc:
            def ecc(g):
                if g.ecc_enabled is None:
                    return "n/a", "no ECC on this GPU", None
                text = "on" if g.ecc_enabled else "off"
                if g.ecc_enabled_after_reboot is not None and g.ecc_enabled_after_reboot != g.ecc_enabled:
                    text += " ({} after reboot)".format("on" if g.ecc_enabled_after_reboot else "off")
                return ("pass" if g.ecc_enabled else "fail"), text, g.ecc_enabled
            out.append(_per_gpu("gpu.ecc", nvml, ecc, "on", src("require_ecc"), True))

        def ecc_errors(g):
            n = g.ecc_uncorrected_volatile
            if n is None:
                return ("n/a" if g.ecc_enabled is not True else "not-run"), "no ECC counters", None
            text = "{} uncorrectable".format(n)
            if g.ecc_uncorrected_aggregate:
                text += " ({} since manufacture)".format(g.ecc_uncorrected_aggregate)
            return ("pass" if n <= th.max_ecc_uncorrected else "fail"), text, n
        out.append(_per_gpu("gpu.ecc_errors", nvml, ecc_errors, "<= {} (volatile)".format(th.max_ecc_uncorrected),
                            src("max_ecc_uncorrected"), th.max_ecc_uncorrected))

        def retired(g):
            if g.retired_pages_sbe is None and g.retired_pages_dbe is None and g.retired_pages_pending is None:
                return "n/a", "no page retirement (row remapping GPU, or not supported)", None
            total = (g.retired_pages_sbe or 0) + (g.retired_pages_dbe or 0)
            text = "{} retired".format(total)
            if g.retired_pages_pending:
                return "fail", text + ", retirement pending (reboot or reset)", total
            return ("pass" if total <= th.max_retired_pages else "fail"), text, total
        out.append(_per_gpu("gpu.retired_pages", nvml, retired, "<= {}, none pending".format(th.max_retired_pages),
                            src("max_retired_pages"), th.max_retired_pages))

        def remap(g):
            if g.remap_pending is None and g.remap_failed is None:
                return "n/a", "no row remapping (pre-Ampere, or not supported)", None
            if g.remap_failed:
                return "fail", "row remapping failed", {"failed": True}
            if g.remap_pending:
                return "fail", "row remap pending (GPU reset needed)", {"pending": True}
            return "pass", "{} rows remapped, none pending".format(
                (g.remapped_rows_correctable or 0) + (g.remapped_rows_uncorrectable or 0)), {"pending": False}
        out.append(_per_gpu("gpu.row_remap", nvml, remap, "none pending or failed", "DCGM rule", None))

        def throttle(g):
            reasons = tuple(g.throttle_reasons or ())
            failing = [r for r in reasons if r in th.fail_throttle]
            warning = [r for r in reasons if r in th.warn_throttle]
            text = ", ".join(reasons) if reasons else "none"
            if failing:
                return "fail", text, list(reasons)
            if warning:
                return "warn", text, list(reasons)
            return "pass", text if not reasons else text + " (ignored)", list(reasons)
        out.append(_per_gpu("gpu.throttle", nvml, throttle, "none of {}".format(", ".join(th.fail_throttle) or "-"),
                            src("fail_throttle"), list(th.fail_throttle)))
        if th.pcie_at_max:
            out.append(_per_gpu("gpu.pcie", nvml, lambda g: _pcie(g, readings.pcie_under_load), "at max gen and width",
                                src("pcie_at_max"), None))
    return [c for c in out if c is not None]


# ----------------------------------------------------------------------------- driver, torch


def _version(text: Optional[str]):
    from packaging.version import InvalidVersion, Version

    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _software_checks(facts: Any, th: Any) -> List[Check]:
    out: List[Check] = []
    d = facts.driver
    # No driver at all is a definite answer (fail); a driver envcheck could not read is not.
    absent = d.version is None and d.status == "missing" and d.error_code != "pynvml-missing"
    if th.min_driver:
        have = _version(d.version)
        if have is None and absent:
            out.append(Check("driver.version", "fail", "no NVIDIA driver ({})".format(d.detail or d.status),
                             ">= " + th.min_driver, limit=th.min_driver, source=th.source_of("min_driver"),
                             detail="install the NVIDIA driver, or inside a container start it with the GPUs "
                                    "(docker run --gpus all; the NVIDIA container toolkit)"))
        elif have is None:
            out.append(not_run("driver.version", "no driver version ({})".format(d.detail or d.status),
                               ">= " + th.min_driver, th.source_of("min_driver")))
        else:
            ok = have >= _version(th.min_driver)
            out.append(Check("driver.version", "pass" if ok else "fail", d.version, ">= " + th.min_driver,
                             value=d.version, limit=th.min_driver, source=th.source_of("min_driver")))
    if th.min_cuda:
        have = _version(d.cuda_max)
        if have is None and absent:
            out.append(Check("driver.cuda", "fail", "no NVIDIA driver ({})".format(d.detail or d.status),
                             ">= " + th.min_cuda, limit=th.min_cuda, source=th.source_of("min_cuda")))
        elif have is None:
            out.append(not_run("driver.cuda", "the driver's CUDA version is unknown ({})".format(d.detail or d.status),
                               ">= " + th.min_cuda, th.source_of("min_cuda")))
        else:
            ok = have >= _version(th.min_cuda)
            out.append(Check("driver.cuda", "pass" if ok else "fail", "driver supports CUDA " + d.cuda_max,
                             ">= " + th.min_cuda, value=d.cuda_max, limit=th.min_cuda, source=th.source_of("min_cuda")))
    if th.require_torch:
        from packaging.specifiers import SpecifierSet

        t = facts.torch
        spec = SpecifierSet(th.require_torch)
        hint = "the install command for this node: envcheck install-command --torch '{}'".format(th.require_torch)
        if t.status == "missing":
            out.append(Check("torch.version", "fail", "torch not installed", th.require_torch, limit=th.require_torch,
                             source=th.source_of("require_torch"), detail=hint))
        elif _version(t.version) is None:
            out.append(not_run("torch.version", "torch's version unknown ({})".format(t.detail or t.status),
                               th.require_torch, th.source_of("require_torch")))
        else:
            public = _version(t.version).public
            ok = spec.contains(public, prereleases=True)
            out.append(Check("torch.version", "pass" if ok else "fail", "torch " + t.version, th.require_torch,
                             value=t.version, limit=th.require_torch, source=th.source_of("require_torch"),
                             detail="" if ok else hint))
    return out


# -------------------------------------------------------------------------------------- host


def _host_checks(host: Any, th: Any, readings: HostReadings) -> List[Check]:
    out: List[Check] = []
    src = th.source_of
    total, avail = host.memory_total_bytes, host.memory_available_bytes
    need = max(th.min_free_ram, int(th.min_free_ram_fraction * (total or 0)))
    threshold = ">= {}".format(format_size(need))
    if th.min_free_ram_fraction:
        threshold += " ({:.0%} of {})".format(th.min_free_ram_fraction, format_size(total)) if total else ""
    if need == 0:
        pass
    elif avail is None:
        out.append(not_run("host.ram", "available memory unknown", threshold, src("min_free_ram_fraction")))
    else:
        out.append(Check("host.ram", "pass" if avail >= need else "fail",
                         "{} available of {}".format(format_size(avail), format_size(total)), threshold,
                         value=avail, limit=need, source=src("min_free_ram_fraction") + "/" + src("min_free_ram")))
    wanted = {p: n for p, n in th.min_free_disk if n > 0}
    seen = {p: (free, err) for p, free, err in readings.disks}
    for path in sorted(wanted):
        need_disk = wanted[path]
        free, err = seen.get(path, (None, "not measured"))
        thr = ">= {} free".format(format_size(need_disk))
        if free is None:
            status = "fail" if err and "does not exist" in err else "not-run"
            out.append(Check("host.disk", status, err or "unknown", thr, subject=path, limit=need_disk,
                             source=src("min_free_disk")))
        else:
            out.append(Check("host.disk", "pass" if free >= need_disk else "fail", "{} free".format(format_size(free)),
                             thr, subject=path, value=free, limit=need_disk, source=src("min_free_disk")))
    if th.min_shm:
        shm = host.shm
        thr = ">= {}".format(format_size(th.min_shm))
        if host.system and host.system != "Linux" and shm is None:
            out.append(Check("host.shm", "n/a", "no /dev/shm on {}".format(host.system), thr, subject="/dev/shm"))
        elif shm is None or not shm.exists or shm.total_bytes is None:
            out.append(Check("host.shm", "fail", "/dev/shm missing", thr, subject="/dev/shm", limit=th.min_shm,
                             source=src("min_shm")))
        else:
            out.append(Check("host.shm", "pass" if shm.total_bytes >= th.min_shm else "fail",
                             "{} ({} free)".format(format_size(shm.total_bytes), format_size(shm.free_bytes)), thr,
                             subject="/dev/shm", value=shm.total_bytes, limit=th.min_shm, source=src("min_shm")))
    if th.min_open_files:
        soft = host.open_files_soft
        thr = ">= {}".format(th.min_open_files)
        if soft is None:
            status = "n/a" if host.system == "Windows" else "not-run"
            out.append(Check("host.open_files", status, "limit unknown", thr, source=src("min_open_files")))
        else:
            ok = soft == -1 or soft >= th.min_open_files
            out.append(Check("host.open_files", "pass" if ok else "fail",
                             "unlimited" if soft == -1 else "soft limit {}".format(soft)
                             + ("" if ok or host.open_files_hard is None else " (hard {}: raise with ulimit -n)".format(
                                 "unlimited" if host.open_files_hard == -1 else host.open_files_hard)),
                             thr, value=soft, limit=th.min_open_files, source=src("min_open_files")))
    return out


# ---------------------------------------------------------------------------------- findings


def finding_checks(findings: Optional[Sequence["Finding"]], why_not: str = "") -> List[Check]:
    """diagnose's findings (typed :class:`envcheck.rules.findings.Finding`) as checks: an error
    fails, a warning warns, info is left out.

    ``findings`` is None when diagnose could not run: one ``not-run`` check with ``why_not``.
    """
    if findings is None:
        return [not_run("diagnose", why_not or "diagnose is not available", "no errors")]
    out: List[Check] = []
    for f in findings:
        if f.severity not in ("error", "warning"):
            continue
        detail = f.fix or ""
        if f.command:  # the fix text may say "the command below": it has to be there
            detail = (detail + "\n" if detail else "") + f.command
            if f.alternative:
                detail += "\nor, {}: {}".format(f.alternative_why or "alternative", f.alternative)
        out.append(Check("diagnose", "fail" if f.severity == "error" else "warn", f.title, "no errors",
                         subject=f.label, value=f.code, detail=detail))
    if not out:
        out.append(Check("diagnose", "pass", "no errors or warnings", "no errors"))
    return out


def node_checks(facts: Any, th: Any, readings: Optional[HostReadings] = None) -> List[Check]:
    """Every threshold check of one node from its facts (and preflight's own readings)."""
    readings = readings or HostReadings()
    checks: List[Check] = []
    checks += _gpu_checks(facts.driver, th, readings)
    checks += _software_checks(facts, th)
    if facts.host.status == "ok" or facts.host.memory_total_bytes is not None:
        checks += _host_checks(facts.host, th, readings)
    else:
        checks.append(not_run("host.ram", "host probe {}: {}".format(facts.host.status, facts.host.detail)))
    return apply_severity(checks, th)


def apply_severity(checks: Iterable[Check], th: Any) -> List[Check]:
    out = []
    for c in checks:
        c2 = _apply_severity(c, th)
        if c2 is not None:
            out.append(c2)
    return out
