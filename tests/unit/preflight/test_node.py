"""The node run with its collaborators passed in, the PCIe sampler on recorded NVML, the perf verdict."""

from __future__ import annotations

import json
import time

import pytest

from envcheck.preflight import config, node
from envcheck.preflight.checks import Check
from envcheck.preflight.node import NodeReport, PcieSampler, measure_disks, run_node
from envcheck.preflight.perf import judge_tflops
from envcheck.render.preflight_text import node_lines

from helpers.preflight import facts_with_driver, load_fakes, snapshot


class _Sampler:
    """A sampler stand-in that reports the link seen under load."""

    def __init__(self, best):
        self.best, self.samples = best, 5

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def _run(facts, th, findings=(), verify_checks=None, best=None, progress=None):
    calls = {}

    def collect(quick, timeout):
        calls["collect"] = (quick, timeout)
        return facts

    def diagnose(f):
        calls["diagnose"] = True
        return list(findings), ""

    def verify(th_, budget, devices, driver, python):
        calls["verify"] = budget
        calls["devices"] = devices
        calls["perf"] = th_.perf
        return list(verify_checks or []), {"perf_tflops": 780.0}

    report = run_node(th, collect=collect, diagnose=diagnose, verify=verify, sampler=lambda: _Sampler(best or {}),
                      progress=progress or (lambda line: None), budget=30)
    return report, calls


def test_node_run_combines_facts_diagnose_verify_and_thresholds():
    lines = []
    from envcheck.rules.findings import finding

    findings = [finding("EC101", "too old"), finding("EC602", "ECC"), finding("EC102", "compat")]
    vchecks = [Check("verify", "pass", "quick verify passed", "passes"), Check("perf", "pass", "0.79 of peak", ">= 0.53")]
    report, calls = _run(facts_with_driver("h100x8-healthy"), config.resolve("h100-sxm"), findings, vchecks,
                         best={i: (5, 16) for i in range(8)}, progress=lines.append)
    ids = [c.id for c in report.checks]
    assert calls["collect"][0] is False  # diagnose needs the torch child
    assert "verify" in ids and "perf" in ids and "gpu.count" in ids
    diag = [c for c in report.checks if c.id == "diagnose"]
    assert [c.subject for c in diag] == ["EC101 driver-too-old"]  # EC602 is judged by gpu.ecc_errors
    assert report.exit_code == 1
    pcie = [c for c in report.checks if c.id == "gpu.pcie"][0]
    assert "under load" in pcie.measured
    assert report.extra == {"perf_tflops": 780.0}
    assert any("[1/3] collecting facts" in line for line in lines) and lines[-1].startswith("preflight: done in")
    text = node_lines(report)
    assert text[0].startswith("preflight redacted-host (profile h100-sxm): 8 GPU(s) NVIDIA H100 80GB HBM3")
    assert text[-1].startswith("result: FAIL (exit 1;")


def test_quick_profile_skips_the_torch_child_and_verify():
    th = config.resolve("cpu", None, {"diagnose": False, "verify": False})
    report, calls = _run(snapshot("this-machine"), th)
    assert calls["collect"][0] is True
    assert "diagnose" not in calls and "verify" not in calls
    assert not [c for c in report.checks if c.id in ("verify", "perf", "diagnose")]


def test_no_gpu_means_verify_runs_on_the_cpu_and_perf_does_not_apply():
    """A node without GPUs still needs a working torch: verify checks it on the CPU."""
    failing = [Check("verify", "fail", "torch is not installed", "passes")]
    report, calls = _run(snapshot("this-machine"), config.resolve("cpu", None, {"verify": True, "perf": True}),
                         verify_checks=failing)
    assert calls["devices"] == ["cpu"] and calls["perf"] is False
    assert {c.id: c.status for c in report.checks if c.id in ("verify", "perf")} == {"verify": "fail", "perf": "n/a"}
    assert report.exit_code == 1


def test_gpu_node_verifies_every_gpu_with_nvml_facts():
    report, calls = _run(facts_with_driver("h100x8-healthy"), config.resolve("h100-sxm"),
                         verify_checks=[Check("verify", "pass", "ok", "passes")])
    assert calls["devices"] is None and calls["perf"] is True


def test_a_rank_judges_its_own_gpu_but_counts_the_whole_node():
    """Under --distributed each rank judges its GPU's health; the count is still the node's 8."""
    th = config.resolve("h100-sxm", None, {"diagnose": False, "verify": False, "perf": False})
    facts = facts_with_driver("h100x8-healthy")
    report = run_node(th, collect=lambda quick, timeout: facts, judge_gpus=[3], budget=30)
    checks = {c.id: c for c in report.checks}
    assert checks["gpu.count"].status == "pass" and checks["gpu.count"].value == 8
    assert [row[0] for row in checks["gpu.temperature"].per_gpu] == [3]
    assert [row[0] for row in checks["gpu.model"].per_gpu] == [3]


