"""Preflight test helpers: recorded drivers and snapshots, the CLI in a child, a quick config."""

from __future__ import annotations

from helpers import paths
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = paths.ROOT
DATA = ROOT / "tests" / "data" / "preflight"
PROBES = ROOT / "tests" / "data" / "probes"
CLI = ["-m", "envcheck"]  # the shipped CLI, preflight and compare included


def load_fakes():
    """helpers.fakes (the NVML replayer)."""
    from helpers import fakes

    return fakes


def recorded_driver(name: str):
    """DriverFacts from a recorded NVML session (tests/data/probes/nvml/NAME.json)."""
    from envcheck.probes.nvml import probe_nvml

    fakes = load_fakes()
    return probe_nvml(fakes.FakeNvml(fakes.load_recording(name)), root=str(paths.TESTS / "no-such-root"), smi=None,
                      nvml_timeout=None)


def snapshot(name: str):
    from envcheck.facts import load_facts

    return load_facts(str(PROBES / "snapshots" / (name + ".json")))


def facts_with_driver(name: str, base: str = "h100x8-torch2.11-cu130-driver580"):
    return replace(snapshot(base), driver=recorded_driver(name))


def child_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("ENVCHECK_DATA_DIR", str(ROOT / "tests" / "data" / "no-user-data"))
    env.pop("NO_COLOR", None)
    for k in list(env):
        if k.startswith(("ENVCHECK_FAULT", "SLURM_")) or k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
            env.pop(k)
    if extra:
        env.update(extra)
    return env


def run_envcheck(*args: str, env: dict | None = None, timeout: float = 90, cwd: str | None = None):
    """The real CLI in a child process (preflight/compare registered)."""
    return subprocess.run([sys.executable, *CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env=child_env(env), cwd=cwd or str(ROOT))


def quick_config(tmp_path: Path, **over) -> Path:
    """A JSON config that runs fast here: no GPU expected, no torch child, no verify/perf."""
    cfg = {"profile": "cpu", "diagnose": False, "verify": False, "perf": False,
           "severity": {"host.open_files": "off"}}
    cfg.update(over)
    path = tmp_path / "preflight.json"
    path.write_text(json.dumps(cfg))
    return path


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None and shutil.which("bash") is not None
