"""Driver rules (EC101-EC109), fed with facts."""

from __future__ import annotations

import dataclasses

import pytest

from envcheck.facts.model import KernelModuleFacts
from envcheck.facts.model import LoadedLibrary

from helpers.facts import change, load
from helpers.findings import codes, one
from envcheck.rules.view import View

H100 = "h100x8-torch2.11-cu130-driver580"
TOO_OLD = ("CUDA initialization: The NVIDIA driver on your system is too old (found version 12020). "
           "Please update your GPU driver.")
OLD_DRIVER = {"driver.version": "535.104.05", "driver.cuda_max": "12.2", "driver.cuda_max_raw": 12020,
              "driver.kernel_module": KernelModuleFacts(status="ok", version="535.104.05"),
              "torch_runtime.is_available": False, "torch_runtime.device_count": 0,
              "torch_runtime.loaded_libraries": (), "torch_runtime.available_warnings": (TOO_OLD,)}


def _generated(matrix, driver, ccs, python, cuda=None, torch=None, audio=False, labelled=False):
    """What `envcheck install-command` would print for the same target (``audio``: with the
    torchaudio the user has)."""
    from envcheck.install import commands
    from envcheck.install.choose import choose, target_from_options

    t = target_from_options(driver=driver, ccs=ccs, python=python, os_name="linux", cuda=cuda, torch=torch)
    c = choose(matrix, t)
    plan = commands.pip_plan(c.release, c.variant, t.os, t.python, audio_always=audio)
    return commands.pip_command(dataclasses.replace(plan, labelled=True) if labelled else plan)


@pytest.mark.parametrize("name, changes, problems, notes", [
    # F1: a CUDA 13 torch on a 12.2 driver, with and without the child's run
    (H100, OLD_DRIVER, {"EC101"}, set()),
    (H100, {"driver.version": "535.104.05", "driver.cuda_max": "12.2", "torch_runtime": None,
            "quick": True}, {"EC101"}, set()),
    # an unparsable driver version: NVML's CUDA ceiling decides
    (H100, {"driver.version": "R535", "driver.cuda_max": "12.2", "torch_runtime": None}, {"EC101"}, set()),
    # same major, older driver: minor-version compatibility is a note
    ("a100-ecc-remap-pending", {"torch.variant": "cu124", "torch.cuda_build": "12.4",
                                "torch.version": "2.5.1+cu124", "torch.torchvision": None,
                                "torch.torchaudio": None, "torch_runtime": None, "driver.gpus": ()},
     set(), {"EC001", "EC102"}),
    # no driver at all
    ("devbox-no-driver-nvcc13-torch-cpu", {"torch.variant": "cu130", "torch.cuda_build": "13.0",
                                           "torch.version": "2.13.0+cu130", "torch_runtime": None},
     {"EC103"}, {"EC109"}),
    ("devbox-no-driver-nvcc13-torch-cpu", {}, set(), {"EC001", "EC109", "EC202"}),
    # the kernel module is not the libraries' version
    (H100, {"driver.kernel_module": KernelModuleFacts(status="ok", version="580.65.06"),
            "torch_runtime": None}, {"EC105"}, set()),
    # NVML refuses for other reasons
    (H100, {"driver.status": "failed", "driver.error_code": "no-permission", "driver.gpus": (),
            "torch_runtime": None}, {"EC106"}, set()),
    (H100, {"driver.status": "timed-out", "driver.error_code": "timeout", "driver.gpus": (),
            "torch_runtime": None}, {"EC110"}, set()),  # a hung NVML: a wedged driver, an error
    # /dev/nvidia-uvm missing (after a suspend)
    (H100, {"host.nvidia_device_nodes": ("/dev/nvidia0", "/dev/nvidiactl")}, {"EC107"}, set()),
])
def test_driver_rules(matrix, name, changes, problems, notes):
    assert codes(change(load(name), changes), matrix) == (problems, notes)


