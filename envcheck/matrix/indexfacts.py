"""What the package index itself settles about recent torch releases (an official source).

For each torch release of the newest :data:`INDEX_SERIES` minor series on the package index
(pip's index: ``https://pypi.org/simple`` unless pip is configured otherwise):

* its files (PEP 691 JSON): the Pythons and OSes of its wheels, ``requires-python``, upload time;
* the Linux x86_64 wheel's ``METADATA`` (Requires-Python, Python classifiers, the CUDA library
  pins) and ``torch/version.py`` (the build a plain ``pip install torch`` gives: ``+cu132``);
* the Windows wheel's ``torch/version.py`` (``+cpu``); macOS wheels are CPU (MPS) builds;
* its partners: each torchvision/torchaudio release uploaded since the window's oldest torch,
  with the ``torch`` requirement its ``METADATA`` declares. A release pinning ``torch==X`` pairs
  with X; otherwise the release uploaded with X (within :data:`SAME_RELEASE_DAYS`) whose
  requirement admits X; otherwise none was published with X.

Wheels are read by byte ranges (:mod:`envcheck.matrix.wheelmeta`), never downloaded. A file whose
sha256 matches what the data already records from an earlier read is not read again, so a
scheduled ``--check`` on unchanged data reads the three project pages and nothing more.

The result per release is the row's ``package_index`` block; :func:`settle` applies it to a row.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from envcheck.matrix import pyindex, wheelmeta
from envcheck.matrix.variants import parse_variant, version_key

__all__ = ["INDEX_SERIES", "SETTLES", "recent", "read_all", "settle", "Reader"]

INDEX_SERIES = 4
SAME_RELEASE_DAYS = 1
SETTLES = ("python", "default_variant", "torchvision", "torchaudio")
PARTNERS = ("torchvision", "torchaudio")
_PLATFORM = {"linux": "manylinux", "windows": "win_amd64", "macos": "macosx"}

# members(file, wanted, metadata_only=False) -> {name: bytes}
Reader = Callable[..., dict]


def recent(project: pyindex.PypiProject) -> list[str]:
    """The final releases of the newest INDEX_SERIES minor series, oldest first."""
    versions = [v for v in project.final_versions() if pyindex.plain_release(v)]
    series = sorted({version_key(v)[:2] for v in versions})[-INDEX_SERIES:]
    return [v for v in versions if version_key(v)[:2] in series]


def _live(files: Iterable[pyindex.IndexFile]) -> list[pyindex.IndexFile]:
    return [f for f in files if not f.yanked]


def _pick(files: Iterable[pyindex.IndexFile], os_name: str) -> pyindex.IndexFile | None:
    """The wheel that stands for an OS: x86_64 (arm64 on macOS), the newest regular CPython
    (or a py3 wheel), by name so that the same file is picked every time."""
    best: tuple | None = None
    for f, w in pyindex.wheel_files(files):
        name = f.filename
        if os_name not in w.platforms or _PLATFORM[os_name] not in name:
            continue
        if os_name == "linux" and not name.endswith("x86_64.whl"):
            continue
        regular = sorted((p for p in w.pythons if not p.endswith("t")), key=version_key)
        if w.pythons and not regular:
            continue  # free-threaded only
        key = (version_key(regular[-1]) if regular else (0,), name)
        if best is None or key > best[0]:
            best = (key, f)
    return None if best is None else best[1]


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp and len(stamp) >= 10 else None


def _uploaded(files: Iterable[pyindex.IndexFile]) -> str | None:
    days = [d for f in _live(files) if (d := _day(f.upload_time))]
    return min(days) if days else None


def _cached(rows: list[dict]) -> dict[str, dict]:
    """sha256 -> what an earlier read of that file gave, from the rows' package_index blocks."""
    out: dict[str, dict] = {}
    for r in rows:
        block = r.get("package_index") or {}
        for os_name, entry in (block.get("default") or {}).items():
            if entry.get("sha256"):
                out[entry["sha256"]] = {"kind": "torch", "os": os_name, "block": block, "entry": entry}
        for p, entry in (block.get("partners") or {}).items():
            if entry.get("sha256"):
                out[entry["sha256"]] = {"kind": p, "entry": entry}
    return out