def test_model_and_memory_requirements_fail_without_a_gpu():
    """They must not vanish on a node with no GPU: 0 GPUs do not match 'H100'."""
    th = config.resolve("h100-sxm", None, {"diagnose": False, "verify": False, "perf": False})
    report, _ = _run(snapshot("this-machine"), th)
    checks = {c.id: c.status for c in report.checks}
    assert checks["gpu.model"] == "fail" and checks["gpu.memory"] == "fail"
    th0 = config.resolve("cpu", None, {"diagnose": False, "verify": False, "gpu_model": "H100"})
    report0, _ = _run(snapshot("this-machine"), th0)
    assert {c.id: c.status for c in report0.checks}["gpu.model"] == "n/a"


def test_verify_unavailable_is_not_run(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "envcheck.verify", None)  # import fails as if absent
    checks, _ = node.run_verify(config.resolve(), 10.0, None)
    assert {c.id for c in checks} == {"verify", "perf"}
    assert all(c.status == "not-run" for c in checks)


def _verify_report(bf16_fraction=0.80, failed_check=False, gpu_class="hbm-datacenter"):
    from envcheck.verify.model import CheckResult, DeviceReport, PerfLine, PerfReport, VerifyReport

    devices = []
    for i in range(2):
        checks = [CheckResult("tensor", "passed"), CheckResult("matmul-bf16", "passed")]
        if failed_check and i == 1:
            checks[1] = CheckResult("matmul-bf16", "failed", "wrong result (max error 3.1)")
        frac = bf16_fraction if i == 1 else 0.80
        verdict = "fail" if frac < 0.75 * 0.71 else ("low" if frac < 0.75 * 0.95 else "ok")
        perf = PerfReport("cuda:{}".format(i), "NVIDIA H100 80GB HBM3", "h100_sxm", "NVIDIA H100 SXM5 80GB", gpu_class,
                          "official", (PerfLine("matmul-bf16", "measured", 989 * frac, "TFLOP/s", 989, frac, (0.75, 0.87), verdict),))
        devices.append(DeviceReport("cuda:{}".format(i), "cuda", "NVIDIA H100 80GB HBM3", checks=checks, perf=perf))
    return VerifyReport(torch={}, python="python", devices=devices)


@pytest.mark.parametrize("kwargs, verify_status, perf_status", [
    ({}, "pass", "pass"),
    ({"failed_check": True}, "fail", "pass"),
    ({"bf16_fraction": 0.66}, "pass", "warn"),
    ({"bf16_fraction": 0.40}, "pass", "fail"),
])
def test_verify_report_becomes_checks(kwargs, verify_status, perf_status):
    checks, extra = node.verify_checks(_verify_report(**kwargs), config.resolve())
    got = {c.id: c for c in checks}
    assert got["verify"].status == verify_status
    assert got["perf"].status == perf_status
    assert extra["perf"]["cuda:0"]["perf_tflops"] == pytest.approx(791.2)
    if perf_status != "pass":
        assert got["perf"].measured.startswith("cuda:1: matmul-bf16")
        assert [s for _, s, _ in got["perf"].per_gpu] == ["pass", perf_status]


def test_perf_fractions_override_verify_verdict():
    th = config.resolve("default", None, {"perf_fractions": {"hbm-datacenter": 0.85}})
    checks, _ = node.verify_checks(_verify_report(), th)
    assert {c.id: c.status for c in checks}["perf"] == "fail"


def test_real_diagnose_on_a_recorded_snapshot():
    findings, why = node.run_diagnose(snapshot("h100x8-torch2.11-cu130-driver580"))
    assert findings is not None, why
    from envcheck.rules.findings import Finding

    assert findings and all(isinstance(f, Finding) and f.code and f.title for f in findings)


def test_report_round_trips_through_json():
    report, _ = _run(facts_with_driver("a100-ecc-remap-pending"), config.resolve())
    report.rank, report.local_rank = 3, 1
    data = json.loads(json.dumps(report.to_dict()))
    back = NodeReport.from_dict(data)
    assert back.checks == report.checks and back.rank == 3 and back.summary == report.summary
    assert data["status"] == "fail" and data["counts"]["fail"] >= 2


def test_measure_disks_is_bounded(monkeypatch, tmp_path):
    import psutil

    real = psutil.disk_usage

    def slow(path):
        if path == str(tmp_path):
            time.sleep(5)
        return real(path)

    monkeypatch.setattr(psutil, "disk_usage", slow)
    start = time.monotonic()
    out = dict((p, (free, err)) for p, free, err in measure_disks(["/", str(tmp_path), "/no/such/dir"], timeout=0.5))
    assert time.monotonic() - start < 3
    assert out["/"][0] > 0
    assert out[str(tmp_path)][0] is None and "hung mount" in out[str(tmp_path)][1]
    assert "does not exist" in out["/no/such/dir"][1]


