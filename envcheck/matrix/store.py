"""Find, read and validate the data files; the only module that knows their layout.

Three files make one data set: ``releases.json``, ``cuda.json`` and ``wheel_archs.json``. The
shipped set sits in the wheel (``envcheck/_matrices``) or, in a source checkout, in the
repository's top-level ``matrices/``. ``envcheck matrix update --write`` puts a refreshed set in
the user data directory; it is used instead of the shipped one when its ``updated`` date is newer.

Loading validates everything (schema, order, duplicates, variant labels, partners present) and
raises one :class:`~envcheck.errors.DataError` naming the file and the row: a hand-broken file
never produces a traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from envcheck.errors import DataError, InputError
from envcheck.matrix.model import (
    CONFIDENCES,
    OSES,
    ArchRow,
    Conda,
    DataInfo,
    IndexFacts,
    OffSelector,
    Release,
    Toolkit,
)
from envcheck.matrix.variants import Variant, parse_variant, version_key

__all__ = [
    "FILES",
    "SCHEMAS",
    "Matrix",
    "dump_json",
    "load",
    "load_dir",
    "shipped_dir",
    "user_dir",
    "read_updated",
    "read_document",
]

FILES = ("releases.json", "cuda.json", "wheel_archs.json")
SCHEMAS = {
    "releases.json": "envcheck.releases/1",
    "cuda.json": "envcheck.cuda/1",
    "wheel_archs.json": "envcheck.wheel_archs/1",
}
PIP_FORMS = (
    "direct-wheel",
    "find-links",
    "find-links-per-variant",
    "extra-index-url",
    "index-url",
)
CONDA_STYLES = ("cuda-metapackage", "cudatoolkit", "pytorch-cuda", "none")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")
_VER = re.compile(r"^\d+(\.\d+){1,3}$")
_PY = re.compile(r"^[23]\.\d{1,2}t?$")
_ARCH = re.compile(r"^\d{1,2}\.\d[af]?$")


def dump_json(obj: Any) -> str:
    """The one serialisation of data files: stable, diff-friendly, ends with a newline."""
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def shipped_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    inside = here / "_matrices"  # installed wheel
    if inside.is_dir():
        return inside
    return here.parent / "matrices"  # source checkout / editable install


def user_dir() -> Path:
    """Where refreshed data lives: $ENVCHECK_DATA_DIR, else the platform's user data folder."""
    env = os.environ.get("ENVCHECK_DATA_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":  # pragma: no cover
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":  # pragma: no cover
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "envcheck" / "matrices"


class _Row:
    """Context for error messages: which file, which row."""

    def __init__(self, path: Path, where: str) -> None:
        self.path = path
        self.where = where

    def fail(self, problem: str) -> DataError:
        return DataError(
            f"corrupt data file {self.path}: {self.where}: {problem}",
            hint="reinstall envcheck, or delete the refreshed data in "
            f"{user_dir()} (envcheck matrix update --write makes it again)",
        )

    def get(self, row: dict, key: str, kind: type | tuple, *, optional: bool = False) -> Any:
        if key not in row:
            raise self.fail(f"missing field {key!r}")
        value = row[key]
        if value is None and optional:
            return None
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(f"field {key!r} must be {names}, got {value!r}")
        return value

    def version(self, row: dict, key: str, *, optional: bool = False) -> str | None:
        value = self.get(row, key, str, optional=optional)
        if value is not None and not _VER.match(value):
            raise self.fail(f"field {key!r} is not a version string: {value!r}")
        return value

    def required_version(self, row: dict, key: str) -> str:
        """A version field that must be there (a missing one is a DataError naming the row)."""
        value = self.version(row, key)
        if value is None:  # pragma: no cover - get() raised already
            raise self.fail(f"field {key!r} is missing")
        return value

    def strings(self, row: dict, key: str, pattern: re.Pattern | None = None) -> tuple[str, ...]:
        value = self.get(row, key, list)
        for item in value:
            if not isinstance(item, str) or (pattern is not None and not pattern.match(item)):
                raise self.fail(f"field {key!r} has a malformed entry {item!r}")
        if len(set(value)) != len(value):
            raise self.fail(f"field {key!r} has duplicates")
        return tuple(value)

    def variant(self, text: Any):
        if not isinstance(text, str):
            raise self.fail(f"variant must be a string, got {text!r}")
        try:
            return parse_variant(text)
        except InputError as exc:
            raise self.fail(exc.message) from None

    def confidence(self, row: dict) -> str:
        value = self.get(row, "confidence", str)
        if value not in CONFIDENCES:
            raise self.fail(f"confidence must be one of {', '.join(CONFIDENCES)}, got {value!r}")
        return value


def _read(path: Path) -> dict:
    return read_document(path, SCHEMAS[path.name])


def read_document(path: Path, schema: str) -> dict:
    """Read one data file: JSON, a top-level object of ``schema`` with an ``updated`` date.

    Every failure is one DataError naming the file (and the line, for broken JSON).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"missing data file {path}", hint="reinstall envcheck") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read data file {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"corrupt data file {path}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    ctx = _Row(path, "top level")
    if not isinstance(doc, dict):
        raise ctx.fail("expected a JSON object")
    if doc.get("schema") != schema:
        raise ctx.fail(f"schema is {doc.get('schema')!r}, this envcheck reads {schema!r}")
    updated = doc.get("updated")
    if not isinstance(updated, str) or not _DATE.match(updated):
        raise ctx.fail(f"'updated' must be a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), got {updated!r}")
    return doc


def _check_sorted(path: Path, keys: list[tuple], what: str) -> None:
    for i in range(1, len(keys)):
        if keys[i] == keys[i - 1]:
            raise _Row(path, f"row {i + 1}").fail(f"duplicate {what}")
        if keys[i] < keys[i - 1]:
            raise _Row(path, f"row {i + 1}").fail(f"rows are not sorted by {what}")


def _release(path: Path, i: int, row: Any) -> Release:
    name = row.get("torch") if isinstance(row, dict) else None
    ctx = _Row(path, f"release row {i + 1} (torch {name})" if name else f"release row {i + 1}")
    if not isinstance(row, dict):
        raise ctx.fail("expected an object")
    torch = ctx.required_version(row, "torch")
    tv = ctx.version(row, "torchvision", optional=True)
    ta = ctx.version(row, "torchaudio", optional=True)
    partners_note = ctx.get(row, "partners_note", str, optional=True) if "partners_note" in row else None
    python = ctx.strings(row, "python", _PY)
    experimental = ctx.strings(row, "python_experimental", _PY)
    platforms = ctx.strings(row, "platforms")
    for p in platforms:
        if p not in OSES:
            raise ctx.fail(f"unknown platform {p!r}")
    pip = ctx.get(row, "pip", dict)
    form = ctx.get(pip, "form", str)
    if form not in PIP_FORMS:
        raise ctx.fail(f"pip.form must be one of {', '.join(PIP_FORMS)}, got {form!r}")
    labels = ctx.strings(pip, "variants")
    variants = tuple(ctx.variant(v) for v in labels)
    default_raw = ctx.get(pip, "default", dict)
    default: dict[str, Variant | None] = {}
    for os_name in OSES:
        label = default_raw.get(os_name)
        if label is None:
            default[os_name] = None
            continue
        v = ctx.variant(label)
        if v not in variants:
            raise ctx.fail(f"pip.default.{os_name} is {label!r}, which is not among its variants")
        default[os_name] = v
    basis = ctx.get(pip, "default_basis", str)
    conda_raw = ctx.get(row, "conda", dict)
    style = ctx.get(conda_raw, "style", str)
    if style not in CONDA_STYLES:
        raise ctx.fail(f"conda.style must be one of {', '.join(CONDA_STYLES)}, got {style!r}")
    if style == "none":
        conda = Conda("none")
    else:
        extra = conda_raw.get("extra_channels") or {}
        if not isinstance(extra, dict) or not all(isinstance(v, list) for v in extra.values()):
            raise ctx.fail("conda.extra_channels must map a build to a list of channels")
        conda = Conda(
            style,
            ctx.get(conda_raw, "channel", str),
            tuple(ctx.variant(v) for v in ctx.strings(conda_raw, "variants")),
            conda_raw.get("torchvision"),
            conda_raw.get("torchaudio"),
            _packages(ctx, conda_raw, "packages") if "packages" in conda_raw else ("torch", "torchvision", "torchaudio"),
            {k: tuple(v) for k, v in extra.items()},
            conda_raw.get("cpu_packages"),
        )
    if (tv is None or (ta is None and version_key(torch) >= (2, 12))) and not partners_note:
        # An explicit none needs its reason, so nobody mistakes it for missing data.
        if tv is None:
            raise ctx.fail("torchvision is null without a partners_note saying why")
    off = _off_selector(ctx, pip, variants, platforms)
    if off:
        variants = tuple(sorted(variants + tuple(o.variant for o in off)))
    overrides = pip.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ctx.fail("pip.overrides must be an object keyed by build")
    for label in overrides:
        if ctx.variant(label) not in variants:
            raise ctx.fail(f"pip.overrides names {label!r}, which is not among its variants")
    return Release(
        package_index=_package_index(ctx, row, default, tv, ta),
        off_selector=off,
        pip_packages=_packages(ctx, pip, "packages"),
        pip_labels=_packages(ctx, pip, "labels"),
        plain_default=ctx.get(pip, "plain_default", bool),
        index_base=pip.get("index_base") or "https://download.pytorch.org/whl",
        overrides=overrides,
        torch=torch,
        torchvision=tv,
        torchaudio=ta,
        python=python,
        python_experimental=experimental,
        platforms=platforms,
        pip_form=form,
        variants=variants,
        default=default,
        default_basis=basis,
        conda=conda,
        confidence=ctx.confidence(row),
        uncertain=frozenset(ctx.strings(row, "uncertain")),
        source=ctx.get(row, "source", str),
        sources=tuple(row.get("sources") or ()),
        notes=tuple(row.get("notes") or ()),
        partners_note=partners_note,
        key=version_key(torch),
    )


def _off_selector(ctx: _Row, pip: dict, selector: tuple, platforms: tuple[str, ...]) -> tuple[OffSelector, ...]:
    """``pip.off_selector``: published builds the install selector does not show, each with the
    OSes its wheels exist for and where that is known from."""
    raw = pip.get("off_selector") or []
    if not isinstance(raw, list):
        raise ctx.fail("pip.off_selector must be a list of builds")
    out: list[OffSelector] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ctx.fail("pip.off_selector entries must be objects")
        v = ctx.variant(ctx.get(entry, "variant", str))
        if v in selector:
            raise ctx.fail(f"pip.off_selector lists {v.label}, which is among the selector's variants")
        if any(o.variant == v for o in out):
            raise ctx.fail(f"pip.off_selector lists {v.label} twice")
        oses = ctx.strings(entry, "os")
        if not oses or any(o not in platforms for o in oses):
            raise ctx.fail(f"pip.off_selector {v.label}: os must name some of its platforms ({', '.join(platforms)})")
        out.append(OffSelector(
            variant=v,
            os=oses,
            confidence=ctx.confidence(entry),
            source=ctx.get(entry, "source", str),
            sources=tuple(entry.get("sources") or ()),
            note=entry.get("note"),
        ))
    return tuple(out)


def _package_index(ctx: _Row, row: dict, default: dict, tv: str | None, ta: str | None) -> IndexFacts | None:
    """``package_index``: what the package index's metadata settled (written by matrix update)."""
    raw = row.get("package_index")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ctx.fail("package_index must be an object")
    files, cuda, settled = {}, None, set()
    defaults = raw.get("default") or {}
    if not isinstance(defaults, dict):
        raise ctx.fail("package_index.default must map an OS to its wheel")
    for os_name, entry in defaults.items():
        if os_name not in OSES or not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise ctx.fail(f"package_index.default.{os_name} must name its wheel")
        files[os_name] = entry["file"]
        if os_name == "linux":
            cuda = entry.get("cuda")
    if defaults and all(os_name in defaults for os_name in ctx.strings(row, "platforms")) and all(
            _label_of(default.get(o)) == defaults[o].get("variant") for o in defaults):
        settled.add("default_variant")
    python = raw.get("python")
    if python and list(python) == list(row["python"]) and list(raw.get("python_experimental") or []) == list(
            row["python_experimental"]):
        settled.add("python")
    partners = raw.get("partners") or {}
    if not isinstance(partners, dict):
        raise ctx.fail("package_index.partners must be an object")
    why = {}
    for name, have in (("torchvision", tv), ("torchaudio", ta)):
        entry = partners.get(name)
        if isinstance(entry, dict) and "version" in entry:
            why[name] = str(entry.get("basis") or "")
            if entry["version"] == have:
                settled.add(name)
    pins = raw.get("pins") or {}
    if not isinstance(pins, dict):
        raise ctx.fail("package_index.pins must be an object")
    return IndexFacts(
        source=ctx.get(raw, "source", str),
        read=ctx.get(raw, "read", str),
        uploaded=raw.get("uploaded"),
        requires_python=raw.get("requires_python"),
        classifiers=tuple(raw.get("classifiers") or ()),
        default_files=files,
        cuda=cuda,
        pins={str(k): str(v) for k, v in pins.items()},
        partners=why,
        settled=frozenset(settled),
    )


def _packages(ctx: _Row, row: dict, key: str) -> tuple[str, ...]:
    names = ctx.strings(row, key)
    for n in names:
        if n not in ("torch", "torchvision", "torchaudio"):
            raise ctx.fail(f"field {key!r} names an unknown package {n!r}")
    return names


def _toolkit(path: Path, i: int, row: Any) -> Toolkit:
    ctx = _Row(path, f"toolkit row {i + 1}")
    if not isinstance(row, dict):
        raise ctx.fail("expected an object")
    cuda = ctx.required_version(row, "cuda")
    ctx = _Row(path, f"toolkit row {i + 1} (CUDA {cuda})")
    return Toolkit(
        cuda=cuda,
        label=ctx.get(row, "label", str),
        driver_linux=ctx.version(row, "driver_linux", optional=True),
        driver_windows=ctx.version(row, "driver_windows", optional=True),
        minor_compat_linux=_driver_min(ctx, row, "minor_compat_linux"),
        minor_compat_windows=_driver_min(ctx, row, "minor_compat_windows"),
        confidence=ctx.confidence(row),
        source=ctx.get(row, "source", str),
        branch=row.get("branch"),
        notes=tuple(row.get("notes") or ()),
    )


def _driver_min(ctx: _Row, row: dict, key: str) -> str | None:
    value = ctx.get(row, key, str, optional=True)
    if value is not None and not re.match(r"^\d{3}(\.\d+){0,2}$", value):
        raise ctx.fail(f"field {key!r} is not a driver version: {value!r}")
    return value


def _arch(path: Path, i: int, row: Any) -> ArchRow:
    ctx = _Row(path, f"arch row {i + 1}")
    if not isinstance(row, dict):
        raise ctx.fail("expected an object")
    torch = ctx.required_version(row, "torch")
    variant = ctx.variant(ctx.get(row, "variant", str))
    ctx = _Row(path, f"arch row {i + 1} (torch {torch} {variant.label})")
    os_name = ctx.get(row, "os", str)
    if os_name not in OSES:
        raise ctx.fail(f"unknown os {os_name!r}")
    sass = None if row.get("sass") is None else ctx.strings(row, "sass", _ARCH)
    ptx = None if row.get("ptx") is None else ctx.strings(row, "ptx", _ARCH)
    return ArchRow(
        torch=torch,
        variant=variant,
        os=os_name,
        sass=sass,
        ptx=ptx,
        confidence=ctx.confidence(row),
        evidence=ctx.get(row, "evidence", str),
        source=ctx.get(row, "source", str),
        note=row.get("note"),
    )


def _rows(path: Path, doc: dict, key: str) -> list:
    rows = doc.get(key)
    if not isinstance(rows, list) or not rows:
        raise _Row(path, "top level").fail(f"{key!r} must be a non-empty list")
    return rows


class Matrix:
    """The loaded, validated data set. Queries live in ``envcheck.matrix.query``."""

    def __init__(
        self,
        releases: tuple[Release, ...],
        toolkits: tuple[Toolkit, ...],
        archs: tuple[ArchRow, ...],
        info: DataInfo,
    ) -> None:
        self.releases = releases
        self.toolkits = toolkits
        self.archs = archs
        self.info = info
        self._by_version = {r.torch: r for r in releases}

    def get(self, torch: str) -> Release | None:
        return self._by_version.get(torch)

    @property
    def newest(self) -> Release:
        return self.releases[-1]


def load_dir(directory: Path, origin: str = "shipped", shipped_updated: str | None = None) -> Matrix:
    docs = {name: _read(directory / name) for name in FILES}

    rpath = directory / "releases.json"
    releases = tuple(_release(rpath, i, r) for i, r in enumerate(_rows(rpath, docs["releases.json"], "releases")))
    _check_sorted(rpath, [r.key for r in releases], "torch version")

    tpath = directory / "cuda.json"
    toolkits = tuple(_toolkit(tpath, i, r) for i, r in enumerate(_rows(tpath, docs["cuda.json"], "toolkits")))
    _check_sorted(tpath, [t.key for t in toolkits], "CUDA version")

    apath = directory / "wheel_archs.json"
    archs = tuple(_arch(apath, i, r) for i, r in enumerate(_rows(apath, docs["wheel_archs.json"], "rows")))
    _check_sorted(
        apath, [(a.os, version_key(a.torch), a.variant.label) for a in archs], "(os, torch, variant)"
    )

    updated = docs["releases.json"]["updated"]
    info = DataInfo(
        origin=origin,
        directory=str(directory),
        updated=updated,
        newest_release=releases[-1].torch,
        releases=len(releases),
        shipped_updated=shipped_updated or updated,
    )
    return Matrix(releases, toolkits, archs, info)


def read_updated(directory: Path) -> str | None:
    """The ``updated`` date of a data set without loading it all (cheap, for --version)."""
    try:
        with open(directory / "releases.json", encoding="utf-8") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    m = re.search(r'"updated":\s*"(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?)"', head)
    return m.group(1) if m else None


_CACHE: dict[tuple, Matrix] = {}


def _label_of(variant: Variant | None) -> str | None:
    return variant.label if variant is not None else None


def load(*, use_user_data: bool = True) -> Matrix:
    """The data set in use: refreshed user data when newer than the shipped data.

    Cached by place and date, so a refresh (or another ENVCHECK_DATA_DIR) in the same process is
    seen at the next call.
    """
    shipped = shipped_dir()
    shipped_updated = read_updated(shipped)
    if use_user_data:
        udir = user_dir()
        user_updated = read_updated(udir)
        if user_updated and (shipped_updated is None or user_updated > shipped_updated):
            key: tuple = ("user", str(udir), user_updated, shipped_updated)
            if key not in _CACHE:
                _CACHE[key] = load_dir(udir, "user", shipped_updated)
            return _CACHE[key]
    key = ("shipped", str(shipped), shipped_updated)
    if key in _CACHE:
        return _CACHE[key]
    m = load_dir(shipped, "shipped", shipped_updated)
    _CACHE[key] = m
    return m
