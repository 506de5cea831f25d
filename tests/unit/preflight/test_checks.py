"""Threshold checks fed with recorded NVML readings and real psutil readings of this machine."""

from __future__ import annotations

from dataclasses import replace

import pytest

from envcheck.preflight import config
from envcheck.preflight.checks import Check, HostReadings, exit_code, finding_checks, node_checks, worst
from envcheck.facts.model import DriverFacts, GpuFacts

from helpers.preflight import facts_with_driver, snapshot


def by_id(checks, cid, subject=None):
    found = [c for c in checks if c.id == cid and (subject is None or c.subject == subject)]
    assert found, "no {} check in {}".format(cid, [c.id for c in checks])
    return found[0]


DISKS = HostReadings(disks=(("/tmp", 50 * 2**30, None),))


def test_healthy_h100_node_passes_the_h100_profile():
    checks = node_checks(facts_with_driver("h100x8-healthy"), config.resolve("h100-sxm"), DISKS)
    assert exit_code(checks) == 0, [c for c in checks if c.status not in ("pass", "n/a")]
    count = by_id(checks, "gpu.count")
    assert (count.value, count.limit, count.source) == (8, 8, "profile h100-sxm")
    mem = by_id(checks, "gpu.memory")
    assert mem.status == "pass" and len(mem.per_gpu) == 8 and "81559 MiB" in mem.measured
    assert by_id(checks, "gpu.pcie").measured == "GPU 0-7: Gen5 x16"
    assert by_id(checks, "gpu.retired_pages").status == "n/a"  # Hopper remaps rows instead


def test_80gib_is_more_than_an_80gb_h100():
    th = config.resolve("h100-sxm", None, {"min_gpu_memory": "80GiB"})
    mem = by_id(node_checks(facts_with_driver("h100x8-healthy"), th, DISKS), "gpu.memory")
    assert mem.status == "fail" and mem.measured.startswith("GPU 0-7: 81559 MiB")


def test_uncorrectable_ecc_and_pending_remap_fail():
    checks = node_checks(facts_with_driver("a100-ecc-remap-pending"), config.resolve(), DISKS)
    ecc = by_id(checks, "gpu.ecc_errors")
    assert ecc.status == "fail" and ecc.measured.startswith("GPU 0: 2 uncorrectable")
    assert ecc.threshold == "<= 0 (volatile)"
    remap = by_id(checks, "gpu.row_remap")
    assert remap.status == "fail" and "pending" in remap.measured
    assert exit_code(checks) == 1


def test_ecc_threshold_is_configurable():
    th = config.resolve("default", None, {"max_ecc_uncorrected": 5})
    assert by_id(node_checks(facts_with_driver("a100-ecc-remap-pending"), th, DISKS), "gpu.ecc_errors").status == "pass"


def test_lost_gpus_fail_the_count_and_are_named():
    checks = node_checks(facts_with_driver("gpu-lost"), config.resolve(), DISKS)
    count = by_id(checks, "gpu.count")
    assert count.status == "fail"
    assert count.measured == "6 GPU(s) usable of 8"
    assert "GPU 3 " in count.detail and "GPU 6 lost" in count.detail


def test_pre_ampere_page_retirement():
    checks = node_checks(facts_with_driver("v100"), config.resolve(), DISKS)
    retired = by_id(checks, "gpu.retired_pages")
    assert retired.status == "pass" and retired.value == 1
    th = config.resolve("default", None, {"max_retired_pages": 0})
    assert by_id(node_checks(facts_with_driver("v100"), th, DISKS), "gpu.retired_pages").status == "fail"


def test_pending_retirement_fails_whatever_the_count():
    f = facts_with_driver("v100")
    gpu = replace(f.driver.gpus[0], retired_pages_pending=True)
    f = replace(f, driver=replace(f.driver, gpus=(gpu,)))
    retired = by_id(node_checks(f, config.resolve(), DISKS), "gpu.retired_pages")
    assert retired.status == "fail" and "pending" in retired.measured


def test_laptop_power_cap_idle_link_and_no_ecc():
    checks = node_checks(facts_with_driver("rtx3060-laptop"), config.resolve(), DISKS)
    assert by_id(checks, "gpu.ecc").status == "n/a"
    assert by_id(checks, "gpu.ecc_errors").status == "n/a"
    assert by_id(checks, "gpu.throttle").status == "warn"  # sw-power-cap
    pcie = by_id(checks, "gpu.pcie")
    assert pcie.status == "warn" and "x8 of x16 at idle" in pcie.measured
    persistence = by_id(checks, "gpu.persistence")
    assert persistence.status == "warn" and "severity: warn" in persistence.detail
    assert exit_code(checks) == 0
    assert exit_code(checks, strict=True) == 1


def test_idle_link_trained_down_in_generation_passes_with_a_note():
    pcie = by_id(node_checks(facts_with_driver("rtx4090"), config.resolve(), DISKS), "gpu.pcie")
    assert pcie.status == "pass"
    assert "idle links train down" in pcie.measured


