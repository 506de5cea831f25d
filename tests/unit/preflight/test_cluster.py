"""Merging rank reports: one row per node, the odd ones out, one exit code."""

from __future__ import annotations

import importlib.util
import json

from envcheck.preflight.cluster import merge
from envcheck.render.preflight_text import cluster_lines

from helpers.preflight import ROOT


def _bench():
    path = next(p for p in (ROOT / "bench" / "bench_merge.py", ROOT / "tests" / "bench" / "bench_merge.py") if p.exists())
    spec = importlib.util.spec_from_file_location("bench_merge", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _reports(n=1024, per_node=8):
    bench = _bench()
    return [json.loads(bench.rank_report(r, per_node)) for r in range(n)]


def test_1024_ranks_merge_into_128_node_rows_with_the_odd_ones_named():
    reports = _reports()
    missing = [{"rank": 1023, "host": "gpu127", "phase": "collectives: all-reduce within node, 256.0 MiB",
                "reason": "joined, then stopped answering (last phase: collectives)"}]
    out = merge(reports[:-1], world_size=1024, missing=missing)
    assert len(out["nodes"]) == 128 and out["ranks_reported"] == 1023
    odd = {(o["kind"], o["node"], o.get("field")) for o in out["odd_ones_out"]}
    assert ("version", "gpu007", "driver") in odd and ("version", "gpu007", "driver_cuda") in odd
    assert ("slow-gpu", "gpu009", None) in odd  # rank 77
    assert ("slow-link", "gpu042", "busbw_intra_gbs") in odd
    assert ("missing-rank", "gpu127", None) in odd
    rows = {r["node"]: r for r in out["nodes"]}
    assert rows["gpu062"]["status"] == "fail"  # rank 500's hot GPU
    assert rows["gpu062"]["problems"][0]["id"] == "gpu.temperature"
    assert rows["gpu007"]["status"] == "warn"  # a different driver warns
    assert rows["gpu001"]["status"] == "pass"
    assert out["exit_code"] == 1
    text = "\n".join(cluster_lines(out))
    assert "rank 1023 joined, then stopped answering" in text
    assert "driver 570.133.20 (majority of 127 nodes: 580.82.07)" in text


def test_all_healthy_is_exit_0_and_a_different_torch_fails():
    reports = [r for r in _reports(16, 8)]
    for r in reports:
        r["summary"]["driver"] = "580.82.07"
        r["summary"]["driver_cuda"] = "13.0"
        r["extra"]["perf_tflops"] = 780.0
        r["extra"]["busbw_intra_gbs"] = 455.0
    out = merge(reports, world_size=16)
    assert out["exit_code"] == 0 and not out["odd_ones_out"]
    for r in reports[8:]:
        r["summary"]["torch"] = "2.10.0"
    third = [dict(r, summary=dict(r["summary"], torch="2.11.0")) for r in reports[:8]]
    for r in third:
        r["extra"] = dict(r["extra"], node="gpu999")
    out = merge(reports + third, world_size=24)
    torch_odd = [o for o in out["odd_ones_out"] if o.get("field") == "torch"]
    assert [(o["node"], o["status"]) for o in torch_odd] == [("gpu001", "fail")]
    assert out["exit_code"] == 1


def test_node_problems_are_listed_once_per_node():
    reports = _reports(8, 8)
    for r in reports:
        r["checks"].append({"id": "host.shm", "status": "fail", "subject": "/dev/shm", "measured": "64.0 MiB",
                            "threshold": ">= 1.0 GiB"})
    out = merge(reports, world_size=8)
    problems = out["nodes"][0]["problems"]
    assert [p["id"] for p in problems] == ["host.shm"]


def test_warnings_fail_only_when_strict():
    reports = _reports(8, 8)
    reports[3]["checks"].append({"id": "host.open_files", "status": "warn", "subject": "node", "measured": "1024",
                                 "threshold": ">= 65536"})
    assert merge(reports, world_size=8)["exit_code"] == 0
    assert merge(reports, world_size=8, strict=True)["exit_code"] == 1


def test_ranks_that_sent_only_their_node_checks_are_counted_apart():
    def rep(rank, partial=False):
        extra = {"node": "n1"}
        if partial:
            extra["partial"] = True
        return {"host": "n1", "rank": rank, "summary": {}, "checks": [], "extra": extra}

    missing = [{"rank": 1, "host": "n1", "reason": "did its node checks, then stopped answering"}]
    merged = merge([rep(0), rep(1, partial=True)], world_size=2, missing=missing)
    assert merged["ranks_reported"] == 1 and merged["ranks_partial"] == 1
    head = cluster_lines(merged)[0]
    assert head == "preflight cluster: 1 node(s), 1 of 2 rank(s) reported (1 more sent only their node checks)"
    assert "torch CUDA" in cluster_lines(merged)[1]


def test_rank_zero_prints_the_cluster_why_it_stopped_or_why_it_has_none():
    from envcheck.render.preflight_text import rank_lines

    merged = merge([], world_size=2, missing=[{"rank": 1, "host": "n2", "phase": "checks", "reason": "never joined"}])
    merged["stopped"] = "stopped by SIGTERM"
    lines = rank_lines({"mode": "cluster", "cluster": merged})
    assert lines[0].startswith("preflight cluster:") and lines[1] == "stopped early: stopped by SIGTERM"
    assert lines[-1] == "result: FAIL (exit 1)" and merged["exit_code"] == 1
    assert rank_lines({"mode": "cluster", "cluster": None, "error": "the store is gone"}) == [
        "preflight cluster: rank 0 could not gather the reports: the store is gone", "result: FAIL (exit 1)"]
