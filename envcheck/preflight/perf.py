"""The performance sanity check of a distributed rank: its measured matmul throughput judged by
verify's one perf judge over the GPU table.

:func:`judge_tflops` is pure given the GPU table (``envcheck.matrix.gpus``): the GPU's NVML
name picks its row (datasheet dense peak per dtype) and its class (the healthy fraction of that
peak for a quick ``torch.mm``). The verdict is :func:`envcheck.verify.perf.matmul_verdict`'s, the
same the single-node path gives, and :func:`envcheck.outcome.gate_of_verdict` makes it a check:

* fail below ``low x floor`` (floor 0.71: DCGM fails below ~0.71 of a measured-good value), or
  below the profile's ``perf_fractions`` value for the class when one is set;
* warn below ``low x spread`` (spread 0.95: identical cards differ ~5%), and where the table's
  peak is marked uncertain, instead of fail;
* pass otherwise. A GPU the table does not know, or without a peak for the dtype, is
  ``not-run`` (no verdict is not a pass); a MIG slice is ``n/a``.

The measurement itself, :func:`envcheck.children.timing.time_matmul`, runs in a rank process that
has torch imported already (the distributed path); the single-node path measures in verify's
child process instead.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from envcheck.preflight.checks import Check

__all__ = ["judge_tflops", "floor_for"]


def floor_for(table: Any, row: Any, dtype: str, th: Any) -> Tuple[Optional[float], Optional[float], str]:
    """(fail fraction, warn fraction, where from) for a GPU row and dtype."""
    cls = table.gpu_class(row)
    rng = cls.matmul_fp32 if dtype == "fp32" else cls.matmul_half
    override = th.fraction_for(row.gpu_class) if th is not None else None
    if rng is None and override is None:
        return None, None, "class {} has no healthy range for {}".format(row.gpu_class, dtype)
    fail = override if override is not None else rng.low * table.floor
    warn = max(fail, rng.low * table.spread) if rng is not None else fail
    where = ("profile perf_fractions.{}".format(row.gpu_class) if override is not None
             else "GPU table: class {} low {:.2f} x floor {:.2f}".format(row.gpu_class, rng.low, table.floor))
    return fail, warn, where


def judge_tflops(name: Optional[str], tflops: float, dtype: str, th: Any, table: Any = None) -> Check:
    """One ``perf`` check for one GPU's measured matmul throughput."""
    from envcheck.matrix import gpus

    try:
        table = table or gpus.load()
    except Exception as exc:  # noqa: BLE001 - a corrupt table: no verdict
        return Check("perf", "not-run", "{:.1f} TFLOP/s {} (no verdict: GPU table unusable: {})".format(tflops, dtype, exc),
                     "per GPU class", value=tflops)
    m = gpus.match(table, name)
    measured = "{:.1f} TFLOP/s {} on {}".format(tflops, dtype, name or "?")
    if m.mig:
        return Check("perf", "n/a", measured + " (MIG slice {}: no verdict)".format(m.mig), "per GPU class", value=tflops)
    if m.row is None:
        return Check("perf", "not-run", measured + " (GPU not in envcheck's table: no verdict)", "per GPU class",
                     value=tflops, detail="set severity perf = \"off\" in a config to skip it on such GPUs")
    peak = m.row.peaks.get(dtype)
    if not peak:
        return Check("perf", "not-run", measured + " (no {} peak for {})".format(dtype, m.row.name), "per GPU class",
                     value=tflops)
    fail, _, where = floor_for(table, m.row, dtype, th)  # the fail line, for the threshold text
    if fail is None:
        return Check("perf", "not-run", measured + " ({})".format(where), "per GPU class", value=tflops)
    from envcheck.outcome import gate_of_verdict
    from envcheck.verify.perf import matmul_verdict

    frac = tflops / peak
    override = th.fraction_for(m.row.gpu_class) if th is not None else None
    status = gate_of_verdict(matmul_verdict(table, m.row, dtype, frac, override))
    return Check("perf", status, "{} = {:.2f} of the {:.0f} TFLOP/s peak".format(measured, frac, peak),
                 ">= {:.2f} x peak ({:.0f} TFLOP/s)".format(fail, fail * peak), value=round(frac, 4), limit=round(fail, 4),
                 source=where)
