"""Failures in words: error texts, signals and timeouts, and the fixes (arch fix from the matrix)."""

from __future__ import annotations

import dataclasses

import pytest

from envcheck.proc import ProcResult
from envcheck.verify import classify
from envcheck.verify.classify import FixContext

# Error texts as torch and NCCL print them (first lines).
TEXTS = [
    ("RuntimeError: CUDA error: no kernel image is available for execution on the device", "no-kernel-image"),
    ("torch.AcceleratorError: CUDA error: no kernel image is available for execution on the device", "no-kernel-image"),
    ("RuntimeError: CUDA error: invalid device function", "no-kernel-image"),
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.10 GiB", "out-of-memory"),
    ("RuntimeError: CUDA error: out of memory", "out-of-memory"),
    ("RuntimeError: CUDA error: an illegal memory access was encountered", "illegal-address"),
    ("RuntimeError: CUDA error: misaligned address", "illegal-address"),
    ("RuntimeError: CUDA error: uncorrectable ECC error encountered", "ecc"),
    ("RuntimeError: CUDA error: unspecified launch failure", "kernel-fault"),
    ("RuntimeError: CUDA error: the launch timed out and was terminated", "kernel-fault"),
    ("RuntimeError: CUDA error: device-side assert triggered", "kernel-fault"),
    ("RuntimeError: CUDA error: GPU has fallen off the bus", "gpu-lost"),
    ("RuntimeError: CUDA error: all CUDA-capable devices are busy or unavailable", "device-busy"),
    ("torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:1970, unhandled cuda error", "nccl"),
    ("RuntimeError: [../third_party/gloo/gloo/transport/tcp/pair.cc:534] Connection closed by peer", "collective"),
    ("RuntimeError: cuDNN version incompatibility: PyTorch was compiled against (9, 10, 2) but found runtime version (9, 1, 0)", "library"),
    ("OSError: /venv/lib/libtorch_cuda.so: undefined symbol: ncclCommShrink", "library"),
    ("RuntimeError: The NVIDIA driver on your system is too old (found version 12020)", "driver"),
    ("RuntimeError: No CUDA GPUs are available", "driver"),
    ("ValueError: something else entirely", "error"),
]


@pytest.mark.parametrize("text, kind", TEXTS)
def test_classify_text(text, kind):
    assert classify.classify_text(text) == kind


@pytest.mark.parametrize("text, kind", TEXTS)
def test_every_failure_has_words_and_evidence(text, kind):
    f = classify.failure_for_error(text + "\nCUDA kernel errors might be asynchronously reported", FixContext(device="cuda:0"), check="matmul-fp32")
    assert f.kind == kind
    assert f.summary and "(in the matmul-fp32 check)" in f.summary
    assert f.evidence == text
    assert f.kind in classify.KINDS


@pytest.mark.parametrize(
    "arch_list, sass, ptx",
    [
        (("sm_75", "sm_80", "sm_90a", "sm_120"), ("7.5", "8.0", "9.0a", "12.0"), ()),
        (("sm_50", "compute_90", "compute_100f"), ("5.0",), ("9.0", "10.0f")),
        (("junk", "sm_x"), (), ()),
    ],
)
def test_arch_lists(arch_list, sass, ptx):
    assert classify.arch_lists(arch_list) == (sass, ptx)


CU130_ARCHS = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")


def test_no_kernel_image_names_the_arch_and_a_build_that_carries_it():
    ctx = FixContext(device="cuda:0", name="NVIDIA GeForce GTX 1080 Ti", cc="6.1", torch_version="2.13.0+cu130",
                     cuda_build="13.0", arch_list=CU130_ARCHS, driver="580.82.07")
    f = classify.failure_for_error("RuntimeError: CUDA error: no kernel image is available for execution on the device",
                                   ctx, check="tensor")
    assert f.kind == "no-kernel-image"
    assert "torch 2.13.0+cu130 has no code for NVIDIA GeForce GTX 1080 Ti (compute capability 6.1, sm_61, Pascal)" in f.summary
    assert "support was dropped" in f.summary
    assert "sm_61" in f.fix
    assert f.command.startswith("pip install torch==")
    assert "/whl/cu126" in f.command  # the newest CUDA build that still carries sm_61


