"""``envcheck compare``: facts snapshots of many nodes side by side: what differs, and who.

Each snapshot (``envcheck facts --json``) is reduced to a fixed list of comparable fields
(:data:`FIELDS`); for each field the majority value is found and the snapshots that differ are
the odd ones out. ``important`` fields are those that break or slow a multi-node job when they
differ (driver, CUDA, torch and its partners, NCCL, cuDNN, Python, GPU model and count): a
difference there exits 1 and is shown as ``DIFFERS``. Others (kernel, OS, limits, memory...) are
shown as ``differs`` and exit 0. With two snapshots that disagree there is no majority: both
values are shown as a split. A field whose source a snapshot did not collect (the torch runtime
of a ``facts --quick`` snapshot) is compared among the other snapshots only, and said so.
Pure once the files are read.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["FIELDS", "Field", "Comparison", "compare_facts", "compare_files"]

LEGEND = "legend: DIFFERS matters for a job (exit 1); differs is informational (exit 0)"


@dataclass(frozen=True)
class Field:
    path: str
    important: bool
    get: Callable[[Any], Any]
    show: Callable[[Any], str] = repr  # the value in text output


def _gpu_names(f: Any) -> Optional[str]:
    names = [g.name or "?" for g in f.driver.gpus]
    if not names:
        return None
    counts = Counter(names)
    return ", ".join("{} x{}".format(n, c) for n, c in sorted(counts.items()))


def _dist(d: Any) -> Optional[str]:
    return d.version if d is not None else None


def _rt(attr: str) -> Callable[[Any], Any]:
    return lambda f: getattr(f.torch_runtime, attr, None) if f.torch_runtime.status == "ok" else None


def _cuda_packages(f: Any) -> Optional[str]:
    pkgs = sorted("{}=={}".format(p.name, p.version) for p in f.torch.cuda_packages)
    return ", ".join(pkgs) if pkgs else None


def _packages(f: Any) -> Optional[str]:
    pkgs = sorted("{}=={}".format(p.name, p.version) for p in f.torch.packages)
    return ", ".join(pkgs) if pkgs else None


def _cuda_lib(prefix: str) -> Callable[[Any], Any]:
    """The cuDNN / NCCL wheel's version (the runtime's own value is compared separately)."""
    def get(f: Any) -> Any:
        for p in f.torch.cuda_packages:
            if p.name.lower().replace("_", "-").startswith(prefix):
                return p.version
        return None
    return get


def _tools(f: Any) -> Optional[str]:
    got = ["{} {}".format(t.name, t.version) for t in f.build_tools if t.status == "ok"]
    return ", ".join(got) if got else None


_MIB, _GIB = 2**20, 2**30


def _size(n: Optional[int]) -> Optional[int]:
    """Bytes rounded to what :func:`_show_size` shows, so that near-equal sizes agree."""
    if not n:
        return None
    if n < _GIB:
        return round(n / _MIB) * _MIB
    return round(n * 10 / _GIB) * _GIB // 10 if n < 10 * _GIB else round(n / _GIB) * _GIB


def _show_size(n: Optional[int]) -> str:
    if n is None:
        return "None"
    if n < _GIB:
        return "{} MiB".format(n // _MIB)
    return "{:.1f} GiB".format(n / _GIB) if n < 10 * _GIB else "{} GiB".format(round(n / _GIB))


FIELDS: Tuple[Field, ...] = (
    Field("driver.version", True, lambda f: f.driver.version),
    Field("driver.cuda_max", True, lambda f: f.driver.cuda_max),
    Field("driver.gpu_count", True, lambda f: len(f.driver.gpus)),
    Field("driver.gpus", True, _gpu_names),
    Field("torch.version", True, lambda f: f.torch.version),
    Field("torch.cuda_build", True, lambda f: f.torch.cuda_build),
    Field("torch.torchvision", True, lambda f: _dist(f.torch.torchvision)),
    Field("torch.torchaudio", True, lambda f: _dist(f.torch.torchaudio)),
    Field("torch.triton", True, lambda f: _dist(f.torch.triton)),
    Field("torch.packages", True, _packages),
    Field("torch.cudnn_wheel", True, _cuda_lib("nvidia-cudnn")),
    Field("torch.nccl_wheel", True, _cuda_lib("nvidia-nccl")),
    Field("torch_runtime.nccl_version", True, _rt("nccl_version")),
    Field("torch_runtime.cudnn_version", True, _rt("cudnn_version")),
    Field("torch_runtime.is_available", True, _rt("is_available")),
    Field("host.python.version", True, lambda f: f.host.python.version if f.host.python else None),
    Field("torch.cuda_packages", False, _cuda_packages),
    Field("driver.kernel_module.version", False, lambda f: f.driver.kernel_module.version),
    Field("driver.persistence_mode", False, lambda f: ",".join(sorted({str(g.persistence_mode) for g in f.driver.gpus})) or None),
    Field("nvcc.release", False, lambda f: getattr(f.nvcc, "release", None)),
    Field("host.os", False, lambda f: f.host.os.pretty_name),
    Field("host.kernel", False, lambda f: f.host.kernel),
    Field("host.glibc", False, lambda f: f.host.glibc),
    Field("host.arch", False, lambda f: f.host.arch),
    Field("host.container", False, lambda f: f.host.container.kind),
    Field("host.cpu_count", False, lambda f: f.host.cpu_count),
    Field("host.cpu.model", False, lambda f: f.host.cpu.model),
    Field("host.cpu.flags", False, lambda f: " ".join(f.host.cpu.flags) if f.host.cpu.flags_read else None),
    Field("build_tools", False, _tools),
    Field("host.memory_total_bytes", False, lambda f: _size(f.host.memory_total_bytes), _show_size),
    Field("host.shm_total_bytes", False, lambda f: _size(f.host.shm.total_bytes) if f.host.shm else None, _show_size),
    Field("host.open_files_soft", False, lambda f: f.host.open_files_soft),
    Field("host.env.cuda_visible_devices", False, lambda f: f.host.env.cuda_visible_devices),
    Field("host.env.nccl", False, lambda f: ", ".join("{}={}".format(k, v) for k, v in sorted(f.host.env.nccl.items())) or None),
)

# (source, prefix of its fields, whether a snapshot collected it); a field of a source a
# snapshot did not collect is left out of that snapshot's comparison, not counted as None.
_SOURCES: Tuple[Tuple[str, str, Callable[[Any], bool]], ...] = (
    ("torch runtime", "torch_runtime.", lambda f: f.torch_runtime is not None),
)


@dataclass
class Comparison:
    labels: List[str]
    files: List[str]
    fields: List[Dict[str, Any]] = field(default_factory=list)
    # one entry per snapshot that lacks a source: {"snapshot", "quick", "sources"}
    not_collected: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def differing(self) -> List[Dict[str, Any]]:
        return [f for f in self.fields if not f["agree"]]

    @property
    def exit_code(self) -> int:
        from envcheck.outcome import problems_exit

        return problems_exit(any(f["important"] for f in self.differing))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "snapshots": [{"label": label, "file": f} for label, f in zip(self.labels, self.files)],
            "differing": [f["path"] for f in self.differing],
            "important_differences": [f["path"] for f in self.differing if f["important"]],
            "not_collected": self.not_collected,
            "fields": self.fields,
        }


def _short_names(files: Sequence[str]) -> List[str]:
    """Each file's shortest path suffix (without .json) that no other file ends with."""
    parts = [os.path.abspath(f[:-5] if f.endswith(".json") else f).split(os.sep) for f in files]
    out = []
    for i, p in enumerate(parts):
        others = [q for j, q in enumerate(parts) if j != i]
        k = 1
        while k < len(p) and any(q[-k:] == p[-k:] for q in others):
            k += 1
        out.append("/".join(p[-k:]))
    return out


