"""Performance verdicts against the GPU table.

The numbers below are chosen to sit on either side of the thresholds; they are inputs to the
judge, not recorded measurements of any GPU.
"""

from __future__ import annotations


import pytest

from envcheck.matrix import gpus
from envcheck.facts.model import GpuFacts
from envcheck.verify import perf


@pytest.fixture(scope="module")
def table():
    return gpus.load()


@pytest.mark.parametrize(
    "fraction, verdict",
    [
        (0.80, "ok"),
        (0.75 * 0.95, "ok"),  # identical cards differ ~5%
        (0.70, "low"),
        (0.75 * 0.71 + 0.001, "low"),
        (0.75 * 0.71 - 0.001, "fail"),  # DCGM's floor
        (0.87 / 0.95 + 0.001, "high"),
    ],
)
def test_verdict_for(fraction, verdict):
    assert perf.verdict_for(fraction, (0.75, 0.87), 0.95, 0.71) == verdict


def _passed(value):
    return {"status": "passed", "value": value, "detail": ""}


def _line(report, metric):
    return next(line for line in report.lines if line.metric == metric)


def test_h100_sxm(table):
    measured = {
        "matmul-bf16": _passed(800.0),
        "matmul-fp16": _passed(400.0),
        "matmul-tf32": _passed(300.0),
        "matmul-fp32": _passed(50.0),
        "copy-d2d": _passed(2600.0),
        "copy-h2d": _passed(50.0),
        "copy-d2h": {"status": "skipped", "detail": "host<->device bandwidth needs a GPU"},
    }
    r = perf.judge("cuda:0", "NVIDIA H100 80GB HBM3", measured, None, table)
    assert (r.row, r.gpu_class, r.confidence) == ("h100_sxm", "hbm-datacenter", "official")
    bf16 = _line(r, "matmul-bf16")
    assert (bf16.peak, bf16.healthy, bf16.verdict) == (989, (0.75, 0.87), "ok")
    assert bf16.fraction == pytest.approx(800 / 989)
    fp16 = _line(r, "matmul-fp16")
    assert fp16.verdict == "fail" and "not readable" in fp16.note
    assert _line(r, "matmul-tf32").verdict == "none"  # no source for a healthy TF32 fraction
    assert _line(r, "matmul-fp32").verdict == "none"
    d2d = _line(r, "copy-d2d")
    assert (d2d.peak, d2d.verdict) == (3350, "ok")
    h2d = _line(r, "copy-h2d")
    assert h2d.peak == pytest.approx(63.0) and h2d.verdict == "ok"
    assert _line(r, "copy-d2h").status == "skipped"
    assert r.failed


def test_low_result_is_explained_by_the_readings(table):
    g = GpuFacts(index=0, name="NVIDIA H100 80GB HBM3", power_limit_w=400.0, power_draw_w=398.0,
                 clock_sm_mhz=1200, clock_sm_max_mhz=1980, throttle_reasons=("sw-power-cap",),
                 pcie_gen_current=4, pcie_gen_max=4, pcie_width_current=8, pcie_width_max=8)
    readings = perf.readings_from_gpu(g, "during perf:matmul-bf16")
    r = perf.judge("cuda:0", g.name, {"matmul-bf16": _passed(690.0), "copy-h2d": _passed(12.0)}, readings, table)
    bf16 = _line(r, "matmul-bf16")
    assert bf16.verdict == "low"
    assert "throttled: sw-power-cap" in bf16.note
    assert "power limit 400 W is below the card's 700 W" in bf16.note
    assert "SM clock 1200 of 1980 MHz" in bf16.note
    h2d = _line(r, "copy-h2d")
    assert h2d.verdict == "fail"
    assert "the slot gives x8, the card supports x16" in h2d.note
    assert "the link tops out at Gen4, the card supports Gen5" in h2d.note


def test_geforce_above_the_rated_clock_is_fine(table):
    r = perf.judge("cuda:0", "NVIDIA GeForce RTX 4090", {"matmul-bf16": _passed(170.0)}, None, table)
    assert _line(r, "matmul-bf16").verdict == "ok"
    r = perf.judge("cuda:0", "NVIDIA GeForce RTX 4090", {"matmul-bf16": _passed(230.0)}, None, table)
    assert _line(r, "matmul-bf16").verdict == "high"


def test_an_uncertain_peak_never_fails(table):
    # A10G's tensor peaks are marked uncertain upstream.
    r = perf.judge("cuda:0", "NVIDIA A10G", {"matmul-bf16": _passed(10.0)}, None, table)
    line = _line(r, "matmul-bf16")
    assert line.verdict == "low" and "uncertain" in line.note


@pytest.mark.parametrize(
    "name, note",
    [
        ("NVIDIA GeForce RTX 4070 SUPER", "'NVIDIA GeForce RTX 4070 SUPER' is not in envcheck's GPU table"),
        ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "a MIG slice (1g.5gb)"),
        ("Orin (nvgpu)", "every module of this family reports 'Orin (nvgpu)'"),
    ],
)
def test_no_verdict(table, name, note):
    r = perf.judge("cuda:0", name, {"matmul-bf16": _passed(1.0), "copy-d2d": _passed(1.0)}, None, table)
    assert all(line.verdict == "none" for line in r.lines)
    assert any(note in n for n in r.notes), r.notes
    assert not r.failed and not r.judged


def test_cpu_gets_measurements_only(table):
    r = perf.judge("cpu", "AMD EPYC", {"matmul-fp32": _passed(0.2)}, None, table)
    assert r.notes == ("no datasheet for CPUs: measurements only",)
    line = _line(r, "matmul-fp32")
    assert (line.value, line.verdict, line.peak) == (0.2, "none", None)


def test_no_bf16_peak_on_volta(table):
    r = perf.judge("cuda:0", "Tesla V100-SXM2-16GB", {"matmul-bf16": _passed(10.0), "matmul-fp16": _passed(95.0)}, None, table)
    assert _line(r, "matmul-bf16").note == "no dense bf16 peak for this GPU in the table"
    assert _line(r, "matmul-fp16").verdict == "ok"


def test_failed_measurement(table):
    r = perf.judge("cuda:0", "NVIDIA L4", {"matmul-bf16": {"status": "error", "detail": "CUDA out of memory"}}, None, table)
    line = _line(r, "matmul-bf16")
    assert (line.status, line.verdict, line.note) == ("failed", "none", "CUDA out of memory")


