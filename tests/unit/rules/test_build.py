"""torch's build against the machine (EC201-EC207, EC308, EC309), fed with facts."""

from __future__ import annotations

import dataclasses

import pytest

from helpers.facts import change, load
from helpers.findings import codes, one

H100 = "h100x8-torch2.11-cu130-driver580"
LAPTOP = "laptop-rtx3060-cpu-torch"
RTX4090 = "nvcc11.8-torch2.7-cu128"  # quick snapshot: torch 2.7.1+cu128 on an RTX 4090
NVCC_OK = {"nvcc.cpp_extension_home": "/usr/local/cuda-12.8"}


@pytest.mark.parametrize("name, changes, problems, notes", [
    # a CPU (or ROCm) build on an NVIDIA machine; a CPU build without one
    (LAPTOP, {}, {"EC201"}, set()),
    (LAPTOP, {"torch.variant": "rocm6.4", "torch.hip": "6.4.43482", "torch_runtime": None,
              "torch.torchvision": None, "torch.torchaudio": None}, {"EC201"}, set()),
    ("devbox-no-driver-nvcc13-torch-cpu", {}, set(), {"EC001", "EC109", "EC202"}),
    # GPU code: from the data (quick) and from the child's arch list
    (RTX4090, dict(NVCC_OK, **{"driver.gpus[0].compute_capability": "6.1"}), {"EC203"}, set()),
    (RTX4090, dict(NVCC_OK, **{"driver.gpus[0].compute_capability": "12.0"}), set(), {"EC001"}),
    (H100, {"torch_runtime.arch_list": ("sm_80", "compute_80")}, {"EC204"}, set()),
    (H100, {"torch_runtime.arch_list": ("sm_80", "sm_86")}, {"EC203"}, set()),
    (H100, {"torch_runtime.arch_list": ("sm_90a",)}, set(), {"EC001"}),
    # a release the data does not know, in quick mode: cannot tell
    (H100, {"torch.version": "2.99.0+cu130", "torch.version_py_version": "2.99.0+cu130", "torch_runtime": None, "quick": True, "torch.torchvision": None,
            "torch.torchaudio": None}, set(), {"EC001", "EC205", "EC309"}),
    # cuDNN 9.11+ with a GPU below sm_75 (from the child, or from the installed wheel)
    ("p100-cudnn9.13-upgraded", {}, {"EC206", "EC304"}, {"EC102"}),
    (H100, {"torch_runtime.cudnn_version": 91100, "torch_runtime.arch_list": ("sm_70", "sm_90"),
            "driver.gpus[0].compute_capability": "7.0"}, {"EC206"}, set()),
    (H100, {"driver.gpus[0].compute_capability": "7.5", "torch_runtime.cudnn_version": 91100}, set(), {"EC001"}),
    # is_available() False with nothing else to blame
    (H100, {"torch_runtime.is_available": False, "torch_runtime.device_count": 0,
            "torch_runtime.available_warnings": ("CUDA initialization: unknown error",)}, {"EC207"}, set()),
    # Python 3.12 under a torch without 3.12 wheels
    ("torch2.1-source-build-python3.12", {}, {"EC308"}, set()),
])
def test_build_rules(matrix, name, changes, problems, notes):
    assert codes(change(load(name), changes), matrix) == (problems, notes)


def test_cpu_build_fix_is_the_generated_cuda_command(matrix):
    """EC201 keeps the installed release (2.13.0) in the build install-command gives for it, and
    offers install-command's own choice for the machine (the newest release) as the alternative."""
    from envcheck.install import commands
    from envcheck.install.choose import choose, target_from_options

    facts = load(LAPTOP)
    assert facts.torch.version.startswith("2.13.0")
    f = one(facts, matrix, "EC201")
    t = target_from_options(driver="550.120", ccs=("8.6",), python="3.12", os_name="linux", torch="2.13.0")
    c = choose(matrix, t)
    # the installed 2.13.0+cpu is replaced only by pins naming the build (torch==2.13.0 is "satisfied")
    plan = dataclasses.replace(commands.pip_plan(c.release, c.variant, "linux", "3.12"), labelled=True)
    assert f.command == commands.pip_command(plan)
    assert "torch==2.13.0+cu" in f.command and "/whl/cu" in f.command
    assert "keeps your release" in f.fix
    best = choose(matrix, target_from_options(driver="550.120", ccs=("8.6",), python="3.12", os_name="linux"))
    assert best.release.torch != "2.13.0"
    assert f.alternative == commands.pip_command(commands.pip_plan(best.release, best.variant, "linux", "3.12"))
    assert "newest release" in f.alternative_why
    assert f.to_dict()["alternative"] == {"command": f.alternative, "why": f.alternative_why}