def test_driver_too_old_fix_comes_from_the_install_command_generator(matrix):
    f = one(change(load(H100), OLD_DRIVER), matrix, "EC101")
    # The installed release (2.11.0, with its torchaudio) in the build closest to the driver's
    # CUDA 12.2, which it runs in compatibility mode; the newest release as the alternative.
    # it keeps 2.11.0 in another build: the pins name the build (torch==2.11.0 is "satisfied" by +cu130)
    assert f.command == _generated(matrix, "535.104.05", ("9.0",), "3.12", torch="2.11.0", audio=True, labelled=True)
    assert "torch==2.11.0+cu126" in f.command and "torchaudio==2.11.0" in f.command and "/whl/cu126" in f.command
    assert f.alternative == _generated(matrix, "535.104.05", ("9.0",), "3.12")
    assert "cu130" not in f.command and ">= 580" in f.fix
    assert "compatibility mode" in f.fix and "torch 2.7.1 (cu118)" in f.fix
    assert "driver.cuda_max = 12.2" in f.evidence
    assert any("too old" in e for e in f.evidence)  # torch's own warning is evidence
    assert "nvidia-smi" in f.cause  # the three CUDA versions explained


def test_cuda_build_without_driver_outside_a_container_offers_the_cpu_build(matrix):
    facts = change(load("devbox-no-driver-nvcc13-torch-cpu"), {
        "torch.variant": "cu130", "torch.cuda_build": "13.0", "torch.version": "2.13.0+cu130",
        "torch_runtime": None, "host.container.detected": False, "host.container.kind": None})
    f = one(facts, matrix, "EC103")
    assert f.command.endswith("--index-url https://download.pytorch.org/whl/cpu")
    in_docker = one(change(facts, {"host.container.detected": True, "host.container.kind": "docker"}),
                    matrix, "EC103")
    assert in_docker.command is None and "--gpus all" in in_docker.fix


def test_driver_not_loaded_is_an_error_outside_wsl_only(matrix):
    facts = load("driver-not-loaded-after-kernel-upgrade")
    assert one(facts, matrix, "EC104").command == "sudo modprobe nvidia"
    wsl = change(facts, {"host.wsl.detected": True, "host.wsl.version": 2,
                         "host.wsl.lib_dir": "/usr/lib/wsl/lib"})
    assert codes(wsl, matrix)[0] == {"EC406"}


def test_pynvml_missing_with_a_loaded_driver(matrix):
    facts = change(load(H100), {"driver.status": "missing", "driver.error_code": "pynvml-missing", "torch_runtime": None,
                                "driver.kernel_module": KernelModuleFacts(status="ok", version="580.82.07")})
    f = one(facts, matrix, "EC106")
    assert f.command == "pip install nvidia-ml-py"


def test_wrong_libcuda_loaded(matrix):
    facts = load(H100)
    libs = tuple(lib for lib in facts.torch_runtime.loaded_libraries if lib.name != "libcuda") + (
        LoadedLibrary("libcuda", "/usr/local/cuda-12.8/compat/libcuda.so.570.124.06"),)
    facts = change(facts, {"torch_runtime.loaded_libraries": libs,
                           "driver.kernel_module": KernelModuleFacts(status="ok", version="580.82.07")})
    f = one(facts, matrix, "EC108")
    assert any("570.124.06" in e for e in f.evidence)


def test_healthy_h100_has_no_driver_findings(matrix):
    assert codes(load(H100), matrix) == (set(), {"EC001"})