def test_pcie_sampler_counts_only_busy_samples():
    fakes = load_fakes()
    recording = fakes.load_recording("h100x8-healthy")  # idle: SM clock 345 of 1980 MHz
    nvml = fakes.FakeNvml(recording)
    with PcieSampler(nvml, interval=0.01) as s:
        time.sleep(0.1)
    assert s.samples >= 2 and s.error is None
    assert s.best == {}  # an idle GPU's link says nothing
    assert nvml.shutdowns == 1
    for dev in recording["devices"]:
        dev["nvmlDeviceGetClockInfo"] = dict(dev["nvmlDeviceGetClockInfo"], SM=1980)
    recording["devices"][3]["nvmlDeviceGetCurrPcieLinkGeneration"] = 4
    with PcieSampler(fakes.FakeNvml(recording), interval=0.01) as s:
        time.sleep(0.1)
    want = {i: (5, 16) for i in range(8)}
    want[3] = (4, 16)
    assert s.best == want


def test_pcie_sampler_without_nvml_takes_no_samples():
    fakes = load_fakes()
    with PcieSampler(fakes.FakeNvml(fakes.load_recording("driver-not-loaded")), interval=0.01) as s:
        time.sleep(0.05)
    assert s.samples == 0 and s.best == {} and "NVMLError" in s.error


@pytest.mark.parametrize("name, tflops, dtype, status", [
    ("NVIDIA H100 80GB HBM3", 790.0, "bf16", "pass"),     # 0.80 of 989
    ("NVIDIA H100 80GB HBM3", 650.0, "bf16", "warn"),     # 0.66: below 0.75 x 0.95
    ("NVIDIA H100 80GB HBM3", 400.0, "bf16", "fail"),     # 0.40: below 0.75 x 0.71
    ("NVIDIA A100-SXM4-80GB MIG 1g.10gb", 20.0, "bf16", "n/a"),
    ("NVIDIA Imaginary 9000", 100.0, "bf16", "not-run"),
])
def test_perf_verdict_per_gpu_class(name, tflops, dtype, status):
    assert judge_tflops(name, tflops, dtype, config.resolve()).status == status


def test_perf_fraction_override_per_class():
    th = config.resolve("default", None, {"perf_fractions": {"hbm-datacenter": 0.85}})
    c = judge_tflops("NVIDIA H100 80GB HBM3", 790.0, "bf16", th)
    assert c.status == "fail" and c.source == "profile perf_fractions.hbm-datacenter"


@pytest.mark.parametrize("name", ["NVIDIA H100 80GB HBM3", "NVIDIA A10G", "NVIDIA GeForce RTX 4090"])
@pytest.mark.parametrize("override", [None, 0.40, 0.85])
def test_one_perf_judge_for_the_distributed_rank_and_the_single_node_path(name, override):
    """A rank's judge_tflops and verify's judge (what run_node reads, with the profile's floor)
    give the same status for the same fraction, across the whole range, the uncertain-peak row
    (A10G) included: one judge over the GPU table."""
    from envcheck.matrix import gpus
    from envcheck.outcome import gate_of_verdict
    from envcheck.verify import perf

    table = gpus.load()
    row = gpus.match(table, name).row
    overrides = {"perf_fractions": {row.gpu_class: override}} if override is not None else {}
    th = config.resolve("default", None, overrides)
    peak = row.peaks["bf16"]
    seen = set()
    for pct in range(5, 130, 3):
        tflops = peak * pct / 100
        line = perf.judge("cuda:0", name, {"matmul-bf16": {"status": "passed", "value": tflops}}, None, table).lines[0]
        single = gate_of_verdict(perf.with_profile_floor(line.verdict, line.fraction, th.fraction_for(row.gpu_class)))
        rank = judge_tflops(name, tflops, "bf16", th, table).status
        assert rank == single, (pct, line.verdict, rank, single)
        seen.add(rank)
    # the grid crossed the lines it is meant to test (a floor of 0.85 leaves no warn band)
    assert "pass" in seen and ("warn" in seen or override == 0.85)
    if not row.peak_uncertain("bf16") or override is not None:
        assert "fail" in seen


@pytest.mark.parametrize("verdict, fraction, floor, expected", [
    ("ok", 0.80, None, "ok"),
    ("ok", 0.80, 0.85, "fail"),      # the profile asks for more than the table
    ("fail", 0.45, 0.40, "low"),     # the profile accepts less: still below the class's range
    ("low", 0.60, 0.40, "low"),
    ("high", 1.20, 0.40, "high"),
    ("none", 0.30, 0.40, "none"),    # no verdict (a MIG slice, no range) is not made one
    ("fail", None, 0.40, "fail"),
])
def test_a_profile_floor_replaces_the_tables_fail_line(verdict, fraction, floor, expected):
    from envcheck.verify.perf import with_profile_floor

    assert with_profile_floor(verdict, fraction, floor) == expected
