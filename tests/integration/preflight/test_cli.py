"""The real CLI, as a user runs it (child processes; the shipped envcheck.cli plus preflight)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


from helpers.preflight import ROOT, child_env, quick_config, run_envcheck

pytestmark: list = []


def test_quick_config_passes_here_with_json(tmp_path):
    proc = run_envcheck("preflight", "--config", str(quick_config(tmp_path)), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("preflight", "ok", 0)
    report = doc["data"]["report"]
    ids = {c["id"] for c in report["checks"]}
    assert {"host.ram", "host.disk", "host.shm"} <= ids
    assert all({"status", "measured", "threshold", "value", "limit", "source"} <= set(c) for c in report["checks"])
    assert doc["data"]["thresholds"]["sources"]["min_gpus"] == "profile cpu"
    assert "preflight: [1/1] collecting facts" in proc.stderr  # progress on stderr, JSON alone on stdout


def test_text_output_and_a_failing_threshold(tmp_path):
    proc = run_envcheck("preflight", "--config", str(quick_config(tmp_path)), "--min-shm", "1PB", "-q")
    assert proc.returncode == 1
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    shm = [line for line in lines if "host.shm" in line][0]
    assert shm.split()[0] == "FAIL" and "[want >= 909.5 TiB]" in shm
    assert lines[-1].startswith("result: FAIL (exit 1;")


def test_default_profile_fails_on_a_machine_without_gpus():
    proc = run_envcheck("preflight", "--no-diagnose", "--json", "-q")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["status"] == "problems"
    count = [c for c in doc["data"]["report"]["checks"] if c["id"] == "gpu.count"][0]
    assert count["status"] == "fail" and count["limit"] == 1


def test_could_not_run_is_exit_3_never_pass(tmp_path):
    """A check that cannot run (here: the NVML binding hidden) gives exit 3 when nothing failed."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "pynvml.py").write_text("raise ImportError('hidden by the test')\n")
    cfg = quick_config(tmp_path, profile="default", severity={"host.open_files": "off"}, min_free_ram_fraction=0.0)
    env = {"PYTHONPATH": "{}:{}".format(hide, ROOT)}
    proc = run_envcheck("preflight", "--config", str(cfg), "--json", "-q", env=env)
    doc = json.loads(proc.stdout)
    count = [c for c in doc["data"]["report"]["checks"] if c["id"] == "gpu.count"][0]
    assert count["status"] == "not-run", count
    assert proc.returncode == 3


@pytest.mark.parametrize("args, message", [
    (["--profile", "nope"], "no profile 'nope'"),
    (["--min-gpu-memory", "lots"], "expected a size"),
    (["--min-free-disk", "nosize"], "PATH=SIZE"),
    (["--require-torch", ">=two"], "version specifier"),
    (["--distributed"], "needs a launcher"),
])
def test_bad_input_is_exit_2(args, message):
    proc = run_envcheck("preflight", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr


def test_bad_input_with_json_is_one_envelope(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("min_gpu = 3\n")
    proc = run_envcheck("preflight", "--config", str(bad), "--json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 2 and doc["status"] == "error"
    assert "did you mean 'min_gpus'" in doc["errors"][0]["message"]


def test_show_config():
    proc = run_envcheck("preflight", "--profile", "h100-sxm", "--min-gpus", "4", "--show-config")
    assert proc.returncode == 0
    assert any(line.split()[:2] == ["min_gpus", "4"] and line.endswith("from flag") for line in proc.stdout.splitlines())
    assert any(line.split()[0] == "gpu_model" and line.endswith("from profile h100-sxm") for line in proc.stdout.splitlines())


def test_importing_the_commands_stays_light():
    code = ("import sys; import envcheck.cli.preflight, envcheck.preflight.options, envcheck.preflight; "
            "heavy = [m for m in ('torch', 'pynvml', 'psutil', 'torch.distributed') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), cwd=str(ROOT),
                         timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_plain_preflight_never_imports_torch(tmp_path):
    """torch is imported only by --distributed: a node run records which modules it loaded."""
    code = ("import sys, runpy; sys.argv = ['envcheck', 'preflight', '--config', {!r}, '-q'];\n"
            "try:\n    runpy.run_module('envcheck', run_name='__main__', alter_sys=True)\n"
            "except SystemExit:\n    pass\n"
            "sys.stderr.write('TORCH=%s\\n' % ('torch' in sys.modules))\n").format(
        str(quick_config(tmp_path, diagnose=True)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), cwd=str(ROOT),
                         timeout=90)
    assert "TORCH=False" in out.stderr, out.stderr


def test_a_node_without_torch_fails_with_the_install_command_for_the_jobs_python(tmp_path):
    """--python names the jobs' interpreter: a venv without torch fails verify (on the CPU, as
    there is no GPU) with that interpreter's pip command, instead of passing the node."""
    import venv

    venv.EnvBuilder(with_pip=False).create(str(tmp_path / "venv"))
    python = tmp_path / "venv" / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    cfg = quick_config(tmp_path, verify=True)
    proc = run_envcheck("preflight", "--config", str(cfg), "--python", str(python), "--json", "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    checks = {c["id"]: c for c in json.loads(proc.stdout)["data"]["report"]["checks"]}
    assert checks["verify"]["status"] == "fail"
    assert checks["verify"]["measured"].startswith("torch is not installed for {}".format(python))
    assert "{} -m pip install torch==".format(python) in checks["verify"]["detail"]


def test_python_must_be_an_interpreter(tmp_path):
    proc = run_envcheck("preflight", "--python", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("envcheck: error: --python ")
