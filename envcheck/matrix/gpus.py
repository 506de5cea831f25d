"""The GPU table (``matrices/gpus.json``): datasheet peaks by NVML name, and the name matching.

Shipped data only: ``envcheck matrix update`` does not refresh it, so it is not in
:data:`envcheck.matrix.store.FILES`. Loading validates every row and raises one
:class:`~envcheck.errors.DataError` naming the file and the row.

Matching an NVML name (:func:`match`) knows the traps:

* ``NVIDIA A10`` is a prefix of ``NVIDIA A100...`` and ``NVIDIA A10G``; ``NVIDIA L4`` of ``L40``
  and ``L40S``; ``NVIDIA H200`` of ``H200 NVL``: such rows say ``"match": "exact"``.
* MIG devices add `` MIG 1g.10gb`` (any profile): the suffix is dropped before matching and kept
  as :attr:`GpuMatch.mig` (a slice has a fraction of the GPU's peaks: no verdict on it).
* Older drivers omit the ``NVIDIA `` prefix: it is dropped on both sides; case and runs of
  spaces do not matter.
* Every Jetson Orin reports ``Orin (nvgpu)``: that row ``"identifies": "family"``.

The loader refuses a table where one name could match two rows (a prefix pattern that is a
prefix of another row's pattern), so the first match is the only match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from envcheck.errors import DataError
from envcheck.matrix.model import CONFIDENCES

__all__ = [
    "FILE",
    "SCHEMA",
    "DTYPES",
    "Range",
    "GpuClass",
    "GpuRow",
    "GpuTable",
    "GpuMatch",
    "load",
    "load_file",
    "match",
    "normalize_name",
    "split_mig",
    "pcie_link",
]

FILE = "gpus.json"
SCHEMA = "envcheck.gpus/1"
DTYPES = ("fp32", "tf32", "bf16", "fp16")
MATCH_MODES = ("exact", "prefix")
IDENTIFIES = ("sku", "family")
_KEY = re.compile(r"^[a-z0-9_]+$")
_CC = re.compile(r"^\d{1,2}\.\d$")
_MIG = re.compile(r"\s+MIG\s+(\S+)\s*$", re.IGNORECASE)
_PCIE = re.compile(r"^Gen(\d) x(\d{1,2})$")


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    def to_list(self) -> list:
        return [self.low, self.high]


@dataclass(frozen=True)
class GpuClass:
    name: str
    description: str
    matmul_half: Optional[Range]  # healthy fraction of the bf16/fp16 dense peak
    matmul_fp32: Optional[Range]  # healthy fraction of the fp32 peak (GPUs judged on SGEMM)
    memory_copy: Optional[Range]  # healthy fraction of the datasheet memory bandwidth
    source: str
    confidence: str


@dataclass(frozen=True)
class GpuRow:
    key: str
    name: str
    nvml: Tuple[str, ...]
    match: str  # exact | prefix
    identifies: str  # sku | family (the NVML name does not tell the product apart)
    cc: str
    arch: Optional[str]
    memory_gb: Optional[float]
    memory_type: Optional[str]
    mem_bw_gbs: Optional[float]
    pcie: Optional[str]  # "Gen5 x16"
    tdp_w: Optional[float]
    peaks: Mapping[str, Optional[float]]  # dense TFLOP/s by dtype (DTYPES)
    gpu_class: str
    confidence: str  # official | inferred | unknown
    uncertain: Tuple[str, ...]
    derived: Tuple[str, ...]
    source: str
    notes: Tuple[str, ...] = ()

    def peak_uncertain(self, dtype: str) -> bool:
        return f"peaks_tflops.{dtype}" in self.uncertain or f"peaks_tflops.{dtype}" in self.derived


@dataclass(frozen=True)
class GpuTable:
    path: str
    updated: str
    rows: Tuple[GpuRow, ...]
    classes: Mapping[str, GpuClass]
    spread: float  # identical cards differ by this much: ok >= low * spread
    floor: float  # fail below low * floor (DCGM's rule)
    verdict_source: str
    host_link: Range  # healthy fraction of the PCIe link's rate for pinned copies
    host_link_source: str
    gbs_per_lane: Mapping[int, float]  # PCIe generation -> GB/s per lane, one direction
    _patterns: Tuple[Tuple[str, str, int], ...] = field(default=(), repr=False)  # (norm, mode, row)

    def get(self, key: str) -> Optional[GpuRow]:
        for row in self.rows:
            if row.key == key:
                return row
        return None

    def gpu_class(self, row: GpuRow) -> GpuClass:
        return self.classes[row.gpu_class]


@dataclass(frozen=True)
class GpuMatch:
    name: str  # as NVML (or torch) reported it
    row: Optional[GpuRow]
    mig: Optional[str] = None  # "1g.10gb" for a MIG slice
    pattern: Optional[str] = None  # the table pattern that matched

    @property
    def known(self) -> bool:
        return self.row is not None

    def describe(self) -> str:
        if self.row is None:
            return f"{self.name!r} is not in envcheck's GPU table"
        how = f"matched {self.pattern!r} ({self.row.match})"
        extra = f", MIG slice {self.mig}" if self.mig else ""
        return f"{self.row.name} [{self.row.key}]: {how}{extra}"


# ------------------------------------------------------------------------------------ matching


def split_mig(name: str) -> Tuple[str, Optional[str]]:
    """``"NVIDIA A100-SXM4-40GB MIG 1g.5gb"`` -> ``("NVIDIA A100-SXM4-40GB", "1g.5gb")``."""
    m = _MIG.search(name)
    if not m:
        return name, None
    return name[: m.start()], m.group(1)


def normalize_name(name: str) -> str:
    """The form names are compared in: no MIG suffix, no leading ``NVIDIA ``, casefolded."""
    base, _ = split_mig(" ".join(name.split()))
    base = base.strip()
    if base.lower().startswith("nvidia "):
        base = base[len("nvidia ") :]
    return base.casefold()


def match(table: GpuTable, name: Optional[str]) -> GpuMatch:
    """The table row for an NVML/torch device name, or a match with ``row=None``."""
    if not name or not name.strip():
        return GpuMatch(name or "", None)
    _, mig = split_mig(" ".join(name.split()))
    norm = normalize_name(name)
    for pattern, mode, index in table._patterns:
        if norm == pattern or (mode == "prefix" and norm.startswith(pattern)):
            row = table.rows[index]
            original = next(p for p in row.nvml if normalize_name(p) == pattern)
            return GpuMatch(name, row, mig, original)
    return GpuMatch(name, None, mig)


def pcie_link(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``"Gen4 x16"`` -> ``(4, 16)``."""
    if not text:
        return None
    m = _PCIE.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


