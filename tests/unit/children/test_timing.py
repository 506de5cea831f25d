from __future__ import annotations

import types

from envcheck.children import timing


def _cpu():
    return types.SimpleNamespace(cuda=False, sync=lambda: None, torch=None)


def test_measure_sizes_the_batch_from_one_call():
    calls = []
    per, iters, one = timing.measure(_cpu(), lambda: calls.append(1), budget=0.001)
    assert 2 <= iters <= 50 and per > 0 and one > 0
    assert len(calls) == 2 + iters  # the warm-up, the sizing call, the batch


def test_a_call_slower_than_too_slow_is_measured_once():
    import time

    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.02)

    per, iters, one = timing.measure(_cpu(), slow, budget=1.0, too_slow=0.01)
    assert iters == 1 and per == one and len(calls) == 2


def test_perf_copy_between_host_and_device_needs_a_gpu():
    import pytest

    with pytest.raises(timing.Skip, match="needs a GPU"):
        timing.perf_copy(_cpu(), "h2d")