def _torch_block(version: str, project: pyindex.PypiProject, page: str, read: Reader, cache: dict,
                 today: str, warnings: list[str]) -> dict | None:
    files = _live(project.releases.get(version, ()))
    wheels = pyindex.wheel_files(files)
    linux = _pick(files, "linux")
    if linux is None:
        warnings.append(f"torch {version}: no Linux x86_64 wheel on {page}; its facts are not settled")
        return None
    pythons = {p for _f, w in wheels for p in w.pythons}
    block: dict[str, Any] = {
        "source": page,
        "read": today,
        "uploaded": _uploaded(files),
        "requires_python": None,
        "classifiers": [],
        "python": sorted((p for p in pythons if not p.endswith("t")), key=version_key),
        "python_experimental": sorted((p for p in pythons if p.endswith("t")), key=lambda p: version_key(p[:-1])),
        "os": [o for o in _PLATFORM if any(o in w.platforms for _f, w in wheels)],
        "default": {},
        "pins": {},
    }
    hit = cache.get(linux.sha256 or "")
    if hit and hit["kind"] == "torch" and hit["os"] == "linux":
        old = hit["block"]
        block.update(requires_python=old.get("requires_python"), classifiers=list(old.get("classifiers") or []),
                     pins=dict(old.get("pins") or {}))
        block["default"]["linux"] = dict(hit["entry"])
    else:
        meta, vpy = wheelmeta.split(read(linux, wheelmeta.members_for("torch")), "torch")
        if meta is None or vpy is None:
            warnings.append(f"torch {version}: {linux.filename} lacks METADATA or torch/version.py")
            return None
        block.update(requires_python=meta.requires_python, classifiers=list(meta.classifier_pythons),
                     pins=dict(sorted(meta.pins.items())))
        block["default"]["linux"] = _default_entry(linux, vpy)
    for os_name in ("windows", "macos"):
        f = _pick(files, os_name)
        if f is None:
            continue
        hit = cache.get(f.sha256 or "")
        if hit and hit["kind"] == "torch" and hit["os"] == os_name:
            block["default"][os_name] = dict(hit["entry"])
        elif os_name == "macos":
            # macOS wheels carry no build tag: PyTorch publishes CPU (with MPS) builds only there.
            block["default"][os_name] = {"variant": "cpu", "cuda": None, "file": f.filename, "sha256": f.sha256}
        else:
            _meta, vpy = wheelmeta.split(read(f, lambda n: n == "torch/version.py"), "torch")
            if vpy is None:
                warnings.append(f"torch {version}: {f.filename} lacks torch/version.py")
                continue
            block["default"][os_name] = _default_entry(f, vpy)
    return block


def _default_entry(f: pyindex.IndexFile, vpy: wheelmeta.VersionPy) -> dict:
    label = pyindex.variant_label(vpy.local) or ("cpu" if vpy.local is None and not vpy.cuda else None)
    return {"variant": label, "cuda": vpy.cuda, "file": f.filename, "sha256": f.sha256}


def _partner_releases(package: str, project: pyindex.PypiProject, since: str | None, read: Reader,
                      cache: dict) -> list[dict]:
    """Each partner release uploaded since ``since``: version, torch requirement, upload day."""
    out = []
    for version in project.final_versions():
        if not pyindex.plain_release(version):
            continue
        files = _live(project.releases[version])
        uploaded = _uploaded(files)
        if since and (uploaded is None or uploaded < since):
            continue
        f = _pick(files, "linux") or next((f for f, _w in pyindex.wheel_files(files)), None)
        if f is None:
            continue
        hit = cache.get(f.sha256 or "")
        if hit and hit["kind"] == package and hit["entry"].get("version") == version:
            entry = {k: hit["entry"][k] for k in ("version", "torch", "uploaded", "file", "sha256")}
        else:
            meta, _v = wheelmeta.split(read(f, wheelmeta.members_for(package), metadata_only=True), package)
            entry = {"version": version, "torch": None if meta is None else meta.torch,
                     "uploaded": uploaded, "file": f.filename, "sha256": f.sha256}
        out.append(entry)
    return out