def _gpu(**kw):
    base = dict(index=0, name="NVIDIA H100 80GB HBM3", memory_total_mib=81559, memory_used_mib=1, temperature_c=30,
                persistence_mode=True, ecc_enabled=True, ecc_uncorrected_volatile=0, throttle_reasons=("gpu-idle",),
                pcie_gen_current=1, pcie_gen_max=5, pcie_width_current=16, pcie_width_max=16,
                clock_sm_mhz=345, clock_sm_max_mhz=1980)
    base.update(kw)
    return GpuFacts(**base)


def _facts(*gpus):
    f = snapshot("h100x8-torch2.11-cu130-driver580")
    return replace(f, driver=replace(f.driver, gpus=tuple(gpus), gpu_count=len(gpus)))


@pytest.mark.parametrize("gpu, under_load, status, text", [
    (_gpu(), {}, "pass", "at idle"),
    (_gpu(), {0: (5, 16)}, "pass", "Gen5 x16 under load"),
    (_gpu(), {0: (4, 16)}, "fail", "Gen4 x16 under load (max Gen5 x16)"),
    (_gpu(), {0: (5, 8)}, "fail", "Gen5 x8 under load"),
    (_gpu(throttle_reasons=(), clock_sm_mhz=1980, pcie_gen_current=3), {}, "fail", "while busy"),
    (_gpu(pcie_width_current=8), {}, "warn", "confirm under load"),
    (_gpu(pcie_gen_current=None), {}, "n/a", "not reported"),
])
def test_pcie_rule(gpu, under_load, status, text):
    c = by_id(node_checks(_facts(gpu), config.resolve(), HostReadings(DISKS.disks, under_load)), "gpu.pcie")
    assert c.status == status and text in c.measured


@pytest.mark.parametrize("reasons, status", [
    (("gpu-idle",), "pass"),
    (("applications-clocks-setting", "sync-boost"), "pass"),
    (("sw-power-cap",), "warn"),
    (("hw-slowdown",), "fail"),
    (("hw-thermal-slowdown", "gpu-idle"), "fail"),
])
def test_throttle_reasons(reasons, status):
    c = by_id(node_checks(_facts(_gpu(throttle_reasons=reasons)), config.resolve(), DISKS), "gpu.throttle")
    assert c.status == status


def test_failing_gpus_are_named_among_healthy_ones():
    gpus = [_gpu(index=i, temperature_c=30 + i) for i in range(8)]
    gpus[5] = _gpu(index=5, temperature_c=92)
    gpus[6] = _gpu(index=6, memory_used_mib=30000)
    checks = node_checks(_facts(*gpus), config.resolve(), DISKS)
    temp = by_id(checks, "gpu.temperature")
    assert temp.status == "fail" and temp.measured == "GPU 5: 92 C (7 other GPU(s) fine)"
    assert [s for _, s, _ in temp.per_gpu].count("fail") == 1
    used = by_id(checks, "gpu.memory_used")
    assert used.status == "fail" and used.measured.startswith("GPU 6: 30000 MiB used")


def test_missing_readings_are_not_run_never_pass():
    checks = node_checks(_facts(_gpu(temperature_c=None, memory_used_mib=None, ecc_uncorrected_volatile=None)),
                         config.resolve(), DISKS)
    assert by_id(checks, "gpu.temperature").status == "not-run"
    assert by_id(checks, "gpu.memory_used").status == "not-run"
    assert by_id(checks, "gpu.ecc_errors").status == "not-run"  # ECC on, counter unreadable
    assert exit_code(checks) == 3


def test_no_nvml_binding_is_not_run_and_no_driver_fails():
    f = snapshot("this-machine")
    no_binding = replace(f, driver=DriverFacts(status="missing", error_code="pynvml-missing", detail="pynvml: ImportError"))
    assert by_id(node_checks(no_binding, config.resolve(), DISKS), "gpu.count").status == "not-run"
    count = by_id(node_checks(f, config.resolve(), DISKS), "gpu.count")
    assert count.status == "fail" and "NVML missing" in count.detail
    assert by_id(node_checks(f, config.resolve("cpu"), DISKS), "gpu.count").status == "n/a"


def test_driver_cuda_and_torch_thresholds():
    f = facts_with_driver("h100x8-healthy")  # driver 580.82.07, CUDA 13.0; torch 2.11.0
    th = config.resolve("default", None, {"min_driver": "570", "min_cuda": "12.8", "require_torch": ">=2.6"})
    checks = node_checks(f, th, DISKS)
    assert [by_id(checks, c).status for c in ("driver.version", "driver.cuda", "torch.version")] == ["pass"] * 3
    th = config.resolve("default", None, {"min_driver": "580.95", "min_cuda": "13.1", "require_torch": ">=2.12"})
    checks = node_checks(f, th, DISKS)
    assert [by_id(checks, c).status for c in ("driver.version", "driver.cuda", "torch.version")] == ["fail"] * 3
    assert by_id(checks, "torch.version").measured == "torch 2.11.0"
    plus_local = replace(f, torch=replace(f.torch, version="2.6.0+cu124"))
    th = config.resolve("default", None, {"require_torch": "2.6"})
    assert by_id(node_checks(plus_local, th, DISKS), "torch.version").status == "pass"


