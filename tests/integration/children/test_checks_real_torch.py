"""verify's child check functions, in-process, on the real torch CPU build: every check passes,
and a wrong answer from torch is caught as wrong (not as an error, not as a pass)."""

from __future__ import annotations

import importlib.util
import warnings

import pytest

pytestmark = [pytest.mark.torch,
              pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")]


@pytest.fixture(scope="module")
def torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch
    return torch


@pytest.fixture
def ctx(torch):
    from envcheck.children.checks import Ctx

    return Ctx(torch, "cpu", None)


@pytest.mark.parametrize("name", ["tensor", "copy", "matmul-fp32", "matmul-fp16", "matmul-bf16", "autograd", "conv",
                                  "memory"])
def test_every_check_passes_on_the_cpu(ctx, name):
    from envcheck.children import verify_device

    fn = {"tensor": verify_device.check_tensor, "copy": verify_device.check_copy,
          "autograd": verify_device.check_autograd, "conv": verify_device.check_conv,
          "memory": verify_device.check_memory}.get(name)
    out = fn(ctx) if fn else verify_device.check_matmul(ctx, name.split("-")[1])
    assert out["detail"]


def test_tf32_is_skipped_on_the_cpu(ctx):
    from envcheck.children import checks, verify_device

    with pytest.raises(checks.Skip):
        verify_device.check_matmul(ctx, "tf32")


def test_a_wrong_matmul_is_a_wrong_answer(ctx, torch, monkeypatch):
    from envcheck.children import checks, verify_device

    real = torch.Tensor.__matmul__

    def off(a, b):  # float32 products 1% off; the float64 reference stays right
        out = real(a, b)
        return out * 1.01 if out.dtype == torch.float32 else out

    monkeypatch.setattr(torch.Tensor, "__matmul__", off)
    with pytest.raises(checks.Wrong, match=r"fp32 matmul \(256x512 @ 512x384\) differs .*\(tolerance"):
        verify_device.check_matmul(ctx, "fp32")


def test_timing_on_the_cpu(ctx):
    from envcheck.children import timing

    out = timing.perf_matmul(ctx, "fp32")
    assert out["values"]["unit"] == "TFLOP/s" and out["values"]["value"] > 0
    copy = timing.perf_copy(ctx, "d2d")
    assert copy["values"]["unit"] == "GB/s" and copy["values"]["value"] > 0


def test_torch_info_and_the_runtime_probe_agree_on_the_build(torch):
    from envcheck.children import checks, torch_runtime

    info, res = checks.torch_info(torch), torch_runtime.probe(torch)
    assert info["version"] == res["version"] == torch.__version__
    assert info["is_available"] is res["is_available"] is False
    assert info["file"] == res["torch_file"] and info["shadows"] == []
