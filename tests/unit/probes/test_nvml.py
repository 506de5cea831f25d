from __future__ import annotations

import os
import stat
import threading
import time

import pytest

from envcheck.probes import nvml as probe
from envcheck.probes.nvml import (
    DriverFacts,
    FieldError,
    cuda_version_string,
    parse_proc_driver_version,
    parse_smi_csv,
    probe_nvml,
)

from helpers.fakes import DATA, FakeNvml, load_recording, nvml_error


def _fake_root(tmp_path, recording) -> str:
    root = tmp_path / "root"
    text = recording.get("proc_driver_version")
    if text is not None:
        target = root / "proc" / "driver" / "nvidia"
        target.mkdir(parents=True)
        (target / "version").write_text(text)
    else:
        root.mkdir()
    return str(root)


def _fake_smi(tmp_path, recording) -> str:
    """A real nvidia-smi stand-in that prints the recorded output (or is absent)."""
    rec = recording.get("nvidia_smi")
    path = tmp_path / "nvidia-smi"
    if rec is None:
        return str(path)  # does not exist: "not found"
    (tmp_path / "smi.out").write_text(rec["stdout"])
    path.write_text(
        '#!/bin/sh\ncat "{}"\nexit {}\n'.format(tmp_path / "smi.out", rec["returncode"])
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def _probe(tmp_path, name: str) -> tuple[DriverFacts, FakeNvml]:
    recording = load_recording(name)
    fake = FakeNvml(recording)
    facts = probe_nvml(
        fake,
        root=_fake_root(tmp_path, recording),
        smi=_fake_smi(tmp_path, recording),
        nvml_timeout=None,
    )
    return facts, fake


# -- recorded machines -------------------------------------------------------------------------




def test_h100_node_reads_every_field(tmp_path):
    facts, _ = _probe(tmp_path, "h100x8-healthy")
    assert facts.cuda_max_raw == 13000
    assert facts.nvml_version == "13.580.82.07"
    assert facts.smi is None  # NVML worked: no fallback run
    assert facts.kernel_module.flavor == "open"
    assert [g.pci_bus_id for g in facts.gpus][:2] == ["00000000:18:00.0", "00000000:2A:00.0"]
    g = facts.gpus[0]
    assert (g.index, g.status, g.source, g.name) == (0, "ok", "nvml", "NVIDIA H100 80GB HBM3")
    assert g.uuid.startswith("GPU-") and len(g.uuid) == 40
    assert g.compute_capability == "9.0"
    assert (g.memory_total_mib, g.memory_used_mib) == (81559, 1)
    assert (g.mig_enabled, g.mig_enabled_after_reset, g.compute_mode, g.persistence_mode) == (
        False,
        False,
        "default",
        True,
    )
    assert (g.ecc_enabled, g.ecc_uncorrected_volatile, g.ecc_uncorrected_aggregate) == (True, 0, 0)
    # H100 replaced page retirement by row remapping: NOT_SUPPORTED is None, not an error.
    assert (g.retired_pages_sbe, g.retired_pages_dbe, g.retired_pages_pending) == (None, None, None)
    assert (g.remapped_rows_uncorrectable, g.remap_pending, g.remap_failed) == (0, False, False)
    assert (g.power_limit_w, g.power_draw_w) == (700.0, 69.0)
    assert (g.clock_sm_mhz, g.clock_sm_max_mhz, g.clock_mem_max_mhz) == (345, 1980, 2619)
    assert g.throttle_reasons == ("gpu-idle",)
    assert (g.pcie_gen_current, g.pcie_gen_max, g.pcie_width_current, g.pcie_width_max) == (
        5,
        5,
        16,
        16,
    )
    assert all(gpu.errors == () for gpu in facts.gpus)


def test_a100_uncorrectable_ecc_and_pending_remap(tmp_path):
    facts, _ = _probe(tmp_path, "a100-ecc-remap-pending")
    (g,) = facts.gpus
    assert (g.ecc_uncorrected_volatile, g.ecc_uncorrected_aggregate) == (2, 2)
    assert (g.remapped_rows_correctable, g.remapped_rows_uncorrectable) == (0, 1)
    assert (g.remap_pending, g.remap_failed) == (True, False)
    assert g.compute_capability == "8.0" and g.pcie_gen_max == 4


def test_gpu_lost_is_per_gpu_and_keeps_what_was_read(tmp_path):
    facts, _ = _probe(tmp_path, "gpu-lost")
    statuses = [g.status for g in facts.gpus]
    assert statuses == ["ok", "ok", "ok", "lost", "ok", "ok", "lost", "ok"]
    assert facts.gpus[3].errors == (FieldError("handle", "gpu-lost", "GPU is lost"),)
    g6 = facts.gpus[6]
    assert g6.name == "NVIDIA A100-SXM4-40GB" and g6.compute_capability == "8.0"
    assert g6.temperature_c is None and g6.power_draw_w is None  # queries stopped there
    assert [e.field for e in g6.errors] == ["temperature"]
    assert "lost: 3, 6" in facts.detail


def test_consumer_card_unsupported_fields_are_none(tmp_path):
    facts, _ = _probe(tmp_path, "rtx4090")
    (g,) = facts.gpus
    assert g.compute_capability == "8.9"
    assert (g.serial, g.ecc_enabled, g.ecc_uncorrected_volatile, g.mig_enabled) == (
        None,
        None,
        None,
        None,
    )
    assert (g.remap_pending, g.persistence_mode) == (None, False)
    assert (g.pcie_gen_current, g.pcie_gen_max) == (1, 4)
    assert g.errors == ()


def test_v100_page_retirement_and_older_throttle_call(tmp_path):
    facts, fake = _probe(tmp_path, "v100")
    (g,) = facts.gpus
    assert (g.retired_pages_sbe, g.retired_pages_dbe, g.retired_pages_pending) == (0, 1, False)
    assert g.remap_pending is None
    assert g.throttle_reasons == ("gpu-idle",)
    assert ("nvmlDeviceGetCurrentClocksThrottleReasons", ()) in fake.calls
    assert g.compute_capability == "7.0"








# -- failures of the binding itself ---------------------------------------------------------


def test_pynvml_not_installed(tmp_path):
    facts = probe_nvml(
        root=str(tmp_path),
        smi=None,
        importer=lambda: (None, "ModuleNotFoundError: No module named 'pynvml'"),
    )
    assert (facts.status, facts.error_code) == ("missing", "pynvml-missing")
    assert "No module named 'pynvml'" in facts.detail


def test_binding_bug_is_recorded_not_raised(tmp_path):
    recording = load_recording("rtx4090")
    fake = FakeNvml(recording)

    def broken(handle, *args):
        raise RuntimeError("ctypes went wrong")

    fake.nvmlDeviceGetTemperature = broken
    facts = probe_nvml(fake, root=str(tmp_path), smi=None, nvml_timeout=None)
    (g,) = facts.gpus
    assert g.temperature_c is None
    assert g.errors == (FieldError("temperature", "unknown", "RuntimeError: ctypes went wrong"),)
    assert g.name == "NVIDIA GeForce RTX 4090"


def test_device_count_failure_still_shuts_down(tmp_path):
    fake = FakeNvml(load_recording("rtx4090"))

    def count():
        raise nvml_error("UNKNOWN")

    fake.nvmlDeviceGetCount = count
    facts = probe_nvml(fake, root=str(tmp_path), smi=None, nvml_timeout=None)
    assert (facts.status, facts.error_code, facts.version) == ("failed", "unknown", "550.120")
    assert fake.shutdowns == 1


def test_hanging_nvml_is_bounded(tmp_path):
    release = threading.Event()
    fake = FakeNvml(load_recording("rtx4090"))
    fake.nvmlInit = lambda: release.wait(10)
    start = time.monotonic()
    try:
        facts = probe_nvml(fake, root=str(tmp_path), smi=None, nvml_timeout=0.3)
    finally:
        release.set()
    assert time.monotonic() - start < 2
    assert (facts.status, facts.error_code) == ("timed-out", "timeout")




# -- pure parsers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text",
    [
        (12080, "12.8"),
        (13000, "13.0"),
        (12020, "12.2"),
        (11040, "11.4"),
        (10010, "10.1"),
        (12090, "12.9"),
        (11080, "11.8"),
    ],
)
def test_cuda_version_string(raw, text):
    assert cuda_version_string(raw) == text


