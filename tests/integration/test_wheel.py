"""A wheel built from the repository, installed into a fresh venv outside it, answers correctly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.paths import ROOT

pytestmark: list = []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (whl,) = out.glob("torch_envcheck-*.whl")
    return whl


def test_wheel_carries_the_data_once(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("releases.json", "cuda.json", "wheel_archs.json"):
        assert f"envcheck/_matrices/{f}" in names
    assert not any(n.startswith("matrices/") for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "\nName: torch-envcheck\n" in meta  # the free name; `envcheck` on the index is another project
    for shipped in ("envcheck/py.typed", "envcheck/rules/findings.md", "envcheck/rules/failure-modes.md"):
        assert shipped in names
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert "Requires-Dist: click>=8.0" in requires
    assert not [r for r in requires if "torch" in r], requires  # torch is never a dependency


def test_installed_wheel_answers_outside_the_repo(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / ("python.exe" if os.name == "nt" else "python")
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["ENVCHECK_DATA_DIR"] = str(tmp_path / "no-user-data")
    exe = bindir / ("envcheck.exe" if os.name == "nt" else "envcheck")
    r = subprocess.run([str(exe), "matrix", "--torch", "2.3.1", "--json"], capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (rel,) = doc["data"]["releases"]
    assert (rel["torch"], rel["torchvision"], rel["torchaudio"]) == ("2.3.1", "0.18.1", "2.3.1")
    assert "_matrices" in doc["data_info"]["directory"] and str(ROOT) not in doc["data_info"]["directory"]
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=60)
    assert "newest torch 2.15.0" in v.stdout
    t = subprocess.run([str(py), "-c", "import importlib.util,sys; sys.exit(importlib.util.find_spec('torch') is not None)"], timeout=60)
    assert t.returncode == 0, "installing envcheck must not pull in torch"
