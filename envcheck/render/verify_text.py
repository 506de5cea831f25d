"""``envcheck verify``'s text output: one table per device, the failures explained, a summary."""

from __future__ import annotations

import textwrap
from typing import Any, List, Mapping, Optional

from envcheck.verify.model import CheckResult, DeviceReport, PerfReport, VerifyReport

__all__ = ["text_lines", "tf32_words", "readings_words"]

_WIDTH = 110


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _device_title(d: DeviceReport) -> str:
    bits = []
    if d.cc:
        bits.append(f"compute capability {d.cc}")
    if d.memory_mib:
        bits.append(f"{d.memory_mib / 1024:.0f} GiB" if d.kind == "cuda" else f"{d.memory_mib / 1024:.0f} GiB available")
    extra = f" ({', '.join(bits)})" if bits else ""
    return f"{d.device}: {d.name or '?'}{extra}"


def _check_lines(checks: List[CheckResult], width: int) -> List[str]:
    out = []
    name_w = max([len(c.name) for c in checks] + [5])
    for c in checks:
        status = "FAILED" if c.status == "failed" else c.status
        secs = f"{c.seconds:6.2f} s" if isinstance(c.seconds, (int, float)) else " " * 8
        head = f"  {c.name:<{name_w}}  {status:<8} {secs}  "
        wrapped = textwrap.wrap(" ".join(c.detail.split()), max(40, width - len(head))) or [""]
        out.append(head + wrapped[0])
        out += [" " * len(head) + more for more in wrapped[1:]]
        f = c.failure
        if f is not None:
            pad = " " * (name_w + 4)
            if f.evidence and f.evidence not in c.detail:
                out.append(f"{pad}seen: {_short(f.evidence, width - len(pad) - 6)}")
            if f.fix:
                out.append(f"{pad}fix: {f.fix}")
            if f.command:
                out.append(f"{pad}run: {f.command}")
    return out


def readings_words(r: Optional[Mapping[str, Any]]) -> str:
    if not r:
        return "clocks, power and throttle reasons not read (NVML unavailable)"
    bits = []
    if r.get("clock_sm_mhz"):
        bits.append(f"SM {r['clock_sm_mhz']}/{r.get('clock_sm_max_mhz') or '?'} MHz")
    if r.get("clock_mem_mhz"):
        bits.append(f"memory {r['clock_mem_mhz']}/{r.get('clock_mem_max_mhz') or '?'} MHz")
    if r.get("power_draw_w") is not None:
        bits.append(f"power {r['power_draw_w']:g}/{r.get('power_limit_w') or '?'} W")
    throttle = [t for t in r.get("throttle_reasons") or () if t != "gpu-idle"]
    bits.append("throttle: " + (", ".join(throttle) if throttle else "none"))
    if r.get("pcie_gen_current"):
        bits.append(f"PCIe Gen{r['pcie_gen_current']} x{r.get('pcie_width_current')} "
                    f"(max Gen{r.get('pcie_gen_max')} x{r.get('pcie_width_max')})")
    if r.get("temperature_c") is not None:
        bits.append(f"{r['temperature_c']} C")
    return ", ".join(bits) + f" [{r.get('when', '')}]"


def _perf_lines(p: PerfReport) -> List[str]:
    what = p.row_name and f"{p.row_name} [{p.row}], class {p.gpu_class}, peaks {p.confidence}"
    out = [f"  performance{': ' + what if what else ''}"]
    for line in p.lines:
        if line.status != "measured":
            out.append(f"    {line.metric:<12} {line.status:<10} {_short(line.note, 80)}")
            continue
        value = f"{line.value:,.4g} {line.unit}"
        frac = f"{line.fraction:.2f} of {line.peak:g}" if line.fraction is not None else "-"
        healthy = f"healthy {line.healthy[0]:.2f}-{line.healthy[1]:.2f}" if line.healthy else ""
        verdict = {"none": "-", "fail": "FAIL", "low": "LOW"}.get(line.verdict, line.verdict)
        out.append(f"    {line.metric:<12} {value:>18}  {frac:<16} {healthy:<18} {verdict}")
        if line.note and line.verdict in ("low", "fail", "high"):
            out.append(f"    {'':<12} {_short(line.note, 90)}")
    for note in p.notes:
        out.append(f"    note: {note}")
    if p.device != "cpu":
        out.append(f"    seen: {readings_words(p.readings)}")
    return out


def tf32_words(torch: Mapping[str, Any]) -> Optional[str]:
    tf32 = torch.get("tf32")
    if not isinstance(tf32, dict):
        return None
    mm = "on" if tf32.get("matmul") is True else "off" if tf32.get("matmul") is False else str(tf32.get("matmul"))
    cd = "on" if tf32.get("cudnn") is True else "off" if tf32.get("cudnn") is False else str(tf32.get("cudnn"))
    text = (f"TF32 in a fresh process: matmul {mm} (float32_matmul_precision "
            f"{tf32.get('float32_matmul_precision')!r}), cuDNN convolutions {cd}")
    if tf32.get("override_env"):
        text += f"; TORCH_ALLOW_TF32_CUBLAS_OVERRIDE={tf32['override_env']}"
    return text


def text_lines(report: VerifyReport, width: int = _WIDTH) -> List[str]:
    out: List[str] = []
    t = report.torch
    if t:
        build = f"CUDA {t.get('cuda_build')}" if t.get("cuda_build") else "CPU-only build"
        cudnn = t.get("cudnn") if isinstance(t.get("cudnn"), dict) else {}
        if cudnn.get("runtime"):
            build += f", cuDNN {cudnn['runtime']}"
        if t.get("nccl"):
            build += f", NCCL {t['nccl']}"
        out.append(f"torch {t.get('version')} ({build}) in {report.python}")
        words = tf32_words(t) if t.get("cuda_build") else None
        if words:
            out.append(words)
    for d in report.devices:
        out.append("")
        out.append(_device_title(d))
        out += _check_lines(d.checks, width)
        if d.perf is not None:
            out += _perf_lines(d.perf)
        for note in d.notes:
            out.append(f"  note: {note}")
        if d.process and not d.process.startswith("ok"):
            out.append(f"  process: {d.process}")
    if report.multi_gpu:
        out.append("")
        out.append("between GPUs:")
        out += _check_lines(report.multi_gpu, width)
    s = report.summary()
    out.append("")
    parts = [f"{s['passed']} passed", f"{s['failed']} failed", f"{s['skipped']} skipped"]
    if s["not_run"]:
        parts.append(f"{s['not_run']} not run")
    if s["perf_failed"]:
        parts.append("performance below the healthy range on " + ", ".join(s["perf_failed"]))
    verdict = "FAILED" if report.failed else "passed"
    out.append(f"verify {verdict}: {', '.join(parts)} on {', '.join(s['devices']) or 'no device'} "
               f"in {report.seconds:.1f} s")
    return out