@pytest.mark.parametrize(
    "fixture, version, flavor, arch, gcc",
    [
        (
            "535.104.05.txt",
            "535.104.05",
            "proprietary",
            "x86_64",
            "11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04)",
        ),
        (
            "470.199.02.txt",
            "470.199.02",
            "proprietary",
            "x86_64",
            "9.4.0 (Ubuntu 9.4.0-1ubuntu1~20.04.1)",
        ),
        (
            "570.133.20-open.txt",
            "570.133.20",
            "open",
            "x86_64",
            "12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)",
        ),
        (
            "580.82.07-open-aarch64.txt",
            "580.82.07",
            "open",
            "aarch64",
            "13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)",
        ),
    ],
)
def test_parse_proc_driver_version(fixture, version, flavor, arch, gcc):
    with open(os.path.join(DATA, "proc_driver_version", fixture)) as fh:
        km = parse_proc_driver_version(fh.read())
    assert (km.status, km.version, km.flavor, km.arch, km.gcc) == ("ok", version, flavor, arch, gcc)


def test_parse_proc_driver_version_rejects_other_text():
    km = parse_proc_driver_version("nouveau something\n")
    assert km.status == "failed" and "nouveau" in km.detail


@pytest.mark.parametrize(
    "fixture, rows",
    [
        ("h100x8.csv", [(i, "NVIDIA H100 80GB HBM3", "580.82.07", 81559, "9.0") for i in range(8)]),
        (
            "rtx4090-and-gtx1080ti.csv",
            [
                (0, "NVIDIA GeForce RTX 4090", "550.120", 24564, "8.9"),
                (1, "NVIDIA GeForce GTX 1080 Ti", "550.120", 11264, "6.1"),
            ],
        ),
        (
            "unknown-error.csv",
            [
                (0, "NVIDIA A100-SXM4-40GB", "535.104.05", 40960, "8.0"),
                (1, None, "535.104.05", None, None),
            ],
        ),
        ("invalid-field-compute_cap.txt", []),
    ],
)
def test_parse_smi_csv(fixture, rows):
    with open(os.path.join(DATA, "nvidia_smi", fixture)) as fh:
        gpus = parse_smi_csv(fh.read())
    assert [
        (g.index, g.name, g.driver_version, g.memory_total_mib, g.compute_capability) for g in gpus
    ] == rows


