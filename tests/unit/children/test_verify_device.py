"""verify's check functions, in-process, on a stand-in torch made of numpy: a right answer
passes, a wrong one is Wrong with the numbers. The real torch CPU runs them in
tests/integration/children/test_checks_real_torch.py."""

from __future__ import annotations

import pytest

from envcheck.children import checks, verify_device

from unit.children import numpy_torch


def _ctx(fault=None):
    return checks.Ctx(numpy_torch.make(fault), "cpu", None)


def test_check_tensor_passes_on_right_answers():
    assert verify_device.check_tensor(_ctx())["detail"].startswith("zeros/ones/full/arange/linspace")


@pytest.mark.parametrize("fault, message", [
    ("arange", r"arange\(1048576\)\.sum\(\) gave 549755289601, expected 549755289600"),
    ("sin", r"sin\(\) differs from Python's by 1e-09"),
])
def test_check_tensor_catches_a_wrong_answer(fault, message):
    with pytest.raises(checks.Wrong, match=message):
        verify_device.check_tensor(_ctx(fault))


@pytest.mark.parametrize("name", ["fp32", "fp16"])
def test_check_matmul_passes_within_its_tolerance(name):
    out = verify_device.check_matmul(_ctx(), name)
    assert out["values"]["max_error"] <= out["values"]["tolerance"]
    assert out["values"]["shape"] == [256, 512, 384]


def test_check_matmul_one_percent_off_is_wrong_with_the_count():
    with pytest.raises(checks.Wrong) as info:
        verify_device.check_matmul(_ctx("matmul"), "fp32")
    assert "differs from the float64 CPU reference" in info.value.detail
    assert info.value.values["bad_elements"] > 0 and info.value.values["max_error"] > 0.001


def test_check_matmul_non_finite_output_is_wrong():
    with pytest.raises(checks.Wrong, match=r"fp32 matmul produced \d+ non-finite values"):
        verify_device.check_matmul(_ctx("nan"), "fp32")


def test_tolerance_grows_with_k_and_is_wider_for_half_precision():
    assert verify_device.matmul_tolerance("fp32", 1024) > verify_device.matmul_tolerance("fp32", 512)
    tol = {name: verify_device.matmul_tolerance(name, 512) for name in ("fp32", "tf32", "fp16", "bf16")}
    assert tol["bf16"] > tol["tf32"] > tol["fp16"] > tol["fp32"]
