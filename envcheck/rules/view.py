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
    from envcheck.facts.model import GpuFacts

__all__ = ["View", "InstallFix", "fix_fields", "split_version", "parse_arch", "cuda_tuple", "cc_of"]

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
    driver_status: Optional[str] = None  # "full" | "compat" | None (no driver known, or not CUDA)
    kept: bool = False  # keeps the installed torch release
    needs: Optional[str] = None  # the driver it needs, when the driver's version is unknown
    compat_note: Optional[str] = None  # what compatibility mode costs, and the fully supported release
    alternative: Optional["InstallFix"] = None  # a second command, offered beside this one
    alternative_why: Optional[str] = None  # what the alternative is, in words
    on_selector: bool = True  # False: published on PyTorch's index, not offered by its install selector

    @property
    def what(self) -> str:
        off = "" if self.on_selector else ", not on the install selector"
        return "torch {} ({}{})".format(self.torch, self.variant, off)

    @property
    def described(self) -> str:
        """``what``, with whether it keeps the user's release and the driver it needs."""
        text = self.what
        if self.kept:
            text += ", which keeps your release"
        if self.needs:
            text += "; " + self.needs
        if self.compat_note:
            text += "; " + self.compat_note
        return text

    @property
    def alternative_pair(self) -> Optional[Tuple[str, str]]:
        """(command, why) of the alternative, for a finding."""
        if self.alternative is None or self.alternative.cpu_fallback:
            return None
        return self.alternative.command, self.alternative_why or "alternative"


