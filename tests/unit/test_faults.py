"""The one fault-injection seam (envcheck.faults): parsed strictly, off while unset, rank-aware."""

from __future__ import annotations

import pytest

from envcheck import faults


def env(spec: str, **extra: str) -> dict:
    return {faults.VAR: spec, **extra}


def test_unset_or_empty_is_off():
    for e in ({}, env(""), env("  ")):
        assert faults.check(e) == []
        assert faults.describe(e) is None
        assert faults.bound("nvcc", 5.0, e) == 5.0
        assert faults.value("verify.tensor", e) is None
        assert faults.thresholds(e) == {} and faults.fake_nodes(e) == 0
        faults.trigger("verify.tensor", e)  # returns: nothing fires


def test_entries_parse_with_ranks():
    spec = 'timeout.nvcc=0.5; verify.conv=raise:CUDA error: boom;preflight.start@2=exit:0;preflight.thresholds@1={"min_shm": "1PB"}'
    assert faults.check(env(spec)) == [
        ("timeout.nvcc", None, "0.5"),
        ("verify.conv", None, "raise:CUDA error: boom"),
        ("preflight.start", "2", "exit:0"),
        ("preflight.thresholds", "1", '{"min_shm": "1PB"}'),
    ]
    assert faults.describe(env(spec)).startswith("ENVCHECK_FAULT is set: results include injected faults (")


@pytest.mark.parametrize("spec, words", [
    ("verify.conv", "is not POINT=VALUE"),
    ("=hang", "is not POINT=VALUE"),
    ("verify.conv=melt", "no action 'melt'"),
    ("verify.conv=hang:soon", "hang takes a number"),
    ("verify.conv=exit:-1", "exit takes a number"),
    ("timeout.nvcc=0", "above 0"),
    ("timeout.nvcc=nan", "above 0"),
    ("timeout.nvcc=inf", "above 0"),
    ("timeout.gpu=1", "no bound named 'gpu'"),
    ("preflight.start@two=exit", "the rank after @ must be a number"),
    ("preflight.lunch@1=exit", "no fault point 'preflight.lunch'"),
    ("preflight.thresholds@1={nope", "not JSON"),
    ("preflight.thresholds@1=[1]", "a JSON object"),
    ("preflight.nodes=0", "whole number above 0"),
    ("disk.root=hang", "no fault point 'disk.root'"),
])
def test_malformed_entries_are_refused_with_the_entry_named(spec, words):
    with pytest.raises(faults.FaultSpecError) as info:
        faults.check(env(spec))
    assert words in str(info.value) and str(info.value).startswith("ENVCHECK_FAULT: ")
    assert faults.value("verify.conv", env(spec)) is None  # never half-applied


def test_bounds_only_ever_shrink():
    e = env("timeout.nvcc=0.5;timeout.*=3")
    assert faults.bound("nvcc", 5.0, e) == 0.5
    assert faults.bound("smi", 4.0, e) == 3.0  # the catch-all
    assert faults.bound("smi", 1.0, e) == 1.0  # never raised
    assert faults.bound("nvcc", 5.0, env("timeout.smi=1")) == 5.0


def test_a_rank_entry_fires_only_in_that_rank():
    e = env("preflight.collectives@2=hang:1;preflight.nodes=2")
    assert faults.value("preflight.collectives", e) is None  # no rank at all
    assert faults.value("preflight.collectives", {**e, "RANK": "1"}) is None
    assert faults.value("preflight.collectives", {**e, "RANK": "2"}) == "hang:1"
    assert faults.value("preflight.collectives", {**e, "SLURM_PROCID": "2"}) == "hang:1"
    assert faults.fake_nodes({**e, "RANK": "0"}) == 2


def test_thresholds_for_one_rank():
    e = env('preflight.thresholds@1={"min_shm": "1PB"}')
    assert faults.thresholds({**e, "RANK": "1"}) == {"min_shm": "1PB"}
    assert faults.thresholds({**e, "RANK": "0"}) == {}


class Wrong(Exception):
    pass


def test_trigger_raises_as_named_and_says_so(capsys):
    with pytest.raises(RuntimeError, match="CUDA error: an illegal memory access"):
        faults.trigger("verify.conv", env("verify.conv=raise:CUDA error: an illegal memory access"))
    assert "envcheck: injected fault (ENVCHECK_FAULT): raise:CUDA error" in capsys.readouterr().err
    with pytest.raises(Wrong, match="off by 3"):
        faults.trigger("verify.autograd", env("verify.autograd=wrong:off by 3"), wrong=Wrong)
    faults.trigger("verify.tensor", env("verify.conv=raise"))  # another point: nothing


def test_a_bounded_hang_ends():
    faults.trigger("verify.conv", env("verify.conv=hang:0.1"))


def test_the_thresholds_layer_is_checked_as_a_config_is():
    from envcheck.preflight import config

    th = config.resolve("cpu")
    changed = config.with_layer(th, {"min_shm": "1PB"}, faults.VAR, "injected fault ENVCHECK_FAULT")
    assert changed.min_shm == 10 ** 15 and changed.source_of("min_shm") == "injected fault ENVCHECK_FAULT"
    with pytest.raises(Exception, match="min_shm"):
        config.with_layer(th, {"min_shm": "lots"}, faults.VAR, "x")


def test_an_in_process_bound_is_capped_too(monkeypatch):
    """NVML runs in this process, bounded by a thread: it waits the capped bound, not the default."""
    import threading
    import time

    from envcheck.probes.nvml import probe_nvml

    release = threading.Event()

    class HangingNvml:
        def __getattr__(self, name):
            return lambda *args: release.wait(30)

    monkeypatch.setenv(faults.VAR, "timeout.nvml=0.2")
    start = time.monotonic()
    facts = probe_nvml(HangingNvml(), root="/nonexistent", smi=None, nvml_timeout=30.0)
    waited = time.monotonic() - start
    release.set()
    finished = facts.status != "timed-out"
    assert not finished and waited < 10  # 0.2 s asked; 30 s would mean the cap was ignored
    assert facts.detail == "NVML: no answer within 0.2 s"
