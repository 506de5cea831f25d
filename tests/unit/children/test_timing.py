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


import pytest  # noqa: E402


@pytest.mark.parametrize("cc, dtype", [((9, 0), "bf16"), ((7, 5), "fp16"), ((6, 1), "fp32")])
def test_time_matmul_picks_the_fastest_dtype_the_gpu_has_and_counts_flops(cc, dtype):
    calls = []
    torch = types.SimpleNamespace(
        bfloat16="bf16", float16="fp16", float32="fp32",
        cuda=types.SimpleNamespace(get_device_capability=lambda d: cc, synchronize=lambda d: None),
        randn=lambda n, m, device=None, dtype=None: (n, dtype),
        mm=lambda a, b: calls.append(a[1]),
    )
    tflops, name = timing.time_matmul(torch, "cuda:0", n=64, budget=0.0)
    assert name == dtype and set(calls) == {dtype}
    assert len(calls) == 3 + 1 + 10  # warm-ups, the sizing call, the batch (at least 10)
    assert tflops > 0
