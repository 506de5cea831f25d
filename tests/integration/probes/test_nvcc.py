from __future__ import annotations

import os
import stat
import time

import pytest

from envcheck.probes.nvcc import (
    probe_nvcc,
)

from helpers.fakes import DATA
from unit.probes.test_nvcc import posix_only  # shared with the unit twin


def _toolkit(base, name: str, script: str) -> str:
    bindir = base / name / "bin"
    bindir.mkdir(parents=True)
    nvcc = bindir / "nvcc"
    nvcc.write_text("#!/bin/sh\n" + script)
    nvcc.chmod(nvcc.stat().st_mode | stat.S_IEXEC)
    return str(base / name)

@pytest.fixture
def toolkits(tmp_path):
    """cuda-11.8 and cuda-12.8 with recorded output, cuda -> cuda-12.8, and an empty dir."""
    fixtures = os.path.join(DATA, "nvcc")
    t118 = _toolkit(tmp_path, "cuda-11.8", 'cat "{}"\n'.format(os.path.join(fixtures, "11.8.txt")))
    t128 = _toolkit(tmp_path, "cuda-12.8", 'cat "{}"\n'.format(os.path.join(fixtures, "12.8.txt")))
    os.symlink(t128, str(tmp_path / "cuda"))
    (tmp_path / "empty").mkdir()
    return tmp_path, t118, t128

REAL = "/usr/local/cuda/bin/nvcc"


@posix_only
def test_probe_finds_dedupes_and_selects(toolkits):
    base, t118, t128 = toolkits
    env = {"PATH": os.path.join(t118, "bin") + os.pathsep + "/nonexistent"}
    facts = probe_nvcc(
        env, search_dirs=[str(base / "cuda"), t118, t128], default_home=str(base / "cuda")
    )
    assert facts.status == "ok"
    summary = [
        (tk.root, tk.sources, tk.aliases, tk.status, tk.release, tk.build) for tk in facts.toolkits
    ]
    assert summary == [
        (t118, ("PATH", t118), (), "ok", "11.8", "V11.8.89"),
        (str(base / "cuda"), (str(base / "cuda"), t128), (t128,), "ok", "12.8", "V12.8.93"),
    ]
    assert facts.toolkits[1].nvcc_realpath == os.path.realpath(os.path.join(t128, "bin", "nvcc"))
    # torch would build with the nvcc on PATH, not with /usr/local/cuda:
    assert (facts.cpp_extension_home, facts.cpp_extension_source) == (t118, "PATH")
    assert facts.selected is facts.toolkits[0]
    assert facts.release == "11.8"


@posix_only
def test_cuda_home_through_a_link_is_recorded_as_an_alias(toolkits):
    """The model matches cpp_extension's CUDA_HOME as text (it reads no file system, so a
    snapshot means the same on another machine): the probe records a home that reaches a toolkit
    only through a symlink as that toolkit's alias."""
    base, t118, t128 = toolkits
    link = base / "links" / "cuda-current"
    link.parent.mkdir()
    os.symlink(t128, str(link))
    facts = probe_nvcc({"PATH": "/nonexistent"}, search_dirs=[t118, t128], default_home=str(link))
    assert (facts.cpp_extension_home, facts.cpp_extension_source) == (str(link), "default")
    assert [tk.root for tk in facts.toolkits] == [t118, t128]
    assert facts.toolkits[1].aliases == (str(link),)
    assert facts.selected is facts.toolkits[1] and facts.release == "12.8"


@posix_only
def test_cuda_home_without_nvcc_is_reported(toolkits):
    base, t118, t128 = toolkits
    env = {"PATH": "/nonexistent", "CUDA_HOME": str(base / "empty")}
    facts = probe_nvcc(env, search_dirs=[t128], default_home=str(base / "cuda"))
    assert [(tk.root, tk.status) for tk in facts.toolkits] == [
        (str(base / "empty"), "missing"),
        (t128, "ok"),
    ]
    assert facts.toolkits[0].detail == "no bin/nvcc under {}".format(base / "empty")
    assert facts.cpp_extension_source == "CUDA_HOME"
    assert facts.selected is facts.toolkits[0] and facts.release is None
    assert facts.status == "ok"  # another toolkit works


@posix_only
def test_windows_style_cuda_path_variables(toolkits):
    base, t118, t128 = toolkits
    env = {"PATH": "", "CUDA_PATH": t128, "CUDA_PATH_V12_8": t128, "CUDA_PATH_V11_8": t118}
    facts = probe_nvcc(env, search_dirs=[], default_home=str(base / "none"))
    assert [(tk.root, tk.sources) for tk in facts.toolkits] == [
        (t128, ("CUDA_PATH", "CUDA_PATH_V12_8")),
        (t118, ("CUDA_PATH_V11_8",)),
    ]
    assert facts.release == "12.8"


@posix_only
@pytest.mark.parametrize(
    "script, status, detail",
    [
        ("exec sleep 30\n", "timed-out", "nvcc: no answer within"),
        (
            "echo 'nvcc: cannot execute binary file' >&2\nexit 126\n",
            "failed",
            "nvcc: exit status 126: nvcc: cannot execute binary file",
        ),
        ("echo hello\n", "failed", "nvcc: no release line in output: hello"),
    ],
)
def test_broken_nvcc(tmp_path, script, status, detail):
    root = _toolkit(tmp_path, "cuda-x", script)
    start = time.monotonic()
    facts = probe_nvcc({"PATH": ""}, search_dirs=[root], default_home=root, timeout=0.5)
    assert time.monotonic() - start < 4
    (tk,) = facts.toolkits
    assert tk.status == status and facts.status == status
    assert tk.detail.startswith(detail)


@pytest.mark.skipif(not os.path.exists(REAL), reason="no CUDA toolkit at /usr/local/cuda")
def test_real_nvcc():
    facts = probe_nvcc({"PATH": ""}, search_dirs=["/usr/local/cuda"])
    (tk,) = facts.toolkits
    assert tk.status == "ok", tk.detail
    assert tk.release is not None and tk.release.count(".") == 1
    assert tk.build == "V" + tk.release + tk.build[len(tk.release) + 1 :]
    assert tk.nvcc_realpath == os.path.realpath(REAL)
    assert (facts.cpp_extension_home, facts.cpp_extension_source) == ("/usr/local/cuda", "default")
    assert facts.release == tk.release
