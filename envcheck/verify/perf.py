"""Performance sanity: measured matmul TFLOP/s and copy bandwidths against the GPU's datasheet.

:func:`judge` is pure: the measurements (from the verify child), the device's name, the NVML
readings taken while it ran, and the GPU table (``matrices/gpus.json``) give a
:class:`~envcheck.verify.model.PerfReport`. :func:`envcheck.verify.run.perf_sanity` runs the
measurements and judges them (preflight reuses it); this module imports nothing that runs.

Verdicts, per metric with a healthy range for the GPU's class (``low``..``high``, fractions of
the dense datasheet peak; each class in the table says where its numbers come from):

* ``ok``: at least ``low x spread`` (identical cards differ ~5%: spread 0.95);
* ``low``: below that, a warning (read the clocks, power limit and throttle reasons shown);
* ``fail``: below ``low x floor`` (floor 0.71, DCGM's rule), a failed check; but only ``low``
  when the row marks that peak uncertain;
* ``high``: above ``high / spread``: the peak or the name match is suspect (a note);
* ``none``: no verdict: an unknown GPU, a MIG slice, a name shared by a family, no peak for the
  data type, no range for the class, or the CPU.

bf16/fp16 are judged with the class's ``matmul_half`` range, fp32 with ``matmul_fp32`` (classes
without tensor cores), TF32 never (no source gives a healthy TF32 fraction). Device memory
copies use ``memory_copy`` (read + write bytes against the datasheet bandwidth); pinned
host<->device copies use the table's ``host_link`` range against the PCIe link in the row.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

from envcheck.matrix import gpus
from envcheck.verify.model import PerfLine, PerfReport

__all__ = ["METRICS", "judge", "readings_from_gpu", "verdict_for", "matmul_verdict", "with_profile_floor"]

METRICS = ("matmul-bf16", "matmul-fp16", "matmul-tf32", "matmul-fp32", "copy-d2d", "copy-h2d", "copy-d2h")
_UNITS = {"matmul": "TFLOP/s", "copy": "GB/s"}
_BENIGN_THROTTLE = ("gpu-idle", "applications-clocks-setting", "display-clock-setting")


def verdict_for(fraction: float, healthy: Tuple[float, float], spread: float, floor: float) -> str:
    low, high = healthy
    if fraction < low * floor:
        return "fail"
    if fraction < low * spread:
        return "low"
    if fraction > high / spread:
        return "high"
    return "ok"


def with_profile_floor(verdict: str, fraction: Optional[float], floor: Optional[float]) -> str:
    """A preflight profile's ``perf_fractions`` value for the GPU's class replaces the table's fail
    line: below it is ``fail``; above it, what the table would fail is ``low`` (still below the
    class's healthy range). No verdict stays no verdict."""
    if floor is None or fraction is None or verdict == "none":
        return verdict
    if fraction < floor:
        return "fail"
    return "low" if verdict == "fail" else verdict


def matmul_verdict(table: gpus.GpuTable, row: gpus.GpuRow, dtype: str, fraction: float,
                   floor: Optional[float] = None) -> str:
    """The verdict on one matmul measurement (a fraction of the row's dense ``dtype`` peak), the
    same one :func:`judge` gives, with a profile's floor applied: preflight's distributed ranks
    judge with this, the single-node path through :func:`judge`."""
    peak, healthy, _, uncertain = _reference("matmul-" + dtype, row, table.gpu_class(row), table, None)
    if healthy is None:
        return "none"
    verdict = verdict_for(fraction, (healthy.low, healthy.high), table.spread, table.floor)
    if verdict == "fail" and uncertain:
        verdict = "low"
    return with_profile_floor(verdict, fraction, floor)


def readings_from_gpu(gpu: Any, when: str) -> Dict[str, Any]:
    """The NVML readings that explain a result (an ``envcheck.facts.model.GpuFacts``)."""
    fields = (
        "clock_sm_mhz", "clock_sm_max_mhz", "clock_mem_mhz", "clock_mem_max_mhz", "power_draw_w",
        "power_limit_w", "temperature_c", "pcie_gen_current", "pcie_gen_max", "pcie_width_current",
        "pcie_width_max",
    )
    out: Dict[str, Any] = {f: getattr(gpu, f, None) for f in fields}
    out["throttle_reasons"] = list(getattr(gpu, "throttle_reasons", ()) or ())
    out["when"] = when
    return out


def _explain(readings: Optional[Mapping[str, Any]], row: Optional[gpus.GpuRow]) -> str:
    """Why a result could be low, from the readings: throttling, a lowered power limit, clocks."""
    if not readings:
        return "clocks, power and throttle reasons were not readable (NVML)"
    bits = []
    reasons = [r for r in readings.get("throttle_reasons") or () if r not in _BENIGN_THROTTLE]
    if reasons:
        bits.append("throttled: " + ", ".join(reasons))
    limit = readings.get("power_limit_w")
    if limit and row is not None and row.tdp_w and limit < 0.9 * row.tdp_w:
        bits.append(f"power limit {limit:g} W is below the card's {row.tdp_w:g} W")
    sm, sm_max = readings.get("clock_sm_mhz"), readings.get("clock_sm_max_mhz")
    if sm and sm_max and sm < 0.85 * sm_max:
        bits.append(f"SM clock {sm} of {sm_max} MHz")
    return "; ".join(bits) if bits else "no throttling, power cap or low clock was seen"


def _link_note(readings: Optional[Mapping[str, Any]], spec: Optional[Tuple[int, int]]) -> str:
    if not readings or spec is None:
        return ""
    gen, width = readings.get("pcie_gen_max"), readings.get("pcie_width_max")
    cur_gen, cur_width = readings.get("pcie_gen_current"), readings.get("pcie_width_current")
    notes = []
    if cur_gen and cur_width:
        notes.append(f"link seen at Gen{cur_gen} x{cur_width}")
    if width and width < spec[1]:
        notes.append(f"the slot gives x{width}, the card supports x{spec[1]}: check the slot or riser")
    if gen and gen < spec[0]:
        notes.append(f"the link tops out at Gen{gen}, the card supports Gen{spec[0]}: check the slot and BIOS")
    return "; ".join(notes)


def judge(
    device: str,
    name: Optional[str],
    measured: Mapping[str, Mapping[str, Any]],
    readings: Optional[Mapping[str, Any]] = None,
    table: Optional[gpus.GpuTable] = None,
) -> PerfReport:
    """``measured``: metric -> {"status": passed|skipped|error|..., "value", "detail"}."""
    table = table or gpus.load()
    notes = []
    row = None
    why_none = ""
    if device == "cpu":
        why_none = "no datasheet for CPUs: measurements only"
    else:
        found = gpus.match(table, name)
        row = found.row
        if row is None:
            why_none = f"{name!r} is not in envcheck's GPU table: measurements without a verdict"
        elif found.mig:
            why_none = (f"a MIG slice ({found.mig}) has a fraction of the GPU's SMs and memory bandwidth; "
                        "the datasheet peaks are for the whole GPU: no verdict")
        elif row.identifies == "family":
            why_none = (f"every module of this family reports {name!r}; the table's peaks are the "
                        f"{row.name}'s: no verdict")
    if why_none:
        notes.append(why_none)
    cls = table.gpu_class(row) if row is not None else None
    judged = row is not None and not why_none
    link = gpus.pcie_link(row.pcie) if row is not None else None
    lines = []
    for metric in METRICS:
        m = measured.get(metric)
        unit = _UNITS[metric.split("-")[0]]
        if m is None:
            continue
        status = m.get("status")
        if status == "skipped":
            lines.append(PerfLine(metric, "skipped", unit=unit, note=str(m.get("detail", ""))))
            continue
        value = m.get("value")
        if status != "passed" or not isinstance(value, (int, float)):
            lines.append(PerfLine(metric, "failed", unit=unit, note=str(m.get("detail") or m.get("error") or "")))
            continue
        peak, healthy, note, uncertain = _reference(metric, row, cls, table, link)
        fraction = value / peak if peak else None
        verdict = "none"
        if judged and fraction is not None and healthy is not None:
            verdict = verdict_for(fraction, (healthy.low, healthy.high), table.spread, table.floor)
            if verdict == "fail" and uncertain:
                verdict = "low"
                note = _join(note, "the peak is uncertain in the table, so not failed")
            if verdict in ("low", "fail"):
                note = _join(note, _explain(readings, row))
            elif verdict == "high":
                note = _join(note, "above the healthy range: the table's peak or the name match may be wrong for this card")
        if metric in ("copy-h2d", "copy-d2h"):
            note = _join(note, _link_note(readings, link))
        lines.append(PerfLine(metric, "measured", float(value), unit, peak, fraction,
                              (healthy.low, healthy.high) if healthy else None, verdict, note))
    return PerfReport(
        device=device,
        name=name,
        row=row.key if row else None,
        row_name=row.name if row else None,
        gpu_class=row.gpu_class if row else None,
        confidence=row.confidence if row else None,
        lines=tuple(lines),
        readings=readings,
        notes=tuple(notes),
    )


def _join(a: str, b: str) -> str:
    return "; ".join(x for x in (a, b) if x)


def _reference(metric: str, row: Optional[gpus.GpuRow], cls: Optional[gpus.GpuClass],
               table: gpus.GpuTable, link: Optional[Tuple[int, int]]):
    """(peak, healthy range, note, peak uncertain) for one metric on one table row."""
    if row is None or cls is None:
        return None, None, "", False
    if metric.startswith("matmul-"):
        dtype = metric.split("-", 1)[1]
        peak = row.peaks.get(dtype)
        if peak is None:
            return None, None, f"no dense {dtype} peak for this GPU in the table", False
        healthy = cls.matmul_half if dtype in ("bf16", "fp16") else cls.matmul_fp32 if dtype == "fp32" else None
        note = f"dense {dtype} peak {peak:g} TFLOP/s ({row.confidence})"
        if healthy is None:
            note += f"; no healthy range for {dtype} matmuls on {cls.name} GPUs: fraction only"
        return peak, healthy, note, row.peak_uncertain(dtype)
    if metric == "copy-d2d":
        if row.mem_bw_gbs is None:
            return None, None, "no memory bandwidth for this GPU in the table", False
        healthy = cls.memory_copy
        return row.mem_bw_gbs, healthy, f"datasheet memory bandwidth {row.mem_bw_gbs:g} GB/s", "mem_bw_gbs" in row.uncertain
    if link is None:
        return None, None, "no PCIe host link for this GPU in the table", False
    rate = table.gbs_per_lane.get(link[0])
    if rate is None:
        return None, None, f"no rate known for PCIe Gen{link[0]}", False
    peak = round(rate * link[1], 1)
    return peak, table.host_link, f"PCIe Gen{link[0]} x{link[1]}: {peak:g} GB/s one way", "pcie" in row.uncertain
