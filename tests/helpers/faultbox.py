"""The one seam for injecting faults into a real envcheck process: a temporary folder whose
``bin/`` goes first on ``PATH`` (fake ``nvidia-smi``, ``nvcc``...) and whose ``pkgs/`` goes first
on ``PYTHONPATH`` (a fake ``pynvml``, a fake ``torch``), plus the environment variables the fakes
read. Nothing else is changed: the CLI, its probes and its children are the real ones.

    box = FaultBox(tmp_path)
    box.program("nvidia-smi", 'echo "Failed to initialize NVML: ..."; exit 18')
    box.module("pynvml", FAKE_PYNVML, FAKE_NVML="segv")
    res = run_cli("diagnose", "--json", env=box.env())
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Dict, Optional

# A pynvml stand-in whose behaviour FAKE_NVML picks: hang, segv (in nvmlInit), abort-in-count (in
# nvmlDeviceGetCount), lost (the GPU's handle), or an NVML error code from nvmlInit: not-found (12),
# not-loaded (9), mismatch (18), permission (4), unknown (999). Anything else: one healthy H100.
FAKE_PYNVML = '''
import os, signal, time

class NVMLError(Exception):
    def __init__(self, value):
        self.value = value
        super().__init__("NVML error {}".format(value))

_MODE = os.environ.get("FAKE_NVML", "")

def nvmlInit():
    if _MODE == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if _MODE == "hang":
        time.sleep(600)
    codes = {"not-found": 12, "mismatch": 18, "not-loaded": 9, "permission": 4, "unknown": 999}
    if _MODE in codes:
        raise NVMLError(codes[_MODE])

def nvmlShutdown():
    pass

def nvmlSystemGetDriverVersion():
    return "580.82.07"

def nvmlSystemGetCudaDriverVersion_v2():
    return 13000

def nvmlDeviceGetCount():
    if _MODE == "abort-in-count":
        os.abort()
    return 1

def nvmlDeviceGetHandleByIndex(index):
    if _MODE == "lost":
        raise NVMLError(15)
    return ("handle", index)

def nvmlDeviceGetName(handle):
    return "NVIDIA H100 80GB HBM3"
'''


class FaultBox:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.bin = self.root / "bin"
        self.pkgs = self.root / "pkgs"
        self.vars: Dict[str, str] = {}

    def program(self, name: str, body: str) -> Path:
        """An executable ``name`` first on PATH running ``body`` (POSIX shell)."""
        self.bin.mkdir(parents=True, exist_ok=True)
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body.rstrip("\n") + "\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def module(self, name: str, source: str, **variables: str) -> Path:
        """A module (``a.b`` makes a package) first on PYTHONPATH; ``variables`` go in the environment."""
        parts = name.split(".")
        folder = self.pkgs.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, len(parts)):
            init = self.pkgs.joinpath(*parts[:i], "__init__.py")
            if not init.exists():
                init.write_text("")
        path = folder / (parts[-1] + ".py")
        path.write_text(source)
        self.vars.update(variables)
        return path

    def env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        out = {"CUDA_HOME": "", "CUDA_PATH": ""}
        if self.bin.is_dir():
            out["PATH"] = str(self.bin) + os.pathsep + os.environ.get("PATH", "")
        if self.pkgs.is_dir():
            out["PYTHONPATH"] = str(self.pkgs)
        out.update(self.vars)
        out.update(extra or {})
        return out
