"""verify's plan (pure): which devices and which checks, before anything runs.

Device names from the command line, the number of GPUs torch will probably see (NVML's count cut
by ``CUDA_VISIBLE_DEVICES``), the checks asked for and the labels of the children to start.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence

from envcheck.children.timing import PERF_CHECKS
from envcheck.children.verify_device import CHECKS
from envcheck.errors import InputError

__all__ = ["CHECKS", "DEFAULT_TIMEOUT", "PERF_CHECKS", "PERF_TIMEOUT", "checks_planned", "device_labels",
           "parse_devices", "visible_guess"]

DEFAULT_TIMEOUT = 120.0  # seconds per device process: import torch (cold: 30 s) + the checks


PERF_TIMEOUT = 300.0  # with --perf


def parse_devices(texts: Sequence[str]) -> List[str]:
    """``("cpu", "cuda:1", "cuda")`` -> normalized, deduplicated; ``[]`` means every GPU or the CPU."""
    out: List[str] = []
    for raw in texts:
        for text in raw.split(","):
            t = text.strip().lower()
            if not t:
                continue
            if t == "gpu":
                t = "cuda"
            if t.startswith("cuda:"):
                index = t.split(":", 1)[1]
                if not index.isdigit():
                    raise InputError(f"Invalid device: {text!r} (expected cpu, cuda or cuda:N)")
                t = f"cuda:{int(index)}"
            elif t not in ("cpu", "cuda"):
                raise InputError(f"Invalid device: {text!r} (expected cpu, cuda or cuda:N)")
            if t not in out:
                out.append(t)
    return out


def visible_guess(driver: Any, env: Mapping[str, str]) -> int:
    """How many GPUs torch will probably see: NVML's count, cut by CUDA_VISIBLE_DEVICES."""
    count = getattr(driver, "gpu_count", None) or len(getattr(driver, "gpus", ()) or ())
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return count
    entries = [v.strip() for v in visible.split(",")]
    if not entries or entries[0] in ("", "-1"):
        return 0
    return min(count, len(entries)) if count else len(entries)



def checks_planned(checks: Optional[Sequence[str]], perf: bool) -> List[str]:
    """The checks each device child runs, in order: the correctness checks asked for (default
    all; unknown names refused), then the performance measurements with ``perf``."""
    selected = list(CHECKS if checks is None else checks)
    for name in selected:
        if name not in CHECKS:
            raise InputError(f"Unknown check: {name!r} (checks: {', '.join(CHECKS)})")
    return selected + (list(PERF_CHECKS) if perf else [])


def device_labels(specs: Sequence[str], guess: int) -> List[str]:
    """One label per device child: ``auto`` (the first GPU, or the CPU without one) and the other
    GPUs NVML counts when nothing was named; ``cuda`` expands to every GPU counted."""
    if not specs:
        return ["auto"] + [f"cuda:{i}" for i in range(1, guess)]
    labels: List[str] = []
    for s in specs:
        if s == "cuda":
            labels += [f"cuda:{i}" for i in range(max(1, guess))]
        else:
            labels.append(s)
    return list(dict.fromkeys(labels))
