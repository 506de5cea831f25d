"""The GPU proof's summary: one fixed format, so that two runs (H100, H200) compare line by line.

    python tests/gpu/summarize.py WORK_DIR [WALL_SECONDS]

Reads what tests/gpu/prove.sh left in WORK_DIR (run.env, steps.tsv and each step's output) and
writes WORK_DIR/summary.txt and WORK_DIR/summary.json. Every line is ``key  value`` with keys in
a fixed order; a figure that was not measured reads ``-``, never disappears. Per GPU: bf16, fp16
and tf32 matmul TFLOP/s with their fraction of the datasheet's dense peak, device memory copy
bandwidth, pinned host<->device bandwidth; then all-reduce bus bandwidth, the GPU tests' result
and the targets of the proof (tests/gpu/README.md).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

FORMAT = 1
FIGURES = (  # metric in verify --perf's report, what it measures
    ("matmul-bf16", "dense bf16 matmul"),
    ("matmul-fp16", "dense fp16 matmul"),
    ("matmul-tf32", "dense tf32 matmul"),
    ("copy-d2d", "device memory bandwidth (read + write)"),
    ("copy-h2d", "host link, pinned host to device"),
    ("copy-d2h", "host link, pinned device to host"),
)
TARGET_VERIFY_PERF_S = 10.0  # verify --perf on one H100, torch import included
TARGET_BF16_FRACTION = 0.75  # of the datasheet's dense bf16 peak
KEY_WIDTH = 34


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def first_json(text: str) -> Optional[Dict[str, Any]]:
    """A step's JSON output: from its first '{' (torchrun may print before it); None if none."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        doc, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def read_json(path: Path) -> Optional[Dict[str, Any]]:
    return first_json(read_text(path))


def json_documents(text: str) -> int:
    """How many top-level JSON objects ``text`` holds (one report is the goal)."""
    decoder, i, n = json.JSONDecoder(), 0, 0
    while True:
        i = text.find("{", i)
        if i < 0:
            return n
        try:
            _, end = decoder.raw_decode(text[i:])
        except ValueError:
            i += 1
            continue
        n += 1
        i += end


def read_env(work: Path) -> Dict[str, str]:
    out: Dict[str, str] = {}
    try:
        lines = (work / "run.env").read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def read_steps(work: Path) -> List[Dict[str, Any]]:
    try:
        lines = (work / "steps.tsv").read_text(encoding="utf-8").splitlines()[1:]
    except OSError:
        return []
    steps = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 5:
            continue
        name, rc, wall, status, command = parts[:5]
        steps.append({
            "step": name,
            "rc": int(rc) if rc.lstrip("-").isdigit() else None,
            "wall_s": float(wall) if re.fullmatch(r"[0-9.]+", wall) else None,
            "status": status,
            "command": command,
        })
    return steps


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) else "-"


