"""The machine as the rest of envcheck reads it: values derived from the facts, once.

:meth:`Machine.from_facts` is the only place that works out which OS a snapshot describes, which
OS its driver belongs to (WSL runs the Windows driver), the target Python, the interpreter that
was inspected, the torch build installed and whether this is an NVIDIA machine. Rules
(``envcheck.rules.view``), the diagnose report, the install decision (``envcheck.install``),
verify's failure classifier and preflight all read it, so they cannot disagree about the machine.

It is a pure function of :class:`~envcheck.facts.model.Facts`: a recorded snapshot gives the same
machine on any computer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

from envcheck.facts.platforms import os_of_platform

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.model import Facts, GpuFacts, TorchRuntimeFacts
    from envcheck.matrix.variants import Variant

__all__ = ["Machine", "split_version", "cuda_tuple", "os_of_platform", "NVIDIA_ERRORS"]

# NVML failures that still mean an NVIDIA GPU and driver are there (they are broken, not absent);
# "crashed": NVML's child or nvidia-smi died inside the driver's library.
NVIDIA_ERRORS = ("driver-not-loaded", "driver-library-mismatch", "no-permission", "gpu-lost", "crashed")


def split_version(text: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """``"2.8.0+cu128"`` -> ``("2.8.0", "cu128")``; ``(None, None)`` when unparsable."""
    if not text:
        return None, None
    from packaging.version import InvalidVersion, Version

    try:
        v = Version(text)
    except InvalidVersion:
        return None, None
    return v.public, v.local


def cuda_tuple(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``"12.8"`` -> ``(12, 8)``."""
    if not text:
        return None
    m = re.match(r"^(\d+)\.(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class Machine:
    """What the facts say about the machine, derived once. Build it with :meth:`from_facts`."""

    facts: "Facts"
    os: str  # linux | windows | macos: where torch runs
    wsl: bool  # Linux under WSL: the driver is the Windows host's
    driver_os: str  # the OS whose NVIDIA driver serves this machine (windows under WSL)
    python_version: Optional[str]  # the target interpreter's "3.11.7"
    python: Optional[str]  # "3.11"; None when not known (any Python)
    interpreter: Optional[str]  # the inspected interpreter's path
    foreign_interpreter: Optional[str]  # diagnose --python PATH: installs go into this one
    torch_installed: bool  # torch's distribution metadata was read
    runtime: Optional["TorchRuntimeFacts"]  # the torch child's answer, when it ran and answered
    torch_version: Optional[str]  # "2.8.0+cu128": installed, else what the child imported
    torch_base: Optional[str]  # "2.8.0"
    torch_label: Optional[str]  # the local label, "cu128"
    variant_label: Optional[str]  # "cu128", "cpu", "rocm6.2", "xpu"
    variant: Optional["Variant"]  # None for builds the data does not describe (xpu)
    cuda_build: Optional[str]  # the CUDA torch was built with, "12.8"
    gpus: Tuple["GpuFacts", ...]  # NVML's (or nvidia-smi's); else the devices torch saw (source "torch")
    driver_version: Optional[str]
    driver_cuda: Optional[Tuple[int, int]]  # the driver's highest CUDA
    driver_present: bool  # a driver version, GPUs or a loaded kernel module
    nvidia_machine: bool  # present, or present and broken (not loaded, mismatch, lost GPU)
    gpu_build_wanted: bool  # never send this machine to a CPU build

    @classmethod
    def from_facts(cls, facts: "Facts") -> "Machine":
        host, torch, rt, d = facts.host, facts.torch, facts.torch_runtime, facts.driver
        runtime = rt if rt is not None and rt.status == "ok" else None
        os_name = os_of_platform(host.system or torch.sys_platform)
        wsl = bool(host.wsl.detected) and os_name == "linux"
        full = torch.python_version or (host.python.version if host.python else None)
        if facts.python is None and not full and rt is not None:
            full = rt.python_version
        interpreter = (
            torch.interpreter
            or facts.python
            or (rt.interpreter if rt is not None else None)
            or (host.python.executable if host.python else None)
        )
        installed = torch.status == "ok"
        version = torch.version if installed else (runtime.version if runtime else None)
        base, label = split_version(version)
        # A pasted report's torch output says nothing of the build unless it states it.
        told = facts.report is None or any(k in facts.report.stated for k in ("torch.variant", "torch.cuda_build"))
        variant_label, variant = _variant(torch.variant if installed else None, runtime if told else None)
        cuda_build = torch.cuda_build or (runtime.cuda_build if runtime else None)
        if cuda_build is None and variant is not None and variant.kind == "cuda":
            cuda_build = variant.dotted
        gpus = tuple(d.gpus) or _torch_devices(runtime)
        # a driver's CUDA ceiling is only ever read from a driver (NVML, or torch's "found version")
        present = bool(d.version or gpus or d.cuda_max or d.kernel_module.status == "ok")
        # broken, not absent: NVML's or nvidia-smi's error says a driver is there, an installed
        # nvidia-smi that fails (hangs, crashes) says so too, and so do GPUs on the PCI bus
        smi_failed = d.smi is not None and d.smi.status in ("failed", "timed-out")
        nvidia = present or d.error_code in NVIDIA_ERRORS or smi_failed or bool(host.nvidia_pci_gpus)
        unread = d.status in ("failed", "timed-out") or d.error_code == "pynvml-missing"
        is_cuda = variant is not None and variant.kind == "cuda"
        return cls(
            facts=facts,
            os=os_name,
            wsl=wsl,
            driver_os="windows" if (wsl or os_name == "windows") else os_name,
            python_version=full,
            python=".".join(full.split(".")[:2]) if full else None,
            interpreter=interpreter,
            foreign_interpreter=facts.python,
            torch_installed=installed,
            runtime=runtime,
            torch_version=version,
            torch_base=base,
            torch_label=label,
            variant_label=variant_label,
            variant=variant,
            cuda_build=cuda_build,
            gpus=gpus,
            driver_version=d.version,
            driver_cuda=cuda_tuple(d.cuda_max),
            driver_present=present,
            nvidia_machine=nvidia,
            gpu_build_wanted=nvidia or (unread and is_cuda),
        )

    # -- derived from the fields -----------------------------------------------------------------

    @property
    def is_cuda_build(self) -> bool:
        return self.variant is not None and self.variant.kind == "cuda"

    @property
    def torch_known(self) -> bool:
        """torch is installed, or at least imported (the child ran)."""
        return self.torch_installed or self.runtime is not None

    @property
    def pip(self) -> Tuple[str, ...]:
        """How to run pip for the inspected interpreter: ``pip``, or ``PATH -m pip`` for the
        interpreter ``diagnose --python PATH`` inspected."""
        return (self.foreign_interpreter, "-m", "pip") if self.foreign_interpreter else ("pip",)

    def torch_text(self) -> str:
        return "torch {}".format(self.torch_version) if self.torch_version else "torch"


def _torch_devices(runtime: Optional["TorchRuntimeFacts"]) -> Tuple["GpuFacts", ...]:
    """The CUDA devices torch saw, as GPUs, for when the driver listed none (NVML could not be
    read, or a pasted report shows only torch's warning naming the GPU)."""
    from envcheck.facts.model import GpuFacts

    if runtime is None:
        return ()
    return tuple(GpuFacts(index=dev.index, source="torch", name=dev.name or None,
                          compute_capability=dev.capability or None, memory_total_mib=dev.total_memory_mib)
                 for dev in runtime.devices if dev.name or dev.capability)


def _variant(label: Optional[str], runtime: Optional["TorchRuntimeFacts"]) -> Tuple[Optional[str], Optional["Variant"]]:
    """The build: the installed label, else what the imported torch reports."""
    from envcheck.matrix.variants import InvalidVariant, Variant, parse_variant

    if label is None and runtime is not None:
        cuda = cuda_tuple(runtime.cuda_build)
        if cuda:
            return "cu{}{}".format(*cuda), Variant("cuda", cuda)
        if runtime.hip:
            label = "rocm" + ".".join(runtime.hip.split(".")[:2])
        else:
            label = "cpu"
    if label is None:
        return None, None
    try:
        return label, parse_variant(label)
    except InvalidVariant:
        return label, None  # xpu and other builds the data does not describe
