"""Which GPUs a wheel runs on: NVIDIA's binary-compatibility rules applied to its arch lists.

The rules (CUDA C Programming Guide, "Binary Compatibility" and "PTX Compatibility"; PyTorch's
own check in ``torch/cuda/__init__.py`` compares only the major and ignores PTX, so these are
the ground truth):

* SASS built for ``sm_XY`` runs on a GPU of the same major ``X`` with minor ``>= Y``
  (sm_86 runs on 8.9, sm_100 on 10.3, sm_120 on 12.1).
* Integrated/Jetson GPUs (5.3, 6.2, 7.2, 8.7, and Thor 10.1, renamed 11.0 in CUDA 13) are
  exceptions: discrete-GPU SASS does not run there, and theirs does not run elsewhere.
* ``a`` targets (``sm_90a``) run only on exactly that GPU; ``f`` targets (``sm_100f``) only within
  their family (same major, minor at least theirs).
* PTX for ``compute_XY`` is JIT-compiled by the driver for any GPU of capability ``>= X.Y``,
  across majors, provided the driver understands that PTX version; the first run is slow.
"""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.matrix.model import ArchRow, Release
from envcheck.matrix.store import Matrix
from envcheck.matrix.variants import ComputeCapability, Variant, parse_cc

__all__ = ["ArchVerdict", "WheelArchs", "JETSON", "GENERATIONS", "runs_on", "wheel_archs", "generation"]

JETSON = frozenset({(5, 3), (6, 2), (7, 2), (8, 7), (10, 1), (11, 0)})

GENERATIONS = {
    3: "Kepler",
    5: "Maxwell",
    6: "Pascal",
    7: "Volta",
    8: "Ampere",
    9: "Hopper",
    10: "Blackwell (data centre)",
    11: "Thor",
    12: "Blackwell (GeForce/workstation)",
}


def generation(cc: ComputeCapability) -> str:
    if cc.major == 7 and cc.minor >= 5:
        return "Turing"
    if cc.major == 8 and cc.minor == 9:
        return "Ada Lovelace"
    return GENERATIONS.get(cc.major, "unknown")


@dataclass(frozen=True)
class ArchVerdict:
    runs: bool
    how: str  # "sass sm_86" | "ptx compute_80 (JIT on first use)" | "" when it does not run
    reason: str  # plain words either way

    @property
    def jit(self) -> bool:
        return self.how.startswith("ptx")


def split_target(target: str) -> tuple[int, int, str]:
    suffix = target[-1] if target[-1] in "af" else ""
    base = target[:-1] if suffix else target
    cc = parse_cc(base)
    return cc.major, cc.minor, suffix


def runs_on(cc: ComputeCapability, sass: tuple[str, ...], ptx: tuple[str, ...]) -> ArchVerdict:
    """Can code compiled for ``sass``/``ptx`` targets run on a GPU of capability ``cc``?"""
    gpu = (cc.major, cc.minor)
    jetson = gpu in JETSON
    best = None
    for target in sass:
        major, minor, suffix = split_target(target)
        tj = (major, minor) in JETSON
        if suffix == "a":
            ok = (major, minor) == gpu
        elif jetson or tj:
            ok = (major, minor) == gpu
        else:
            ok = major == cc.major and cc.minor >= minor
        if ok and (best is None or (major, minor) > best[:2]):
            best = (major, minor, suffix)
    if best is not None:
        label = f"sm_{best[0]}{best[1]}{best[2]}"
        exact = (best[0], best[1]) == gpu
        return ArchVerdict(
            True,
            f"sass {label}",
            f"the wheel carries {label} code" + ("" if exact else f", which runs on {cc} (same major, newer minor)"),
        )
    for target in sorted(ptx, key=lambda t: split_target(t)[:2], reverse=True):
        major, minor, suffix = split_target(target)
        if suffix == "a":
            ok = (major, minor) == gpu
        elif suffix == "f":
            ok = major == cc.major and cc.minor >= minor
        else:
            ok = gpu >= (major, minor)
        if ok:
            return ArchVerdict(
                True,
                f"ptx compute_{major}{minor}{suffix} (JIT on first use)",
                f"no sm_{cc.major}{cc.minor} code, but compute_{major}{minor} PTX is JIT-compiled by "
                "the driver (slow first start; needs a driver that knows this PTX version)",
            )
    if not sass and not ptx:
        return ArchVerdict(False, "", "the wheel carries no GPU code")
    have = ", ".join([f"sm_{t.replace('.', '')}" for t in sass] + [f"compute_{t.replace('.', '')}" for t in ptx])
    if jetson:
        why = f"{cc} is an integrated/Jetson GPU: desktop wheels carry no code for it (use NVIDIA's JetPack wheels)"
    elif sass and all(split_target(t)[0] > cc.major for t in sass):
        why = f"the oldest code in the wheel is for newer GPUs than sm_{cc.major}{cc.minor} ({generation(cc)}): support was dropped"
    else:
        why = f"no code the GPU can run: the wheel has {have}"
    return ArchVerdict(False, "", why)


@dataclass(frozen=True)
class WheelArchs:
    release: str
    variant: Variant
    os: str
    row: ArchRow | None
    confidence: str  # of the answer, not just the row: borrowing Linux's row for Windows is inferred
    note: str = ""

    @property
    def known(self) -> bool:
        return self.row is not None and self.row.sass is not None

    @property
    def sass(self) -> tuple[str, ...]:
        return self.row.sass or () if self.row else ()

    @property
    def ptx(self) -> tuple[str, ...]:
        return self.row.ptx or () if self.row else ()

    def runs_on(self, cc: ComputeCapability) -> ArchVerdict | None:
        """None when the wheel's architectures are unknown."""
        if not self.known:
            return None
        return runs_on(cc, self.sass, self.ptx)


def _find(matrix: Matrix, release: str, variant: Variant, os_name: str) -> ArchRow | None:
    exact = None
    series = None
    for row in matrix.archs:
        if row.os != os_name or row.variant != variant or not row.covers(release):
            continue
        if row.torch == release:
            exact = row
        else:
            series = row
    return exact or series


def wheel_archs(matrix: Matrix, release: Release, variant: Variant, os_name: str = "linux") -> WheelArchs:
    """The architectures of one official wheel, with how sure the answer is."""
    if variant.kind != "cuda":
        return WheelArchs(release.torch, variant, os_name, None, "unknown", "not a CUDA build")
    row = _find(matrix, release.torch, variant, os_name)
    if row is not None:
        return WheelArchs(release.torch, variant, os_name, row, row.confidence, row.note or "")
    if os_name == "windows":
        row = _find(matrix, release.torch, variant, "linux")
        if row is not None:
            conf = "inferred" if row.confidence == "official" else row.confidence
            return WheelArchs(
                release.torch, variant, os_name, row, conf,
                "no Windows row: assumed the same as the Linux wheel",
            )
    return WheelArchs(release.torch, variant, os_name, None, "unknown", "no architecture data for this wheel")
