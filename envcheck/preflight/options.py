"""``envcheck preflight``'s options as one typed object, with every cross-option rule, without click.

:meth:`PreflightOptions.from_flags` takes the flags as the command line gave them (None where
not given) and returns the thresholds in force (profile, config file, flags; for a distributed
rank, a rehearsal's injected layer) with the run's settings, or raises ``InputError`` (exit 2,
so a Slurm prolog does not drain a node for a typo).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from envcheck.errors import InputError

__all__ = ["PreflightOptions", "MIN_BUDGET"]

# A node run's least --budget: collecting facts alone may take that long (NVML is given 6 s), and
# the distributed path gives its node checks the same floor.
MIN_BUDGET = 10.0


def _check_flags(budget: float, distributed: bool, dist_only: Mapping[str, object]) -> None:
    """What no threshold parser sees: the budget, and options of --distributed given without it."""
    if not math.isfinite(budget) or budget < MIN_BUDGET:
        raise InputError("--budget {:g}: expected seconds >= {:g} (collecting facts alone may take that long)"
                         .format(budget, MIN_BUDGET))
    given = [flag for flag, value in dist_only.items() if value is not None]
    if given and not distributed:
        raise InputError("{} {} only with --distributed (one rank of a torchrun or srun job)".format(
            ", ".join(given), "applies" if len(given) == 1 else "apply"))


def _disks(items: Sequence[str]) -> Dict[str, str]:
    disk = {}
    for item in items:
        path, sep, size = item.rpartition("=")
        if not sep or not path:
            raise InputError("--min-free-disk {!r}: expected PATH=SIZE (/scratch=500GB)".format(item))
        disk[path] = size
    return disk


@dataclass(frozen=True)
class PreflightOptions:
    thresholds: Any  # envcheck.preflight.config.Thresholds
    budget: float = 55.0
    distributed: bool = False
    backend: str = "auto"
    python: Optional[str] = None
    strict: bool = False
    show_config: bool = False
    verbose: bool = False

    @classmethod
    def from_flags(cls, *, profile: Optional[str] = None, config_path: Optional[str] = None,
                   min_free_disk: Sequence[str] = (), no_diagnose: bool = False, no_verify: bool = False,
                   no_perf: bool = False, strict: bool = False, budget: float = 55.0, distributed: bool = False,
                   backend: str = "auto", allreduce_sizes: Optional[str] = None, python: Optional[str] = None,
                   show_config: bool = False, verbose: bool = False, **limits: Any) -> "PreflightOptions":
        """``limits``: the threshold flags by their config key (``min_gpus``, ``timeout_s`` ...)."""
        from envcheck.preflight import config

        _check_flags(budget, distributed, {
            "--timeout": limits.get("timeout_s"), "--backend": None if backend == "auto" else backend,
            "--allreduce-sizes": allreduce_sizes, "--min-busbw-intra": limits.get("min_busbw_intra_gbs"),
            "--min-busbw-inter": limits.get("min_busbw_inter_gbs"),
        })
        if python is not None:
            if distributed:
                raise InputError("--python does not apply with --distributed: each rank is already the job's "
                                 "Python (start envcheck with it: python -m envcheck preflight --distributed)")
            from envcheck.proc import check_python

            check_python(python, InputError)  # a bad flag: exit 2, so a prolog does not drain the node
        overrides = {k: v for k, v in limits.items() if v is not None}
        disk = _disks(min_free_disk)
        if disk:
            overrides["min_free_disk"] = disk
        if allreduce_sizes:
            overrides["allreduce_sizes"] = [s.strip() for s in allreduce_sizes.split(",") if s.strip()]
        for key, off in (("diagnose", no_diagnose), ("verify", no_verify), ("perf", no_perf)):
            if off:
                overrides[key] = False
        if limits.get("min_free_ram") is not None:
            overrides["min_free_ram_fraction"] = 0.0
        th = config.resolve(profile, config_path, overrides)
        if distributed:
            from envcheck import faults

            rehearsal = faults.thresholds()  # one rank's thresholds, injected to rehearse a failing rank
            if rehearsal:
                th = config.with_layer(th, rehearsal, faults.VAR, "injected fault " + faults.VAR)
        return cls(th, budget, distributed, backend, python, strict, show_config, verbose)