def _data(doc: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    data = (doc or {}).get("data")
    return data if isinstance(data, dict) else {}


def gpu_lines(facts: Optional[Dict[str, Any]]) -> List[Tuple[str, str]]:
    driver = (facts or {}).get("driver") or {}
    rows = [("driver", "{} (CUDA {})".format(driver.get("version") or "-", driver.get("cuda_max") or "-"))]
    for g in driver.get("gpus") or ():
        rows.append(("gpu{}".format(g.get("index")), "{} | cc {} | {} MiB".format(
            g.get("name") or "-", g.get("compute_capability") or "-", g.get("memory_total_mib") or "-")))
    return rows


def figure_rows(verify_perf: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows = []
    for dev in _data(verify_perf).get("devices") or ():
        perf = dev.get("perf") or {}
        lines = {line.get("metric"): line for line in perf.get("lines") or ()}
        label = str(dev.get("device", "?")).replace("cuda:", "gpu")
        for metric, what in FIGURES:
            line = lines.get(metric) or {}
            rows.append({
                "key": "{}.{}".format(label, metric),
                "what": what,
                "value": line.get("value") if line.get("status") == "measured" else None,
                "unit": line.get("unit") or ("TFLOP/s" if metric.startswith("matmul") else "GB/s"),
                "fraction": line.get("fraction"),
                "peak": line.get("peak"),
                "verdict": line.get("verdict") or "-",
                "status": line.get("status") or "absent",
            })
    return rows


def allreduce(verify: Optional[Dict[str, Any]], dist: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """All-reduce bus bandwidth: verify's multi-GPU check, and preflight --distributed's nodes."""
    out = []
    for check in _data(verify).get("multi_gpu") or ():
        if str(check.get("name", "")).startswith("allreduce"):
            values = check.get("values") or {}
            out.append({"key": "allreduce.verify", "value": values.get("busbw_gbs"), "unit": "GB/s",
                        "detail": "{} ({} ranks)".format(check.get("status"), values.get("ranks", "?"))})
    nodes = (_data(dist).get("cluster") or {}).get("nodes") or []
    if nodes:
        out.append({"key": "allreduce.preflight-intra", "value": nodes[0].get("busbw_intra_gbs"),
                    "unit": "GB/s", "detail": "{} rank(s) on one node".format(len(nodes[0].get("ranks") or ()))})
    return out


def pytest_result(work: Path) -> str:
    lines = [x for x in read_text(work / "pytest-gpu.txt").splitlines() if x.strip()]
    tail = [x for x in lines if re.search(r"\b(passed|failed|skipped|error|errors|deselected|no tests ran)\b", x)]
    return tail[-1].strip("= ") if tail else (lines[-1] if lines else "-")


def targets(steps: Dict[str, Dict[str, Any]], figures: List[Dict[str, Any]], work: Path,
            gpus: int) -> List[Dict[str, str]]:
    out = []
    vp = steps.get("verify-perf") or {}
    wall = vp.get("wall_s")
    if vp.get("rc") is None:
        result = "n/a: " + str(vp.get("status", "not run"))
    elif vp.get("rc") not in (0, 1):
        result = "missed: verify --perf {}".format(vp.get("status"))
    else:
        result = "{}: {:.1f} s for {} GPU(s)".format("met" if wall <= TARGET_VERIFY_PERF_S else "missed", wall, gpus)
    out.append({"key": "target.verify-perf-wall",
                "target": "verify --perf wall <= {:g} s (torch import included)".format(TARGET_VERIFY_PERF_S),
                "result": result})
    for f in figures:
        if not f["key"].endswith(".matmul-bf16"):
            continue
        frac = f["fraction"]
        if not isinstance(frac, (int, float)):
            result = "n/a: " + ("no datasheet peak" if f["value"] is not None else "not measured")
        else:
            result = "{}: {:.3f}".format("met" if frac >= TARGET_BF16_FRACTION else "missed", frac)
        out.append({"key": "target.{}-bf16".format(f["key"].split(".")[0]),
                    "target": "{} >= {:.0%} of the dense peak".format(f["key"], TARGET_BF16_FRACTION),
                    "result": result})
    dist = steps.get("preflight-distributed") or {}
    if dist.get("rc") is None:
        result = "n/a: " + str(dist.get("status", "not run"))
    else:
        text = read_text(work / "preflight-distributed.json")
        n = json_documents(text)
        cluster = _data(first_json(text)).get("cluster") or {}
        got, world = cluster.get("ranks_reported"), cluster.get("world_size")
        ok = n == 1 and got is not None and got == world
        result = "{}: {} JSON report(s), {} of {} ranks reported".format("met" if ok else "missed", n, got, world)
    out.append({"key": "target.distributed-report", "target": "preflight --distributed prints one JSON report",
                "result": result})
    return out


def summarize(work: Path, wall: Optional[float] = None) -> Dict[str, Any]:
    env = read_env(work)
    steps = read_steps(work)
    by_name = {s["step"]: s for s in steps}
    facts = read_json(work / "facts.json")
    diagnose = read_json(work / "diagnose.json")
    verify = read_json(work / "verify.json")
    verify_perf = read_json(work / "verify-perf.json")
    preflight = read_json(work / "preflight.json")
    dist = read_json(work / "preflight-distributed.json")
    torch = (facts or {}).get("torch") or {}
    runtime = (facts or {}).get("torch_runtime") or {}
    gpus = int(env["gpus"]) if env.get("gpus", "").isdigit() else 0
    diag = _data(diagnose).get("diagnosis") or {}
    vsum = _data(verify).get("summary") or {}
    report = _data(preflight).get("report") or {}
    cluster = _data(dist).get("cluster") or {}
    results = {
        "diagnose": "{} ({})".format(
            "healthy" if diag.get("healthy") else "problems" if diag else "-",
            ", ".join("{} {}".format(v, k) for k, v in (diag.get("summary") or {}).items()) or "-"),
        "verify": "{}: {} passed, {} failed, {} skipped on {}".format(
            vsum.get("verdict", "-"), vsum.get("passed", "-"), vsum.get("failed", "-"),
            vsum.get("skipped", "-"), ", ".join(vsum.get("devices") or ()) or "-") if vsum else "-",
        "preflight": "{} in {} s".format(report.get("status", "-"), _num(report.get("seconds"), ".1f"))
        if report else "-",
        "preflight-distributed": "{}: {} of {} ranks".format(
            cluster.get("status", "-"), cluster.get("ranks_reported"), cluster.get("world_size")) if cluster else "-",
        "pytest-gpu": pytest_result(work),
    }
    figures = figure_rows(verify_perf)
    return {
        "format": FORMAT,
        "run": {
            "mode": env.get("mode", "-"),
            "reason": env.get("reason") or "-",
            "started": env.get("started", "-"),
            "commit": env.get("commit", "-"),
            "uname": env.get("uname", "-"),
            "python": env.get("python", "-"),
            "torch": "{} (CUDA {})".format(torch.get("version") or "-", torch.get("cuda_build") or "-"),
            "torch_runtime": runtime.get("detail") or "-",
            "gpus": gpus,
            "budget_s": env.get("budget_s", "-"),
            "wall_s": wall,
        },
        "machine": gpu_lines(facts),
        "steps": steps,
        "figures": figures,
        "allreduce": allreduce(verify, dist),
        "results": results,
        "targets": targets(by_name, figures, work, gpus),
    }


def render(s: Dict[str, Any]) -> str:
    def row(key: str, value: Any) -> str:
        return "{:<{w}} {}".format(key, value, w=KEY_WIDTH).rstrip()

    out = ["# envcheck GPU proof summary, format {} (tests/gpu/README.md)".format(s["format"])]
    run = dict(s["run"])
    run["wall_s"] = _num(run["wall_s"], ".1f")
    out += [row(k, v) for k, v in run.items()]
    out += [row(k, v) for k, v in s["machine"]]
    out += ["", row("step", "{:>4} {:>8}  {}".format("rc", "wall_s", "status"))]
    for st in s["steps"]:
        out.append(row(st["step"], "{:>4} {:>8}  {}".format(
            "-" if st["rc"] is None else st["rc"], _num(st["wall_s"], ".2f"), st["status"])))
    out += ["", row("figure", "{:>10} {:<8} {:>8} {:>8}  {}".format("value", "unit", "fraction", "peak", "verdict"))]
    if not s["figures"]:
        out.append(row("gpu figures", "- (no verify --perf report: {})".format(
            next((st["status"] for st in s["steps"] if st["step"] == "verify-perf"), "not run"))))
    for f in s["figures"]:
        out.append(row(f["key"], "{:>10} {:<8} {:>8} {:>8}  {}".format(
            _num(f["value"], ".1f"), f["unit"], _num(f["fraction"], ".3f"), _num(f["peak"], ".1f"),
            f["verdict"] if f["value"] is not None else f["status"])))
    if not s["allreduce"]:
        out.append(row("allreduce", "- (no multi-GPU or distributed measurement)"))
    for a in s["allreduce"]:
        out.append(row(a["key"], "{:>10} {:<8} {}".format(_num(a["value"], ".1f"), a["unit"], a["detail"])))
    out += [""] + [row("result." + k, v) for k, v in s["results"].items()]
    out += [""] + [row(t["key"], t["target"] + ": " + t["result"]) for t in s["targets"]]
    return "\n".join(out) + "\n"


def main(argv: List[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: python tests/gpu/summarize.py WORK_DIR [WALL_SECONDS]", file=sys.stderr)
        return 2
    work = Path(argv[0])
    wall = float(argv[1]) if len(argv) == 2 else None
    s = summarize(work, wall)
    (work / "summary.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
    (work / "summary.txt").write_text(render(s), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
