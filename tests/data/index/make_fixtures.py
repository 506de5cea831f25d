"""Regenerate the recorded index pages in this folder from the shipped data (matrices/).

    python tests/data/index/make_fixtures.py

Writes two page sets laid out like the URLs that ``envcheck matrix update`` reads
(``<set>/whl/<build>/<package>/index.html|index.json`` and ``<set>/pypi/<package>/json``):

* ``sync/``  - exactly what matrices/releases.json says for torch >= 2.9 (so ``--check`` exits 0);
* ``drift/`` - the same plus a simulated newer upstream: torch 2.16.0 (cpu cu130 cu132 cu134,
  Python 3.10-3.15 and 3.15t) with torchvision 0.31.0 and no torchaudio; torch 2.15.0 gains a
  cu134 build, a 3.15t wheel and torchvision 0.30.0.

The pages are in the real formats: PEP 503 HTML as download.pytorch.org serves it, PEP 691 JSON
(api-version 1.1) for the ``cpu`` and ``cu130`` pages, PyPI's JSON API for ``pypi/``. Run it
again whenever the rows for torch >= 2.9 change, and commit the result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from packaging.version import Version

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from envcheck.matrix.variants import version_key  # noqa: E402

FLOOR = (2, 9)
JSON_PAGES = {"cpu", "cu130"}
BASE = "https://download.pytorch.org/whl"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def tags(python: str) -> str:
    digits = python.rstrip("t").replace(".", "")
    return f"cp{digits}-cp{digits}{'t' if python.endswith('t') else ''}"


def pythons_regular(pythons: list[str]) -> list[str]:
    return [p for p in pythons if not p.endswith("t")]


def published(row: dict) -> list[tuple[str, bool]]:
    """Every build of a release with whether it has Windows wheels: the selector's, and the
    off-selector ones where their wheels were published."""
    out = [(v, True) for v in row["pip"]["variants"]]
    out += [(o["variant"], "windows" in o["os"]) for o in row["pip"].get("off_selector") or []]
    return out


def wheels(package: str, version: str, variant: str, pythons: list[str], partner: bool = False,
           windows: bool = True) -> list[str]:
    out = []
    for py in pythons:
        t = tags(py)
        out.append(f"{package}-{version}+{variant}-{t}-manylinux_2_28_x86_64.whl")
        # Windows and macOS wheels for one Python only, to keep the recorded pages small.
        if partner or py != (pythons_regular(pythons) or [None])[-1]:
            continue
        if not variant.startswith("rocm") and windows:
            out.append(f"{package}-{version}+{variant}-{t}-win_amd64.whl")
        if variant == "cpu":
            out.append(f"{package}-{version}-{t.split('-')[0]}-none-macosx_11_0_arm64.whl")
    return out


def write_index(root: Path, variant: str, package: str, files: list[str]) -> None:
    folder = root / "whl" / variant / package
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(set(files))
    if variant in JSON_PAGES:
        versions = sorted({f.split("-")[1].split("+")[0] for f in files}, key=version_key)
        doc = {
            "meta": {"api-version": "1.1"},
            "name": package,
            "versions": versions,
            "files": [
                {
                    "filename": f,
                    "url": f"{BASE}/{variant}/{f.replace('+', '%2B')}",
                    "hashes": {"sha256": sha(f)},
                    "requires-python": ">=3.10",
                    "yanked": False,
                }
                for f in files
            ],
        }
        (folder / "index.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
        return
    lines = ["<!DOCTYPE html>", "<html>", "  <body>", f"    <h1>Links for {package}</h1>"]
    for f in files:
        href = f"/whl/{variant}/{f.replace('+', '%2B')}#sha256={sha(f)}"
        lines.append(f'    <a href="{href}">{f}</a><br/>')
    lines += ["  </body>", "</html>", "<!--TIMESTAMP 1763800000-->"]
    (folder / "index.html").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_pypi(root: Path, package: str, versions: list[str], extra: dict | None = None) -> None:
    releases = {}
    for v in sorted(versions, key=Version):
        f = f"{package}-{v}-cp312-cp312-manylinux_2_28_x86_64.whl"
        releases[v] = [{
            "filename": f,
            "packagetype": "bdist_wheel",
            "python_version": "cp312",
            "requires_python": ">=3.10",
            "url": f"https://files.pythonhosted.org/packages/{sha(f)[:2]}/{sha(f)[2:4]}/{sha(f)[4:]}/{f}",
            "digests": {"sha256": sha(f)},
            "yanked": False,
            "yanked_reason": None,
        }]
    for v, files in (extra or {}).items():
        releases[v] = files
    newest = max((v for v in versions if not Version(v).is_prerelease), key=Version)
    doc = {
        "info": {"name": package, "version": newest, "summary": f"{package} (recorded for envcheck tests)"},
        "last_serial": 1,
        "releases": releases,
        "urls": releases[newest],
        "vulnerabilities": [],
    }
    folder = root / "pypi" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "json").write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def build(root: Path, rows: list[dict], drift: bool) -> None:
    if root.exists():
        shutil.rmtree(root)
    pages: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if version_key(r["torch"])[:2] < FLOOR:
            continue
        for v, windows in published(r):
            pages.setdefault((v, "torch"), []).extend(
                wheels("torch", r["torch"], v, r["python"] + r["python_experimental"], windows=windows))
    # PyPI lists every release (old ones too, 0.3.0.post4 among them); a yanked one and a release
    # candidate are skipped.
    yanked = [{"filename": "torch-2.13.1-cp312-cp312-manylinux_2_28_x86_64.whl", "yanked": True,
               "yanked_reason": "recorded test case: a yanked release", "url": ""}]
    pypi = {
        "torch": ["0.3.0.post4"] + [r["torch"] for r in rows if r["pip"].get("index_base") is None] + ["2.16.0rc1"],
        "torchvision": sorted({r["torchvision"] for r in rows if r["torchvision"]} | {"0.29.2"}, key=version_key),
        "torchaudio": sorted({r["torchaudio"] for r in rows if r["torchaudio"]}, key=version_key),
    }
    if drift:
        py = ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
        for v in ("cpu", "cu130", "cu132", "cu134"):
            pages.setdefault((v, "torch"), []).extend(wheels("torch", "2.16.0", v, py + ["3.15t"]))
        pages[("cu134", "torch")].extend(wheels("torch", "2.15.0", "cu134", py))
        pages[("cu132", "torch")].extend(wheels("torch", "2.15.0", "cu132", ["3.15t"]))
        # An off-selector build that gains Windows wheels: 2.14.1's cu134 (Linux only in the data).
        pages[("cu134", "torch")].append("torch-2.14.1+cu134-cp314-cp314-win_amd64.whl")
        pypi["torch"].append("2.16.0")
        pypi["torchvision"] += ["0.30.0", "0.31.0"]
        by_version = {r["torch"]: r for r in rows}
        for v in ("cpu", "cu126", "cu130", "cu132", "cu134"):
            files = wheels("torchvision", "0.30.0", v, py, partner=True)
            if v != "cu126":
                files += wheels("torchvision", "0.31.0", v, py, partner=True)
            for t in ("2.14.0", "2.14.1"):
                if v in dict(published(by_version[t])):
                    files += wheels("torchvision", by_version[t]["torchvision"], v, py, partner=True)
            pages[(v, "torchvision")] = files
        for v in ("cpu", "cu130"):
            pages[(v, "torchaudio")] = [
                f for t in ("2.9.0", "2.9.1", "2.10.0", "2.11.0")
                for f in wheels("torchaudio", t, v, py[:-1], partner=True)
            ]
    for (variant, package), files in sorted(pages.items()):
        write_index(root, variant, package, files)
    write_pypi(root, "torch", pypi["torch"], {"2.13.1": yanked})
    write_pypi(root, "torchvision", pypi["torchvision"])
    write_pypi(root, "torchaudio", pypi["torchaudio"])


def main() -> None:
    rows = json.loads((ROOT / "matrices" / "releases.json").read_text(encoding="utf-8"))["releases"]
    build(HERE / "sync", rows, drift=False)
    build(HERE / "drift", rows, drift=True)


if __name__ == "__main__":
    main()
