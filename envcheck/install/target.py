"""Targets from this machine's probes or a facts snapshot (the detection half of choosing)."""

from __future__ import annotations

import sys
from typing import Any

from envcheck.install.choose import Target
from envcheck.matrix.variants import parse_cc

__all__ = ["from_driver_facts", "detect"]


def _os_name() -> str:
    return {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")


def from_driver_facts(driver: Any, *, python: str, os_name: str, source: str, nvcc_release: str | None = None) -> Target:
    """A target from ``envcheck.probes.nvml.DriverFacts`` (probed now, or read from a snapshot)."""
    detected: list[str] = []
    gpus, names = [], []
    for g in getattr(driver, "gpus", ()) or ():
        if g.compute_capability:
            gpus.append(parse_cc(g.compute_capability))
            names.append(g.name or "")
    cuda_max = None
    if getattr(driver, "cuda_max", None):
        major, minor = driver.cuda_max.split(".")[:2]
        cuda_max = (int(major), int(minor))
    version = getattr(driver, "version", None)
    if version is not None:
        from envcheck.matrix.variants import parse_driver

        try:
            parse_driver(version)
        except ValueError:
            detected.append(f"driver version {version!r} is not one envcheck can compare; treated as unknown")
            version = None
    # GPUs listed (by NVML, or by nvidia-smi when NVML failed) make an NVIDIA machine even when
    # the driver's version or a GPU's compute capability could not be read.
    smi = getattr(driver, "smi", None)
    listed = len(getattr(driver, "gpus", ()) or ()) or len(getattr(smi, "gpus", ()) or ())
    if version is None and not detected:
        why = getattr(driver, "detail", "") or getattr(driver, "error_code", "") or "not found"
        if listed:
            detected.append(f"{listed} NVIDIA GPU(s) listed, but the driver's version could not be read: {why}")
        else:
            detected.append(f"no NVIDIA driver: {why}")
    if nvcc_release:
        detected.append(
            f"nvcc {nvcc_release} found: that is a CUDA toolkit for compiling, not a driver; "
            "alone it does not make a GPU usable"
        )
    return Target(
        os=os_name,
        python=python,
        driver=version,
        driver_cuda=cuda_max,
        gpus=tuple(gpus),
        gpu_names=tuple(names),
        source=source,
        detected=tuple(detected),
        nvidia_present=version is not None or bool(gpus) or bool(listed),
    )


def detect() -> Target:
    """This machine: NVML (with its fallbacks) for driver and GPUs, and nvcc for the explanation."""
    from envcheck.probes import nvml

    driver = nvml.probe_nvml()
    nvcc_release = None
    try:
        from envcheck.probes import nvcc

        found = nvcc.probe_nvcc()
        toolkits = [t for t in getattr(found, "toolkits", ()) if getattr(t, "release", None)]
        nvcc_release = toolkits[0].release if toolkits else None
    except Exception:  # noqa: BLE001 - the explanation must not block the choice
        nvcc_release = None
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return from_driver_facts(driver, python=py, os_name=_os_name(), source="this machine", nvcc_release=nvcc_release)


def from_facts_file(path: str) -> Target:
    """A target from a facts snapshot (``envcheck facts --json``) of another machine."""
    from envcheck.facts import load_facts

    snap = load_facts(path)
    host = snap.host
    py = host.python.version if host and host.python else None
    system = (host.system or "Linux").lower() if host else "linux"
    os_name = {"darwin": "macos"}.get(system, system)
    nvcc_release = None
    toolkits = getattr(getattr(snap, "nvcc", None), "toolkits", ()) or ()
    for tk in toolkits:
        if getattr(tk, "release", None):
            nvcc_release = tk.release
            break
    py = ".".join(py.split(".")[:2]) if py else None
    return from_driver_facts(snap.driver, python=py or "3.11", os_name=os_name, source=f"facts {path}", nvcc_release=nvcc_release)
