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
