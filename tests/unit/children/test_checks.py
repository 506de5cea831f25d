"""verify's child machinery, in-process, with a stand-in torch: the check protocol, torch's build,
the device flow. The arithmetic itself runs on the real torch CPU in tests/integration/children."""

from __future__ import annotations

import types

import pytest

from envcheck.children import checks, verify_device

from unit.children import standin


def _run(name, fn, state=None):
    rec = standin.Recorder()
    status = checks.run_check(rec, name, fn, {} if state is None else state)
    return status, rec.events


def test_a_check_that_returns_passes_with_its_detail_and_values():
    status, events = _run("tensor", lambda: {"detail": "exact", "values": {"n": 3}})
    assert status == "passed"
    assert [e["event"] for e in events] == ["begin", "end"]
    assert events[1]["detail"] == "exact" and events[1]["values"] == {"n": 3} and events[1]["seconds"] >= 0


@pytest.mark.parametrize("raised, status, field, text", [
    (checks.Wrong("off by 3", {"bad": 1}), "failed", "detail", "off by 3"),
    (checks.Skip("needs a GPU"), "skipped", "detail", "needs a GPU"),
    (RuntimeError("CUDA error: out of memory"), "error", "error", "RuntimeError: CUDA error: out of memory"),
])
def test_wrong_skip_and_errors(raised, status, field, text):
    def fn():
        raise raised

    got, events = _run("copy", fn)
    assert got == status and events[1][field] == text
    if status == "error":
        assert "Traceback" in events[1]["traceback"]


def test_after_a_sticky_error_the_rest_are_not_run():
    state: dict = {}

    def fn():
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    assert _run("matmul-fp32", fn, state)[0] == "error"
    status, events = _run("autograd", lambda: {"detail": "never"}, state)
    assert status == "not-run" and [e["event"] for e in events] == ["end"]
    assert events[0]["detail"] == "not run: the GPU is unusable after the error in matmul-fp32"


def test_an_injected_fault_fires_inside_the_check(monkeypatch):
    monkeypatch.setenv("ENVCHECK_FAULT", "verify.copy=wrong:bits flipped")
    assert _run("copy", lambda: {"detail": "fine"})[1][1]["detail"] == "bits flipped"
    assert _run("tensor", lambda: {"detail": "fine"})[0] == "passed"  # another check is untouched


def test_torch_info_of_a_cuda_build_and_where_it_came_from():
    info = checks.torch_info(standin.torch())
    assert (info["version"], info["cuda_build"], info["is_available"], info["device_count"]) == ("2.9.0+cu128", "12.8", True, 1)
    assert info["nccl"] == "2.27.3" and info["cudnn"] == {"available": True, "version": 91002}
    assert info["tf32"] == {"matmul": False, "cudnn": True, "float32_matmul_precision": "highest"}
    assert info["threads"] == 8
    assert {"sys_path", "modules", "shadows"} <= set(info)


def test_torch_info_when_cuda_initialisation_raises():
    info = checks.torch_info(standin.torch(available=RuntimeError("CUDA driver version is insufficient")))
    assert info["is_available"] is False and info["device_count"] == 0
    assert info["cuda_error"] == "RuntimeError: CUDA driver version is insufficient"


def test_device_info_of_a_gpu():
    got = checks.device_info(standin.torch(), "cuda:0", 0)
    assert got["name"] == "NVIDIA H100 80GB HBM3" and got["cc"] == "9.0" and got["total_mib"] == 80 << 10
    assert got["pci"] == [0, 0x3B, 0] and got["uuid"].startswith("8a0b58c4")


def _device(torch, device, only="tensor"):
    rec = standin.Recorder()
    args = checks.parse_args(["--device", device, "--only", only])
    verify_device.run_device(rec, torch, checks.torch_info(torch), args)
    return rec


def test_auto_without_a_usable_gpu_resolves_to_the_cpu(monkeypatch):
    monkeypatch.setattr(verify_device, "check_tensor", lambda c: {"detail": "ran on " + c.spec})
    rec = _device(standin.torch(available=False, count=0), "auto")
    assert rec.kinds() == ["resolved", "device", "begin", "end"]
    assert rec.events[0]["device"] == "cpu" and rec.events[3]["detail"] == "ran on cpu"