def test_smi_bus_ids_match_nvml_recording():
    with open(os.path.join(DATA, "nvidia_smi", "h100x8.csv")) as fh:
        gpus = parse_smi_csv(fh.read())
    recording = load_recording("h100x8-healthy")
    assert [g.uuid for g in gpus] == [d["nvmlDeviceGetUUID"] for d in recording["devices"]]
    assert gpus[7].pci_bus_id == "00000000:DB:00.0"


def test_error_codes_cover_the_documented_failures():
    for code in (
        "pynvml-missing",
        "library-not-found",
        "driver-not-loaded",
        "driver-library-mismatch",
        "no-permission",
        "gpu-lost",
        "unknown",
    ):
        assert code in probe.ERROR_CODES


# -- nvidia-smi's failures, read (its real messages) ----------------------------------------------

SMI_COULD_NOT = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
                 "that the latest NVIDIA driver is installed and running.")


@pytest.mark.parametrize("output, returncode, code", [
    (SMI_COULD_NOT + "\n", 9, "driver-not-loaded"),
    ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95\n", 18,
     "driver-library-mismatch"),
    ("Failed to initialize NVML: Insufficient Permissions\n", 4, "no-permission"),
    ("NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please make sure that the NVIDIA "
     "Display Driver is properly installed and present in your system.\n", 12, "library-not-found"),
    ("Unable to determine the device handle for GPU0000:3B:00.0: GPU is lost.  Reboot the system to "
     "recover this GPU\n", 15, "gpu-lost"),
    ("Failed to initialize NVML: GPU access blocked by the operating system\n", 255, "operating-system"),
    ("No devices were found\n", 6, "no-devices"),
    ("Failed to initialize NVML: Unknown Error\n", 255, "unknown"),
    ("something new and strange\n", 9, "driver-not-loaded"),  # no known words: its documented exit code
    ("something new and strange\n", 255, None),
])
def test_smi_error_reads_its_messages_and_exit_codes(output, returncode, code):
    found, line = probe.smi_error(output, returncode)
    assert found == code
    assert line.split("; ")[0] == output.splitlines()[0]  # the line that says it, for the finding's title


def test_smi_mismatch_keeps_the_library_version():
    _, line = probe.smi_error("Failed to initialize NVML: Driver/library version mismatch\n"
                              "NVML library version: 580.95\n", 18)
    assert line == "Failed to initialize NVML: Driver/library version mismatch; NVML library version: 580.95"


@pytest.mark.parametrize("nvml, smi, status, code", [
    # NVML could not start (no library): a failing nvidia-smi's word is the driver's
    (DriverFacts(status="missing", error_code="library-not-found", detail="nvmlInit: not found"),
     probe.SmiFacts(status="failed", detail="exit status 9: " + SMI_COULD_NOT, error_code="driver-not-loaded"),
     "failed", "driver-not-loaded"),
    (DriverFacts(status="missing", error_code="pynvml-missing", detail="pynvml: no module"),
     probe.SmiFacts(status="timed-out", detail="no answer within 4.0 s (killed)", error_code="timeout"),
     "timed-out", "timeout"),
    (DriverFacts(status="failed", error_code="unknown", detail="NVML: RuntimeError"),
     probe.SmiFacts(status="failed", detail="killed by SIGSEGV", error_code="crashed"), "failed", "crashed"),
    # NVML's own specific failure stands
    (DriverFacts(status="failed", error_code="driver-library-mismatch", detail="nvmlInit: mismatch"),
     probe.SmiFacts(status="failed", detail="exit status 255: x", error_code="unknown"),
     "failed", "driver-library-mismatch"),
    # no nvidia-smi at all: still "no driver"
    (DriverFacts(status="missing", error_code="library-not-found", detail="nvmlInit: not found"),
     probe.SmiFacts(status="missing", detail="nvidia-smi: not found"), "missing", "library-not-found"),
])
def test_a_failing_nvidia_smi_is_never_read_as_no_driver(nvml, smi, status, code):
    facts = probe._heard_from_smi(nvml, smi)
    assert (facts.status, facts.error_code) == (status, code)
    if facts is not nvml:
        assert facts.detail.startswith("nvidia-smi: " + smi.detail) and nvml.detail in facts.detail
