"""install-command and requirements: official command text, policy scenarios, this machine, bad input."""

from __future__ import annotations

import os

import pytest



# Official commands envcheck deliberately does not reproduce word for word, and why.


def _no_nvidia_driver() -> bool:
    return not os.path.exists("/proc/driver/nvidia/version")


@pytest.mark.skipif(not _no_nvidia_driver(), reason="this machine has an NVIDIA driver")
def test_this_machine_without_driver_gets_cpu(cli):
    """No NVIDIA driver here (nvcc may be installed): the CPU build, with the reason."""
    r = cli("install-command")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines() == [r.stdout.strip()]  # only the command on stdout
    assert r.stdout.strip().endswith("--index-url https://download.pytorch.org/whl/cpu")
    assert "no NVIDIA driver" in r.stderr
    if os.path.exists("/usr/local/cuda/bin/nvcc"):
        assert "does not make a GPU usable" in r.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--cuda", "12.x"], "Invalid CUDA version: '12.x'"),
        (["--torch", "2.3.1", "--cuda", "10.2"], "its builds: cpu, cu118, cu121, rocm5.7, rocm6.0"),
        (["--torch", "1.7.1", "--python", "3.11"], "no wheels for Python 3.11"),
        (["--cpu", "--cuda", "12.1"], "only one of"),
        (["--driver", "banana"], "Invalid driver version: 'banana'"),
        (["--compute-capability", "x"], "Invalid compute capability"),
        (["--python", "three"], "Invalid Python version"),
        (["--torch", "9.9"], "no torch release 9.9"),
        (["--os", "macos", "--cuda", "12.8"], "no CUDA 12.8 builds for macOS"),
        (["--os", "windows", "--rocm", "6.2"], "Linux only"),
    ],
)
@pytest.mark.parametrize("command", ["install-command", "requirements"])
def test_bad_input(cli, command, args, needle):
    r = cli(command, *args)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_described_os_is_not_this_machine(cli):
    r = cli("install-command", "--os", "macos")
    assert r.returncode == 0 and "target: given on the command line" in r.stderr
    r = cli("install-command", "--python", "3.12")
    assert "with --python 3.12" in r.stderr


def test_diagnose_fix_installs_into_the_inspected_interpreter(cli, tmp_path):
    import subprocess
    import sys

    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    r = cli("diagnose", "--quick", "--python", str(py))
    assert f"{py} -m pip install torch==" in r.stdout


def _pythons():
    """This interpreter, and an older one where this machine has it (a pyenv 3.9)."""
    import glob
    import sys

    found = [(sys.executable, "{}.{}".format(*sys.version_info[:2]))]
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python")))[:1]:
        found.append((path, "3.9"))
    return found


@pytest.mark.parametrize("python, version", _pythons())
def test_python_path_is_an_interpreter_whose_version_the_target_takes(cli, python, version):
    """``--python PATH`` names an interpreter: the target's Python is that interpreter's, read the
    way diagnose reads it (no deprecation warning: this is the new meaning)."""
    import json

    described = cli("install-command", "--driver", "550.54.14", "--cc", "8.6", "--os", "linux",
                    "--python", python, "--json")
    assert described.returncode == 0, described.stderr
    doc = json.loads(described.stdout)
    assert doc["data"]["target"]["python"] == version
    assert not [w for w in doc["warnings"] if "deprecated" in w]
    detected = cli("install-command", "--python", python, "--json")
    assert detected.returncode == 0, detected.stderr
    target = json.loads(detected.stdout)["data"]["target"]
    assert target["python"] == version and target["source"] == "this machine, the interpreter " + python
    text = cli("requirements", "--driver", "550.54.14", "--cc", "8.6", "--os", "linux", "--python", python)
    assert text.returncode == 0 and "deprecated" not in text.stderr and f"os linux, python {version}" in text.stderr


@pytest.mark.parametrize("script, said", [
    ("#!/bin/sh\necho garbage\nexit 1\n", "exit status 1: garbage"),
    ("#!/bin/sh\nsleep 60\n", "no answer within 1.0 s"),
], ids=["fails", "hangs"])
@pytest.mark.parametrize("command", [["install-command", "--cuda", "12.8"], ["install-command"],
                                     ["requirements", "--driver", "550.54.14"]])
@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for the interpreter")
def test_an_interpreter_that_cannot_be_read_is_exit_3_never_this_pythons_answer(cli, tmp_path, script, said, command):
    """--python names an interpreter: if it fails or hangs, the target's Python is unknown, so the
    command refuses (exit 3) instead of answering for envcheck's own Python."""
    fake = tmp_path / "python"
    fake.write_text(script)
    fake.chmod(0o755)
    r = cli(*command, "--python", str(fake), env={"ENVCHECK_FAULT": "timeout.python=1"})
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert f"envcheck: error: could not inspect {fake}: " in r.stderr and said in r.stderr