# ------------------------------------------------------------------------------------- loading


class _Where:
    def __init__(self, path: Path, where: str) -> None:
        self.path = path
        self.where = where

    def fail(self, problem: str) -> DataError:
        return DataError(
            f"corrupt data file {self.path}: {self.where}: {problem}", hint="reinstall envcheck"
        )

    def get(self, obj: Mapping[str, Any], key: str, kind: Any, *, optional: bool = False) -> Any:
        if key not in obj:
            raise self.fail(f"missing field {key!r}")
        value = obj[key]
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(f"field {key!r} must be {names}, got {value!r}")
        return value

    def required_number(self, obj: Mapping[str, Any], key: str) -> float:
        value = self.number(obj, key, optional=False)
        if value is None:  # pragma: no cover - get() raised already
            raise self.fail(f"field {key!r} is missing")
        return value

    def number(self, obj: Mapping[str, Any], key: str, *, optional: bool = True) -> Optional[float]:
        value = self.get(obj, key, (int, float), optional=optional)
        if value is not None and not value > 0:
            raise self.fail(f"field {key!r} must be positive, got {value!r}")
        return value

    def strings(self, obj: Mapping[str, Any], key: str, *, empty_ok: bool = True) -> Tuple[str, ...]:
        value = self.get(obj, key, list)
        if not empty_ok and not value:
            raise self.fail(f"field {key!r} must not be empty")
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"field {key!r} has a malformed entry {item!r}")
        return tuple(value)

    def choice(self, obj: Mapping[str, Any], key: str, allowed: Tuple[str, ...]) -> str:
        value = self.get(obj, key, str)
        if value not in allowed:
            raise self.fail(f"field {key!r} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def range(self, obj: Mapping[str, Any], key: str) -> Optional[Range]:
        value = self.get(obj, key, list, optional=True)
        if value is None:
            return None
        ok = (
            len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and 0 < value[0] <= value[1] < 2
        )
        if not ok:
            raise self.fail(f"field {key!r} must be [low, high] with 0 < low <= high < 2, got {value!r}")
        return Range(float(value[0]), float(value[1]))


def _class(path: Path, name: str, raw: Any) -> GpuClass:
    ctx = _Where(path, f"class {name!r}")
    if not isinstance(raw, dict):
        raise ctx.fail("expected an object")
    return GpuClass(
        name=name,
        description=ctx.get(raw, "description", str),
        matmul_half=ctx.range(raw, "matmul_half"),
        matmul_fp32=ctx.range(raw, "matmul_fp32"),
        memory_copy=ctx.range(raw, "memory_copy"),
        source=ctx.get(raw, "source", str),
        confidence=ctx.choice(raw, "confidence", CONFIDENCES),
    )


def _row(path: Path, i: int, raw: Any, classes: Mapping[str, GpuClass]) -> GpuRow:
    key = raw.get("key") if isinstance(raw, dict) else None
    ctx = _Where(path, f"gpu row {i + 1}" + (f" ({key})" if isinstance(key, str) else ""))
    if not isinstance(raw, dict):
        raise ctx.fail("expected an object")
    key = ctx.get(raw, "key", str)
    if not _KEY.match(key):
        raise ctx.fail(f"key must be lower-case letters, digits and '_', got {key!r}")
    cc = ctx.get(raw, "cc", str)
    if not _CC.match(cc):
        raise ctx.fail(f"cc is not a compute capability like '9.0': {cc!r}")
    peaks_raw = ctx.get(raw, "peaks_tflops", dict)
    if sorted(peaks_raw) != sorted(DTYPES):
        raise ctx.fail(f"peaks_tflops must have exactly {', '.join(DTYPES)}, got {sorted(peaks_raw)}")
    peaks = {d: ctx.number(peaks_raw, d) for d in DTYPES}
    pcie = ctx.get(raw, "pcie", str, optional=True)
    if pcie is not None and not _PCIE.match(pcie):
        raise ctx.fail(f"pcie must look like 'Gen4 x16', got {pcie!r}")
    gpu_class = ctx.get(raw, "class", str)
    if gpu_class not in classes:
        raise ctx.fail(f"unknown class {gpu_class!r} (classes: {', '.join(sorted(classes))})")
    source = ctx.get(raw, "source", str)
    if not source.strip():
        raise ctx.fail("source must not be empty")
    ctx.get(raw, "sources", dict)
    measured = ctx.get(raw, "measured", list)
    for m in measured:
        if not isinstance(m, dict) or not isinstance(m.get("source"), str) or "value" not in m:
            raise ctx.fail(f"measured entries need a value and a source, got {m!r}")
    return GpuRow(
        key=key,
        name=ctx.get(raw, "name", str),
        nvml=ctx.strings(raw, "nvml", empty_ok=False),
        match=ctx.choice(raw, "match", MATCH_MODES),
        identifies=ctx.choice(raw, "identifies", IDENTIFIES),
        cc=cc,
        arch=ctx.get(raw, "arch", str, optional=True),
        memory_gb=ctx.number(raw, "memory_gb"),
        memory_type=ctx.get(raw, "memory_type", str, optional=True),
        mem_bw_gbs=ctx.number(raw, "mem_bw_gbs"),
        pcie=pcie,
        tdp_w=ctx.number(raw, "tdp_w"),
        peaks=peaks,
        gpu_class=gpu_class,
        confidence=ctx.choice(raw, "confidence", CONFIDENCES),
        uncertain=ctx.strings(raw, "uncertain"),
        derived=ctx.strings(raw, "derived"),
        source=source,
        notes=ctx.strings(raw, "notes"),
    )


def _patterns(path: Path, rows: Tuple[GpuRow, ...]) -> Tuple[Tuple[str, str, int], ...]:
    """(normalized pattern, mode, row index), checked so that no name can match two rows."""
    out: Dict[str, Tuple[str, int]] = {}
    for index, row in enumerate(rows):
        for pattern in row.nvml:
            norm = normalize_name(pattern)
            if not norm:
                raise _Where(path, f"gpu row {index + 1} ({row.key})").fail(f"empty NVML pattern {pattern!r}")
            seen = out.get(norm)
            if seen is not None and seen[1] != index:
                raise _Where(path, f"gpu row {index + 1} ({row.key})").fail(
                    f"NVML pattern {pattern!r} is also a pattern of {rows[seen[1]].key}"
                )
            out[norm] = (row.match, index)
    for p, (mode, i) in out.items():
        if mode != "prefix":
            continue
        for q, (_, j) in out.items():
            if j != i and q != p and q.startswith(p):
                raise _Where(path, f"gpu row {i + 1} ({rows[i].key})").fail(
                    f"prefix pattern {p!r} also matches {rows[j].key}'s {q!r}: make the row exact"
                )
    return tuple((p, mode, i) for p, (mode, i) in out.items())


def load_file(path: Path) -> GpuTable:
    """Read and validate one GPU table file."""
    from envcheck.matrix.store import read_document

    doc = read_document(path, SCHEMA)
    top = _Where(path, "top level")
    updated = doc["updated"]
    verdict = top.get(doc, "verdict", dict)
    vctx = _Where(path, "verdict")
    spread = vctx.required_number(verdict, "spread")
    floor = vctx.required_number(verdict, "floor")
    if not (0 < floor < spread <= 1):
        raise vctx.fail(f"need 0 < floor < spread <= 1, got floor {floor!r}, spread {spread!r}")
    link = top.get(doc, "host_link", dict)
    lctx = _Where(path, "host_link")
    host = lctx.range(link, "healthy")
    if host is None:
        raise lctx.fail("field 'healthy' must be [low, high]")
    lanes_raw = lctx.get(link, "gbs_per_lane", dict)
    lanes: Dict[int, float] = {}
    for gen, rate in lanes_raw.items():
        if not gen.isdigit() or isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
            raise lctx.fail(f"gbs_per_lane entry {gen!r}: {rate!r} is not a PCIe generation and a rate")
        lanes[int(gen)] = float(rate)
    raw_classes = top.get(doc, "classes", dict)
    if not raw_classes:
        raise top.fail("'classes' must not be empty")
    classes = {name: _class(path, name, raw) for name, raw in raw_classes.items()}
    raw_rows = top.get(doc, "gpus", list)
    if not raw_rows:
        raise top.fail("'gpus' must be a non-empty list")
    rows = tuple(_row(path, i, r, classes) for i, r in enumerate(raw_rows))
    keys: Dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.key in keys:
            raise _Where(path, f"gpu row {i + 1} ({row.key})").fail(f"duplicate key (also row {keys[row.key] + 1})")
        keys[row.key] = i
    return GpuTable(
        path=str(path),
        updated=updated,
        rows=rows,
        classes=classes,
        spread=float(spread),
        floor=float(floor),
        verdict_source=vctx.get(verdict, "source", str),
        host_link=host,
        host_link_source=lctx.get(link, "source", str),
        gbs_per_lane=lanes,
        _patterns=_patterns(path, rows),
    )


_CACHE: Dict[str, GpuTable] = {}


def load(path: Optional[Path] = None) -> GpuTable:
    """The shipped GPU table (cached), or the one at ``path``."""
    from envcheck.matrix import store

    target = Path(path) if path is not None else store.shipped_dir() / FILE
    key = str(target)
    if key not in _CACHE:
        _CACHE[key] = load_file(target)
    return _CACHE[key]
