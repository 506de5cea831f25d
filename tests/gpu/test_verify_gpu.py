"""On a machine with NVIDIA GPUs and a CUDA build of torch: the real thing.

Skipped cleanly elsewhere (no driver, no GPU, or no torch). Nothing here asserts a speed: the
performance test only checks that every GPU the table knows got measured and judged.
"""

from __future__ import annotations

from helpers import paths
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from envcheck.matrix import gpus
from envcheck.probes import nvml
from envcheck.verify import run as verify_run

ROOT = paths.ROOT
WRAPPER = "import envcheck.cli as c; c.main()"


def _gpu_count() -> int:
    facts = nvml.probe_nvml(smi=None)
    return int(facts.gpu_count or 0) if facts.status == "ok" else 0


GPUS = _gpu_count()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.torch,
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed"),
    pytest.mark.skipif(GPUS == 0, reason="no NVIDIA GPU here (NVML sees none)"),
]


def cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("ENVCHECK_DATA_DIR", str(ROOT / "tests" / "data" / "no-user-data"))
    return subprocess.run([sys.executable, "-c", WRAPPER, "verify", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(ROOT))


def test_every_gpu_passes():
    r = cli("--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    devices = doc["data"]["devices"]
    assert devices and all(d["kind"] == "cuda" for d in devices)
    for d in devices:
        names = [c["name"] for c in d["checks"]]
        assert names[:9] == ["tensor", "copy", "matmul-fp32", "matmul-tf32", "matmul-fp16", "matmul-bf16",
                             "autograd", "conv", "memory"]
        assert names[-1] == "health"
    if len(devices) >= 2:
        multi = doc["data"]["multi_gpu"]
        assert any(c["name"].startswith("allreduce (nccl") and c["status"] == "passed" for c in multi)


def test_one_device_with_perf():
    r = cli("--device", "cuda:0", "--perf", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode in (0, 1), r.stderr
    (dev,) = doc["data"]["devices"]
    perf = dev["perf"]
    lines = {line["metric"]: line for line in perf["lines"]}
    assert lines["copy-d2d"]["status"] == "measured" and lines["copy-d2d"]["value"] > 0
    assert lines["copy-h2d"]["status"] == "measured"
    known = gpus.match(gpus.load(), dev["name"])
    if known.row is not None and not known.mig and known.row.identifies == "sku":
        assert any(line["verdict"] != "none" for line in perf["lines"])
        assert perf["readings"] is not None  # NVML works wherever this test runs


def test_allreduce_and_p2p_across_gpus():
    if GPUS < 2:
        pytest.skip("needs two GPUs")
    c = verify_run.allreduce_check(["cuda:0", "cuda:1"], timeout=300)
    assert c.status == "passed", c.detail
    pairs = verify_run.p2p_checks([0, 1], timeout=300)
    assert pairs[0].status in ("passed", "skipped"), pairs[0].detail
