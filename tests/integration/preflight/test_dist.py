"""--distributed for real: local processes under torchrun (and under a simulated srun) with gloo.

Each run keeps under 60 s; they skip cleanly without torch.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time

import pytest

from helpers.preflight import CLI, ROOT, child_env

pytestmark = [
    pytest.mark.torch,
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed"),
]

BASE = ["preflight", "--distributed", "--profile", "cpu", "--no-diagnose", "-q"]
# The bound a rank that never joins or gets stuck is waited for: the ranks that do come join within
# it here (3 processes on 2 cores), and no test waits longer on the one that does not.
SHORT = 2


def torchrun(nproc, *args, env=None, timeout=90):
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--monitor-interval", "0.5",
         *CLI, *args],
        capture_output=True, text=True, timeout=timeout, env=child_env(env), cwd=str(ROOT),
    )
    return proc, time.monotonic() - start


def report_lines(stdout):
    return [line for line in stdout.splitlines() if line.strip()]


def test_three_ranks_pass_and_only_rank_0_prints():
    proc, seconds = torchrun(3, *BASE, "--timeout", "30")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("preflight cluster:") == 1
    assert "1 node(s), 3 of 3 rank(s) reported" in proc.stdout
    assert "result: PASS (exit 0)" in proc.stdout
    assert seconds < 60


def test_json_cluster_report_with_bus_bandwidth():
    proc, _ = torchrun(2, *BASE, "--timeout", "30", "--json", "--allreduce-sizes", "64KiB,1MiB")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    cluster = doc["data"]["cluster"]
    assert doc["data"]["mode"] == "cluster" and cluster["ranks_reported"] == 2 and cluster["exit_code"] == 0
    node = cluster["nodes"][0]
    assert node["ranks"] == [0, 1] and node["busbw_intra_gbs"] > 0
    assert doc["data"]["launch"]["launcher"] == "torchrun"


def test_one_rank_with_a_failing_threshold_is_named():
    env = {"ENVCHECK_FAULT": "preflight.thresholds@1=" + json.dumps({"min_shm": "1PB"})}
    proc, seconds = torchrun(3, *BASE, "--timeout", "30", env=env)
    assert proc.returncode != 0
    assert "rank 1 FAIL host.shm /dev/shm" in proc.stdout, proc.stdout
    assert "rank 0 FAIL" not in proc.stdout and "rank 2 FAIL" not in proc.stdout
    assert "result: FAIL (exit 1)" in proc.stdout
    assert seconds < 60


def test_a_rank_that_never_joins_is_named_within_the_timeout():
    env = {"ENVCHECK_FAULT": "preflight.start@2=exit:0"}  # exits 0 at once: torchrun keeps the others running
    proc, seconds = torchrun(3, *BASE, "--timeout", str(SHORT), env=env)
    assert proc.returncode != 0
    assert "rank 2 never joined" in proc.stdout, proc.stdout + proc.stderr
    assert "2 of 3 rank(s) reported" in proc.stdout
    assert seconds < 60


def test_a_rank_that_dies_is_reported_when_the_launcher_stops_the_job():
    env = {"ENVCHECK_FAULT": "preflight.collectives@1=exit:7"}  # dies: torchrun sends SIGTERM to the rest
    proc, seconds = torchrun(3, *BASE, "--timeout", "20", env=env)
    assert proc.returncode != 0
    assert "rank 1 did its node checks, then stopped answering" in proc.stdout, proc.stdout + proc.stderr
    assert "stopped early: stopped by SIGTERM" in proc.stdout
    assert seconds < 60


def test_a_stuck_rank_is_named_and_the_job_ends():
    env = {"ENVCHECK_FAULT": "preflight.collectives@2=hang:300"}
    proc, seconds = torchrun(3, *BASE, "--timeout", str(SHORT), env=env, timeout=120)
    assert proc.returncode != 0
    assert "rank 2 " in proc.stdout and "stopped answering" in proc.stdout, proc.stdout + proc.stderr
    assert seconds < 60


def test_two_fake_nodes_measure_within_and_across_nodes(tmp_path):
    # 4 processes on 2 shared cores: bandwidths are noise, so no node is judged an outlier here
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"profile": "cpu", "distributed": {"outlier_fraction": 0.01}}))
    env = {"ENVCHECK_FAULT": "preflight.nodes=2"}
    proc, _ = torchrun(4, *BASE, "--config", str(cfg), "--timeout", "30", "--json", "--allreduce-sizes", "64KiB,1MiB",
                       env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cluster = json.loads(proc.stdout[proc.stdout.index("{"):])["data"]["cluster"]
    assert len(cluster["nodes"]) == 2
    for node in cluster["nodes"]:
        assert len(node["ranks"]) == 2 and node["busbw_intra_gbs"] > 0 and node["busbw_inter_gbs"] > 0


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_under_srun_environment_rank_0_hosts_the_store():
    """Two processes with Slurm's variables (no torchrun): MASTER_ADDR from the node list."""
    port = _free_port()
    while port < 20000:
        port = _free_port()
    procs = []
    for rank in range(2):
        env = child_env({"SLURM_PROCID": str(rank), "SLURM_NTASKS": "2", "SLURM_LOCALID": str(rank), "SLURM_NODEID": "0",
                         "SLURM_NTASKS_PER_NODE": "2", "SLURM_JOB_ID": str(port - 20000),
                         "SLURM_JOB_NODELIST": "localhost,nohost[1-3]"})
        procs.append(subprocess.Popen([sys.executable, *CLI, *BASE, "--timeout", "30"], env=env, cwd=str(ROOT),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=90) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert "2 of 2 rank(s) reported" in outs[0][0]
    assert outs[1][0] == ""  # only rank 0 prints
