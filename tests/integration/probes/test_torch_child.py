from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
import time

import pytest

from envcheck.proc import ProcResult
from envcheck.children.events import MARK
from envcheck.probes.torch_child import (
    LoadedLibrary,
    TorchDevice,
    TorchvisionCheck,
    parse_child_output,
    probe_torch_child,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals and /proc are POSIX")

# A torch that imports fine and answers like a cu128 build on a machine whose driver is too old.
WORKING_TORCH = """
import types, warnings
__version__ = "2.8.0+cu128"
__file__ = __file__
version = types.SimpleNamespace(cuda="12.8", hip=None)
class _Cuda:
    nccl = types.SimpleNamespace(version=lambda: (2, 27, 3))
    def is_available(self):
        warnings.warn("CUDA initialization: The NVIDIA driver on your system is too old "
                      "(found version 12020). Please update your GPU driver.", UserWarning)
        return False
    def device_count(self):
        return 0
    def get_arch_list(self):
        return []
cuda = _Cuda()
_C = types.SimpleNamespace(_cuda_getArchFlags=lambda: "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120")
backends = types.SimpleNamespace(cudnn=types.SimpleNamespace(version=lambda: 91002))
def tensor(data):
    return data
"""

BROKEN_TORCHVISION = """
__version__ = "0.22.0+cu126"
class _Ops:
    def nms(self, boxes, scores, iou):
        raise RuntimeError("operator torchvision::nms does not exist")
ops = _Ops()
"""


def _fake(tmp_path, torch_src: str, torchvision_src: str = "") -> dict:
    pkg = tmp_path / "torch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(torch_src))
    if torchvision_src:
        tv = tmp_path / "torchvision"
        tv.mkdir()
        (tv / "__init__.py").write_text(textwrap.dedent(torchvision_src))
    return dict(os.environ, PYTHONPATH=str(tmp_path))


def test_import_error(tmp_path):
    env = _fake(
        tmp_path,
        'raise ImportError("libcudnn.so.9: cannot open shared object file: '
        'No such file or directory")\n',
    )
    facts = probe_torch_child(env=env, timeout=20)
    assert facts.status == "import-failed"
    assert facts.import_error == (
        "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory"
    )
    assert facts.detail == "import torch: " + facts.import_error
    assert (facts.stage, facts.returncode, facts.version) == ("import torch", 0, None)


@posix_only
def test_abort_during_import(tmp_path):
    env = _fake(
        tmp_path, "import os, sys\nsys.stderr.write('free(): invalid pointer\\n')\nos.abort()\n"
    )
    facts = probe_torch_child(env=env, timeout=20)
    assert facts.status == "crashed"
    assert (facts.signal, facts.stage) == ("SIGABRT", "import torch")
    assert facts.detail == "killed by SIGABRT during import torch: free(): invalid pointer"


def test_hang_during_import(tmp_path):
    env = _fake(tmp_path, "import time\nwhile True:\n    time.sleep(1)\n")
    start = time.monotonic()
    facts = probe_torch_child(env=env, timeout=1)
    assert time.monotonic() - start < 4
    assert facts.status == "timed-out"
    assert facts.stage == "import torch"
    assert facts.detail.startswith("python") and facts.detail.endswith("(during import torch)")


def test_working_torch_with_broken_torchvision(tmp_path):
    env = _fake(tmp_path, WORKING_TORCH, BROKEN_TORCHVISION)
    facts = probe_torch_child(env=env, timeout=20)
    assert facts.status == "ok", facts.detail
    assert (facts.version, facts.cuda_build, facts.hip, facts.is_available) == (
        "2.8.0+cu128",
        "12.8",
        None,
        False,
    )
    assert facts.available_warnings == (
        "CUDA initialization: The NVIDIA driver on your system is too old (found version 12020). "
        "Please update your GPU driver.",
    )
    assert facts.device_count == 0 and facts.devices == ()
    assert facts.arch_list == ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")
    assert (facts.cudnn_version, facts.nccl_version) == (91002, "2.27.3")
    assert facts.torchvision == TorchvisionCheck(
        "nms-failed", "0.22.0+cu126", "RuntimeError: operator torchvision::nms does not exist"
    )
    assert "torchvision: nms-failed" in facts.detail
    assert facts.torch_file == str(tmp_path / "torch" / "__init__.py")
    assert facts.errors == {}
    assert facts.python_version == "{}.{}.{}".format(*sys.version_info[:3])


@posix_only
def test_crash_in_torchvision_keeps_torch_facts(tmp_path):
    env = _fake(tmp_path, WORKING_TORCH, "import os\nos.abort()\n")
    facts = probe_torch_child(env=env, timeout=20)
    assert (facts.status, facts.signal, facts.stage) == ("crashed", "SIGABRT", "import torchvision")
    assert (facts.version, facts.cudnn_version) == ("2.8.0+cu128", 91002)  # from the partial line


@pytest.mark.parametrize(
    "source, status, detail",
    [
        ("import os\nos._exit(0)\n", "bad-output", "no result line"),
        ("import os\nos._exit(3)\n", "crashed", "exit status 3 during import torch"),
    ],
)
def test_exit_without_result(tmp_path, source, status, detail):
    facts = probe_torch_child(env=_fake(tmp_path, source), timeout=20)
    assert facts.status == status
    assert facts.detail.startswith(detail)


def test_interpreter_not_found(tmp_path):
    facts = probe_torch_child(str(tmp_path / "nope" / "python"), timeout=5)
    assert (facts.status, facts.interpreter) == ("failed", str(tmp_path / "nope" / "python"))
    assert facts.detail == "python: not found"


def _result(stdout: str, returncode=0, **kw) -> ProcResult:
    return ProcResult(("python", "-c", "..."), returncode, stdout, kw.pop("stderr", ""), 1.0, **kw)


def test_parse_devices_and_libraries():
    payload = (
        '{"event": "result", "status": "ok", "version": "2.9.0+cu130", "cuda_build": "13.0", '
        '"is_available": true, "device_count": 1, "devices": [{"index": 0, '
        '"name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "total_memory_mib": 81079}], '
        '"loaded_libraries": ["/venv/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9", '
        '"/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07", '
        '"/venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublasLt.so.13"], '
        '"torchvision": {"status": "ok", "version": "0.24.0+cu130", "detail": "nms kept [0, 2]"}}'
    )
    facts = parse_child_output(_result("noise from a library\n" + MARK + payload + "\n"))
    assert facts.status == "ok"
    assert facts.devices == (TorchDevice(0, "NVIDIA H100 80GB HBM3", "9.0", 81079),)
    assert [lib.name for lib in facts.loaded_libraries] == ["libcudnn", "libcuda", "libcublasLt"]
    assert facts.loaded_libraries[1] == LoadedLibrary(
        "libcuda", "/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07"
    )
    assert facts.torchvision.status == "ok"


def test_parse_unreadable_result_line():
    facts = parse_child_output(_result(MARK + "{not json\n"))
    assert facts.status == "bad-output"
    assert facts.detail.startswith("unreadable result line")


@pytest.mark.torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_real_torch_cpu_build():
    imported_before = "torch" in sys.modules  # another in-process test may have imported it
    facts = probe_torch_child(timeout=120)
    assert facts.status == "ok", facts.detail + facts.stderr_tail
    assert facts.version.startswith("2.13")
    assert facts.cuda_build is None
    assert facts.is_available is False
    assert facts.device_count == 0 and facts.devices == ()
    assert facts.loaded_libraries == ()  # a CPU build loads no CUDA library
    assert ("torch" in sys.modules) is imported_before  # the probe never imports it in the parent
