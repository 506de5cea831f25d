"""A stand-in torch for the children's unit tests: plain objects with the attributes the child
code reads, each answer set by the test (no tensors: the real torch CPU covers those in
tests/integration/children)."""

from __future__ import annotations

import types
import warnings
from typing import Any, Dict, List, Optional


class Recorder:
    """An events sink with the Emitter's interface."""

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append(dict(fields, event=event))

    def kinds(self) -> List[str]:
        return [e["event"] for e in self.events]


class _Props:
    def __init__(self, name: str, cc: tuple, total: int) -> None:
        self.name = name
        self.major, self.minor = cc
        self.total_memory = total
        self.multi_processor_count = 132
        self.uuid = "8a0b58c4-1111-2222-3333-444455556666"
        self.pci_bus_id, self.pci_domain_id, self.pci_device_id = 0x3B, 0, 0


def torch(*, version: str = "2.9.0+cu128", cuda: Optional[str] = "12.8", available: Any = True,
          count: int = 1, archs=("sm_80", "sm_90"), warning: Optional[str] = None,
          cudnn: Any = 91002, nccl: Any = (2, 27, 3), gpus=(("NVIDIA H100 80GB HBM3", (9, 0)),)) -> Any:
    """A torch module stand-in. ``available``: True/False or an exception to raise."""

    def is_available() -> bool:
        if warning:
            warnings.warn(warning, UserWarning)
        if isinstance(available, BaseException):
            raise available
        return bool(available)

    def nccl_version() -> Any:
        if isinstance(nccl, BaseException):
            raise nccl
        return nccl

    def cudnn_version() -> Any:
        if isinstance(cudnn, BaseException):
            raise cudnn
        return cudnn

    props = [_Props(n, cc, 80 << 30) for n, cc in gpus]
    cuda_ns = types.SimpleNamespace(
        is_available=is_available,
        device_count=lambda: count,
        get_arch_list=lambda: list(archs),
        nccl=types.SimpleNamespace(version=nccl_version),
        get_device_capability=lambda i: (props[i].major, props[i].minor),
        get_device_properties=lambda i: props[i],
        get_device_name=lambda i: props[i].name,
        set_device=lambda i: None,
        synchronize=lambda d=None: None,
    )
    matmul = types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                   allow_bf16_reduced_precision_reduction=True)
    backends = types.SimpleNamespace(
        cuda=types.SimpleNamespace(matmul=matmul),
        cudnn=types.SimpleNamespace(version=cudnn_version, is_available=lambda: cudnn is not None,
                                    allow_tf32=True),
    )
    return types.SimpleNamespace(
        __version__=version,
        __file__="/site/torch/__init__.py",
        version=types.SimpleNamespace(cuda=cuda, hip=None),
        cuda=cuda_ns,
        backends=backends,
        _C=types.SimpleNamespace(_GLIBCXX_USE_CXX11_ABI=True),
        device=lambda kind, index=None: (kind, index),
        get_float32_matmul_precision=lambda: "highest",
        get_num_threads=lambda: 8,
    )