def test_a_gpu_torch_cannot_use_or_that_is_not_there():
    assert _device(standin.torch(available=False), "cuda:0").kinds() == ["unavailable"]
    rec = _device(standin.torch(), "cuda:3")
    assert rec.kinds() == ["absent"] and rec.events[0]["count"] == 1


def test_a_device_that_cannot_be_opened_fails_the_first_check_and_skips_the_rest():
    t = standin.torch()

    def refuse(index):
        raise RuntimeError("CUDA error: uncorrectable ECC error encountered")

    t.cuda.set_device = refuse
    rec = _device(t, "cuda:0", only="tensor,copy,memory")
    ends = [e for e in rec.events if e["event"] == "end"]
    assert [(e["check"], e["status"]) for e in ends] == [("tensor", "error"), ("copy", "not-run"), ("memory", "not-run")]
    assert "uncorrectable ECC" in ends[0]["error"]


def test_math_mode_sets_and_restores_and_tolerates_an_older_torch():
    t = standin.torch()
    mm = t.backends.cuda.matmul
    with checks.math_mode(t, tf32=True, reduced=False):
        assert mm.allow_tf32 is True and mm.allow_fp16_reduced_precision_reduction is False
    assert mm.allow_tf32 is False and mm.allow_fp16_reduced_precision_reduction is True
    old = types.SimpleNamespace(backends=types.SimpleNamespace(
        cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False)),
        cudnn=types.SimpleNamespace(allow_tf32=False)))
    with checks.math_mode(old, tf32=True, reduced=False):  # no reduced-precision switches: skipped
        assert old.backends.cuda.matmul.allow_tf32 is True
    assert old.backends.cuda.matmul.allow_tf32 is False


@pytest.mark.parametrize("cuda, cc, name, skips", [
    (False, None, "tf32", "TF32 is a GPU tensor-core mode"),
    (True, (7, 0), "tf32", "needs compute capability 8.0"),
    (True, (7, 5), "bf16", "no bf16 hardware"),
    (True, (5, 2), "fp16", "no fp16 arithmetic"),
    (True, (9, 0), "bf16", None),
    (False, None, "fp32", None),
])
def test_matmul_skip(cuda, cc, name, skips):
    c = types.SimpleNamespace(cuda=cuda, cc=cc, cc_text=lambda: "%d.%d" % cc)
    if skips is None:
        checks.matmul_skip(c, name)
    else:
        with pytest.raises(checks.Skip, match=skips):
            checks.matmul_skip(c, name)


def test_sticky_errors():
    assert checks.sticky("CUDA error: device-side assert triggered")
    assert not checks.sticky("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert not checks.sticky(None)


def test_torch_info_is_the_torch_childs_collector_without_opening_every_gpu():
    """One collector for both children; verify's per-GPU children must not each initialise CUDA
    on the first GPU by reading every device's properties."""
    from envcheck.children import torch_runtime

    t = standin.torch(count=8)

    def never(i):
        raise AssertionError("torch_info opened a device")

    t.cuda.get_device_properties = never
    info = checks.torch_info(t)
    res = torch_runtime.probe(standin.torch(count=1))
    assert info["device_count"] == 8 and "devices" not in info
    for verify_key, runtime_key in (("version", "version"), ("cuda_build", "cuda_build"), ("file", "torch_file"),
                                    ("arch_list", "arch_list"), ("nccl", "nccl_version")):
        assert info[verify_key] == res[runtime_key]


def test_a_failing_arch_list_or_nccl_is_named_not_raised():
    t = standin.torch(nccl=RuntimeError("NCCL error: unhandled system error"))

    def broken():
        raise RuntimeError("no arch list")

    t.cuda.get_arch_list = broken
    info = checks.torch_info(t)
    assert info["arch_error"] == "RuntimeError: no arch list" and "arch_list" not in info
    assert info["nccl_error"] == "RuntimeError: NCCL error: unhandled system error" and "nccl" not in info