# An NVIDIA tool present but failing is never "healthy": nvidia-smi's failure (merged into the
# driver's facts by the probe, probes.nvml._heard_from_smi) on a machine where NVML could not start.
SMI_FAILURES = [
    # (nvidia-smi's status, its detail, its code) -> (finding, words in its title, words in its fix)
    (("failed", "exit status 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
      "driver-not-loaded"), ("EC104", "nvidia-smi cannot communicate", "reinstall the driver")),
    (("failed", "exit status 18: Failed to initialize NVML: Driver/library version mismatch; NVML library "
      "version: 580.95", "driver-library-mismatch"), ("EC105", "vs libraries 580.95", "Reboot")),
    (("timed-out", "no answer within 4.0 s (killed)", "timeout"), ("EC110", "nvidia-smi hung", "sudo dmesg")),
    (("failed", "killed by SIGSEGV", "crashed"), ("EC110", "nvidia-smi crashed: killed by SIGSEGV", "reboot")),
    (("failed", "exit status 4: Failed to initialize NVML: Insufficient Permissions", "no-permission"),
     ("EC106", "nvidia-smi fails (no-permission): Failed to initialize NVML: Insufficient Permissions",
      "/dev/nvidia*")),
    (("failed", "exit status 6: No devices were found", "no-devices"), ("EC106", "No devices were found", "lspci")),
    (("failed", "exit status 255: Failed to initialize NVML: Unknown Error", "unknown"),
     ("EC106", "Unknown Error", "daemon-reload")),
    (("failed", "exit status 12: NVIDIA-SMI couldn't find libnvidia-ml.so library in your system.",
      "library-not-found"), ("EC106", "couldn't find libnvidia-ml", "Reinstall the NVIDIA driver")),
]


@pytest.mark.parametrize("smi, expected", SMI_FAILURES, ids=[s[0][2] for s in SMI_FAILURES])
@pytest.mark.parametrize("torch", ["cpu", "cu130"])
def test_a_failing_nvidia_smi_is_a_finding_never_healthy(matrix, smi, expected, torch):
    from envcheck.facts.model import SmiFacts
    from envcheck.probes.nvml import _heard_from_smi

    base = load("devbox-no-driver-nvcc13-torch-cpu")
    smi_facts = SmiFacts(status=smi[0], detail=smi[1], error_code=smi[2])
    driver = _heard_from_smi(dataclasses.replace(base.driver, smi=smi_facts), smi_facts)
    changes = {"driver": driver}
    if torch == "cu130":
        changes.update({"torch.variant": "cu130", "torch.cuda_build": "13.0", "torch.version": "2.13.0+cu130",
                        "torch_runtime": None})
    facts = change(base, changes)
    problems, notes = codes(facts, matrix)
    code, title, fix = expected
    assert code in problems
    assert not {"EC001", "EC202", "EC103", "EC109"} & (problems | notes)  # not "no GPU here"
    f = one(facts, matrix, code)
    assert title in f.title and fix in f.fix


PCI = ("0000:3b:00.0", "0000:5e:00.0")


@pytest.mark.parametrize("torch", ["cpu", "cu130"])
def test_a_gpu_on_the_pci_bus_without_a_driver_is_never_a_cpu_machine(matrix, torch):
    changes = {"host.nvidia_pci_gpus": PCI, "host.container.detected": False, "host.container.kind": None}
    if torch == "cu130":
        changes.update({"torch.variant": "cu130", "torch.cuda_build": "13.0", "torch.version": "2.13.0+cu130",
                        "torch_runtime": None})
    facts = change(load("devbox-no-driver-nvcc13-torch-cpu"), changes)
    problems, notes = codes(facts, matrix)
    assert "EC111" in problems
    assert not {"EC001", "EC202", "EC109", "EC103"} & (problems | notes)
    f = one(facts, matrix, "EC111")
    assert f.severity == "error" and f.title.startswith("2 NVIDIA GPU(s) on the PCI bus (0000:3b:00.0, ...)")
    assert "kernel module" in f.cause and "lspci -k -d 10de:" in f.fix and f.command is None
    fix = View(facts, matrix).install()
    assert fix is not None and fix.variant != "cpu"  # never the CPU wheel for a machine with a GPU


def test_a_gpu_on_the_pci_bus_in_a_container_wants_the_gpus_passed(matrix):
    facts = change(load("devbox-no-driver-nvcc13-torch-cpu"), {
        "host.nvidia_pci_gpus": PCI[:1], "host.container.detected": True, "host.container.kind": "docker"})
    f = one(facts, matrix, "EC111")
    assert "--gpus all" in f.fix and f.command is None and "docker container" in f.cause
