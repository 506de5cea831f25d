from __future__ import annotations

import os

import pytest

from envcheck.probes.nvml import (
    probe_nvml,
)

from unit.probes.test_nvml import _probe  # shared with the unit twin


# -- recorded machines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, status, code, version, cuda_max, count, kernel",
    [
        ("h100x8-healthy", "ok", None, "580.82.07", "13.0", 8, "580.82.07"),
        ("a100-ecc-remap-pending", "ok", None, "535.104.05", "12.2", 1, "535.104.05"),
        ("gpu-lost", "ok", "gpu-lost", "535.104.05", "12.2", 8, "535.104.05"),
        ("rtx4090", "ok", None, "550.120", "12.4", 1, "550.120"),
        ("v100", "ok", None, "470.199.02", "11.4", 1, "470.199.02"),
        (
            "driver-library-mismatch",
            "failed",
            "driver-library-mismatch",
            "535.104.05",
            None,
            None,
            "535.104.05",
        ),
        ("driver-not-loaded", "missing", "driver-not-loaded", None, None, None, None),
        ("no-permission", "failed", "no-permission", "550.54.15", None, 1, "550.54.15"),
    ],
)
def test_recorded_machines(tmp_path, name, status, code, version, cuda_max, count, kernel):
    facts, fake = _probe(tmp_path, name)
    assert facts.status == status
    assert facts.error_code == code
    assert facts.version == version
    assert facts.cuda_max == cuda_max
    assert facts.gpu_count == count
    assert facts.kernel_module.version == kernel
    assert fake.shutdowns == (0 if fake.recording.get("init_error") else 1)


def test_mismatch_keeps_kernel_module_and_smi_evidence(tmp_path):
    facts, _ = _probe(tmp_path, "driver-library-mismatch")
    assert facts.detail == "nvmlInit: RM has detected an NVML/RM version mismatch."
    assert facts.version_source == "kernel-module"
    assert facts.smi is not None and facts.smi.status == "failed"
    assert "exit status 18" in facts.smi.detail
    assert "NVML library version: 535.183" in facts.smi.detail
    assert facts.gpus == ()


def test_nvml_failure_falls_back_to_smi_gpus(tmp_path):
    facts, _ = _probe(tmp_path, "no-permission")
    assert facts.smi.status == "ok"
    (g,) = facts.gpus
    assert (g.source, g.name, g.compute_capability, g.memory_total_mib) == (
        "nvidia-smi",
        "NVIDIA L4",
        "8.9",
        23034,
    )
    assert facts.version_source == "nvidia-smi"


def test_driver_not_loaded_smi_fails_too(tmp_path):
    facts, _ = _probe(tmp_path, "driver-not-loaded")
    assert facts.kernel_module.status == "missing"
    assert facts.smi.status == "failed" and "exit status 9" in facts.smi.detail


def test_real_probe_on_a_machine_without_driver():
    """This machine has no NVIDIA driver: the real probe must say so, not crash."""
    if os.path.exists("/proc/driver/nvidia/version"):
        pytest.skip("an NVIDIA driver is loaded here")
    facts = probe_nvml(smi_timeout=2.0)
    assert facts.status == "missing"
    assert facts.error_code in ("library-not-found", "driver-not-loaded", "pynvml-missing")
    assert facts.gpus == ()
    assert facts.kernel_module.status == "missing"
