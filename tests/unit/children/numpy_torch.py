"""A stand-in torch made of numpy, with just the calls verify's ``check_tensor`` and
``check_matmul`` make on the CPU: their judgement (a right answer passes, a wrong one is
``Wrong`` with the numbers) is tested in-process without torch. ``fault`` makes one operation
wrong on purpose."""

from __future__ import annotations

import types
from typing import Any, Optional

import numpy as np


class Tensor(np.ndarray):
    fault: Optional[str] = None

    def cpu(self) -> "Tensor":
        return self

    def abs(self) -> "Tensor":
        return np.abs(self)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        dtype = next((a for a in args if isinstance(a, type) and issubclass(a, np.generic)), kwargs.get("dtype"))
        return self.astype(dtype) if dtype is not None else self

    def __matmul__(self, other: Any) -> "Tensor":
        out = np.matmul(np.asarray(self), np.asarray(other)).view(Tensor)
        if Tensor.fault == "matmul" and out.dtype != np.float64:  # the float64 reference stays right
            out = (out * 1.01).astype(out.dtype).view(Tensor)
        return out


def _t(a: Any) -> Tensor:
    return np.asarray(a).view(Tensor)


class _Generator:
    def manual_seed(self, seed: int) -> "_Generator":
        self.rng = np.random.default_rng(seed)
        return self


def make(fault: Optional[str] = None) -> Any:
    """``fault``: ``arange`` (a wrong sum), ``sin`` (off by 1e-9), ``matmul`` (1% off), ``nan``."""
    Tensor.fault = fault

    def arange(n, dtype=None, device=None):
        out = np.arange(n, dtype=dtype)
        if fault == "arange":
            out[-1] += 1
        return _t(out)

    def sin(x):
        return _t(np.sin(np.asarray(x)) + (1e-9 if fault == "sin" else 0.0))

    def randn(*shape, dtype=None, generator=None, device=None):
        out = generator.rng.standard_normal(shape).astype(dtype or np.float32)
        if fault == "nan":
            out[0, 0] = np.nan
        return _t(out)

    matmul_mode = types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                        allow_bf16_reduced_precision_reduction=True)
    return types.SimpleNamespace(
        int64=np.int64, float64=np.float64, float32=np.float32, float16=np.float16, bfloat16=None,
        device=lambda kind, index=None: (kind, index),
        arange=arange, sin=sin, randn=randn, Generator=_Generator,
        zeros=lambda n, device=None: _t(np.zeros(n, np.float32)),
        ones=lambda n, device=None: _t(np.ones(n, np.float32)),
        full=lambda shape, value, device=None: _t(np.full(shape, value, np.float32)),
        linspace=lambda a, b, n, dtype=None, device=None: _t(np.linspace(a, b, n, dtype=dtype)),
        isfinite=lambda x: _t(np.isfinite(np.asarray(x))),
        backends=types.SimpleNamespace(cuda=types.SimpleNamespace(matmul=matmul_mode),
                                       cudnn=types.SimpleNamespace(allow_tf32=True)),
    )
