"""The ecosystem around torch read from metadata (never imported), the CPU, and the build tools."""

from __future__ import annotations

import shutil
import subprocess


from envcheck.probes.tools import probe_tools



def test_the_real_build_tools_here():
    tools = {t.name: t for t in probe_tools()}
    assert list(tools) == ["gcc", "clang", "cmake", "ninja"]
    for name, t in tools.items():
        path = shutil.which(name)
        if path is None:
            assert t.status == "missing"
            continue
        assert t.status == "ok" and t.path == path
        first = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        assert t.version and t.version in first


def test_a_hanging_or_failing_tool_is_a_status_not_a_hang(tmp_path, monkeypatch):
    import envcheck.probes.tools as tools

    (tmp_path / "gcc").write_text("#!/bin/sh\nsleep 30\n")
    (tmp_path / "cmake").write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    (tmp_path / "ninja").write_text("#!/bin/sh\necho not-a-version\n")
    for f in ("gcc", "cmake", "ninja"):
        (tmp_path / f).chmod(0o755)
    monkeypatch.setattr(tools, "TOOL_TIMEOUT", 0.5)
    got = {t.name: t.status for t in probe_tools({"PATH": str(tmp_path)})}
    assert got == {"gcc": "timed-out", "clang": "missing", "cmake": "failed", "ninja": "failed"}
