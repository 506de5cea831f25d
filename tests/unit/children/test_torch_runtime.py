"""The torch child's steps, in-process, with a stand-in torch."""

from __future__ import annotations

import sys
import types

from envcheck.children import torch_runtime

from unit.children import standin


def test_probe_reads_the_build_and_every_device():
    stages = []
    res = torch_runtime.probe(standin.torch(), stages.append)
    assert (res["version"], res["cuda_build"], res["is_available"], res["device_count"]) == ("2.9.0+cu128", "12.8", True, 1)
    assert res["arch_list"] == ["sm_80", "sm_90"] and res["cudnn_version"] == 91002 and res["nccl_version"] == "2.27.3"
    assert res["devices"] == [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0",
                               "total_memory_mib": 80 << 10}]
    assert res["cxx11_abi"] is True and res["errors"] == {}
    assert stages == ["torch.cuda.is_available", "torch.cuda.device_count", "arch list", "cudnn", "nccl", "device 0"]


def test_probe_records_each_failing_step_and_goes_on():
    t = standin.torch(available=RuntimeError("CUDA driver initialization failed\nmore"), cudnn=OSError("libcudnn"),
                      nccl=RuntimeError("NCCL"), warning="CUDA initialization: driver too old")
    res = torch_runtime.probe(t)
    assert "is_available" not in res
    assert res["errors"] == {"is_available": "RuntimeError: CUDA driver initialization failed",
                             "cudnn_version": "OSError: libcudnn", "nccl_version": "RuntimeError: NCCL"}
    assert res["available_warnings"] == ["CUDA initialization: driver too old"]
    assert res["devices"] == []  # not available: no device is opened


def test_a_cpu_build_reports_no_nccl():
    res = torch_runtime.probe(standin.torch(version="2.13.0+cpu", cuda=None, available=False, count=0, archs=()))
    assert "nccl_version" not in res and res["is_available"] is False and res["arch_list"] == []


def test_torchvision_check_missing_broken_and_working(monkeypatch):
    torch = types.SimpleNamespace(tensor=lambda data: data)
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import raises ModuleNotFoundError
    assert torch_runtime.torchvision_check(torch, print) == {"status": "missing", "detail": "torchvision is not installed"}

    def nms(boxes, scores, iou):
        raise RuntimeError("operator torchvision::nms does not exist")

    broken = types.SimpleNamespace(__version__="0.22.0+cu126", ops=types.SimpleNamespace(nms=nms))
    monkeypatch.setitem(sys.modules, "torchvision", broken)
    got = torch_runtime.torchvision_check(torch, lambda name: None)
    assert got == {"status": "nms-failed", "version": "0.22.0+cu126",
                   "detail": "RuntimeError: operator torchvision::nms does not exist"}

    kept = types.SimpleNamespace(tolist=lambda: [0, 2])
    working = types.SimpleNamespace(__version__="0.24.0", ops=types.SimpleNamespace(nms=lambda b, s, i: kept))
    monkeypatch.setitem(sys.modules, "torchvision", working)
    assert torch_runtime.torchvision_check(torch, lambda name: None)["status"] == "ok"


def test_loaded_libraries_reads_the_maps_file(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r-xp 00000000 08:01 1 /venv/nvidia/cudnn/lib/libcudnn.so.9\n"
        "7f01-7f02 r-xp 00000000 08:01 1 /venv/nvidia/cudnn/lib/libcudnn.so.9\n"
        "7f02-7f03 r-xp 00000000 08:01 2 /usr/lib/libc.so.6\n"
        "7f03-7f04 rw-p 00000000 00:00 0\n"
        "7f04-7f05 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07\n")
    assert torch_runtime.loaded_libraries(str(maps)) == [
        "/venv/nvidia/cudnn/lib/libcudnn.so.9", "/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07"]
    assert torch_runtime.loaded_libraries(str(tmp_path / "none")) is None


def test_origin_names_the_modules_imported_and_the_path(monkeypatch, tmp_path):
    fake = types.ModuleType("numpy")
    fake.__file__ = "/site/numpy/__init__.py"
    monkeypatch.setitem(sys.modules, "numpy", fake)
    monkeypatch.chdir(tmp_path)
    got = torch_runtime.origin()
    assert got["modules"]["numpy"] == "/site/numpy/__init__.py"
    assert got["sys_path"] == list(sys.path) and got["shadows"] == []
