"""GPU paths: NCCL collectives, the in-rank matmul, verify + perf in a node run. Need a CUDA GPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from helpers.preflight import CLI, ROOT, child_env, run_envcheck


def _cuda_count() -> int:
    if importlib.util.find_spec("torch") is None:
        return 0
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"],
                         capture_output=True, text=True, timeout=120)
    try:
        return int(out.stdout.strip() or 0)
    except ValueError:
        return 0


pytestmark = [pytest.mark.gpu, pytest.mark.torch]


@pytest.fixture(scope="module")
def gpus():
    n = _cuda_count()
    if n == 0:
        pytest.skip("needs torch with a working CUDA GPU")
    return n


def test_in_rank_matmul_is_judged_by_the_gpu_table(gpus):
    code = ("import torch, json; from envcheck.children.timing import time_matmul; from envcheck.preflight.perf import judge_tflops; "
            "from envcheck.preflight import config; d = torch.device('cuda', 0); t, dt = time_matmul(torch, d); "
            "c = judge_tflops(torch.cuda.get_device_name(d), t, dt, config.resolve()); print(json.dumps(c.to_dict()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), cwd=str(ROOT),
                         timeout=300)
    assert out.returncode == 0, out.stderr
    check = json.loads(out.stdout.strip().splitlines()[-1])
    assert check["id"] == "perf" and check["status"] in ("pass", "warn", "fail", "not-run")
    assert "TFLOP/s" in check["measured"]


def test_node_run_with_verify_and_perf(gpus):
    proc = run_envcheck("preflight", "--json", "--no-diagnose", "--min-gpus", "1", timeout=300)
    doc = json.loads(proc.stdout)
    report = doc["data"]["report"]
    ids = {c["id"]: c for c in report["checks"]}
    assert "verify" in ids and "perf" in ids
    assert ids["verify"]["status"] != "not-run", ids["verify"]
    assert report["seconds"] < 120


def test_nccl_collectives_under_torchrun(gpus):
    n = min(gpus, 2)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n), *CLI, "preflight",
         "--distributed", "--no-diagnose", "--no-verify", "--min-gpus", "1", "--timeout", "60", "--json", "-q",
         "--allreduce-sizes", "1MiB,64MiB"],
        capture_output=True, text=True, timeout=300, env=child_env(), cwd=str(ROOT),
    )
    doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    cluster = doc["data"]["cluster"]
    assert cluster["ranks_reported"] == n, proc.stderr
    node = cluster["nodes"][0]
    assert node["perf_tflops"]
    if n > 1:
        assert node["busbw_intra_gbs"] and node["busbw_intra_gbs"] > 0
