"""GPU health from NVML: lost GPUs, ECC, memory repair, compute modes, MIG (EC601-EC606)."""

from __future__ import annotations

from typing import Iterator, List

from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View

__all__ = ["gpu_lost", "ecc", "memory_repair", "compute_mode", "mig", "RULES", "RETIRED_PAGES_LIMIT"]

RETIRED_PAGES_LIMIT = 63  # DCGM fails a GPU at this many retired pages


def _ids(gpus) -> str:
    return ",".join(str(g.index) for g in gpus)


def gpu_lost(v: View) -> Iterator[Finding]:
    """EC601: NVML's GPU_IS_LOST (Xid 79)."""
    d = v.facts.driver
    lost = [g for g in d.gpus if g.status == "lost"]
    if not lost and d.error_code != "gpu-lost":
        return
    evidence: List[str] = [ev("driver.error_code", d.error_code)]
    for g in lost[:4]:
        evidence.append(ev("driver.gpus[{}].status".format(g.index), g.status))
        for e in g.errors[:1]:
            evidence.append(ev("driver.gpus[{}].errors[{}]".format(g.index, e.field), e.code))
    which = ("GPU {} has".format(_ids(lost)) if len(lost) == 1 else "GPUs {} have".format(_ids(lost))
             ) if lost else "a GPU has"
    yield finding(
        "EC601",
        "{} fallen off the bus (NVML: GPU is lost)".format(which),
        evidence,
        cause="The GPU stopped answering on PCIe (Xid 79): jobs on it crash and it cannot be "
        "used until the node is reset.",
        fix="Drain the node and reboot; check `sudo dmesg | grep -i xid`. If it happens again, "
        "report the GPU for service (power, thermals, riser).",
        command="sudo reboot",
    )


def ecc(v: View) -> Iterator[Finding]:
    """EC602: uncorrectable ECC errors since the driver loaded."""
    bad = [g for g in v.facts.driver.gpus if (g.ecc_uncorrected_volatile or 0) > 0]
    if not bad:
        return
    evidence = [ev("driver.gpus[{}].ecc_uncorrected_volatile".format(g.index), g.ecc_uncorrected_volatile)
                for g in bad[:4]]
    evidence += [ev("driver.gpus[{}].ecc_uncorrected_aggregate".format(g.index), g.ecc_uncorrected_aggregate)
                 for g in bad[:2] if g.ecc_uncorrected_aggregate is not None]
    yield finding(
        "EC602",
        "uncorrectable ECC errors on {}".format(v.gpu_text(bad)),
        evidence,
        cause="Uncorrectable (double-bit) memory errors since the driver was loaded: results may "
        "be corrupt and CUDA contexts on the GPU are killed.",
        fix="Drain the GPU, reset it (`sudo nvidia-smi -r -i {}`) or reboot so the retirement or "
        "row remap takes effect, then run `dcgmi diag -r 3`; repeated errors need hardware "
        "service.".format(bad[0].index),
        command="sudo nvidia-smi -r -i {}".format(_ids(bad)),
    )


def memory_repair(v: View) -> Iterator[Finding]:
    """EC603: pending retirement/remap, failed remap, too many retired pages."""
    bad = []
    evidence: List[str] = []
    failed = False
    for g in v.facts.driver.gpus:
        rows = []
        if g.remap_pending:
            rows.append(ev("driver.gpus[{}].remap_pending".format(g.index), True))
        if g.remap_failed:
            rows.append(ev("driver.gpus[{}].remap_failed".format(g.index), True))
            failed = True
        if g.retired_pages_pending:
            rows.append(ev("driver.gpus[{}].retired_pages_pending".format(g.index), True))
        retired = (g.retired_pages_sbe or 0) + (g.retired_pages_dbe or 0)
        if retired >= RETIRED_PAGES_LIMIT:
            rows.append(ev("driver.gpus[{}].retired_pages".format(g.index), retired))
            failed = True
        if rows:
            bad.append(g)
            evidence += rows
            if g.remapped_rows_uncorrectable:
                evidence.append(ev("driver.gpus[{}].remapped_rows_uncorrectable".format(g.index),
                                   g.remapped_rows_uncorrectable))
    if not bad:
        return
    yield finding(
        "EC603",
        "GPU memory repair {} on {}".format("failed or exhausted" if failed else "pending", v.gpu_text(bad)),
        evidence[:8],
        cause="NVML reports a page retirement or row remap that "
        + ("failed or a GPU past DCGM's limit of {} retired pages: the memory cannot be repaired "
           "any further.".format(RETIRED_PAGES_LIMIT) if failed else
           "takes effect only at the next GPU reset; until then the bad memory stays in use."),
        fix=("Take the GPU out of service and report it for replacement (RMA)." if failed else
             "Reset the GPU (`sudo nvidia-smi -r -i {}`, with no process on it) or reboot.".format(_ids(bad))),
        command=None if failed else "sudo nvidia-smi -r -i {}".format(_ids(bad)),
    )


def compute_mode(v: View) -> Iterator[Finding]:
    """EC604 (exclusive process/thread) and EC605 (prohibited)."""
    gpus = v.facts.driver.gpus
    exclusive = [g for g in gpus if g.compute_mode in ("exclusive-process", "exclusive-thread")]
    prohibited = [g for g in gpus if g.compute_mode == "prohibited"]
    if exclusive:
        yield finding(
            "EC604",
            "{} in {} compute mode".format(v.gpu_text(exclusive), exclusive[0].compute_mode),
            [ev("driver.gpus[{}].compute_mode".format(g.index), g.compute_mode) for g in exclusive[:4]]
            + [ev("driver.gpus[{}].memory_used_mib".format(g.index), g.memory_used_mib) for g in exclusive[:2]],
            cause="Only one process may hold a CUDA context on the GPU: a second one (another "
            "job, DataLoader workers touching CUDA, a notebook) fails with `all CUDA-capable "
            "devices are busy or unavailable`.",
            fix="If that is not intended: `sudo nvidia-smi -i {} -c DEFAULT`.".format(_ids(exclusive)),
            command="sudo nvidia-smi -i {} -c DEFAULT".format(_ids(exclusive)),
        )
    if prohibited:
        yield finding(
            "EC605",
            "{} in prohibited compute mode".format(v.gpu_text(prohibited)),
            [ev("driver.gpus[{}].compute_mode".format(g.index), g.compute_mode) for g in prohibited[:4]],
            cause="No process may create a CUDA context on the GPU.",
            fix="`sudo nvidia-smi -i {} -c DEFAULT`.".format(_ids(prohibited)),
            command="sudo nvidia-smi -i {} -c DEFAULT".format(_ids(prohibited)),
        )


def mig(v: View) -> Iterator[Finding]:
    """EC606: MIG enabled."""
    on = [g for g in v.facts.driver.gpus if g.mig_enabled]
    if not on:
        return
    yield finding(
        "EC606",
        "MIG is enabled on {}".format(v.gpu_text(on)),
        [ev("driver.gpus[{}].mig_enabled".format(g.index), True) for g in on[:4]]
        + [ev("host.env.cuda_visible_devices", v.facts.host.env.cuda_visible_devices)],
        cause="A process sees one MIG instance (CUDA_VISIBLE_DEVICES=MIG-<uuid>), not the whole GPU.",
        fix="Nothing, if intended; list the instances with `nvidia-smi -L`.",
    )


RULES = (gpu_lost, ecc, memory_repair, compute_mode, mig)
