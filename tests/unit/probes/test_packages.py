"""The ecosystem around torch read from metadata (never imported), the CPU, and the build tools."""

from __future__ import annotations

import os
import re
import sys

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from envcheck.probes.host import parse_cpuinfo, probe_host
from envcheck.probes.tools import parse_tool_version
from envcheck.probes.torch_static import (
    marker_environment,
    facts_from_raw,
    marker_applies,
    read_static,
    split_requirement,
)

from helpers import dists as _dists
from helpers.fakes import DATA


def _site(tmp_path, *specs):
    site = str(tmp_path / "site-packages")
    os.makedirs(site, exist_ok=True)
    for spec in specs:
        if isinstance(spec, tuple):
            _dists.install(site, spec[0], **spec[1])
        else:
            _dists.install(site, spec)
    return site


def test_the_ecosystem_is_read_from_recorded_metadata(tmp_path):
    site = _site(tmp_path, "torch-2.6.0", "xformers-0.0.29.post3", "numpy-2.1.3", "triton-3.1.0",
                 "vllm-0.8.5", ("flash-attn-2.7.4.post1", {"direct_url": _dists.FLASH_ATTN_URL}))
    t = facts_from_raw(read_static([site]))
    assert (t.status, t.version, t.variant) == ("ok", "2.6.0", "cu124")
    got = {p.name: p for p in t.packages}
    assert sorted(got) == ["flash_attn", "numpy", "triton", "vllm", "xformers"]
    assert got["xformers"].requires == ("numpy", "torch==2.6.0")
    assert got["numpy"].version == "2.1.3" and got["numpy"].requires == ()
    linux_x86 = sys.platform == "linux" and os.uname().machine == "x86_64"
    assert ("xformers==0.0.29.post2" in got["vllm"].requires) == linux_x86
    assert {"torch==2.6.0", "torchvision==0.21.0", "torchaudio==2.6.0", "numpy"} <= set(got["vllm"].requires)
    assert got["flash_attn"].wheel == _dists.FLASH_ATTN_URL.rsplit("/", 1)[1]
    assert got["xformers"].wheel is None and got["xformers"].installer == "pip"
    pin = t.triton_pin
    if linux_x86:
        assert (pin.name, pin.specifier, pin.installed, pin.satisfied) == ("triton", "==3.2.0", "3.1.0", False)
    else:
        assert pin is None


def test_a_package_from_another_index_keeps_its_local_version(tmp_path):
    site = _site(tmp_path, "torch-2.6.0", ("xformers-0.0.29.post3", {"version": "0.0.29.post3+cu118"}))
    t = facts_from_raw(read_static([site]))
    assert [(p.name, p.version) for p in t.packages] == [("xformers", "0.0.29.post3+cu118")]


def test_the_real_installed_packages_match_importlib_metadata():
    """Against what is installed here: every ecosystem package the scan finds has the version
    and the torch-related requirements importlib.metadata reports (numpy is in the test extra)."""
    from importlib import metadata

    t = facts_from_raw(read_static())
    found = {p.name.lower(): p for p in t.packages}
    assert "numpy" in found, "numpy (in the test extra) should be installed and found"
    env = marker_environment()
    for name, pkg in found.items():
        dist = metadata.distribution(name)
        assert pkg.version == dist.version
        want = []
        for line in dist.requires or ():
            req = Requirement(line)
            canon = re.sub(r"[-_.]+", "-", req.name).lower()
            if canon in ("torch", "torchvision", "torchaudio", "triton", "pytorch-triton", "xformers",
                         "numpy", "flash-attn") and (req.marker is None or req.marker.evaluate(dict(env, extra=""))):
                want.append(canon + str(req.specifier).replace(" ", ""))
        assert sorted(pkg.requires) == sorted(want), name


@pytest.mark.parametrize("spec", sorted(os.listdir(_dists.WHEELS)))
def test_requirements_split_as_packaging_reads_them(spec):
    lines = re.findall(r"^Requires-Dist: (.+)$", _dists.recorded(spec), re.M)
    for line in lines:
        req = Requirement(line)
        got = split_requirement(line)
        if req.url:
            assert got is None
            continue
        assert got[0] == re.sub(r"[-_.]+", "-", req.name).lower()
        assert sorted(got[1].split(",")) == sorted(str(req.specifier).split(",")), line
        assert (got[2] is None) == (req.marker is None)
        if req.marker is not None:
            for env in _ENVS:
                assert marker_applies(got[2], env) == req.marker.evaluate(dict(env, extra="")), (line, env)