def _labels(files: Sequence[str], hostnames: Sequence[Optional[str]]) -> List[str]:
    """Hostname when unique and not redacted, else the shortest distinguishing file name."""
    usable = [h if h and h != "redacted-host" else None for h in hostnames]
    if all(usable) and len(set(usable)) == len(usable):
        return [str(h) for h in usable]
    names = _short_names(files)
    return names if len(set(names)) == len(names) else list(files)


def compare_facts(facts: Sequence[Any], files: Sequence[str]) -> Comparison:
    labels = _labels(files, [f.host.hostname for f in facts])
    out = Comparison(labels=labels, files=list(files))
    lacking: List[List[str]] = [[s for s, _, has in _SOURCES if not has(f)] for f in facts]
    for i, sources in enumerate(lacking):
        if sources:
            out.not_collected.append({"snapshot": labels[i], "quick": facts[i].quick, "sources": sources})
    prefixes = {s: prefix for s, prefix, _ in _SOURCES}
    for fd in FIELDS:
        values: Dict[int, Any] = {}
        missing: List[str] = []
        for i, f in enumerate(facts):
            if any(fd.path.startswith(prefixes[s]) for s in lacking[i]):
                missing.append(labels[i])
                continue
            try:
                values[i] = fd.get(f)
            except Exception:  # noqa: BLE001 - a field a snapshot lacks is a value too
                values[i] = None
        top = Counter(values.values()).most_common()
        row: Dict[str, Any] = {"path": fd.path, "important": fd.important, "agree": len(top) <= 1}
        if missing:
            row["not_collected"] = missing
        if len(top) <= 1:
            row["value"] = top[0][0] if top else None
        elif top[1][1] == top[0][1]:
            row["majority"] = None
            row["split"] = [{"value": v, "snapshots": [labels[i] for i, x in values.items() if x == v]} for v, _ in top]
        else:
            best, n = top[0]
            row["majority"] = best
            row["majority_count"] = n
            row["compared"] = len(values)
            row["outliers"] = [{"snapshot": labels[i], "value": v} for i, v in values.items() if v != best]
        out.fields.append(row)
    return out


def compare_files(paths: Sequence[str]) -> Comparison:
    from envcheck.errors import InputError
    from envcheck.facts import load_facts

    if len(paths) < 2:
        raise InputError("compare needs at least two snapshots (envcheck facts --json > node.json)")
    seen: Dict[str, str] = {}
    for p in paths:
        real = os.path.realpath(p)
        if real in seen:
            same = "" if seen[real] == p else " (as {!r} and {!r})".format(seen[real], p)
            raise InputError("{}: given twice{}; name each snapshot once".format(p, same))
        seen[real] = p
    return compare_facts([load_facts(p) for p in paths], paths)
