"""``envcheck compare``: facts snapshots of many nodes side by side: what differs, and who.

Each snapshot (``envcheck facts --json``) is reduced to a fixed list of comparable fields
(:data:`FIELDS`); for each field the majority value is found and the snapshots that differ are
the odd ones out. ``important`` fields are those that break or slow a multi-node job when they
differ (driver, CUDA, torch and its partners, NCCL, cuDNN, Python, GPU model and count): a
difference there exits 1. Others (kernel, OS, limits, memory...) are shown but exit 0.
With two snapshots that disagree there is no majority: both values are shown as a split.
Pure once the files are read.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["FIELDS", "Comparison", "compare_facts", "compare_files", "text_lines"]


def _gpu_names(f: Any) -> Optional[str]:
    names = [g.name or "?" for g in f.driver.gpus]
    if not names:
        return None
    counts = Counter(names)
    return ", ".join("{} x{}".format(n, c) for n, c in sorted(counts.items()))


def _dist(d: Any) -> Optional[str]:
    return d.version if d is not None else None


def _rt(attr: str) -> Callable[[Any], Any]:
    return lambda f: getattr(f.torch_runtime, attr, None) if f.torch_runtime is not None and f.torch_runtime.status == "ok" else None


def _cuda_packages(f: Any) -> Optional[str]:
    pkgs = sorted("{}=={}".format(p.name, p.version) for p in f.torch.cuda_packages)
    return ", ".join(pkgs) if pkgs else None


# (path, important, getter)
FIELDS: Tuple[Tuple[str, bool, Callable[[Any], Any]], ...] = (
    ("driver.version", True, lambda f: f.driver.version),
    ("driver.cuda_max", True, lambda f: f.driver.cuda_max),
    ("driver.gpu_count", True, lambda f: len(f.driver.gpus)),
    ("driver.gpus", True, _gpu_names),
    ("torch.version", True, lambda f: f.torch.version),
    ("torch.cuda_build", True, lambda f: f.torch.cuda_build),
    ("torch.torchvision", True, lambda f: _dist(f.torch.torchvision)),
    ("torch.torchaudio", True, lambda f: _dist(f.torch.torchaudio)),
    ("torch.triton", True, lambda f: _dist(f.torch.triton)),
    ("torch_runtime.nccl_version", True, _rt("nccl_version")),
    ("torch_runtime.cudnn_version", True, _rt("cudnn_version")),
    ("torch_runtime.is_available", True, _rt("is_available")),
    ("host.python.version", True, lambda f: f.host.python.version if f.host.python else None),
    ("torch.cuda_packages", False, _cuda_packages),
    ("driver.kernel_module.version", False, lambda f: f.driver.kernel_module.version),
    ("driver.persistence_mode", False, lambda f: ",".join(sorted({str(g.persistence_mode) for g in f.driver.gpus})) or None),
    ("nvcc.release", False, lambda f: getattr(f.nvcc, "release", None)),
    ("host.os", False, lambda f: f.host.os.pretty_name),
    ("host.kernel", False, lambda f: f.host.kernel),
    ("host.glibc", False, lambda f: f.host.glibc),
    ("host.arch", False, lambda f: f.host.arch),
    ("host.container", False, lambda f: f.host.container.kind),
    ("host.cpu_count", False, lambda f: f.host.cpu_count),
    ("host.memory_total_gib", False, lambda f: round(f.host.memory_total_bytes / 2**30) if f.host.memory_total_bytes else None),
    ("host.shm_total_gib", False, lambda f: round(f.host.shm.total_bytes / 2**30, 1) if f.host.shm and f.host.shm.total_bytes else None),
    ("host.open_files_soft", False, lambda f: f.host.open_files_soft),
    ("host.env.cuda_visible_devices", False, lambda f: f.host.env.cuda_visible_devices),
    ("host.env.nccl", False, lambda f: ", ".join("{}={}".format(k, v) for k, v in sorted(f.host.env.nccl.items())) or None),
)


@dataclass
class Comparison:
    labels: List[str]
    files: List[str]
    fields: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def differing(self) -> List[Dict[str, Any]]:
        return [f for f in self.fields if not f["agree"]]

    @property
    def exit_code(self) -> int:
        return 1 if any(f["important"] for f in self.differing) else 0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "snapshots": [{"label": label, "file": f} for label, f in zip(self.labels, self.files)],
            "differing": [f["path"] for f in self.differing],
            "important_differences": [f["path"] for f in self.differing if f["important"]],
            "fields": self.fields,
        }


def _labels(files: Sequence[str], hostnames: Sequence[Optional[str]]) -> List[str]:
    """Hostname when unique and not redacted, else the file name (without .json)."""
    usable = [h if h and h != "redacted-host" else None for h in hostnames]
    if all(usable) and len(set(usable)) == len(usable):
        return [str(h) for h in usable]
    stems = [os.path.splitext(os.path.basename(f))[0] for f in files]
    if len(set(stems)) == len(stems):
        return stems
    return list(files)


def compare_facts(facts: Sequence[Any], files: Sequence[str]) -> Comparison:
    labels = _labels(files, [f.host.hostname for f in facts])
    out = Comparison(labels=labels, files=list(files))
    for path, important, get in FIELDS:
        values = []
        for f in facts:
            try:
                values.append(get(f))
            except Exception:  # noqa: BLE001 - a field a snapshot lacks is a value too
                values.append(None)
        counts = Counter(values)
        top = counts.most_common()
        agree = len(top) == 1
        best, n = top[0]
        tie = len(top) > 1 and top[1][1] == n
        row: Dict[str, Any] = {"path": path, "important": important, "agree": agree}
        if agree:
            row["value"] = best
        elif tie:
            row["majority"] = None
            row["split"] = [{"value": v, "snapshots": [labels[i] for i, x in enumerate(values) if x == v]} for v, _ in top]
        else:
            row["majority"] = best
            row["majority_count"] = n
            row["outliers"] = [{"snapshot": labels[i], "value": v} for i, v in enumerate(values) if v != best]
        out.fields.append(row)
    return out


def compare_files(paths: Sequence[str]) -> Comparison:
    from envcheck.errors import InputError
    from envcheck.facts import Facts

    if len(paths) < 2:
        raise InputError("compare needs at least two snapshots (envcheck facts --json > node.json)")
    return compare_facts([Facts.load(p) for p in paths], paths)


def text_lines(c: Comparison, *, show_all: bool = False) -> List[str]:
    lines = ["compared {} snapshots: {}".format(len(c.labels), ", ".join(c.labels))]
    diff = c.differing
    if not diff:
        lines.append("every compared field agrees")
    for row in diff:
        mark = "DIFFERS" if row["important"] else "differs"
        if row.get("majority") is None and "split" in row:
            parts = "; ".join("{!r} on {}".format(s["value"], ", ".join(s["snapshots"])) for s in row["split"])
            lines.append("  {:<8}{}: no majority: {}".format(mark, row["path"], parts))
        else:
            lines.append("  {:<8}{}: {!r} on {} of {}".format(mark, row["path"], row["majority"], row["majority_count"], len(c.labels)))
            for o in row["outliers"]:
                lines.append("            odd one out {}: {!r}".format(o["snapshot"], o["value"]))
    if show_all:
        for row in c.fields:
            if row["agree"]:
                lines.append("  {:<8}{}: {!r}".format("same", row["path"], row["value"]))
    important = [r["path"] for r in diff if r["important"]]
    lines.append("result: {} (exit {})".format(
        "differences that matter for a job: " + ", ".join(important) if important else "no difference that matters for a job",
        c.exit_code))
    return lines