_ENVS = [
    dict(marker_environment()),
    dict(marker_environment(), platform_system="Windows", sys_platform="win32", platform_machine="AMD64",
         python_version="3.9", python_full_version="3.9.18"),
    dict(marker_environment(), platform_system="Darwin", sys_platform="darwin", platform_machine="arm64",
         python_version="3.13", python_full_version="3.13.1"),
]

_MARKERS = [
    'platform_system == "Linux" and platform_machine == "x86_64"',
    'python_version < "3.12"', 'python_version >= "3.10" and python_version < "3.13"',
    '(sys_platform == "win32" or sys_platform == "linux") and python_version >= "3.9"',
    'extra == "dev"', 'extra == "dev" or platform_system != "Windows"', "platform_machine != 'aarch64'",
    '"linux" in sys_platform', 'sys_platform not in "win32 cygwin"', 'python_full_version >= "3.9.1"',
    'python_version ~= "3.9"', 'implementation_name == "cpython"',
]


@pytest.mark.parametrize("marker", _MARKERS)
def test_markers_evaluate_as_packaging_does(marker):
    for env in _ENVS:
        assert marker_applies(marker, env) == Marker(marker).evaluate(dict(env, extra="")), (marker, env)


def test_cpuinfo_of_this_kind_of_machine_recorded():
    with open(os.path.join(DATA, "cpuinfo", "x86_64-amd-epyc.txt"), encoding="utf-8") as fh:
        cpu = parse_cpuinfo(fh.read())
    assert (cpu.model, cpu.vendor, cpu.flags_read) == ("AMD EPYC", "AuthenticAMD", True)
    assert {"avx2", "avx512f", "avx512_bf16"} <= set(cpu.flags) and "amx_tile" not in cpu.flags
    assert "sse" not in cpu.flags and "pni" not in cpu.flags  # only the flags that matter are kept


def test_cpuinfo_of_an_arm_server():
    # The layout of arch/arm64/kernel/cpuinfo.c: "Features" instead of "flags", no model name.
    text = ("processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 "
            "atomics fphp asimdhp cpuid asimdrdm sve svebf16 i8mm bf16\nCPU implementer\t: 0x41\n"
            "CPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd40\n\nprocessor\t: 1\n")
    cpu = parse_cpuinfo(text)
    assert (cpu.model, cpu.vendor) == (None, "0x41")
    assert cpu.flags == ("asimd", "asimdhp", "sve", "bf16", "i8mm")


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="no /proc/cpuinfo on this OS")
def test_the_live_cpu_is_read():
    cpu = probe_host().cpu
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        text = fh.read()
    assert cpu.flags_read
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    if m:
        assert cpu.model == m.group(1).strip()
    flags = set(re.search(r"^(?:flags|Features)\s*:\s*(.*)$", text, re.M).group(1).split())
    assert set(cpu.flags) == flags & set(cpu.flags) and all(f in flags for f in cpu.flags)
    assert ("avx2" in cpu.flags) == ("avx2" in flags)


@pytest.mark.parametrize("name, want", [
    ("gcc-debian-12.txt", "12.2.0"), ("g++-debian-12.txt", "12.2.0"),
    ("cmake-3.25.txt", "3.25.1"), ("ninja-1.11.txt", "1.11.1"),
])
def test_tool_versions_recorded(name, want):
    with open(os.path.join(DATA, "tools", name), encoding="utf-8") as fh:
        assert parse_tool_version(fh.read())[0] == want


@pytest.mark.parametrize("text, want", [
    ("Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu\n", "14.0.6"),
    ("Apple clang version 15.0.0 (clang-1500.3.9.4)\nTarget: arm64-apple-darwin23.4.0\n", "15.0.0"),
    ("gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3)\n", "11.4.1"),
    ("no version here\n", None),
])
def test_tool_version_forms(text, want):
    assert parse_tool_version(text)[0] == want




