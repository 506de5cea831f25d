"""envcheck.probes.collect: every probe, bounded in time even when every call hangs."""

from __future__ import annotations

import sys
import time


import envcheck.probes as probes
from envcheck.facts import Facts, from_json, to_json
from envcheck.proc import run


def test_importing_probes_and_facts_imports_nothing_heavy():
    code = (
        "import sys, envcheck.probes, envcheck.facts, envcheck.probes.nvml, "
        "envcheck.probes.host, envcheck.probes.torch_child, envcheck.probes.torch_static, "
        "envcheck.probes.nvcc\n"
        "print(sorted(m for m in ('pynvml', 'psutil', 'torch', 'packaging') if m in sys.modules))"
    )
    res = run([sys.executable, "-c", code], timeout=30)
    assert res.ok, res.describe()
    assert res.stdout.strip() == "[]"


def test_quick_collect_on_this_machine():
    start = time.monotonic()
    facts = probes.collect(quick=True)
    assert time.monotonic() - start < probes.QUICK_BOUND
    assert isinstance(facts, Facts) and facts.quick and facts.torch_runtime is None
    assert facts.host.status == "ok"
    assert facts.driver.status in ("ok", "missing", "failed")
    assert set(facts.timings) == {"host", "nvcc", "driver", "torch"}
    assert facts.build_tools == ()  # the compilers are probed by a full collect only
    assert from_json(to_json(facts, redact=False)) == facts


def test_a_probe_that_raises_costs_only_its_own_facts(monkeypatch):
    import envcheck.probes.nvcc as nvcc

    def boom(*args, **kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(nvcc, "probe_nvcc", boom)
    facts = probes.collect(quick=True)
    assert (facts.nvcc.status, facts.nvcc.detail) == ("failed", "probe error: ValueError: bug")
    assert facts.host.status == "ok"