def fix_fields(fix: Optional[InstallFix]) -> Dict[str, Any]:
    """``command`` and ``alternative`` of a finding whose fix is an install. No command when the
    fix would be the CPU fallback: a machine with an NVIDIA GPU is never sent to a CPU build."""
    if fix is None or fix.cpu_fallback:
        return {"command": None}
    return {"command": fix.command, "alternative": fix.alternative_pair}


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
        self._choices: Dict[str, Any] = {}
        self._base: Any = None

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
        """The install command that repairs this machine, from the same chooser as
        ``envcheck install-command``.

        Plain: a repair keeps the installed release when one of its builds fits the machine,
        with the newest release for the machine as ``alternative``; otherwise the newest release.
        ``keep_torch``/``keep_variant``: stay on the installed release/build (to repair a
        partner) as long as that build runs here and is the kind this machine wants.
        """
        key = (keep_torch, keep_variant)
        if key not in self._fixes:
            self._fixes[key] = self._repair() if key == (False, False) else self._keep(keep_torch, keep_variant)
        return self._fixes[key]

    def _best(self) -> Optional[Tuple[Any, InstallFix]]:
        if "best" not in self._choices:
            choice = self._choose({})
            self._choices["best"] = (choice, self._fix(choice)) if choice is not None else None
        return self._choices["best"]

    def _repair(self) -> Optional[InstallFix]:
        from envcheck.install.choose import keep_release

        best = self._best()
        kept = keep_release(self.matrix, self._target(), self.torch_base)
        if kept is not None and best is not None and kept.variant.kind != best[0].variant.kind:
            kept = None  # no build of the installed release is the kind this machine wants
        if best is None:
            return self._fix(kept, kept=True) if kept is not None else None
        if kept is None:
            return best[1]
        if kept.release.torch == best[0].release.torch:
            import dataclasses

            return dataclasses.replace(best[1], kept=True)
        alt = best[1]
        why = "the newest release for this machine, {}".format(alt.what)
        if alt.driver_status == "compat":
            why += ", in minor-version compatibility mode"
        return self._fix(kept, kept=True, alternative=alt, alternative_why=why)

    def full_support(self) -> Optional[InstallFix]:
        """A build the driver fully supports: of the installed release when it has one, else the
        newest release's; None when the driver supports none fully."""
        from envcheck.install.choose import fully_supported

        releases = ([self.torch_base] if self.torch_base and self.release else []) + [None]
        for release in releases:
            choice = fully_supported(self.matrix, self._target(), release)
            if choice is not None and choice.driver_status == "full":
                return self._fix(choice, kept=choice.release.torch == self.torch_base)
        return None

    def _keep(self, keep_torch: bool, keep_variant: bool) -> Optional[InstallFix]:
        best = self._best()
        # Stay on the installed build only when it is the kind this machine wants
        # (no point pinning partners of a CPU build on a GPU machine).
        if best is not None and self.variant is not None and best[1].variant[:2] != self.variant.label[:2]:
            return self.install()
        kwargs: Dict[str, Any] = {}
        if keep_torch:
            if not (self.torch_base and self.release):
                return self.install()
            kwargs["torch"] = self.torch_base
        if keep_variant:
            v = self.variant
            if v is None:
                return self.install()
            if v.kind == "cuda":
                kwargs["cuda"] = v.label
            elif v.kind == "rocm":
                kwargs["rocm"] = v.dotted
            else:
                kwargs["cpu"] = True
        choice = self._choose(kwargs)
        if choice is None or choice.will_not_run:
            return self.install()
        return self._fix(choice, kept=bool(self.torch_base) and choice.release.torch == self.torch_base)

    def _target(self) -> Any:
        """This machine as an install target, derived once."""
        if self._base is None:
            from envcheck.install.target import from_driver_facts

            base = from_driver_facts(
                self.facts.driver,
                python=self.python,  # type: ignore[arg-type] - None: any Python
                os_name=self.os,
                source="this machine",
            )
            if not base.nvidia_present and self.gpu_build_wanted:
                import dataclasses

                base = dataclasses.replace(base, nvidia_present=True)
            self._base = base
        return self._base

    @property
    def gpu_build_wanted(self) -> bool:
        """An NVIDIA machine, or one whose driver could not be read while a CUDA build of torch
        is installed: never send it to a CPU build."""
        d = self.facts.driver
        unread = d.status in ("failed", "timed-out") or d.error_code == "pynvml-missing"
        return self.nvidia_machine or (unread and self.is_cuda_build)

    def _choose(self, kwargs: Dict[str, Any]) -> Any:
        from envcheck.errors import EnvcheckError
        from envcheck.install.choose import choose, target_from_options

        try:
            target = target_from_options(base=self._target(), **kwargs)
            return choose(self.matrix, target)
        except (EnvcheckError, ValueError):  # no fitting release; a driver string the tables cannot read
            return None

    def _fix(self, choice: Any, *, kept: bool = False, alternative: Optional[InstallFix] = None,
             alternative_why: Optional[str] = None) -> InstallFix:
        from envcheck.install import commands
        from envcheck.install.choose import driver_needed

        t = self.facts.torch
        # Partners the user had stay in the command (torchaudio left out of the era's official one).
        audio = t.status == "ok" and t.torchaudio is not None
        plan = commands.pip_plan(choice.release, choice.variant, choice.target.os, choice.target.python,
                                 audio_always=audio)
        # diagnose --python PATH inspected another interpreter: the fix must install into that one.
        pip = (self.facts.python, "-m", "pip") if self.facts.python else ("pip",)
        if alternative is None and choice.alternative is not None:
            alternative = self._fix(choice.alternative)
            alternative_why = "the newest release that driver {} fully supports, {}".format(
                choice.target.driver, alternative.what)
        needs = compat = None
        if choice.variant.kind == "cuda" and not choice.target.driver:
            needs = driver_needed(self.matrix, choice.variant, choice.target.os)
        if choice.driver_status == "compat":
            compat = ("it runs in minor-version compatibility mode, where torch.compile/Triton can fail "
                      "on PTX from a newer toolkit")
            if choice.alternative is not None:
                compat += "; torch {} ({}) is the newest release driver {} fully supports".format(
                    choice.alternative.release.torch, choice.alternative.variant.label, choice.target.driver)
        return InstallFix(
            command=commands.pip_command(plan, pip),
            torch=choice.release.torch,
            variant=choice.variant.label,
            warnings=tuple(choice.warnings),
            cpu_fallback=choice.fallback,
            driver_status=choice.driver_status,
            kept=kept,
            needs=needs,
            compat_note=compat,
            alternative=alternative,
            alternative_why=alternative_why,
            on_selector=choice.release.on_selector(choice.variant),
        )
