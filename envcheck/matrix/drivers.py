"""Which NVIDIA driver a CUDA build needs: NVIDIA's Table 3 and Table 2, both kept.

* Table 3: the driver each toolkit ships with. At or above it, that CUDA is fully supported.
* Table 2: CUDA minor-version compatibility. Within a major, a build runs on an older driver
  (12.x on >= 525.60.13, Windows 528.33; 13.x on >= 580; 11.1-11.8 on >= 450.80.02), as long as
  the driver's own highest CUDA has the same major. In that mode PTX made by the newer toolkit
  cannot be JIT-compiled and features newer than the driver are missing. Nothing before 11.0.
"""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.matrix.model import Toolkit
from envcheck.matrix.store import Matrix
from envcheck.matrix.variants import Variant, version_key

__all__ = ["DriverNeed", "DriverVerdict", "driver_need", "judge_driver", "cuda_of_driver", "at_least"]


@dataclass(frozen=True)
class DriverNeed:
    cuda: tuple[int, int]
    full: str | None  # Table 3 minimum for this OS
    compat: str | None  # Table 2 minimum for this major on this OS (None: no minor compatibility)
    toolkit: Toolkit | None
    confidence: str


@dataclass(frozen=True)
class DriverVerdict:
    status: str  # "full" | "compat" | "too-old" | "unknown"
    need: DriverNeed
    reason: str

    @property
    def usable(self) -> bool:
        return self.status in ("full", "compat")


def _key(text: str) -> tuple[int, ...]:
    return version_key(text)


def at_least(driver: str, need: str) -> bool:
    """``driver >= need``; a bare branch number (``580``) stands for a released driver of that
    branch, so it meets any need of the same branch (580 meets 580.65.06, the branch's first release)."""
    d, n = _key(driver), _key(need)
    if len(d) == 1:
        return d[0] >= n[0]
    return d >= n


def driver_need(matrix: Matrix, cuda: tuple[int, ...], os_name: str = "linux") -> DriverNeed:
    """The Table 3 and Table 2 minimum drivers for CUDA ``major.minor`` (its GA release)."""
    rows = [t for t in matrix.toolkits if t.major_minor == tuple(cuda[:2])]
    # The GA release's driver is the minimum for full support (11.0 had an RC row before it).
    ga = next((t for t in rows if " GA" in t.label), rows[0] if rows else None)
    win = os_name == "windows"
    full = (ga.driver_windows if win else ga.driver_linux) if ga else None
    compat = None
    for t in rows or [t for t in matrix.toolkits if t.key[0] == cuda[0]]:
        c = t.minor_compat_windows if win else t.minor_compat_linux
        if c:
            compat = c
            break
    conf = ga.confidence if ga else "unknown"
    if win and ga is not None and (full is None or compat is None):
        # NVIDIA's tables give Windows nothing for CUDA 13.x, only the driver branch (R580...),
        # and branch numbers are the same on Linux and Windows: use the branch, say it is inferred.
        branch = ga.branch.lstrip("R") if ga.branch else None
        linux_compat = next((t.minor_compat_linux for t in rows if t.minor_compat_linux), None)
        if full is None and branch:
            full = branch
            conf = "inferred"
        if compat is None and linux_compat and "." not in linux_compat:
            compat = linux_compat
            conf = "inferred"
    return DriverNeed((cuda[0], cuda[1]), full, compat, ga, conf)


def cuda_of_driver(matrix: Matrix, driver: str, os_name: str = "linux") -> tuple[int, int] | None:
    """The highest CUDA a driver fully supports, from Table 3 (used when NVML's figure is absent)."""
    best = None
    for t in matrix.toolkits:
        need = t.driver_windows if os_name == "windows" else t.driver_linux
        if need is None and t.branch:
            need = t.branch.lstrip("R")
        if need and at_least(driver, need):
            best = t.major_minor
    return best


def judge_driver(
    matrix: Matrix,
    variant: Variant,
    driver: str | None,
    driver_cuda: tuple[int, int] | None = None,
    os_name: str = "linux",
) -> DriverVerdict:
    """Can ``driver`` (its highest CUDA ``driver_cuda`` if known, as NVML reports) run ``variant``?
    With no version, only the ceiling (torch's "found version 10000"): a CUDA above it cannot run,
    and minor-version compatibility cannot be confirmed."""
    cuda = (variant.version[0], variant.version[1])
    need = driver_need(matrix, cuda, os_name)
    label = f"CUDA {cuda[0]}.{cuda[1]}"
    if driver is None:
        if driver_cuda is None:
            return DriverVerdict("unknown", need, "the driver is not known")
        top = f"the driver runs CUDA up to {driver_cuda[0]}.{driver_cuda[1]}"
        if driver_cuda >= cuda:
            return DriverVerdict("full", need, f"{top}, enough for {label}")
        return DriverVerdict("too-old", need, f"{top}; this build needs {label}")
    ceiling = driver_cuda or cuda_of_driver(matrix, driver, os_name)
    if need.full and at_least(driver, need.full) and (ceiling is None or ceiling >= cuda):
        return DriverVerdict("full", need, f"driver {driver} fully supports {label} (needs >= {need.full})")
    if need.full is None and ceiling is not None and ceiling >= cuda:
        how = "reports" if driver_cuda else "supports up to (NVIDIA's table)"
        return DriverVerdict("full", need, f"driver {driver} {how} CUDA {ceiling[0]}.{ceiling[1]}, enough for {label}")
    if need.compat and at_least(driver, need.compat) and (ceiling is None or ceiling[0] >= cuda[0]):
        return DriverVerdict(
            "compat",
            need,
            f"driver {driver} runs {label} in CUDA minor-version compatibility mode (needs >= "
            f"{need.compat}; full support from {need.full or 'the ' + cuda_branch(need) + ' branch'}): PTX "
            "from newer toolkits cannot JIT and features newer than the driver are missing",
        )
    if need.full is None and need.compat is None:
        return DriverVerdict("unknown", need, f"no driver table for {label}")
    want = need.compat or need.full
    return DriverVerdict(
        "too-old",
        need,
        f"driver {driver} is too old for {label}: it needs >= {want}"
        + (f" (>= {need.full} for full support)" if need.compat and need.full and need.full != want else ""),
    )


def cuda_branch(need: DriverNeed) -> str:
    return need.toolkit.branch if need.toolkit and need.toolkit.branch else "matching"