def test_arch_finding_names_the_source_of_the_arch_list(matrix):
    quick = one(load("v100-torch2.11-cu130-quick"), matrix, "EC203")
    assert any(e.startswith("matrix.wheel_archs[2.11.0 cu130]") for e in quick.evidence)
    child = one(load("rtx5090-torch2.6-cu124"), matrix, "EC203")
    assert any(e.startswith("torch_runtime.arch_list") for e in child.evidence)
    assert any("not compatible" in e for e in child.evidence)
    assert "cu12" in child.command and "2.6.0" not in child.command


def test_cpu_build_on_macos_is_consistent(matrix):
    facts = change(load("devbox-no-driver-nvcc13-torch-cpu"), {"host.system": "Darwin", "torch.sys_platform": "darwin"})
    f = one(facts, matrix, "EC202")
    assert "MPS" in f.cause


def test_gpu_code_reads_the_devices_torch_saw_when_nvml_listed_none(matrix):
    """NVML unreadable (no GPUs listed) while the torch child saw the RTX 5090: the GPU-code check
    still judges it, citing torch's device, and the fix is a build with sm_120 code."""
    facts = change(load("rtx5090-torch2.6-cu124"), {
        "driver.status": "failed", "driver.error_code": "pynvml-missing", "driver.gpus": (),
        "driver.version": None, "driver.cuda_max": None})
    f = one(facts, matrix, "EC203")
    assert f.evidence[0] == "torch_runtime.devices[0].capability = 12.0"
    assert "sm_120" in f.title and "RTX 5090" in f.title
    assert f.command and "2.6.0" not in f.command and "cpu" not in f.command


def test_torchs_own_warning_settles_gpu_code_when_the_arch_list_is_unknown(matrix):
    """A release the data does not know and no arch list: torch's "sm_120 is not compatible"
    warning still says the wheel has no code for the GPU (EC203, not "cannot confirm")."""
    facts = change(load("rtx5090-torch2.6-cu124"), {
        "torch.version": "2.99.0+cu124", "torch.version_py_version": "2.99.0+cu124",
        "torch_runtime.version": "2.99.0+cu124", "torch_runtime.arch_list": ()})
    found, _ = codes(facts, matrix)
    f = one(facts, matrix, "EC203")
    assert "torch's own warning" in f.cause
    assert any(e.startswith("torch_runtime.available_warnings = NVIDIA GeForce RTX 5090 with CUDA capability sm_120")
               for e in f.evidence)
    assert "EC205" not in found
    # the same machine without the warning cannot be judged
    quiet = change(facts, {"torch_runtime.available_warnings": ()})
    assert "EC205" in codes(quiet, matrix)[1] and "EC203" not in codes(quiet, matrix)[0]


def test_a_cpu_build_beside_a_driver_without_listed_gpus_is_still_ec201(matrix):
    """A driver version but no GPU rows (a report's nvidia-smi header alone): the CPU build still
    cannot use the NVIDIA GPU, and the fix is a CUDA build for that driver."""
    facts = change(load(LAPTOP), {"driver.gpus": ()})
    f = one(facts, matrix, "EC201")
    assert f.title.endswith("this machine has NVIDIA driver {}".format(facts.driver.version))
    assert "driver.gpu_count" not in " ".join(f.evidence)
    assert f.command and "/cpu" not in f.command
