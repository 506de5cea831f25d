"""The parent's pure parts: device names, events -> reports, NVML health, readings."""

from __future__ import annotations

from helpers import paths
import json

import pytest

from envcheck.errors import InputError
from envcheck.facts.model import DriverFacts, GpuFacts
from envcheck.proc import ProcResult
from envcheck.render import verify_text as render
from envcheck.verify import plan as verify_plan, report as verify_report, run as verify_run
from envcheck.verify.model import DeviceReport, VerifyReport

EVENTS = paths.DATA / "verify" / "events"
PLANNED = list(verify_plan.CHECKS) + list(verify_plan.PERF_CHECKS)


def _proc(**kw) -> ProcResult:
    base = dict(argv=("python", "-c", "..."), returncode=0, stdout="", stderr="", seconds=4.0)
    base.update(kw)
    return ProcResult(**base)


@pytest.mark.parametrize(
    "texts, devices",
    [
        ((), []),
        (("cpu",), ["cpu"]),
        (("CUDA:1", "cuda:1", "cpu"), ["cuda:1", "cpu"]),
        (("cuda:0,cuda:00",), ["cuda:0"]),
        (("gpu",), ["cuda"]),
    ],
)
def test_parse_devices(texts, devices):
    assert verify_plan.parse_devices(texts) == devices


@pytest.mark.parametrize("text", ["tpu", "cuda:x", "cuda:-1", "mps:0"])
def test_parse_devices_rejects(text):
    with pytest.raises(InputError, match="Invalid device"):
        verify_plan.parse_devices([text])


@pytest.mark.parametrize(
    "count, visible, guess",
    [(4, None, 4), (4, "", 0), (4, "-1", 0), (4, "0,2", 2), (0, "0,1", 2), (2, "0,1,2,3", 2)],
)
def test_visible_guess(count, visible, guess):
    env = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert verify_plan.visible_guess(DriverFacts(status="ok", gpu_count=count), env) == guess


def test_read_events_skips_a_line_cut_by_a_kill():
    text = ('@@envcheck {"event": "begin", "check": "copy", "t": 1}\nnoise\n{"event": "unmarked"}\n'
            '@@envcheck {"event": "end", "check": "co')
    assert verify_report.read_events(text) == [{"event": "begin", "check": "copy", "t": 1}]


def test_recorded_cpu_events():
    events = verify_report.read_events((EVENTS / "cpu-torch-2.13.0.jsonl").read_text(encoding="utf-8"))
    r = verify_report.device_report(events, _proc(), label="cpu", planned=PLANNED, timeout=120)
    assert (r.device, r.kind, r.name) == ("cpu", "cpu", "AMD EPYC")
    assert [c.name for c in r.checks] == list(verify_plan.CHECKS)  # working measurements are not checks
    assert r.count("passed") == 8 and r.count("skipped") == 1
    assert r.checks[3].detail == "TF32 is a GPU tensor-core mode: not applicable on the CPU"
    assert r.process == "ok (4.0 s)"
    measured = verify_report.perf_measurements(events)
    assert set(measured) == {m[5:] for m in verify_plan.PERF_CHECKS}
    assert measured["matmul-fp32"]["status"] == "passed" and measured["matmul-fp32"]["value"] > 0
    assert measured["copy-h2d"]["status"] == "skipped"


def _events(*lines):
    head = [
        {"event": "start"},
        {"event": "torch", "version": "2.13.0+cu130", "cuda_build": "13.0", "arch_list": ["sm_75", "sm_80", "sm_90"]},
        {"event": "device", "device": "cuda:1", "kind": "cuda", "name": "Tesla P100-PCIE-16GB", "cc": "6.0",
         "total_mib": 16280, "uuid": "8a0b58c4-1111-2222-3333-444455556666", "pci": [0, 0x3B, 0]},
    ]
    return head + list(lines)


def test_a_check_that_hung():
    events = _events(
        {"event": "begin", "check": "tensor"},
        {"event": "end", "check": "tensor", "status": "passed", "detail": "ok", "seconds": 0.1},
        {"event": "begin", "check": "copy"},
    )
    r = verify_report.device_report(events, _proc(returncode=None, timed_out=True, seconds=30.0), label="cuda:1",
                             planned=list(verify_plan.CHECKS), timeout=30)
    assert [c.status for c in r.checks[:3]] == ["passed", "failed", "not-run"]
    assert r.checks[1].failure.kind == "timeout"
    assert r.checks[2].detail == "not run: the process ended during copy"
    assert r.process == "killed after 30 s (no answer)"
    assert (r.pci, r.cc, r.memory_mib) == ((0, 0x3B, 0), "6.0", 16280)


