"""Real child processes: the CPU suite with torch, hangs and crashes inside named checks (the
ENVCHECK_FAULT seam, envcheck.faults), a missing or broken torch (fake torch packages first on
PYTHONPATH), the gloo all-reduce on CPU processes, and the CLI as a user runs it."""

from __future__ import annotations

from helpers import paths
import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest

from envcheck.errors import CannotRunError
from envcheck.facts.model import DriverFacts
from envcheck import faults
from envcheck.verify import plan as verify_plan, run as verify_run

ROOT = paths.ROOT
FAKE = ROOT / "tests" / "data" / "verify" / "fake_torch"
HAS_TORCH = importlib.util.find_spec("torch") is not None
posix_only = pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
NO_NVML = DriverFacts(status="missing", detail="not read in tests")


def _env(fake: str | None = None, fault: str | None = None) -> dict:
    env = dict(os.environ)
    env.pop(faults.VAR, None)
    env.setdefault("ENVCHECK_DATA_DIR", str(ROOT / "tests" / "data" / "no-user-data"))
    if fake:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(FAKE / fake), env.get("PYTHONPATH", "")) if p)
    if fault:
        env[faults.VAR] = fault
    return env


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envcheck", "verify", *args],
        capture_output=True, text=True, timeout=timeout, env=env or _env(), cwd=str(ROOT),
    )


def run(devices=("cpu",), **kw):
    kw.setdefault("nvml_probe", lambda: NO_NVML)
    return verify_run.verify(devices, **kw)


# ------------------------------------------------------------------ torch missing or broken


def test_torch_missing_gives_the_install_command_not_a_traceback():
    r = cli("--device", "cpu", env=_env("missing"))
    assert r.returncode == 3, r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"envcheck: error: torch is not installed for {sys.executable} "
                           "(ModuleNotFoundError: No module named 'torch')")
    assert "install it: pip install torch==" in line and "envcheck install-command explains the choice" in line
    # With a real torch installed, the fake first on PYTHONPATH shadows it, and the error says so.
    shadow = f"; torch from PYTHONPATH ({FAKE / 'missing' / 'torch' / '__init__.py'}) shadows the installed one at "
    assert (shadow in line) is HAS_TORCH
    assert line.endswith("diagnose reports this as EC002 (envcheck explain EC002))")  # the same finding


