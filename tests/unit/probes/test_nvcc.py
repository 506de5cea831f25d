from __future__ import annotations

import os

import pytest

from envcheck.probes.nvcc import (
    NvccVersion,
    cpp_extension_cuda_home,
    parse_nvcc_version,
    probe_nvcc,
)

from helpers.fakes import DATA

posix_only = pytest.mark.skipif(os.name != "posix", reason="fake nvcc is a shell script")


def _fixture(name: str) -> str:
    with open(os.path.join(DATA, "nvcc", name), newline="") as fh:
        return fh.read()


@pytest.mark.parametrize(
    "name, expected",
    [
        ("10.2.txt", NvccVersion("10.2", "V10.2.89", None, "Wed_Oct_23_19:24:38_PDT_2019")),
        (
            "11.8.txt",
            NvccVersion(
                "11.8",
                "V11.8.89",
                "cuda_11.8.r11.8/compiler.31833905_0",
                "Wed_Sep_21_10:33:58_PDT_2022",
            ),
        ),
        (
            "12.1.txt",
            NvccVersion(
                "12.1",
                "V12.1.105",
                "cuda_12.1.r12.1/compiler.32688072_0",
                "Mon_Apr__3_17:16:06_PDT_2023",
            ),
        ),
        (
            "12.6-windows.txt",
            NvccVersion(
                "12.6",
                "V12.6.85",
                "cuda_12.6.r12.6/compiler.35059454_0",
                "Wed_Oct_30_01:18:48_Pacific_Daylight_Time_2024",
            ),
        ),
        (
            "12.8.txt",
            NvccVersion(
                "12.8",
                "V12.8.93",
                "cuda_12.8.r12.8/compiler.35583870_0",
                "Fri_Feb_21_20:23:50_PST_2025",
            ),
        ),
        (
            "13.0.txt",
            NvccVersion(
                "13.0",
                "V13.0.88",
                "cuda_13.0.r13.0/compiler.36424714_0",
                "Wed_Aug_20_01:58:59_PM_PDT_2025",
            ),
        ),
    ],
)
def test_parse_recorded_nvcc(name, expected):
    assert parse_nvcc_version(_fixture(name)) == expected


@pytest.mark.parametrize(
    "text", ["", "bash: nvcc: command not found", "nvcc fatal : No input files"]
)
def test_parse_rejects_other_text(text):
    assert parse_nvcc_version(text) is None


@pytest.mark.parametrize(
    "env, which, exists, expected",
    [
        (
            {"CUDA_HOME": "/opt/a", "CUDA_PATH": "/opt/b"},
            "/usr/bin/nvcc",
            True,
            ("/opt/a", "CUDA_HOME"),
        ),
        ({"CUDA_HOME": "", "CUDA_PATH": "/opt/b"}, "/usr/bin/nvcc", True, ("/opt/b", "CUDA_PATH")),
        ({}, "/usr/local/cuda-12.8/bin/nvcc", True, ("/usr/local/cuda-12.8", "PATH")),
        (
            {},
            "/usr/local/bin/nvcc",
            True,
            ("/usr/local", "PATH"),
        ),  # a wrapper: torch does not resolve it
        ({}, None, True, ("/usr/local/cuda", "default")),
        ({}, None, False, (None, None)),
    ],
)
def test_cpp_extension_rule(env, which, exists, expected):
    got = cpp_extension_cuda_home(
        env, which=lambda name: which, exists=lambda p: exists, default_home="/usr/local/cuda"
    )
    assert got == expected


def test_nothing_found(tmp_path):
    facts = probe_nvcc(
        {"PATH": str(tmp_path)},
        search_dirs=[str(tmp_path / "no")],
        default_home=str(tmp_path / "no"),
    )
    assert (facts.status, facts.toolkits, facts.cpp_extension_home) == ("missing", (), None)
    assert facts.selected is None


