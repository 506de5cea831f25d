"""EC310-EC314 over site-packages trees built from real metadata recorded from published wheels
(tests/data/dists), on a recorded H100 machine whose torch is replaced by the tree's."""

from __future__ import annotations

import dataclasses
import os

import pytest

from envcheck.probes.torch_static import facts_from_raw, read_static

from helpers import dists as _dists
from helpers.facts import load
from helpers.findings import codes, one

LINUX_X86 = {
    "implementation_name": "cpython", "implementation_version": "3.10.12", "os_name": "posix",
    "platform_machine": "x86_64", "platform_release": "5.15.0", "platform_system": "Linux",
    "platform_version": "#1 SMP", "python_full_version": "3.10.12",
    "platform_python_implementation": "CPython", "python_version": "3.10", "sys_platform": "linux",
}


def machine(tmp_path, *specs, runtime=None):
    site = str(tmp_path / "site-packages")
    os.makedirs(site, exist_ok=True)
    for spec in specs:
        name, kw = spec if isinstance(spec, tuple) else (spec, {})
        _dists.install(site, name, **kw)
    raw = read_static([site])
    raw["marker_env"] = LINUX_X86  # the recorded wheels are Linux x86_64 ones
    base = load("h100x8-torch2.11-cu130-driver580")
    return dataclasses.replace(base, torch=facts_from_raw(raw), torch_runtime=runtime, quick=runtime is None)


def test_xformers_pinned_to_another_torch(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.7.0", "xformers-0.0.29.post3")
    f = one(facts, matrix, "EC310")
    assert f.severity == "error" and "xformers 0.0.29.post3" in f.title
    assert "torch.packages[xformers].requires = torch==2.6.0" in f.evidence
    assert f.command == "pip install 'xformers==0.0.30'"  # the index's metadata: 0.0.30 requires torch==2.7.0


def test_vllm_pinned_to_another_torch_names_its_release_for_this_torch(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.7.0", "vllm-0.8.5")
    f = one(facts, matrix, "EC310")
    assert "torch.packages[vllm].requires = torch==2.6.0" in f.evidence
    from envcheck.matrix.ecosystem import load as eco

    pin = eco().fitting("vllm", {"torch": "2.7.0"})
    assert pin.requires["torch"] == "==2.7.0"
    assert f.command == "pip install 'vllm=={}'".format(pin.version)


def test_the_pair_torch_was_released_with_is_quiet(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.6.0", "xformers-0.0.29.post3", "numpy-2.1.3")
    problems, _ = codes(facts, matrix)
    assert not problems & {"EC310", "EC311", "EC312", "EC314"}


def test_a_cu118_build_beside_a_cu124_torch(tmp_path, matrix):
    # The cu118 index publishes xformers 0.0.29.post3+cu118; only the Version line differs.
    facts = machine(tmp_path, "torch-2.6.0", ("xformers-0.0.29.post3", {"version": "0.0.29.post3+cu118"}))
    f = one(facts, matrix, "EC311")
    assert "CUDA 11 (cu118), torch for CUDA 12 (cu124)" in f.cause
    assert f.command == ("pip install --force-reinstall --no-deps 'xformers==0.0.29.post3' "
                         "--index-url https://download.pytorch.org/whl/cu124")


def test_another_minor_of_the_same_cuda_major_is_not_a_mismatch(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.6.0", ("xformers-0.0.29.post3", {"version": "0.0.29.post3+cu126"}))
    assert "EC311" not in codes(facts, matrix)[0]


def test_flash_attn_wheel_for_another_torch_and_abi(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.7.0", ("flash-attn-2.7.4.post1", {"direct_url": _dists.FLASH_ATTN_URL}))
    f = one(facts, matrix, "EC312")
    assert "built for torch 2.6, torch 2.7 is installed" in f.cause
    assert "built for the pre-cxx11 C++ ABI, torch uses the cxx11" in f.cause
    assert "flash_attn-2.7.4.post1+cu12torch2.7cxx11abiTRUE-cp310-cp310-linux_x86_64.whl" in f.fix
    assert any(e.startswith("torch.packages[flash_attn].wheel") for e in f.evidence)


def test_flash_attn_wheel_for_this_torch_is_quiet(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.6.0", ("flash-attn-2.7.4.post1", {"direct_url": _dists.FLASH_ATTN_URL}))
    assert "EC312" not in codes(facts, matrix)[0]


def test_the_child_s_abi_outranks_the_recorded_one(tmp_path, matrix):
    from envcheck.facts.model import TorchRuntimeFacts

    rt = TorchRuntimeFacts(status="ok", version="2.6.0+cu124", cuda_build="12.4", is_available=True,
                           device_count=8, cxx11_abi=True)
    facts = machine(tmp_path, "torch-2.6.0", ("flash-attn-2.7.4.post1", {"direct_url": _dists.FLASH_ATTN_URL}),
                    runtime=rt)
    f = one(facts, matrix, "EC312")
    assert "torch_runtime.cxx11_abi = true" in f.evidence and "torch 2.6, torch" not in f.cause


def test_pyg_wheel_for_another_torch(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.6.0", ("xformers-0.0.29.post3", {"version": "0.0.29.post3+pt25cu124"}))
    f = one(facts, matrix, "EC312")
    assert "built for torch 2.5" in f.cause
    assert "data.pyg.org/whl/torch-2.6.0+cu124.html" in f.command


def test_triton_not_the_one_torch_pins(tmp_path, matrix):
    facts = machine(tmp_path, "torch-2.6.0", "triton-3.1.0")
    f = one(facts, matrix, "EC313")
    assert f.severity == "warning" and f.command == "pip install 'triton==3.2.0'"
    assert "triton 3.1.0" in f.title


def test_triton_missing_where_torch_needs_it(tmp_path, matrix):
    f = one(machine(tmp_path, "torch-2.6.0"), matrix, "EC313")
    assert f.title.startswith("triton is missing")


def test_numpy2_beside_a_torch_built_against_numpy1(tmp_path, matrix):
    f = one(machine(tmp_path, "torch-2.2.2", "numpy-2.1.3"), matrix, "EC314")
    assert "torch 2.2.2 was built against NumPy 1" in f.title
    assert f.command == "pip install 'numpy<2'"


@pytest.mark.parametrize("torch, numpy", [("torch-2.2.2", "numpy-1.26.4"), ("torch-2.6.0", "numpy-2.1.3")])
def test_numpy_that_fits_is_quiet(tmp_path, matrix, torch, numpy):
    assert "EC314" not in codes(machine(tmp_path, torch, numpy), matrix)[0]


def test_a_package_that_requires_numpy_below_2(tmp_path, matrix):
    # Any package's numpy requirement counts: xformers' real metadata with its numpy line
    # changed to the "numpy<2" that many 2024 releases declared.
    site = tmp_path / "site-packages"
    machine(tmp_path, "torch-2.6.0", "numpy-2.1.3", "xformers-0.0.29.post3")
    folder = next(p for p in site.iterdir() if p.name.startswith("xformers"))
    meta = folder / "METADATA"
    meta.write_text(meta.read_text().replace("Requires-Dist: numpy\n", "Requires-Dist: numpy<2\n"))
    facts = machine(tmp_path)
    f = one(facts, matrix, "EC314")
    assert "xformers 0.0.29.post3 requires numpy<2" in f.cause