def test_torch_missing_json_envelope():
    r = cli("--device", "cpu", "--json", env=_env("missing"))
    assert r.returncode == 3
    doc = json.loads(r.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("verify", "error", 3)
    error = doc["errors"][0]
    assert error["kind"] == "cannot-run" and "torch is not installed" in error["message"]
    assert "pip install torch==" in error["hint"]


def test_torch_broken():
    r = cli("--device", "cpu", env=_env("broken"))
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert ("but `import torch` fails: a library it needs is missing or another copy shadows it (check "
            "LD_LIBRARY_PATH): ImportError: libcudnn.so.9: cannot open shared object file") in r.stderr
    assert "reinstall: pip install torch==" in r.stderr
    assert ("(EC315)" in r.stderr) is HAS_TORCH  # the fake shadows a real torch where one is installed


@posix_only
def test_torch_import_crashes():
    with pytest.raises(CannotRunError) as info:
        run(env=_env("abort"))
    crashed = f"`import torch` crashed (killed by SIGABRT): free(): invalid pointer (Python {sys.executable})"
    if HAS_TORCH:  # the crashing fake shadows the real torch: named, from the child's start event
        assert info.value.message.startswith(crashed + f"; torch from PYTHONPATH ({FAKE / 'abort' / 'torch'}")
        assert info.value.message.endswith(": Python imports it instead (EC315)")
    else:
        assert info.value.message == crashed


def test_torch_import_hangs():
    start = time.monotonic()
    with pytest.raises(CannotRunError, match=r"`import torch` did not finish within 2 s \(killed\)"):
        run(env=_env("hang"), timeout=2)
    assert time.monotonic() - start < 10


def test_a_named_gpu_that_torch_cannot_use():
    r = cli("--device", "cuda:0", env=_env("nocuda"))
    assert r.returncode == 3, r.stderr
    assert ("envcheck: error: cannot verify cuda:0: torch 2.8.0+cu128 (CUDA 12.8 build) cannot use a GPU: "
            "CUDA initialization: The NVIDIA driver on your system is too old (found version 12020).") in r.stderr
    assert "`envcheck verify --device cpu` checks the CPU" in r.stderr


def test_bad_device_is_a_usage_error():
    r = cli("--device", "tpu:0")
    assert r.returncode == 2
    assert "Invalid device: 'tpu:0' (expected cpu, cuda or cuda:N)" in r.stderr


# ----------------------------------------------------------------------- the CPU, for real


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_cli_cpu_suite_with_perf_json_and_a_wrong_answer():
    r = cli("--device", "cpu", "--perf", "--json", env=_env(fault="verify.autograd=wrong:gradients off by 3.5"))
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("verify", "problems", 1)
    data = doc["data"]
    assert data["torch"]["version"].startswith("2.")
    dev = data["devices"][0]
    statuses = {c["name"]: c["status"] for c in dev["checks"]}
    assert statuses == {
        "tensor": "passed", "copy": "passed", "matmul-fp32": "passed", "matmul-tf32": "skipped",
        "matmul-fp16": "passed", "matmul-bf16": "passed", "autograd": "failed", "conv": "passed",
        "memory": "passed",
    }
    autograd = next(c for c in dev["checks"] if c["name"] == "autograd")
    assert autograd["detail"] == "gradients off by 3.5"
    assert autograd["failure"]["kind"] == "wrong-result"
    perf = {line["metric"]: line for line in dev["perf"]["lines"]}
    assert perf["matmul-fp32"]["value"] > 0 and perf["matmul-fp32"]["verdict"] == "none"
    assert perf["copy-d2d"]["unit"] == "GB/s"
    assert perf["copy-h2d"]["status"] == "skipped"
    assert dev["perf"]["notes"] == ["no datasheet for CPUs: measurements only"]
    assert data["summary"] == {"passed": 7, "failed": 1, "skipped": 1, "not_run": 0, "checks": 9,
                               "devices": ["cpu"], "perf_failed": [], "verdict": "failed"}
    assert "verify: cpu: matmul-fp32 passed" in r.stderr  # progress goes to stderr


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_default_is_every_gpu_or_the_cpu():
    had_torch = "torch" in sys.modules
    report = run((), checks=["tensor"])
    assert had_torch or "torch" not in sys.modules  # the parent never imports torch
    assert [d.device for d in report.devices] == ["cpu"]
    assert [(c.name, c.status) for c in report.devices[0].checks] == [("tensor", "passed")]


# import torch (~2 s here) and two quick checks come first: the wait on the hang itself stays ~2 s
HANG_TIMEOUT = 4


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_a_check_that_hangs_is_killed_at_the_timeout():
    start = time.monotonic()
    r = cli("--device", "cpu", "--timeout", str(HANG_TIMEOUT), env=_env(fault="verify.matmul-fp32=hang"))
    assert time.monotonic() - start < HANG_TIMEOUT + 4
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    row = {ln.split()[0]: ln for ln in lines if ln.startswith("  ") and ln.split()[0] in verify_plan.CHECKS}
    assert row["tensor"].split()[1] == "passed" and row["copy"].split()[1] == "passed"
    assert row["matmul-fp32"].split()[1] == "FAILED"
    for name in ("matmul-tf32", "autograd", "memory"):
        assert row[name].split()[1] == "not-run"
    text = " ".join(r.stdout.split())
    assert f"no answer within {HANG_TIMEOUT} s during matmul-fp32: the check did not finish and its process was killed" in text
    assert "give it more time with --timeout" in text and "dmesg" not in text  # a CPU check: no driver to blame
    assert "not run: the process ended during matmul-fp32" in text
    assert f"  process: killed after {HANG_TIMEOUT} s (no answer)" in lines
    assert lines[-1].startswith("verify FAILED: 2 passed, 1 failed, 0 skipped, 6 not run on cpu in ")
    assert f"verify: cpu: killed after {HANG_TIMEOUT} s (no answer) during matmul-fp32" in r.stderr  # progress


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@posix_only
@pytest.mark.parametrize("kind, signal", [("abort", "SIGABRT"), ("segv", "SIGSEGV")])
def test_a_check_killed_by_a_signal(kind, signal):
    report = run(checks=["tensor", "conv", "memory"], env=_env(fault=f"verify.conv={kind}"))
    checks = report.devices[0].checks
    assert [c.status for c in checks] == ["passed", "failed", "not-run"]
    f = checks[1].failure
    assert f.kind == "crash"
    assert f.summary == f"the process was killed by {signal} during conv: torch or a CUDA library crashed"
    assert f.evidence == f"envcheck: injected fault (ENVCHECK_FAULT): {kind} at verify.conv"


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_an_error_inside_a_check_is_classified():
    fault = "verify.memory=raise:CUDA out of memory. Tried to allocate 40.00 GiB. GPU 0 has a total capacity of 79.10 GiB"
    report = run(checks=["tensor", "memory", "conv"], env=_env(fault=fault))
    checks = report.devices[0].checks
    assert [c.status for c in checks] == ["passed", "failed", "passed"]  # out of memory is not sticky
    f = checks[1].failure
    assert f.kind == "out-of-memory"
    assert f.evidence.startswith("RuntimeError: CUDA out of memory. Tried to allocate 40.00 GiB")


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_gloo_all_reduce_across_cpu_processes():
    c = verify_run.allreduce_check(["cpu", "cpu"], timeout=60, env=_env())
    assert c.status == "passed", c.detail
    assert c.name == "allreduce (gloo, 2 ranks: cpu, cpu)"
    assert c.detail.startswith("gloo all-reduce of 256 KiB across 2 ranks exact; bus bandwidth")
    assert c.values["ranks"] == 2


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@posix_only
def test_all_reduce_rank_crash():
    c = verify_run.allreduce_check(["cpu", "cpu"], timeout=60, env=_env(fault="verify.allreduce=abort"))
    assert c.status == "failed"
    assert c.failure.kind == "crash"
    assert c.detail.startswith("rank 0 (cpu): the process was killed by SIGABRT during allreduce")


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_p2p_plumbing_without_gpus():
    """The p2p child runs and each pair is reported; without CUDA the pair fails with torch's words."""
    (pair,) = verify_run.p2p_checks([0, 1], timeout=60, env=_env())
    assert pair.name == "p2p cuda:0<->cuda:1"
    if pair.status == "failed":  # a CPU build of torch: no GPUs to copy between
        assert pair.failure is not None and pair.failure.evidence


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_multi_gpu_children_started_early_are_dropped_when_torch_cannot_use_the_gpus():
    """NVML counts two GPUs, so peer-to-peer and the all-reduce start beside the device children;
    torch here is a CPU build, so only the CPU is checked and their results are not reported."""
    two = DriverFacts(status="ok", gpu_count=2, version="580.82.07")
    report = verify_run.verify((), nvml_probe=lambda: two, env=_env(), timeout=90)
    assert [d.device for d in report.devices] == ["cpu"]
    assert report.multi_gpu == []
    cpu = report.devices[0]
    assert cpu.checks[0].name == "cuda" and cpu.checks[0].status == "failed"  # the 2 GPUs went unused
    assert "2 GPU(s)" in cpu.checks[0].detail
