#!/usr/bin/env python3
"""Benchmark: rank 0 merging 1,024 simulated rank reports (128 nodes x 8 GPUs).

    python tests/bench/bench_merge.py [--ranks 1024] [--per-node 8] [--runs 15] [--json]

A script, never a timed test. Each rank report is built the way a rank posts it (a node
report with its checks, per-GPU readings, perf and all-reduce figures, serialised to JSON);
a few nodes are made odd (another driver, a slow GPU, a slow link, one failing check). Timed,
per run: decoding the JSON strings as rank 0 reads them from the store, and
``envcheck.preflight.cluster.merge`` + ``cluster_lines``. Prints the median and the minimum.
Target: the median of decode + merge <= 1 s for 1,024 ranks.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "envcheck" / "__init__.py").exists())
sys.path.insert(0, str(ROOT))

from envcheck.preflight import cluster  # noqa: E402
from envcheck.preflight.checks import Check  # noqa: E402
from envcheck.preflight.node import NodeReport  # noqa: E402


def rank_report(rank: int, per_node: int) -> str:
    node = "gpu{:03d}".format(rank // per_node)
    local = rank % per_node
    odd_driver = node == "gpu007"
    slow_gpu = rank == 77
    slow_link = node == "gpu042"
    checks = [
        Check("gpu.count", "pass", "8 GPU(s)", ">= 8", value=8, limit=8, source="profile h100-sxm"),
        Check("gpu.model", "pass", "GPU {}: NVIDIA H100 80GB HBM3".format(local), "matches 'H100 80GB HBM3'"),
        Check("gpu.memory", "pass", "81559 MiB (85.5 GB)", ">= 80.0 GB (74.5 GiB)", value=85520809984, limit=80000000000),
        Check("gpu.memory_used", "pass", "1 MiB used", "<= 1.0 GiB", value=1048576, limit=1073741824),
        Check("gpu.temperature", "pass", "{} C".format(30 + local), "<= 80 C", value=30 + local, limit=80),
        Check("gpu.persistence", "pass", "on", "on", value=True, limit=True),
        Check("gpu.ecc", "pass", "on", "on", value=True, limit=True),
        Check("gpu.ecc_errors", "pass", "0 uncorrectable", "<= 0 (volatile)", value=0, limit=0),
        Check("gpu.retired_pages", "n/a", "no page retirement", "<= 62, none pending"),
        Check("gpu.row_remap", "pass", "0 rows remapped, none pending", "none pending or failed"),
        Check("gpu.throttle", "pass", "gpu-idle (ignored)", "none of hw-slowdown", value=["gpu-idle"]),
        Check("gpu.pcie", "pass", "Gen5 x16", "at max gen and width",
              value={"gen": 5, "width": 16, "gen_max": 5, "width_max": 16, "under_load": False}),
        Check("driver.version", "pass", "580.82.07", ">= 535", value="580.82.07", limit="535"),
        Check("host.ram", "pass", "1954.3 GiB available of 2015.6 GiB", ">= 1007.8 GiB (50% of 2015.6 GiB)"),
        Check("host.disk", "pass", "2.0 TiB free", ">= 10.0 GiB free", subject="/tmp"),
        Check("host.shm", "pass", "1007.8 GiB (1007.8 GiB free)", ">= 1.0 GiB", subject="/dev/shm"),
        Check("host.open_files", "pass", "soft limit 1048576", ">= 65536", value=1048576, limit=65536),
        Check("diagnose", "pass", "no errors or warnings", "no errors"),
        Check("perf", "pass", "780.1 TFLOP/s bf16 = 0.79 of the 989 TFLOP/s peak", ">= 0.53 x peak", value=0.79, limit=0.53),
        Check("dist.join", "pass", "1024 ranks joined (nccl)", "all 1024 within 120 s"),
        Check("dist.busbw_intra", "pass", "1.0 MiB 90.00, 16.0 MiB 300.00, 256.0 MiB 455.00 GB/s busbw (8 ranks)", ">= 345.0 GB/s"),
        Check("dist.busbw_inter", "pass", "1.0 MiB 20.00, 16.0 MiB 150.00, 256.0 MiB 380.00 GB/s busbw (1024 ranks)", "no floor"),
    ]
    if rank == 500:
        checks[4] = Check("gpu.temperature", "fail", "91 C", "<= 80 C", value=91, limit=80)
    report = NodeReport(
        host=node,
        summary={
            "hostname": node, "driver": "570.133.20" if odd_driver else "580.82.07", "driver_cuda": "12.8" if odd_driver else "13.0",
            "torch": "2.11.0", "torch_cuda": "13.0", "python": "3.12.3", "gpu_count": 8,
            "gpu_names": ["NVIDIA H100 80GB HBM3"], "kernel": "5.15.0-119-generic",
            "gpus": [{"index": local, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-{}".format(rank), "pci_bus_id": "0000:18:00.0"}],
        },
        checks=checks,
        seconds=12.5,
        profile="h100-sxm",
        rank=rank,
        local_rank=local,
        extra={
            "node": node, "backend": "nccl", "gpu_name": "NVIDIA H100 80GB HBM3",
            "perf_tflops": 400.0 if slow_gpu else 780.0 + (rank % 7),
            "busbw_intra_gbs": 200.0 if slow_link else 455.0 - (rank % 5),
            "busbw_inter_gbs": 380.0,
            "allreduce": {"intra": [{"bytes": 268435456, "busbw_gbs": 455.0}], "inter": [{"bytes": 268435456, "busbw_gbs": 380.0}]},
        },
    )
    return json.dumps(report.to_dict())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, default=1024)
    ap.add_argument("--per-node", type=int, default=8)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    texts = [rank_report(r, args.per_node) for r in range(args.ranks)]
    missing = [{"rank": args.ranks - 1, "host": None, "phase": None, "reason": "never joined"}]
    texts = texts[:-1]
    total, merge_only = [], []
    result = None
    for _ in range(args.runs + 1):  # the first run warms up and is not counted
        t0 = time.perf_counter()
        reports = [json.loads(t) for t in texts]
        t1 = time.perf_counter()
        result = cluster.merge(reports, world_size=args.ranks, missing=missing)
        cluster.cluster_lines(result)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        merge_only.append(t2 - t1)
    total, merge_only = total[1:], merge_only[1:]
    out = {
        "ranks": args.ranks,
        "nodes": len(result["nodes"]),
        "runs": args.runs,
        "report_bytes_median": int(statistics.median(len(t) for t in texts)),
        "decode_and_merge_s": {"median": statistics.median(total), "min": min(total)},
        "merge_s": {"median": statistics.median(merge_only), "min": min(merge_only)},
        "odd_ones_out": len(result["odd_ones_out"]),
        "exit_code": result["exit_code"],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print("merged {} rank reports ({} nodes, ~{} bytes each), {} runs:".format(
            out["ranks"], out["nodes"], out["report_bytes_median"], args.runs))
        print("  decode + merge + render: median {:.3f} s, min {:.3f} s".format(
            out["decode_and_merge_s"]["median"], out["decode_and_merge_s"]["min"]))
        print("  merge + render alone:    median {:.3f} s, min {:.3f} s".format(out["merge_s"]["median"], out["merge_s"]["min"]))
        print("  odd ones out found: {}; exit code {}".format(out["odd_ones_out"], out["exit_code"]))
        print("  target: median decode + merge <= 1 s: {}".format("met" if out["decode_and_merge_s"]["median"] <= 1.0 else "MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
