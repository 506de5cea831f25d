"""envcheck.probes.collect: every probe, bounded in time even when every call hangs."""

from __future__ import annotations

import threading
import time

import pytest

import envcheck.probes as probes






@pytest.fixture
def hang(monkeypatch):
    """Make every in-process probe hang (released at teardown) and shrink the bounds."""
    release = threading.Event()

    def stuck(*args, **kwargs):
        release.wait(30)
        raise RuntimeError("released")

    import envcheck.probes.host as host
    import envcheck.probes.nvcc as nvcc
    import envcheck.probes.nvml as nvml
    import envcheck.probes.tools as tools
    import envcheck.probes.torch_child as torch_child
    import envcheck.probes.torch_static as torch_static

    for module, name in [
        (host, "probe_host"),
        (nvcc, "probe_nvcc"),
        (nvml, "probe_nvml"),
        (torch_static, "probe_torch_static"),
        (torch_child, "probe_torch_child"),
        (tools, "probe_tools"),
    ]:
        monkeypatch.setattr(module, name, stuck)
    monkeypatch.setattr(probes, "HOST_TIMEOUT", 0.3)
    monkeypatch.setattr(probes, "QUICK_BOUND", 0.5)
    monkeypatch.setattr(nvcc, "NVCC_TIMEOUT", 0.0)
    monkeypatch.setattr(torch_static, "CHILD_TIMEOUT", 0.0)
    monkeypatch.setattr(tools, "TOOL_TIMEOUT", 0.0)
    monkeypatch.setattr(probes, "_GRACE", 0.3)
    yield
    release.set()


def test_collect_is_bounded_when_everything_hangs(hang, tmp_path):
    start = time.monotonic()
    facts = probes.collect(quick=False, timeout=0.2)
    assert time.monotonic() - start < 2
    assert (facts.host.status, facts.nvcc.status, facts.torch.status) == (
        "timed-out",
        "timed-out",
        "timed-out",
    )
    assert (facts.driver.status, facts.driver.error_code) == ("timed-out", "timeout")
    assert facts.torch_runtime.status == "timed-out"
    assert facts.host.detail == "no answer within 0.3 s"
    assert [(t.name, t.status) for t in facts.build_tools] == [
        ("gcc", "timed-out"), ("clang", "timed-out"), ("cmake", "timed-out"), ("ninja", "timed-out")]
    assert facts.timings == {}