def _pair(package: str, torch: str, uploaded: str | None, releases: list[dict]) -> dict:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    def admits(entry: dict) -> bool:
        try:
            return bool(entry["torch"]) and SpecifierSet(entry["torch"]).contains(torch)
        except InvalidSpecifier:
            return False

    exact = [e for e in releases if e["torch"] and e["torch"] in (f"=={torch}", f"==={torch}")]
    if exact:
        e = max(exact, key=lambda e: version_key(e["version"]))
        return {**e, "basis": f"{package} {e['version']} requires torch{e['torch']}"}
    if uploaded:
        day = date.fromisoformat(uploaded)
        near = [e for e in releases if admits(e) and e["uploaded"]
                and abs((date.fromisoformat(e["uploaded"]) - day).days) <= SAME_RELEASE_DAYS]
        if near:
            e = max(near, key=lambda e: version_key(e["version"]))
            return {**e, "basis": (f"{package} {e['version']} was uploaded with torch {torch} ({e['uploaded']}) "
                                   f"and requires torch{e['torch']}")}
    return {"version": None, "basis": (f"no {package} release pins torch=={torch} or was uploaded with it "
                                       f"({uploaded or 'upload day unknown'}) declaring support for it")}


def read_all(pages_url: Callable[[str], str], projects: dict[str, pyindex.PypiProject], rows: list[dict],
             read: Reader, today: str) -> tuple[dict[str, dict], list[str]]:
    """torch version -> its package_index block, for the recent releases on the package index."""
    warnings: list[str] = []
    cache = _cached(rows)
    torch = projects["torch"]
    versions = recent(torch)
    blocks: dict[str, dict] = {}
    for v in versions:
        block = _torch_block(v, torch, pages_url("torch"), read, cache, today, warnings)
        if block is not None:
            blocks[v] = block
    days = [b["uploaded"] for b in blocks.values() if b["uploaded"]]
    since = (date.fromisoformat(min(days)) - timedelta(days=SAME_RELEASE_DAYS)).isoformat() if days else None
    for p in PARTNERS:
        releases = _partner_releases(p, projects[p], since, read, cache)
        for v, block in blocks.items():
            block.setdefault("partners", {})[p] = _pair(p, v, block["uploaded"], releases)
    return blocks, warnings


def _same(a: dict | None, b: dict | None) -> bool:
    def strip(d: dict | None) -> dict:
        return {k: v for k, v in (d or {}).items() if k not in ("read", "source")}

    return strip(a) == strip(b)


