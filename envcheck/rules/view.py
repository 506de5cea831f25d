"""What the rules read: the facts and the matrix, with a few values derived once.

:class:`View` is computed from ``(facts, matrix)`` only, so a rule that reads it stays a pure
function of the two. :meth:`View.install` is the one way a rule gets an install command: it
turns the facts into an install target (``envcheck.install.target.from_driver_facts``), lets
``envcheck.install.choose.choose`` pick the release and build, and renders the command with
``envcheck.install.commands``: exactly what ``envcheck install-command`` would print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts import Facts
    from envcheck.matrix.model import Release
    from envcheck.matrix.store import Matrix
    from envcheck.matrix.variants import ComputeCapability, Variant
    from envcheck.probes.nvml import GpuFacts

__all__ = ["View", "InstallFix", "split_version", "parse_arch", "cuda_tuple", "cc_of"]

_ARCH = re.compile(r"^(sm|compute)_(\d+)([af]?)$")


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


def parse_arch(text: str) -> Optional[Tuple[str, str]]:
    """``"sm_90a"`` -> ``("sass", "9.0a")``; ``"compute_120"`` -> ``("ptx", "12.0")``."""
    m = _ARCH.match(text.strip())
    if not m or len(m.group(2)) < 2:
        return None
    digits = m.group(2)
    kind = "sass" if m.group(1) == "sm" else "ptx"
    return kind, "{}.{}{}".format(int(digits[:-1]), digits[-1], m.group(3))


def cuda_tuple(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``"12.8"`` -> ``(12, 8)``."""
    if not text:
        return None
    m = re.match(r"^(\d+)\.(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def cc_of(gpu: Any) -> Optional["ComputeCapability"]:
    from envcheck.matrix.variants import parse_cc

    text = getattr(gpu, "compute_capability", None)
    if not text:
        return None
    try:
        return parse_cc(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class InstallFix:
    command: str
    torch: str
    variant: str  # "cu128"
    warnings: Tuple[str, ...] = ()
    cpu_fallback: bool = False

    @property
    def what(self) -> str:
        return "torch {} ({})".format(self.torch, self.variant)


class View:
    """Facts plus derived values. Built once per diagnosis; rules only read it."""

    def __init__(self, facts: "Facts", matrix: "Matrix") -> None:
        self.facts = facts
        self.matrix = matrix
        host = facts.host
        torch = facts.torch
        rt = facts.torch_runtime
        self.runtime = rt if rt is not None and rt.status == "ok" else None
        system = (host.system or "").lower()
        if not system and torch.sys_platform:
            system = {"win32": "windows", "darwin": "darwin"}.get(torch.sys_platform, "linux")
        self.os = {"darwin": "macos", "windows": "windows"}.get(system, "linux")
        self.wsl = bool(host.wsl.detected) and self.os == "linux"
        self.driver_os = "windows" if (self.wsl or self.os == "windows") else self.os
        py = torch.python_version or (host.python.version if host.python else None)
        if facts.python is None and not py and rt is not None:
            py = rt.python_version
        self.python = ".".join(py.split(".")[:2]) if py else None
        self.interpreter = (
            torch.interpreter
            or facts.python
            or (rt.interpreter if rt is not None else None)
            or (host.python.executable if host.python else None)
        )
        # torch: installed (metadata), or at least importable (the child ran)
        self.torch_installed = torch.status == "ok"
        self.torch_version = torch.version if self.torch_installed else (
            self.runtime.version if self.runtime else None
        )
        self.torch_base, self.torch_label = split_version(self.torch_version)
        self.variant_label, self.variant = self._variant()
        self.cuda_build = torch.cuda_build or (self.runtime.cuda_build if self.runtime else None)
        if self.cuda_build is None and self.variant is not None and self.variant.kind == "cuda":
            self.cuda_build = self.variant.dotted
        self.release: Optional["Release"] = (
            matrix.get(self.torch_base) if self.torch_base else None
        )
        # driver and GPUs
        d = facts.driver
        self.gpus: Tuple["GpuFacts", ...] = tuple(d.gpus)
        self.driver_cuda = cuda_tuple(d.cuda_max)
        km = d.kernel_module
        self.driver_present = bool(d.version or d.gpus or km.status == "ok")
        self.nvidia_machine = self.driver_present or d.error_code in (
            "driver-not-loaded",
            "driver-library-mismatch",
            "no-permission",
            "gpu-lost",
        )
        self._fixes: Dict[Tuple[bool, bool], Optional[InstallFix]] = {}

    # -- derived -------------------------------------------------------------------------------

    def _variant(self) -> Tuple[Optional[str], Optional["Variant"]]:
        from envcheck.matrix.variants import InvalidVariant, Variant, parse_variant

        t = self.facts.torch
        label = t.variant if self.torch_installed else None
        if label is None and self.runtime is not None:
            cuda = cuda_tuple(self.runtime.cuda_build)
            if cuda:
                return "cu{}{}".format(*cuda), Variant("cuda", cuda)
            if self.runtime.hip:
                parts = self.runtime.hip.split(".")
                label = "rocm" + ".".join(parts[:2])
            else:
                label = "cpu"
        if label is None:
            return None, None
        try:
            return label, parse_variant(label)
        except InvalidVariant:
            return label, None  # xpu and other builds the data does not describe

    @property
    def is_cuda_build(self) -> bool:
        return self.variant is not None and self.variant.kind == "cuda"

    @property
    def torch_known(self) -> bool:
        return self.torch_installed or self.runtime is not None

    def torch_text(self) -> str:
        if not self.torch_version:
            return "torch"
        return "torch {}".format(self.torch_version)

    def gpu_text(self, gpus: List["GpuFacts"]) -> str:
        names: Dict[str, List[int]] = {}
        for g in gpus:
            names.setdefault(g.name or "GPU", []).append(g.index)
        parts = []
        for name, idx in names.items():
            which = "GPU {}".format(idx[0]) if len(idx) == 1 else "GPUs {}".format(
                ",".join(str(i) for i in idx)
            )
            parts.append("{} ({})".format(name, which))
        return ", ".join(parts)

    # -- the install-command generator ---------------------------------------------------------

    def install(self, *, keep_torch: bool = False, keep_variant: bool = False) -> Optional[InstallFix]:
        """The install command ``envcheck install-command`` would give for this machine.

        ``keep_torch``/``keep_variant``: stay on the installed release/build (to repair a
        partner) as long as that build runs here; otherwise the best choice for the machine.
        """
        key = (keep_torch, keep_variant)
        if key not in self._fixes:
            if (False, False) not in self._fixes:
                self._fixes[(False, False)] = self._install(False, False)
            best = fix = self._fixes[(False, False)]
            if keep_torch or keep_variant:
                # Stay on the installed build only when it is the kind this machine wants
                # (no point pinning partners of a CPU build on a GPU machine).
                same_kind = (
                    best is None
                    or self.variant is None
                    or best.variant[:2] == self.variant.label[:2]
                )
                kept = self._install(keep_torch, keep_variant) if same_kind else None
                fix = kept or best
            self._fixes[key] = fix
        return self._fixes[key]

    def _install(self, keep_torch: bool, keep_variant: bool) -> Optional[InstallFix]:
        from envcheck.errors import EnvcheckError
        from envcheck.install import commands
        from envcheck.install.choose import choose, target_from_options
        from envcheck.install.target import from_driver_facts

        base = from_driver_facts(
            self.facts.driver,
            python=self.python,  # type: ignore[arg-type] - None: any Python
            os_name=self.os,
            source="this machine",
        )
        kwargs: Dict[str, Any] = {}
        if keep_torch:
            if not (self.torch_base and self.release):
                return None
            kwargs["torch"] = self.torch_base
        if keep_variant:
            v = self.variant
            if v is None:
                return None
            if v.kind == "cuda":
                kwargs["cuda"] = v.label
            elif v.kind == "rocm":
                kwargs["rocm"] = v.dotted
            else:
                kwargs["cpu"] = True
        try:
            target = target_from_options(base=base, **kwargs)
            choice = choose(self.matrix, target)
        except (EnvcheckError, ValueError):  # no fitting release; a driver string the tables cannot read
            return None
        if (keep_torch or keep_variant) and any("will not run" in w for w in choice.warnings):
            return None
        plan = commands.pip_plan(choice.release, choice.variant, choice.target.os, choice.target.python)
        # diagnose --python PATH inspected another interpreter: the fix must install into that one.
        pip = (self.facts.python, "-m", "pip") if self.facts.python else ("pip",)
        return InstallFix(
            command=commands.pip_command(plan, pip),
            torch=choice.release.torch,
            variant=choice.variant.label,
            warnings=tuple(choice.warnings),
            cpu_fallback=choice.fallback,
        )
