"""The arithmetic of the collective measurements (pure: no torch)."""

from __future__ import annotations

import pytest

from envcheck.preflight.dist import _iterations, busbw_gbs


def test_bus_bandwidth_is_nccl_tests_definition():
    alg, bus = busbw_gbs(8 * 10**9, 1.0, 8)  # 8 GB in 1 s across 8 ranks
    assert alg == pytest.approx(8.0) and bus == pytest.approx(8.0 * 2 * 7 / 8)
    assert busbw_gbs(1, 0.0, 8) == (0.0, 0.0)


@pytest.mark.parametrize("one, want", [
    (1e-5, 50),    # a 1 MiB all-reduce on NVLink: as many as allowed
    (0.01, 25),    # fills about a quarter second
    (0.04, 6),
    (0.05, 5),     # at least 5, so one slow iteration does not decide
    (0.2, 2),      # slow (gloo, 256 MiB): 2 are enough, the timeout is the limit
])
def test_iterations_fill_a_quarter_second_within_bounds(one, want):
    assert _iterations(one) == want