def settle(row: dict, block: dict, pages_note: str) -> tuple[dict, list[str], list[str]]:
    """The row with what the package index settles; (new row, diff items, warnings).

    Pythons, the default build per OS and the partners are set from the block and leave
    ``uncertain``; a row that was ``unknown`` becomes ``inferred`` once all of them are settled
    (its builds still come from other sources). A fact of an ``official`` row that no field marks
    uncertain is kept when the index disagrees, with a warning.
    """
    new = copy.deepcopy(row)
    items: list[str] = []
    warnings: list[str] = []
    torch = row["torch"]
    curated = row["confidence"] == "official"
    uncertain = set(new.get("uncertain") or [])

    def keep(fact: str) -> bool:
        return curated and fact not in uncertain

    settled: set[str] = set()
    if block["python"]:
        before = (new["python"], new["python_experimental"])
        after = (block["python"], block["python_experimental"])
        grows = set(before[0]) <= set(after[0]) and set(before[1]) <= set(after[1])
        if before != after and keep("python") and grows:
            # An official row gains the Pythons whose wheels the index also has; none is removed.
            new["python"], new["python_experimental"] = list(after[0]), list(after[1])
            items.append(f"python {_span(before)} -> {_span(after)}")
        elif before != after and keep("python"):
            warnings.append(f"torch {torch}: the package index has wheels for Python {_span(after)}, the data "
                            f"says {_span(before)}; kept the curated list")
        elif before != after:
            new["python"], new["python_experimental"] = list(after[0]), list(after[1])
            items.append(f"python {_span(before)} -> {_span(after)}")
        settled.add("python")

    pip = new["pip"]
    defaults = block.get("default") or {}
    if all(o in defaults for o in new["platforms"]):
        for os_name in new["platforms"]:
            label = defaults[os_name]["variant"]
            old = (pip.get("default") or {}).get(os_name)
            if label is None or label == old:
                continue
            if keep("default_variant"):
                warnings.append(f"torch {torch}: the package index's {os_name} wheel is {label}, the data says "
                                f"{old}; kept the curated default")
                continue
            published = set(pip["variants"]) | {o["variant"] for o in pip.get("off_selector") or []}
            if label not in published:
                pip["variants"] = sorted(pip["variants"] + [label], key=parse_variant)  # Variants sort CPU, CUDA, ROCm
            pip.setdefault("default", {})[os_name] = label
            items.append(f"default build on {os_name} {old or 'none'} -> {label}")
        if all(defaults[o]["variant"] for o in new["platforms"]):
            settled.add("default_variant")
            linux = defaults.get("linux")
            basis = "the package index's wheels: " + ", ".join(
                f"{o} {defaults[o]['file']} is {defaults[o]['variant']}" for o in new["platforms"] if o in defaults)
            if not keep("default_variant"):
                pip["default_basis"] = basis + (f" (torch/version.py cuda = {linux['cuda']!r})" if linux else "")

    for p in PARTNERS:
        entry = (block.get("partners") or {}).get(p)
        if entry is None:
            continue
        found = entry.get("version")
        if found != new[p] and keep(p):
            warnings.append(f"torch {torch}: the package index pairs {p} {found or 'none'}, the data "
                            f"{new[p] or 'none'}; kept the curated partner")
        elif found != new[p]:
            items.append(f"{p} {new[p] or 'none'} -> {found or 'none'}")
            new[p] = found
            packages = pip.get("packages")
            if isinstance(packages, list):
                pip["packages"] = [x for x in ("torch", "torchvision", "torchaudio")
                                   if x == "torch" or (x in packages and x != p) or (x == p and found)]
                if isinstance(pip.get("labels"), list):
                    pip["labels"] = [x for x in pip["labels"] if x in pip["packages"]]
        settled.add(p)
    partners = block.get("partners") or {}
    why = "; ".join(partners[p]["basis"] for p in PARTNERS if new[p] is None and p in partners)
    if why and not curated:
        note = f"{why} ({pages_note})"
        old = new.get("partners_note")
        if old and old != note:
            new["notes"] = list(new.get("notes") or []) + [f"partners_note before the package index was read: {old}"]
        new["partners_note"] = note
    elif not why and not curated and new["torchvision"] and new["torchaudio"]:
        new.pop("partners_note", None)

    new["uncertain"] = sorted(uncertain - settled)
    if new["confidence"] == "unknown" and settled >= set(SETTLES):
        new["confidence"] = "inferred"
        items.append("confidence unknown -> inferred (Pythons, default build and partners settled)")
    if block["source"] not in (new.get("sources") or []):
        new["sources"] = list(new.get("sources") or []) + [block["source"]]
    changed = not _same(row.get("package_index"), block)
    new["package_index"] = block if changed else row.get("package_index")
    if changed and not items:
        items.append("package index facts recorded" if row.get("package_index") is None
                     else "package index facts changed")
    return new, items, warnings


def _span(pythons: tuple[list[str], list[str]]) -> str:
    regular, free = pythons
    text = f"{regular[0]}-{regular[-1]}" if regular else "none"
    return text + (f" (+{' '.join(free)})" if free else "")
