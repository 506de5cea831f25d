"""Table 3 (full support) and Table 2 (minor-version compatibility), around each boundary."""

from __future__ import annotations

import pytest

from envcheck.matrix.drivers import cuda_of_driver, driver_need, judge_driver
from envcheck.matrix.variants import parse_cuda


@pytest.mark.parametrize(
    "cuda, driver, ceiling, os_name, status",
    [
        ("12.8", "570.26", None, "linux", "full"),
        ("12.8", "570.25", None, "linux", "compat"),
        ("12.8", "525.60.13", None, "linux", "compat"),
        ("12.8", "525.60.12", None, "linux", "too-old"),
        ("12.1", "528.33", None, "windows", "compat"),
        ("12.1", "528.32", None, "windows", "too-old"),
        ("12.1", "531.14", None, "windows", "full"),
        ("13.0", "580.65.06", (13, 0), "linux", "full"),
        ("13.0", "575.57.08", (12, 9), "linux", "too-old"),  # a 12.x driver cannot run 13.x
        ("13.2", "580.95.05", (13, 0), "linux", "compat"),
        ("13.2", "595.45.04", (13, 2), "linux", "full"),
        ("11.8", "450.80.02", None, "linux", "compat"),
        ("11.8", "450.80.01", None, "linux", "too-old"),
        ("11.8", "452.39", None, "windows", "compat"),
        ("11.0", "450.36.06", None, "linux", "compat"),
        ("10.2", "440.33", None, "linux", "full"),
        ("10.2", "440.32", None, "linux", "too-old"),  # no minor compatibility before 11.0
        ("9.2", "396.26", None, "linux", "full"),
    ],
)
def test_boundaries(matrix, cuda, driver, ceiling, os_name, status):
    verdict = judge_driver(matrix, parse_cuda(cuda), driver, ceiling, os_name)
    assert verdict.status == status, verdict.reason
    assert verdict.reason


def test_compat_reason_names_the_cost(matrix):
    v = judge_driver(matrix, parse_cuda("12.8"), "535.104.05")
    assert "minor-version compatibility" in v.reason and "PTX" in v.reason


def test_too_old_names_the_driver_needed(matrix):
    v = judge_driver(matrix, parse_cuda("13.0"), "570.124.06", (12, 8))
    assert "580" in v.reason


def test_need(matrix):
    need = driver_need(matrix, (12, 4), "linux")
    assert need.full == "550.54.14" and need.compat == "525.60.13"


@pytest.mark.parametrize("driver, cuda", [("535.104.05", (12, 2)), ("570.124.06", (12, 8)), ("440.33", (10, 2)), ("580.65.06", (13, 0))])
def test_cuda_of_driver(matrix, driver, cuda):
    assert cuda_of_driver(matrix, driver) == cuda