def test_torch_missing_fails_a_torch_requirement():
    th = config.resolve("default", None, {"require_torch": ">=2.6"})
    c = by_id(node_checks(snapshot("this-machine"), th, DISKS), "torch.version")
    assert c.status == "fail" and c.measured == "torch not installed"


def test_host_checks_with_real_psutil_readings():
    """This machine's own host facts (psutil), against a generous and an impossible profile."""
    from envcheck.preflight.node import measure_disks
    from envcheck.probes.host import probe_host

    f = replace(snapshot("this-machine"), host=probe_host())
    disks = HostReadings(disks=measure_disks(["/tmp", "/definitely/not/here"]))
    easy = config.resolve("cpu", None, {"min_free_ram": "1MiB", "min_shm": "1MiB", "min_open_files": 16,
                                        "min_free_disk": {"/tmp": "1MiB"}})
    checks = node_checks(f, easy, disks)
    for cid in ("host.ram", "host.shm", "host.open_files"):
        assert by_id(checks, cid).status == "pass", by_id(checks, cid)
    assert by_id(checks, "host.disk", "/tmp").status == "pass"
    hard = config.resolve("cpu", None, {"min_free_ram": "1PB", "min_shm": "1PB", "min_open_files": 2**40,
                                        "min_free_disk": {"/tmp": "1PB", "/definitely/not/here": "1GB"}})
    checks = node_checks(f, hard, disks)
    for cid in ("host.ram", "host.shm"):
        assert by_id(checks, cid).status == "fail"
    assert by_id(checks, "host.open_files").status == "warn"  # severity warn in the default profile
    assert by_id(checks, "host.disk", "/tmp").status == "fail"
    missing = by_id(checks, "host.disk", "/definitely/not/here")
    assert missing.status == "fail" and "does not exist" in missing.measured


def test_severity_off_drops_a_check():
    th = config.resolve("default", None, {"severity": {"gpu.temperature": "off"}})
    assert not [c for c in node_checks(facts_with_driver("h100x8-healthy"), th, DISKS) if c.id == "gpu.temperature"]


def test_findings_become_checks():
    from envcheck.rules.findings import finding

    findings = [finding("EC101", "driver too old", fix="upgrade", command="pip install x"),
                finding("EC403", "order"), finding("EC102", "compat")]
    assert [f.severity for f in findings] == ["error", "warning", "info"]  # from the catalogue
    checks = finding_checks(findings)
    assert [(c.status, c.subject) for c in checks] == [("fail", "EC101 driver-too-old"), ("warn", "EC403 cuda-device-order")]
    assert checks[0].detail == "upgrade\npip install x" and checks[0].measured == "driver too old"
    assert finding_checks([])[0].status == "pass"
    assert finding_checks(None, "no rules")[0].status == "not-run"


def test_a_finding_fix_and_its_alternative_reach_the_check(matrix):
    """The real EC201 of a recorded laptop: the fix keeps its release, the newest is the alternative."""
    from envcheck.facts import load_facts
    from envcheck.rules import diagnose

    from helpers.facts import snapshot_path

    diag = diagnose(load_facts(snapshot_path("laptop-rtx3060-cpu-torch")), matrix)
    [check] = [c for c in finding_checks(diag.findings) if c.value == "EC201"]
    command, alternative = check.detail.splitlines()[-2:]
    # the installed 2.13.0+cpu is replaced only by a pin that names the build (2.13.0 alone is "satisfied")
    assert command.startswith("pip install torch==2.13.0+cu126 ")
    assert alternative.startswith("or, the newest release for this machine") and "pip install torch==2.15.0 " in alternative


def test_worst_and_exit_codes():
    assert worst(["pass", "warn", "n/a"]) == "warn"
    assert worst(["pass", "not-run", "warn"]) == "not-run"
    assert worst([]) == "n/a"
    c = lambda s: Check("x", s, "", "")  # noqa: E731
    assert exit_code([c("pass"), c("n/a")]) == 0
    assert exit_code([c("pass"), c("not-run")]) == 3
    assert exit_code([c("fail"), c("not-run")]) == 1
    assert exit_code([c("warn")], strict=True) == 1


def test_check_round_trips_through_json():
    c = by_id(node_checks(facts_with_driver("a100-ecc-remap-pending"), config.resolve(), DISKS), "gpu.ecc_errors")
    assert Check.from_dict(c.to_dict()) == c
