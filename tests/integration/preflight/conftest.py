from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture
def envcheck_bin(tmp_path) -> Path:
    """A directory with an ``envcheck`` executable (this checkout's CLI) to put first on PATH."""
    d = tmp_path / "bin"
    d.mkdir()
    exe = d / "envcheck"
    exe.write_text("#!/bin/sh\nexec {} -m envcheck \"$@\"\n".format(sys.executable))
    exe.chmod(0o755)
    return d
