"""Every rank's report -> one cluster report: a row per node, the odd ones out, one exit code.

Pure and linear in the number of ranks (1,024 reports merge in well under a second:
tests/bench/bench_merge.py). Inputs are the JSON dicts the ranks posted (``NodeReport.to_dict()``
plus ``extra``), and the ranks that never reported, with what rank 0 knows about them.

Odd ones out:

* versions: a node whose driver, driver CUDA, torch, torch CUDA, Python, GPU model or GPU count
  differs from the majority of nodes. torch, torch's CUDA and Python differences fail (ranks
  running different torch or NCCL builds hang or diverge); driver, GPU model and GPU count
  differences warn (the thresholds judge those on their own).
* a slow GPU: a rank whose matmul throughput is below ``outlier_fraction`` (0.75) x the median of
  the ranks with the same GPU model: fail.
* a slow link: a node whose intra-node all-reduce bus bandwidth (largest size) is below
  ``outlier_fraction`` x the median of the nodes: fail. Likewise a node pair's inter-node
  bandwidth, when measured.
* a missing rank: never joined, died or got stuck: fail, named with its host and last phase.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

__all__ = ["VERSION_FIELDS", "merge"]

# field -> status when a node differs from the majority
VERSION_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("torch", "fail"),
    ("torch_cuda", "fail"),
    ("python", "fail"),
    ("driver", "warn"),
    ("driver_cuda", "warn"),
    ("gpu_model", "warn"),
    ("gpu_count", "warn"),
)
_ORDER = {"fail": 0, "not-run": 1, "warn": 2, "pass": 3, "n/a": 4}


def _node_of(report: Mapping[str, Any]) -> str:
    extra = report.get("extra") or {}
    return str(extra.get("node") or report.get("host") or "?")


def _majority(values: Dict[str, Any]) -> Tuple[Any, int]:
    counts = Counter(_key(v) for v in values.values())
    if not counts:
        return None, 0
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0] is not None, str(kv[0])))
    return best


def _key(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _median(xs: Sequence[float]) -> Optional[float]:
    xs = [x for x in xs if isinstance(x, (int, float))]
    return statistics.median(xs) if xs else None


def merge(
    reports: Iterable[Mapping[str, Any]],
    *,
    world_size: int,
    missing: Sequence[Mapping[str, Any]] = (),
    outlier_fraction: float = 0.75,
    strict: bool = False,
) -> Dict[str, Any]:
    """The cluster report as a dict (JSON-ready)."""
    nodes: Dict[str, Dict[str, Any]] = {}
    perf_by_model: Dict[str, List[Tuple[float, str, int]]] = {}
    reports = list(reports)
    for rep in reports:
        node = _node_of(rep)
        row = nodes.get(node)
        summary = rep.get("summary") or {}
        extra = rep.get("extra") or {}
        rank = rep.get("rank")
        if row is None:
            row = nodes[node] = {
                "node": node,
                "ranks": [],
                "status": "pass",
                "problems": [],
                "versions": {
                    "torch": summary.get("torch"),
                    "torch_cuda": summary.get("torch_cuda"),
                    "python": summary.get("python"),
                    "driver": summary.get("driver"),
                    "driver_cuda": summary.get("driver_cuda"),
                    "gpu_model": "/".join(summary.get("gpu_names") or []) or None,
                    "gpu_count": summary.get("gpu_count"),
                },
                "busbw_intra_gbs": None,
                "busbw_inter_gbs": None,
                "perf_tflops": {},
                "counts": {},
            }
        row["ranks"].append(rank)
        seen = row.setdefault("_seen", set())
        for c in rep.get("checks") or ():
            st = c.get("status")
            row["counts"][st] = row["counts"].get(st, 0) + 1
            if st in ("fail", "warn", "not-run"):
                key = (c.get("id"), c.get("subject"), c.get("measured"), c.get("threshold"))
                if key in seen:
                    continue  # the same node check reported by each of the node's ranks
                seen.add(key)
                row["problems"].append({"rank": rank, "status": st, "id": c.get("id"), "subject": c.get("subject"),
                                        "measured": c.get("measured"), "threshold": c.get("threshold")})
                if _ORDER[st] < _ORDER[row["status"]]:
                    row["status"] = st
        bw = extra.get("busbw_intra_gbs")
        if isinstance(bw, (int, float)):
            row["busbw_intra_gbs"] = bw if row["busbw_intra_gbs"] is None else min(row["busbw_intra_gbs"], bw)
        bw = extra.get("busbw_inter_gbs")
        if isinstance(bw, (int, float)):
            row["busbw_inter_gbs"] = bw if row["busbw_inter_gbs"] is None else min(row["busbw_inter_gbs"], bw)
        perf = extra.get("perf_tflops")
        if isinstance(perf, (int, float)):
            model = extra.get("gpu_name") or row["versions"]["gpu_model"] or "?"
            row["perf_tflops"][str(rank)] = perf
            perf_by_model.setdefault(model, []).append((float(perf), node, rank))
    odd: List[Dict[str, Any]] = []

    def flag(node: str, status: str, kind: str, text: str, **more: Any) -> None:
        item = {"node": node, "status": status, "kind": kind, "text": text}
        item.update(more)
        odd.append(item)
        row = nodes.get(node)
        if row is not None and _ORDER[status] < _ORDER[row["status"]]:
            row["status"] = status

    if len(nodes) > 1:
        for field, status in VERSION_FIELDS:
            values = {n: r["versions"].get(field) for n, r in nodes.items()}
            major, count = _majority(values)
            if count == len(values):
                continue
            for n, v in values.items():
                if _key(v) != major:
                    flag(n, status, "version", "{} {} (majority of {} nodes: {})".format(field, v, count, major),
                         field=field, value=v, majority=major)
    for model, rows in perf_by_model.items():
        med = _median([r[0] for r in rows])
        if not med or len(rows) < 2:
            continue
        for value, n, rank in rows:
            if value < outlier_fraction * med:
                flag(n, "fail", "slow-gpu", "rank {} {}: {:.1f} TFLOP/s, below {:.2f} x the median {:.1f}".format(
                    rank, model, value, outlier_fraction, med), rank=rank, value=value, median=med)
    for field, kind in (("busbw_intra_gbs", "slow-link"), ("busbw_inter_gbs", "slow-link")):
        values = [(r[field], n) for n, r in nodes.items() if isinstance(r[field], (int, float))]
        med = _median([v for v, _ in values])
        if not med or len(values) < 2:
            continue
        for value, n in values:
            if value < outlier_fraction * med:
                where = "within the node" if field == "busbw_intra_gbs" else "across nodes"
                flag(n, "fail", kind, "all-reduce {} {:.1f} GB/s, below {:.2f} x the median {:.1f} GB/s".format(
                    where, value, outlier_fraction, med), field=field, value=value, median=med)
    missing_rows = []
    for m in missing:
        node = str(m.get("host") or "(host unknown)")
        text = "rank {} {}".format(m.get("rank"), m.get("reason") or "did not report")
        missing_rows.append(dict(m))
        odd.append({"node": node, "status": "fail", "kind": "missing-rank", "text": text, "rank": m.get("rank")})
        if node in nodes:
            nodes[node]["status"] = "fail"
    rows = []
    for n in sorted(nodes):
        r = nodes[n]
        r.pop("_seen", None)
        r["ranks"] = sorted(x for x in r["ranks"] if x is not None)
        rows.append(r)
    from envcheck.outcome import gate_exit, gate_status

    statuses = {r["status"] for r in rows} | {o["status"] for o in odd} | ({"fail"} if missing_rows else set())
    code = gate_exit(statuses, strict=strict)
    reported = max(0, world_size - len(missing_rows))
    partial = sum(1 for rep in reports if isinstance(rep.get("extra"), dict) and rep["extra"].get("partial"))
    return {
        "world_size": world_size,
        "ranks_reported": reported,
        "ranks_partial": partial,
        "nodes": rows,
        "odd_ones_out": odd,
        "missing": missing_rows,
        "exit_code": code,
        "status": gate_status(code),
    }
