"""The command that repairs this machine: the one install decision diagnose, verify and preflight share.

:func:`install_fix` turns a :class:`~envcheck.facts.machine.Machine` into an install target
(:func:`envcheck.install.target.from_machine`), lets :func:`envcheck.install.choose.choose` pick
the release and build, and renders the pip command with :mod:`envcheck.install.commands`: exactly
what ``envcheck install-command`` prints for the same machine.

Policy, in one place:

* a plain repair keeps the installed release when one of its builds fits the machine and is the
  kind the machine wants, with the newest release for the machine offered as ``alternative``;
  otherwise it is the newest release that fits;
* ``keep_torch``/``keep_variant`` stay on the installed release/build (to repair a partner such as
  torchvision) as long as that build runs here and is the kind this machine wants;
* a machine with an NVIDIA GPU (or a CUDA build of torch and a driver that could not be read) is
  never sent to a CPU build: such a "fix" has ``cpu_fallback`` set and findings print no command;
* the command installs into the interpreter that was inspected (``PATH -m pip`` for
  ``diagnose --python PATH``) and keeps the partners the user had.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.machine import Machine
    from envcheck.install.choose import Choice, Target
    from envcheck.matrix.store import Matrix

__all__ = ["InstallFix", "Repairs", "install_fix", "fix_fields"]


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


def install_fix(matrix: "Matrix", machine: "Machine", *, keep_torch: bool = False,
                keep_variant: bool = False) -> Optional[InstallFix]:
    """The install command that repairs ``machine``; None when the data has no build for it."""
    return Repairs(matrix, machine).install(keep_torch=keep_torch, keep_variant=keep_variant)


class Repairs:
    """The repairs of one machine, each worked out once (a diagnosis asks for them many times)."""

    def __init__(self, matrix: "Matrix", machine: "Machine") -> None:
        self.matrix = matrix
        self.machine = machine
        self._fixes: Dict[Tuple[bool, bool], Optional[InstallFix]] = {}
        self._best: Any = ()
        self._base: Optional["Target"] = None

    def install(self, *, keep_torch: bool = False, keep_variant: bool = False) -> Optional[InstallFix]:
        key = (keep_torch, keep_variant)
        if key not in self._fixes:
            self._fixes[key] = self._repair() if key == (False, False) else self._keep(keep_torch, keep_variant)
        return self._fixes[key]

    def full_support(self) -> Optional[InstallFix]:
        """A build the driver fully supports: of the installed release when it has one, else the
        newest release's; None when the driver supports none fully."""
        from envcheck.install.choose import fully_supported

        m = self.machine
        installed = m.torch_base if m.torch_base and self.matrix.get(m.torch_base) else None
        for release in ([installed] if installed else []) + [None]:
            choice = fully_supported(self.matrix, self.target(), release)
            if choice is not None and choice.driver_status == "full":
                return self._fix(choice, kept=choice.release.torch == m.torch_base)
        return None

    def target(self) -> "Target":
        """This machine as an install target, derived once."""
        if self._base is None:
            from envcheck.install.target import from_machine

            self._base = from_machine(self.machine)
        return self._base

    # -- the decisions ---------------------------------------------------------------------------

    def _best_choice(self) -> Optional[Tuple["Choice", InstallFix]]:
        if self._best == ():
            choice = self._choose({})
            self._best = (choice, self._fix(choice)) if choice is not None else None
        return self._best

    def _repair(self) -> Optional[InstallFix]:
        from envcheck.install.choose import keep_release

        best = self._best_choice()
        kept = keep_release(self.matrix, self.target(), self.machine.torch_base)
        if kept is not None and best is not None and kept.variant.kind != best[0].variant.kind:
            kept = None  # no build of the installed release is the kind this machine wants
        if best is None:
            return self._fix(kept, kept=True) if kept is not None else None
        if kept is None:
            return best[1]
        if kept.release.torch == best[0].release.torch:
            return dataclasses.replace(best[1], kept=True)
        alt = best[1]
        why = "the newest release for this machine, {}".format(alt.what)
        if alt.driver_status == "compat":
            why += ", in minor-version compatibility mode"
        return self._fix(kept, kept=True, alternative=alt, alternative_why=why)

    def _keep(self, keep_torch: bool, keep_variant: bool) -> Optional[InstallFix]:
        m = self.machine
        best = self._best_choice()
        # Stay on the installed build only when it is the kind this machine wants
        # (no point pinning partners of a CPU build on a GPU machine).
        if best is not None and m.variant is not None and best[1].variant[:2] != m.variant.label[:2]:
            return self.install()
        kwargs: Dict[str, Any] = {}
        if keep_torch:
            if not (m.torch_base and self.matrix.get(m.torch_base)):
                return self.install()
            kwargs["torch"] = m.torch_base
        if keep_variant:
            v = m.variant
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
        return self._fix(choice, kept=bool(m.torch_base) and choice.release.torch == m.torch_base)

    def _choose(self, flags: Dict[str, Any]) -> Optional["Choice"]:
        from envcheck.errors import EnvcheckError
        from envcheck.install.choose import choose

        try:
            return choose(self.matrix, self.target().with_flags(**flags))
        except (EnvcheckError, ValueError):  # no fitting release; a driver string the tables cannot read
            return None

    def _fix(self, choice: "Choice", *, kept: bool = False, alternative: Optional[InstallFix] = None,
             alternative_why: Optional[str] = None) -> InstallFix:
        from envcheck.install import commands
        from envcheck.install.choose import driver_needed

        t = self.machine.facts.torch
        # Partners the user had stay in the command (torchaudio left out of the era's official one).
        audio = t.status == "ok" and t.torchaudio is not None
        plan = commands.choice_plan(choice, audio_always=audio)
        if _same_version_other_build(plan, t):
            # `pip install torch==2.6.0 --index-url .../cpu` leaves 2.6.0+cu124 in place ("already
            # satisfied": a local label is ignored by ==): a repair that keeps the release names the build.
            plan = dataclasses.replace(plan, labelled=True)
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
            command=commands.pip_command(plan, self.machine.pip),
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


def _same_version_other_build(plan: Any, torch: Any) -> bool:
    """Whether a pin of ``plan`` has the public version of an installed torch/torchvision/torchaudio
    but another local label: only a labelled pin then makes pip replace it."""
    if plan.labelled or plan.option != "--index-url" or torch.status != "ok":
        return False
    have = {"torch": torch.version}
    for name in ("torchvision", "torchaudio"):
        dist = getattr(torch, name)
        if dist is not None:
            have[name] = dist.version
    for pin in plan.pins:
        installed = have.get(pin.name)
        if not installed or not pin.label:
            continue
        public, _, label = installed.partition("+")
        if public == pin.version and label != pin.label:
            return True
    return False