def test_no_kernel_image_on_blackwell_with_an_old_wheel():
    ctx = FixContext(device="cuda:0", name="NVIDIA GeForce RTX 5090", cc="12.0", torch_version="2.6.0+cu124",
                     cuda_build="12.4", arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
    f = classify.failure_for_error("CUDA error: no kernel image is available for execution on the device", ctx)
    assert "sm_120" in f.summary and "no code the GPU can run" in f.summary
    assert f.command is not None and "--index-url https://download.pytorch.org/whl/cu1" in f.command


def test_no_kernel_image_without_a_capability():
    f = classify.failure_for_error("CUDA error: no kernel image is available", FixContext(torch_version="2.13.0"))
    assert f.kind == "no-kernel-image" and f.command is None
    assert "envcheck install-command" in f.fix


def _proc(**kw) -> ProcResult:
    base = dict(argv=("python", "-c", "..."), returncode=0, stdout="", stderr="", seconds=3.0)
    base.update(kw)
    return ProcResult(**base)


def test_timeout():
    f = classify.failure_for_process(_proc(returncode=None, timed_out=True), check="memory", timeout=30)
    assert f.kind == "timeout"
    assert f.summary == "no answer within 30 s during memory: the check hung and its process was killed"
    assert "--timeout" in f.fix


def test_crash_by_signal():
    f = classify.failure_for_process(_proc(returncode=-11, stderr="Segmentation fault\n"), check="conv", timeout=30)
    assert f.kind == "crash"
    assert f.summary == "the process was killed by SIGSEGV during conv: torch or a CUDA library crashed"
    assert f.evidence == "Segmentation fault"


def test_crash_by_signal_with_a_cuda_error_on_stderr():
    err = "terminate called after throwing an instance of 'c10::Error'\n  what():  CUDA error: an illegal memory access was encountered\n"
    f = classify.failure_for_process(_proc(returncode=-6, stderr=err), check="memory", timeout=30)
    assert f.summary.endswith("(illegal address)")


def test_exit_status():
    f = classify.failure_for_process(_proc(returncode=3, stderr="boom\n"), check=None, timeout=30)
    assert f.summary == "the process ended before its first check with exit status 3"


def test_wrong_result():
    f = classify.failure_for_wrong("memory test: 3 of 100 words read back wrong", check="memory")
    assert f.kind == "wrong-result"
    assert f.summary == "wrong result in the memory check: memory test: 3 of 100 words read back wrong"
    assert "dcgmi diag" in f.fix


@pytest.mark.parametrize(
    "info, env, words",
    [
        ({"version": "2.13.0+cpu", "cuda_build": None}, {}, "torch 2.13.0+cpu is a CPU-only build (torch.version.cuda is None)"),
        ({"version": "2.5.1+rocm6.2", "cuda_build": None, "hip": "6.2"}, {}, "is a ROCm build"),
        ({"version": "2.8.0+cu128", "cuda_build": "12.8",
          "available_warnings": ["CUDA initialization: The NVIDIA driver on your system is too old (found version 12020)."]},
         {}, "cannot use a GPU: CUDA initialization: The NVIDIA driver on your system is too old"),
        ({"version": "2.8.0+cu128", "cuda_build": "12.8"}, {"CUDA_VISIBLE_DEVICES": ""}, "CUDA_VISIBLE_DEVICES='' hides every GPU"),
    ],
)
def test_cuda_unavailable_reason(info, env, words):
    assert words in classify.cuda_unavailable_reason(info, env)


def test_install_command_for_a_cpu_machine():
    cmd = classify.install_command(cpu=True)
    assert cmd is not None and cmd.startswith("pip install torch==") and "/whl/cpu" in cmd


def test_no_kernel_image_fix_keeps_the_installed_release():
    """torch 2.8.0+cu128 on a GTX 1080 (sm_61): 2.8.0's cu126 build carries sm_60 code, which runs
    on 6.1, and driver 580.65.06 fully supports CUDA 12.6: keep 2.8.0, change the build."""
    ctx = classify.FixContext(device="cuda:0", name="NVIDIA GeForce GTX 1080", cc="6.1",
                              torch_version="2.8.0+cu128", cuda_build="12.8",
                              arch_list=("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"),
                              driver="580.65.06")
    why, fix, command = classify.arch_fix(ctx)
    assert "sm_61" in why or "6.1" in why
    assert command is not None and "torch==2.8.0" in command and command.endswith("/whl/cu126")
    # A release with no build for the GPU is not kept: the newest release that has one is given.
    ctx2 = dataclasses.replace(ctx, cc="12.0", name="NVIDIA GeForce RTX 5090", torch_version="2.6.0+cu124",
                               arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
    _, _, command2 = classify.arch_fix(ctx2)
    assert command2 is not None and "torch==2.6.0" not in command2 and "/whl/cu13" in command2
