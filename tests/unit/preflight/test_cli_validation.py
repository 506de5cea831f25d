"""Bad preflight input, as a new user types it: one clear line, exit 2, nothing checked.

The CLI in-process (CliRunner); every case stops before any check runs (or only shows the
thresholds), so each takes well under a second.
"""

from __future__ import annotations

import json

import pytest

from helpers.cli import invoke

pytestmark: list = []


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("envcheck: error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--min-gpu-memory", "80"], "--min-gpu-memory '80': expected a size with a unit: 80GB (80 x 10^9 bytes) or 80GiB"),
    (["--max-gpu-memory-used", "500"], "--max-gpu-memory-used '500': expected a size with a unit: 500GB"),
    (["--min-free-ram", "64"], "--min-free-ram '64': expected a size with a unit"),
    (["--min-shm", "1"], "--min-shm '1': expected a size with a unit"),
    (["--min-free-disk", "/scratch=500"], "--min-free-disk '/scratch=500': expected a size with a unit: 500GB"),
    (["--distributed", "--allreduce-sizes", "1MiB,256"], "('256' has none)"),
    (["--max-temperature", "500"], "--max-temperature 500: expected degrees C from 1 to 150"),
    (["--max-temperature", "0"], "expected degrees C from 1 to 150"),
    (["--budget", "0"], "--budget 0: expected seconds >= 10"),
    (["--budget", "-1"], "--budget -1: expected seconds >= 10"),
    (["--budget", "0.5"], "--budget 0.5: expected seconds >= 10"),
    (["--budget", "inf"], "--budget inf: expected seconds >= 10"),
    (["--gpu-model", "/[unclosed/"], "--gpu-model '/[unclosed/': expected a valid /regex/ (unterminated character set"),
    (["--min-open-files", "-1"], "--min-open-files -1: expected a whole number >= 0"),
    (["--min-gpus", "-1"], "--min-gpus -1: expected a whole number >= 0"),
    (["--min-cuda", "twelve"], 'expected a CUDA version such as "12.8"'),
    (["--min-driver", "new"], 'expected a driver version such as "570" or "570.133.20"'),
    (["--distributed", "--timeout", "0"], "--timeout 0.0: expected seconds > 0"),
    (["--distributed", "--timeout", "-5"], "--timeout -5.0: expected seconds > 0"),
    (["--profile", "nope"], "no profile 'nope' (known: default, h100-sxm, a100-sxm, cpu, healthcheck"),
])
def test_bad_values_are_one_line_and_exit_2(args, message):
    line = _one_error_line(invoke("preflight", *args, "--show-config"))
    assert message in line, line


def test_unknown_profile_hides_the_install_path():
    line = _one_error_line(invoke("preflight", "--profile", "nope"))
    assert "profiles.toml" not in line and "/" not in line


@pytest.mark.parametrize("args, named", [
    (["--timeout", "30"], "--timeout applies only with --distributed"),
    (["--allreduce-sizes", "1MiB"], "--allreduce-sizes applies only with --distributed"),
    (["--min-busbw-intra", "100"], "--min-busbw-intra applies only with --distributed"),
    (["--min-busbw-inter", "20"], "--min-busbw-inter applies only with --distributed"),
    (["--backend", "gloo"], "--backend applies only with --distributed"),
    (["--timeout", "30", "--backend", "nccl"], "--timeout, --backend apply only with --distributed"),
])
def test_distributed_options_without_distributed_are_input_errors(args, named):
    line = _one_error_line(invoke("preflight", *args))
    assert named in line, line


def test_distributed_options_with_distributed_are_taken():
    proc = invoke("preflight", "--distributed", "--timeout", "30", "--backend", "gloo", "--min-busbw-inter", "20",
                        "--allreduce-sizes", "1MiB", "--show-config", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    th = json.loads(proc.stdout)["data"]["thresholds"]
    assert (th["timeout_s"], th["min_busbw_inter_gbs"], th["allreduce_sizes"]) == (30.0, 20.0, [2**20])


def test_profile_name_in_any_case():
    proc = invoke("preflight", "--profile", "H100-SXM", "--show-config")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "thresholds in force (profile h100-sxm):"


def test_show_config_sizes_are_readable_and_sentinels_not_checked():
    proc = invoke("preflight", "--profile", "healthcheck", "--min-gpu-memory", "80GB", "--show-config")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert "80 GB (80000000000 bytes)" in rows["min_gpu_memory"] and rows["min_gpu_memory"].endswith("from flag")
    assert "not checked" in rows["max_gpu_memory_used"] and "1000000000000000" not in proc.stdout
    assert "1 GiB (1073741824 bytes)" in rows["min_shm"]
    assert "not checked" in rows["min_driver"]


def test_show_config_json_keeps_bytes_and_nulls_the_sentinel():
    proc = invoke("preflight", "--profile", "healthcheck", "--min-gpu-memory", "80GB", "--show-config", "--json")
    assert proc.returncode == 0, proc.stderr
    th = json.loads(proc.stdout)["data"]["thresholds"]
    assert th["min_gpu_memory"] == 80 * 10**9
    assert th["max_gpu_memory_used"] is None
    assert th["min_shm"] == 2**30


BAD = ("preflight", "--distributed", "--min-gpu-memory", "80", "--json", "-q")


@pytest.mark.parametrize("env", [
    {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "3"},
    {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_NODELIST": "gpu[01-02]"},
])
def test_a_rank_other_than_0_reports_bad_input_on_stderr_only(env):
    """Under torchrun or srun only rank 0 prints the envelope: the job's stdout stays one JSON document."""
    proc = invoke(*BAD, env=env)
    line = _one_error_line(proc)
    rank = env.get("RANK") or env["SLURM_PROCID"]
    assert line.startswith("envcheck: error: rank {}: command line: --min-gpu-memory '80'".format(rank)), line


@pytest.mark.parametrize("env", [
    {"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0"},
    {"SLURM_PROCID": "0", "SLURM_NTASKS": "8", "SLURM_NODELIST": "gpu[01-02]"},
    {},  # no launcher at all: the error is printed as usual
])
def test_rank_0_prints_the_error_envelope(env):
    proc = invoke(*BAD, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["status"], doc["exit_code"]) == ("error", 2)
    assert "--min-gpu-memory '80'" in doc["errors"][0]["message"]


def test_without_distributed_a_rank_variable_changes_nothing():
    proc = invoke("preflight", "--min-gpu-memory", "80", "--json", env={"RANK": "3", "WORLD_SIZE": "4"})
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["status"] == "error"
