"""Every fault of an NVIDIA tool is a finding: the table of faults tried, with the real CLI.

The principle (issue 31): with an NVIDIA tool present but failing, timing out or crashing, the
result is never "healthy", and the finding names the tool, what it said and the fix. Each row
injects its fault through the one seam, :class:`helpers.faultbox.FaultBox` (fake executables
first on PATH, fake modules first on PYTHONPATH), runs ``envcheck diagnose --json`` as a user
would, and holds the finding it must give.

NVML is replaced in every row (a fake ``pynvml``), so the rows behave the same on a machine with
a real driver: in the nvidia-smi rows NVML cannot find its library, as on a machine whose driver
install is broken, and nvidia-smi's word decides.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest

from helpers.cli import NO_USER_DATA
from helpers.faultbox import FAKE_PYNVML, FaultBox
from helpers.paths import ROOT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="fake programs are POSIX shell scripts")

FAKE_TORCH = '''
__version__ = "2.11.0+cu130"
class version:
    cuda = "13.0"
    hip = None
class _C:
    _GLIBCXX_USE_CXX11_ABI = True
class backends:
    class cudnn:
        @staticmethod
        def version():
            return 91000
class cuda:
    @staticmethod
    def is_available():
        raise RuntimeError("CUDA error: CUDA-capable device(s) is/are busy or unavailable")
    @staticmethod
    def device_count():
        raise RuntimeError("CUDA error: CUDA-capable device(s) is/are busy or unavailable")
    @staticmethod
    def get_arch_list():
        return ["sm_90"]
'''

SMI_NO_DRIVER = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
                 "that the latest NVIDIA driver is installed and running.")


def smi(body):
    return lambda box: box.program("nvidia-smi", body)


def nvml(mode):
    return lambda box: box.module("pynvml", FAKE_PYNVML, FAKE_NVML=mode)


def torch(box):
    box.module("torch.__init__", FAKE_TORCH)


# (name, injections, ENVCHECK_FAULT or None, --quick, finding, severity, words in its title, words in its fix)
FAULTS = [
    ("nvidia-smi: couldn't communicate (exit 9)", [nvml("not-found"), smi(f'echo "{SMI_NO_DRIVER}"; exit 9')],
     None, True, "EC104", "error", "nvidia-smi cannot communicate with the NVIDIA driver", "reinstall the driver"),
    ("nvidia-smi: driver/library mismatch (exit 18)",
     [nvml("not-found"), smi('echo "Failed to initialize NVML: Driver/library version mismatch"; '
                             'echo "NVML library version: 580.95"; exit 18')],
     None, True, "EC105", "error", "vs libraries 580.95", "Reboot"),
    ("nvidia-smi: hangs", [nvml("not-found"), smi("sleep 600")], "timeout.smi=1", True,
     "EC110", "error", "nvidia-smi hung: no answer within 1.0 s", "sudo nvidia-smi -r"),
    ("nvidia-smi: segfaults", [nvml("not-found"), smi("kill -SEGV $$")], None, True,
     "EC110", "error", "nvidia-smi crashed: killed by SIGSEGV", "dmesg"),
    ("nvidia-smi: insufficient permissions (exit 4)",
     [nvml("not-found"), smi('echo "Failed to initialize NVML: Insufficient Permissions"; exit 4')], None, True,
     "EC106", "warning", "Insufficient Permissions", "/dev/nvidia*"),
    ("nvidia-smi: no devices (exit 6)", [nvml("not-found"), smi('echo "No devices were found"; exit 6')], None, True,
     "EC106", "warning", "No devices were found", "lspci"),
    ("nvidia-smi: unknown error in a container",
     [nvml("not-found"), smi('echo "Failed to initialize NVML: Unknown Error"; exit 255')], None, True,
     "EC106", "warning", "Failed to initialize NVML: Unknown Error", "daemon-reload"),
    ("nvidia-smi: libnvidia-ml missing (exit 12)",
     [nvml("not-found"), smi('echo "NVIDIA-SMI couldn\'t find libnvidia-ml.so library in your system."; exit 12')],
     None, True, "EC106", "warning", "couldn't find libnvidia-ml", "Reinstall the NVIDIA driver"),
    ("NVML: segfault in nvmlInit", [nvml("segv")], None, True,
     "EC110", "error", "NVML crashed: the probe process was killed by SIGSEGV during nvmlInit", "dmesg"),
    ("NVML: abort in nvmlDeviceGetCount", [nvml("abort-in-count")], None, True,
     "EC110", "error", "SIGABRT during nvmlDeviceGetCount", "reboot"),
    ("NVML: nvmlInit hangs", [nvml("hang")], "timeout.nvml=1", True,
     "EC110", "error", "NVML hung: no answer within 1.0 s during nvmlInit", "reset"),
    ("torch: cuda.is_available() raises", [nvml("not-found"), torch], None, False,
     "EC008", "error", "torch.cuda.is_available() raised instead of answering: RuntimeError: CUDA error: "
     "CUDA-capable device(s) is/are busy or unavailable", "nvidia-smi"),
]

# Findings that say "there is no GPU here, and that is fine": never with a failing NVIDIA tool.
HEALTHY = {"EC001", "EC202", "EC109", "EC103"}


def _diagnose(box, fault, quick):
    env = dict(os.environ)
    env.setdefault("ENVCHECK_DATA_DIR", NO_USER_DATA)
    env.pop("ENVCHECK_FAULT", None)
    env.update(box.env({"ENVCHECK_FAULT": fault} if fault else None))
    argv = [sys.executable, "-m", "envcheck", "diagnose", "--json"] + (["--quick"] if quick else ["--timeout", "30"])
    start = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=str(ROOT))
    return res, time.monotonic() - start, env


@pytest.mark.parametrize("name, inject, fault, quick, code, severity, title, fix", FAULTS, ids=[f[0] for f in FAULTS])
def test_every_fault_is_a_finding_never_healthy(tmp_path, name, inject, fault, quick, code, severity, title, fix):
    box = FaultBox(tmp_path)
    for step in inject:
        step(box)
    res, seconds, env = _diagnose(box, fault, quick)
    assert "Traceback" not in res.stdout + res.stderr
    doc = json.loads(res.stdout)
    findings = {f["code"]: f for f in doc["data"]["diagnosis"]["findings"]}
    assert code in findings, (name, sorted(findings), res.stderr[-300:])
    f = findings[code]
    assert f["severity"] == severity and title in f["title"], f["title"]
    assert fix in f["fix"], f["fix"]
    # torch's row: the static reading is of the real (CPU) torch this fake shadows, and NVML finds no
    # driver, so the CPU-consistency notes may stand; "healthy" (EC001) never does
    assert not (HEALTHY if code != "EC008" else {"EC001"}) & set(findings), sorted(findings)
    assert res.returncode == (1 if severity == "error" else 0) == doc["exit_code"]
    assert seconds < 60  # bounded; bench/bench.py measures speed
    # the same machine in text: the headline never says healthy
    text = subprocess.run(argv_text(quick), capture_output=True, text=True, timeout=120, env=env, cwd=str(ROOT))
    assert "healthy" not in text.stdout.splitlines()[0] and code in text.stdout


def argv_text(quick):
    return [sys.executable, "-m", "envcheck", "diagnose"] + (["--quick"] if quick else ["--timeout", "30"])


def test_the_table_covers_each_tool_and_each_way_it_fails():
    names = [f[0] for f in FAULTS]
    for tool in ("nvidia-smi", "NVML", "torch"):
        assert any(n.startswith(tool) for n in names)
    for way in ("hang", "segfault", "exit 9", "exit 18", "raises"):
        assert any(way in n for n in names), way


def test_a_machine_with_no_nvidia_tool_at_all_is_still_healthy(tmp_path):
    """The other side of the principle: no nvidia-smi and no NVML library is a CPU machine."""
    box = FaultBox(tmp_path)
    nvml("not-found")(box)
    box.program("nvidia-smi", "exit 127")  # then removed: PATH has no nvidia-smi of ours
    (box.bin / "nvidia-smi").unlink()
    res, _, _ = _diagnose(box, None, True)
    doc = json.loads(res.stdout)
    codes = {f["code"] for f in doc["data"]["diagnosis"]["findings"]}
    if doc["data"]["facts"]["driver"]["smi"]["status"] != "missing":
        pytest.skip("this machine has a real nvidia-smi on PATH")
    assert not {"EC104", "EC105", "EC106", "EC110"} & codes


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="verify needs torch")
def test_verify_with_a_silent_driver_fails_instead_of_passing_on_the_cpu(tmp_path):
    box = FaultBox(tmp_path)
    nvml("not-found")(box)
    smi(f'echo "{SMI_NO_DRIVER}"; exit 9')(box)
    env = dict(os.environ)
    env.setdefault("ENVCHECK_DATA_DIR", NO_USER_DATA)
    env.update(box.env())
    res = subprocess.run([sys.executable, "-m", "envcheck", "verify", "--json"], capture_output=True, text=True,
                         timeout=180, env=env, cwd=str(ROOT))
    doc = json.loads(res.stdout)
    assert res.returncode == 1 and doc["exit_code"] == 1
    (cpu,) = doc["data"]["devices"]
    first = cpu["checks"][0]
    assert first["status"] == "failed" and "does not answer" in first["detail"]
    assert "couldn't communicate" in first["failure"]["evidence"]
