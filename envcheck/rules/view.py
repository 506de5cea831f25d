"""What the rules read: the machine (derived once from the facts) and the matrix.

:class:`View` is computed from ``(facts, matrix)`` only, so a rule that reads it stays a pure
function of the two. It derives nothing itself: the machine's values (``v.os``, ``v.python``,
``v.variant``, ``v.nvidia_machine``, ...) are :class:`envcheck.facts.machine.Machine`'s, read
through the view, and :meth:`View.install` is :func:`envcheck.install.fix.install_fix`, the one
command that repairs this machine: exactly what ``envcheck install-command`` would print.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from envcheck.facts.machine import cuda_tuple, split_version
from envcheck.install.fix import InstallFix, fix_fields

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts import Facts
    from envcheck.matrix.model import Release
    from envcheck.matrix.store import Matrix
    from envcheck.matrix.variants import ComputeCapability
    from envcheck.facts.model import GpuFacts

__all__ = ["View", "InstallFix", "fix_fields", "split_version", "parse_arch", "cuda_tuple", "cc_of"]

_ARCH = re.compile(r"^(sm|compute)_(\d+)([af]?)$")


def parse_arch(text: str) -> Optional[Tuple[str, str]]:
    """``"sm_90a"`` -> ``("sass", "9.0a")``; ``"compute_120"`` -> ``("ptx", "12.0")``."""
    m = _ARCH.match(text.strip())
    if not m or len(m.group(2)) < 2:
        return None
    digits = m.group(2)
    kind = "sass" if m.group(1) == "sm" else "ptx"
    return kind, "{}.{}{}".format(int(digits[:-1]), digits[-1], m.group(3))


def cc_of(gpu: Any) -> Optional["ComputeCapability"]:
    from envcheck.matrix.variants import parse_cc

    text = getattr(gpu, "compute_capability", None)
    if not text:
        return None
    try:
        return parse_cc(text)
    except ValueError:
        return None


class View:
    """The machine and the matrix. Built once per diagnosis; rules only read it.

    ``v.<name>`` reads the :class:`~envcheck.facts.machine.Machine` derived from the facts
    (``os``, ``wsl``, ``driver_os``, ``python``, ``interpreter``, ``torch_version``, ``variant``,
    ``cuda_build``, ``gpus``, ``nvidia_machine``, ``gpu_build_wanted``...); ``v.release`` is the
    installed release's row in the matrix.
    """

    def __init__(self, facts: "Facts", matrix: "Matrix") -> None:
        from envcheck.facts.machine import Machine
        from envcheck.install.fix import Repairs

        self.facts = facts
        self.matrix = matrix
        self.machine = Machine.from_facts(facts)
        self.release: Optional["Release"] = (
            matrix.get(self.machine.torch_base) if self.machine.torch_base else None
        )
        self._repairs = Repairs(matrix, self.machine)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("machine", "facts", "matrix"):
            raise AttributeError(name)
        return getattr(self.machine, name)

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

    # -- the one repair path -------------------------------------------------------------------

    def install(self, *, keep_torch: bool = False, keep_variant: bool = False) -> Optional["InstallFix"]:
        """The install command that repairs this machine (``envcheck.install.fix``)."""
        return self._repairs.install(keep_torch=keep_torch, keep_variant=keep_variant)

    def full_support(self) -> Optional["InstallFix"]:
        """A build the driver fully supports, of the installed release when it has one."""
        return self._repairs.full_support()
