"""The layers as pytest sees them, in a child pytest: tests/gpu is opt-in, markers select by folder."""

from __future__ import annotations

import subprocess
import sys

from helpers.paths import ROOT


def pytest_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], capture_output=True,
                          text=True, timeout=300, cwd=str(ROOT))


def test_gpu_tests_are_skipped_unless_asked_for(request):
    assert "integration" in {m.name for m in request.node.iter_markers()}
    plain = pytest_run("-q", "-rs", "tests/gpu")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "GPU tests are opt-in: pytest -m gpu" in plain.stdout
    asked = pytest_run("-q", "-rs", "-m", "gpu", "tests/gpu")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "GPU tests are opt-in" not in asked.stdout  # asked for: they run (or skip for want of a GPU)


def test_markers_select_by_folder():
    unit = pytest_run("--co", "-q", "-m", "unit", "tests/unit/test_faults.py", "tests/integration/test_layering.py")
    assert "tests/unit/test_faults.py::" in unit.stdout and "tests/integration/" not in unit.stdout
    integ = pytest_run("--co", "-q", "-m", "integration", "tests/unit/test_faults.py", "tests/integration/test_layering.py")
    assert "tests/integration/test_layering.py::" in integ.stdout and "tests/unit/" not in integ.stdout