def test_a_hang_after_every_check_finished_keeps_the_results_and_says_so():
    events = _events(*[e for name in ("tensor", "copy") for e in (
        {"event": "begin", "check": name},
        {"event": "end", "check": name, "status": "passed", "detail": "ok", "seconds": 0.1})])
    r = verify_report.device_report(events, _proc(returncode=None, timed_out=True, seconds=3.0), label="cuda:1",
                             planned=["tensor", "copy"], timeout=3)
    assert [c.status for c in r.checks] == ["passed", "passed"]
    assert r.process == "every check finished, then the process did not exit within the 3 s timeout (killed)"
    assert any("on its way out" in n for n in r.notes)


def test_a_timeout_on_the_cpu_asks_for_more_time_not_for_dmesg():
    events = [{"event": "start"}, {"event": "torch", "version": "2.13.0+cpu", "cuda_build": None},
              {"event": "device", "device": "cpu", "kind": "cpu", "name": "AMD EPYC"},
              {"event": "begin", "check": "conv"}]
    warning = ("/site-packages/torch/_subclasses/functional_tensor.py:283: UserWarning: Failed to initialize NumPy\n"
               "  cpu = _conversion_method_template(device=torch.device('cpu'))\n")
    r = verify_report.device_report(events, _proc(returncode=None, timed_out=True, seconds=2.0, stderr=warning),
                             label="cpu", planned=["conv"], timeout=2)
    f = r.checks[0].failure
    assert f.kind == "timeout" and "--timeout" in f.fix and "dmesg" not in f.fix
    assert "Warning" not in f.evidence and "_conversion_method_template" not in f.evidence


def test_an_error_is_classified_with_the_device_context():
    events = _events(
        {"event": "begin", "check": "tensor"},
        {"event": "end", "check": "tensor", "status": "error",
         "error": "AcceleratorError: CUDA error: no kernel image is available for execution on the device\n"
                  "CUDA kernel errors might be asynchronously reported at some other API call"},
        {"event": "end", "check": "copy", "status": "not-run", "detail": "not run: the GPU is unusable after the error in tensor"},
    )
    r = verify_report.device_report(events, _proc(), label="cuda:1", planned=["tensor", "copy"], timeout=30)
    f = r.checks[0].failure
    assert f.kind == "no-kernel-image"
    assert "Tesla P100-PCIE-16GB (compute capability 6.0, sm_60, Pascal)" in f.summary
    assert r.checks[0].detail == f.summary
    assert r.checks[1].status == "not-run"


def test_a_failed_perf_measurement_is_a_failed_check():
    events = _events(
        {"event": "begin", "check": "perf:matmul-bf16"},
        {"event": "end", "check": "perf:matmul-bf16", "status": "error", "error": "OutOfMemoryError: CUDA out of memory."},
        {"event": "begin", "check": "perf:matmul-fp16"},
        {"event": "end", "check": "perf:matmul-fp16", "status": "passed", "values": {"value": 1.0}},
    )
    r = verify_report.device_report(events, _proc(), label="cuda:1", planned=["perf:matmul-bf16", "perf:matmul-fp16"], timeout=30)
    assert [(c.name, c.status) for c in r.checks] == [("perf:matmul-bf16", "failed")]
    assert r.checks[0].failure.kind == "out-of-memory"


def _report(**kw) -> DeviceReport:
    base = dict(device="cuda:0", kind="cuda", name="NVIDIA A100-SXM4-80GB", uuid="d7c343ca-5f11-4425-a37c-18bbdfb5061f")
    base.update(kw)
    return DeviceReport(**base)


def _driver(**gpu) -> DriverFacts:
    base = dict(index=0, name="NVIDIA A100-SXM4-80GB", uuid="GPU-d7c343ca-5f11-4425-a37c-18bbdfb5061f",
                pci_bus_id="00000000:07:00.0", ecc_uncorrected_volatile=0)
    base.update(gpu)
    return DriverFacts(status="ok", gpu_count=1, gpus=(GpuFacts(**base),))


def test_health_passes():
    c = verify_report.health_check(_report(), _driver(), _driver())
    assert c.status == "passed"
    assert c.detail == "NVML: GPU present, uncorrectable ECC errors 0 (none new), no pending retirement or remap"


