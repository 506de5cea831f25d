"""The torch family and its CUDA wheels (EC301-EC307), fed with facts."""

from __future__ import annotations

import pytest

from envcheck.facts.model import CudaPackage, Dist

from helpers.facts import change, load
from helpers.findings import codes, one

H100 = "h100x8-torch2.11-cu130-driver580"
Q4090 = "nvcc11.8-torch2.7-cu128"  # quick: torch 2.7.1+cu128, partners +cu128
NVCC_OK = {"nvcc.cpp_extension_home": "/usr/local/cuda-12.8"}
SITE = "/home/user/.venv/lib/python3.12/site-packages"


def tv(version, installer="pip"):
    return Dist("torchvision", version, SITE, installer)


def ta(version, installer="pip"):
    return Dist("torchaudio", version, SITE, installer)


@pytest.mark.parametrize("changes, problems", [
    ({}, set()),
    # torchvision: another release, another build, the PyPI default build of another CUDA
    ({"torch.torchvision": tv("0.21.0+cu128")}, {"EC301"}),
    ({"torch.torchvision": tv("0.22.1+cu126")}, {"EC301"}),
    ({"torch.torchvision": tv("0.22.1")}, {"EC301"}),  # PyPI's 0.22.1 is the cu126 build
    ({"torch.torchvision": tv("0.22.1"), "torch.version": "2.7.1", "torch.variant": "cu126",
      "torch.local_label": None, "torch.cuda_build": "12.6", "torch.torchaudio": ta("2.7.1")}, set()),
    # torchaudio
    ({"torch.torchaudio": ta("2.6.0+cu128")}, {"EC302"}),
    ({"torch.torchaudio": ta("2.7.1+cpu")}, {"EC302"}),
    # CUDA wheels of two majors
    ({"torch.cuda_packages": (CudaPackage("nvidia-cudnn-cu12", "9.5.1.17", 12),
                              CudaPackage("nvidia-cudnn-cu13", "9.13.0.50", 13))}, {"EC303"}),
    # pip and conda
    ({"torch.conda_env": True, "torch.conda_records": ("pytorch-2.7.1-py3.12_cuda12.8_cudnn9.7.1_0",)}, {"EC305"}),
    ({"torch.torchvision": tv("0.22.1+cu128", installer="conda")}, {"EC305"}),
    # installed twice, inconsistent files
    ({"torch.shadowed": (Dist("torch", "2.5.1", "/home/user/.local/lib/python3.12/site-packages", "pip"),)},
     {"EC306"}),
    ({"torch.version_py_version": "2.6.0+cu124"}, {"EC307"}),
    ({"torch.version_py": None}, {"EC307"}),
])
def test_package_rules(matrix, changes, problems):
    facts = change(load(Q4090), dict(NVCC_OK, **changes))
    assert codes(facts, matrix)[0] == problems


def test_partner_fix_keeps_the_installed_release_and_build(matrix):
    facts = change(load(Q4090), dict(NVCC_OK, **{"torch.torchvision": tv("0.22.1+cu126")}))
    f = one(facts, matrix, "EC301")
    # torchvision 0.22.1+cu126 is replaced only by a pin naming the build: ==0.22.1 is "satisfied"
    assert f.command == ("pip install torch==2.7.1+cu128 torchvision==0.22.1+cu128 torchaudio==2.7.1+cu128 "
                         "--index-url https://download.pytorch.org/whl/cu128")


def test_runtime_nms_failure_is_a_torchvision_mismatch(matrix):
    facts = load("torchvision-other-build")
    f = one(facts, matrix, "EC301")
    assert any("torchvision::nms" in e for e in f.evidence)


def test_pins_unmet_and_cu12_leftovers(matrix):
    assert one(load("p100-cudnn9.13-upgraded"), matrix, "EC304").evidence[0].startswith(
        "torch.cuda_pins[nvidia-cudnn-cu12] = ==9.5.1.17 required, installed 9.13.0.50")
    f = one(load("cu12-and-cu13-wheels"), matrix, "EC303")
    assert f.command.startswith("pip uninstall -y ") and "cu13" not in f.command


def test_runtime_importing_another_torch_is_inconsistent(matrix):
    facts = change(load(H100), {"torch_runtime.version": "2.9.0+cu128",
                                "torch_runtime.torch_file": "/src/pytorch/torch/__init__.py"})
    f = one(facts, matrix, "EC307")
    assert any("/src/pytorch" in e for e in f.evidence)


def test_torchaudio_without_a_partner_release(matrix):
    laptop = load("laptop-rtx3060-cpu-torch")  # torchaudio 2.13.0+cpu: same version, trusted
    assert "EC302" not in codes(laptop, matrix)[0]
    f = one(change(laptop, {"torch.torchaudio": ta("2.11.0+cpu")}), matrix, "EC302")
    assert f.command == "pip uninstall -y torchaudio"