def test_health_new_ecc_errors_by_pci_bus_id():
    r = _report(uuid=None, pci=(0, 7, 0))
    c = verify_report.health_check(r, _driver(), _driver(ecc_uncorrected_volatile=2))
    assert c.status == "failed" and c.failure.kind == "ecc"
    assert "2 new uncorrectable ECC error(s) during the run" in c.detail


def test_health_pending_remap_and_lost_gpu():
    c = verify_report.health_check(_report(), _driver(), _driver(remap_pending=True))
    assert c.status == "failed" and "row remap is pending" in c.detail
    c = verify_report.health_check(_report(), _driver(), _driver(status="lost"))
    assert c.failure.kind == "gpu-lost"


def test_health_without_nvml():
    c = verify_report.health_check(_report(), None, DriverFacts(status="missing", detail="nvmlInit: NVML Shared Library Not Found"))
    assert c.status == "skipped" and "NVML Shared Library Not Found" in c.detail
    c = verify_report.health_check(_report(uuid="other"), _driver(), _driver())
    assert c.status == "skipped"


def test_sampler_keeps_the_busiest_matmul_reading():
    sampler = verify_run._Sampler(None)
    sampler.samples = [
        ({"cuda:0": "perf:copy-d2d"}, _driver(power_draw_w=500.0)),
        ({"cuda:0": "perf:matmul-bf16"}, _driver(power_draw_w=300.0, clock_sm_mhz=1410)),
        ({"cuda:0": "perf:matmul-fp16"}, _driver(power_draw_w=390.0, clock_sm_mhz=1380)),
        ({"cuda:1": "perf:matmul-fp16"}, _driver(power_draw_w=999.0)),
    ]
    readings = sampler.readings("cuda:0", _report(), None)
    assert readings["power_draw_w"] == 390.0 and readings["clock_sm_mhz"] == 1380
    assert readings["when"] == "during perf:matmul-fp16, at the highest power draw seen"
    idle = verify_run._Sampler(None).readings("cuda:0", _report(), _driver(power_draw_w=60.0))
    assert idle["when"].startswith("after the run")


def test_text_and_json_of_a_report():
    events = verify_report.read_events((EVENTS / "cpu-torch-2.13.0.jsonl").read_text(encoding="utf-8"))
    d = verify_report.device_report(events, _proc(), label="cpu", planned=list(verify_plan.CHECKS), timeout=120)
    failed = _events({"event": "begin", "check": "memory"})
    g = verify_report.device_report(failed, _proc(returncode=-6, stderr="free(): invalid pointer\n"), label="cuda:1",
                             planned=["memory"], timeout=30)
    report = VerifyReport(torch={"version": "2.13.0+cpu"}, python="python", devices=[d, g], seconds=5.0)
    assert report.exit_code == 1
    lines = render.text_lines(report)
    assert lines[0] == "torch 2.13.0+cpu (CPU-only build) in python"
    assert any(line.startswith("  memory  FAILED") for line in lines), lines
    assert any("killed by SIGABRT during memory" in line for line in lines)
    assert lines[-1] == "verify FAILED: 8 passed, 1 failed, 1 skipped on cpu, cuda:1 in 5.0 s"
    doc = report.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["summary"]["verdict"] == "failed"
    assert doc["devices"][1]["checks"][0]["failure"]["kind"] == "crash"


def test_cuda_query_that_hangs_after_the_import():
    events = [{"event": "start"}, {"event": "imported", "version": "2.9.0+cu128"}]
    e = verify_report.torch_unusable(events, _proc(returncode=None, timed_out=True), "python", 120, None)
    assert e.exit_code == 3
    assert e.message == ("torch 2.9.0+cu128 imported, but asking it about CUDA (is_available, device_count, "
                         "cuDNN) did not finish within 120 s (killed) (Python python)")
    assert verify_report.torch_unusable(events + [{"event": "torch"}], _proc(), "python", 120, None) is None


def test_gpus_the_driver_sees_but_torch_cannot_use():
    c = verify_report.gpus_unused({"version": "2.13.0+cpu", "cuda_build": None}, 2, None, {})
    assert c.name == "cuda" and c.status == "failed"
    assert c.detail == ("the driver reports 2 GPU(s), but torch 2.13.0+cpu is a CPU-only build "
                        "(torch.version.cuda is None); only the CPU was checked")
    assert "envcheck install-command" in c.failure.fix
