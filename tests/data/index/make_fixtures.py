"""Regenerate the recorded index pages in this folder from the shipped data (matrices/).

    python tests/data/index/make_fixtures.py

Writes two page sets laid out like the URLs that ``envcheck matrix update`` reads
(``<set>/whl/<build>/<package>/index.html|index.json``, ``<set>/simple/<package>/index.json`` and
the wheels it links to under ``<set>/files/``):

* ``sync/``  - exactly what matrices/releases.json says for torch >= 2.9 (so ``--check`` exits 0);
* ``drift/`` - the same plus a simulated newer upstream: torch 2.16.0 (cpu cu130 cu132 cu134,
  Python 3.11-3.15 and 3.15t) with torchvision 0.31.0 and no torchaudio; torch 2.15.0 gains a
  cu134 build; 2.14.1's cu134 gains a Windows wheel.

The pages are in the real formats: PEP 503 HTML as download.pytorch.org serves it, PEP 691 JSON
(api-version 1.1) for the ``cpu`` and ``cu130`` pages and for the package index. Run it again
whenever the rows for torch >= 2.9 (or their ``package_index`` blocks) change, and commit the result.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import zipfile
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


PLATFORM_TAGS = {"linux": "manylinux_2_28_x86_64", "windows": "win_amd64", "macos": "macosx_14_0_arm64"}
OLD_UPLOAD = "2024-01-10T12:00:00Z"  # before every release the update reads metadata for


def _zip(members: dict[str, str]) -> bytes:
    """A small, byte-stable wheel stand-in: a real zip holding the members the update reads."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


def torch_metadata(version: str, block: dict) -> str:
    lines = ["Metadata-Version: 2.4", "Name: torch", f"Version: {version}"]
    lines += [f"Classifier: Programming Language :: Python :: {p}" for p in block["classifiers"]]
    if block.get("requires_python"):
        lines.append(f"Requires-Python: {block['requires_python']}")
    lines += ["Requires-Dist: filelock", "Requires-Dist: sympy>=1.13.3"]
    lines += [f'Requires-Dist: {name}{spec}; platform_system == "Linux"' for name, spec in block["pins"].items()]
    lines.append('Requires-Dist: opt-einsum>=3.3; extra == "opt-einsum"')
    return "\n".join(lines) + "\n\nThe description (omitted).\n"


def partner_metadata(package: str, version: str, torch: str | None) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {package}", f"Version: {version}", "Requires-Python: >=3.10"]
    lines += ["Requires-Dist: numpy"] + ([f"Requires-Dist: torch ({torch})"] if torch else [])
    return "\n".join(lines) + "\n\n"


def simple_file(filename: str, digest: str | None, uploaded: str, requires_python: str | None,
                yanked: bool = False) -> dict:
    return {
        "filename": filename,
        # Relative, as mirrors serve them: resolved against the page's address.
        "url": f"../../files/{filename}",
        "hashes": {"sha256": digest or sha(filename)},
        "requires-python": requires_python,
        "size": 0,  # filled in for the wheels recorded under files/
        "upload-time": uploaded,
        "yanked": yanked,
    }


def write_simple(root: Path, package: str, files: list[dict], stubs: dict[str, bytes]) -> None:
    """The package index's PEP 691 page, and the recorded wheels (stand-ins) it points to."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    for f in files:
        if f["filename"] in stubs:
            data = stubs[f["filename"]]
            (root / "files" / f["filename"]).write_bytes(data)
            f["size"] = len(data)
        else:
            f["size"] = 1000 + len(f["filename"])
    versions = sorted({f["filename"].split("-")[1] for f in files}, key=Version)
    doc = {"meta": {"api-version": "1.1"}, "name": package, "versions": versions,
           "files": sorted(files, key=lambda f: f["filename"])}
    folder = root / "simple" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.json").write_text(json.dumps(doc, indent=0, separators=(",", ":")) + "\n", encoding="utf-8")


def release_files(row: dict, stubs: dict[str, bytes]) -> list[dict]:
    """A release's files on the package index: from its package_index block where it has one
    (the wheels read then, with their real sha256, so a sync check reads none again)."""
    block = row.get("package_index")
    if block is None:
        f = f"torch-{row['torch']}-cp312-cp312-manylinux_2_28_x86_64.whl"
        return [simple_file(f, None, OLD_UPLOAD, f">={row['python'][0]}")]
    out = []
    by_file = {e["file"]: (os_name, e) for os_name, e in block["default"].items()}
    uploaded = f"{block['uploaded']}T15:00:00Z"
    for os_name in block["os"]:
        for py in block["python"] + block["python_experimental"]:
            name = f"torch-{row['torch']}-{tags(py)}-{PLATFORM_TAGS[os_name]}.whl"
            hit = by_file.get(name)
            out.append(simple_file(name, hit[1]["sha256"] if hit else None, uploaded, block["requires_python"]))
            if hit and os_name != "macos":
                entry = hit[1]
                local = entry["variant"]
                members = {"torch/version.py": (f"__version__ = '{row['torch']}+{local}'\n"
                                                f"cuda: Optional[str] = {entry['cuda']!r}\n")}
                if os_name == "linux":
                    members[f"torch-{row['torch']}.dist-info/METADATA"] = torch_metadata(row["torch"], block)
                stubs[name] = _zip(members)
    return out


def partner_entries(package: str, rows: list[dict]) -> dict[str, dict]:
    """The partner releases the rows' package_index blocks recorded: version -> entry."""
    recorded = {}
    for r in rows:
        entry = ((r.get("package_index") or {}).get("partners") or {}).get(package)
        if entry and entry.get("version"):
            recorded[entry["version"]] = entry
    return recorded


def partner_files(package: str, versions: list[str], recorded: dict[str, dict], stubs: dict[str, bytes]) -> list[dict]:
    out = []
    for v in versions:
        entry = recorded.get(v)
        if entry is None:
            out.append(simple_file(f"{package}-{v}-cp312-cp312-manylinux_2_28_x86_64.whl", None, OLD_UPLOAD, ">=3.10"))
            continue
        out.append(simple_file(entry["file"], entry["sha256"], f"{entry['uploaded']}T15:30:00Z", ">=3.10"))
        stubs[entry["file"]] = _zip({f"{package}-{v}.dist-info/METADATA": partner_metadata(package, v, entry["torch"])})
    return out


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
    # The package index lists every release (old ones too, 0.3.0.post4 among them); a yanked one
    # and a release candidate are skipped.
    torch_rows = [r for r in rows if r["pip"].get("index_base") is None]
    partners = {p: partner_entries(p, rows) for p in ("torchvision", "torchaudio")}
    versions = {
        "torchvision": sorted({r["torchvision"] for r in rows if r["torchvision"]}, key=version_key),
        "torchaudio": sorted({r["torchaudio"] for r in rows if r["torchaudio"]} | set(partners["torchaudio"]),
                             key=version_key),
    }
    if drift:
        py = ["3.11", "3.12", "3.13", "3.14", "3.15"]
        for v in ("cpu", "cu130", "cu132", "cu134"):
            pages.setdefault((v, "torch"), []).extend(wheels("torch", "2.16.0", v, py + ["3.15t"]))
        pages[("cu134", "torch")].extend(wheels("torch", "2.15.0", "cu134", py))
        # An off-selector build that gains Windows wheels: 2.14.1's cu134 (Linux only in the data).
        pages[("cu134", "torch")].append("torch-2.14.1+cu134-cp314-cp314-win_amd64.whl")
        for v in ("cpu", "cu130", "cu132", "cu134"):
            pages[(v, "torchvision")] = wheels("torchvision", "0.31.0", v, py, partner=True)
        # torch 2.16.0 on the package index: its wheels, their METADATA and version.py, and
        # torchvision 0.31.0 pinning it; no torchaudio uploaded with it.
        torch_rows.append({"torch": "2.16.0", "package_index": {
            "uploaded": "2026-12-02", "requires_python": ">=3.11", "classifiers": py, "python": py,
            "python_experimental": ["3.15t"], "os": ["linux", "windows", "macos"],
            "pins": {"cuda-toolkit": "==13.2.3", "nvidia-cudnn-cu13": "==9.27.0.12", "nvidia-nccl-cu13": "==2.31.2",
                     "triton": "~=3.10.0"},
            "default": {os_name: {"variant": variant, "cuda": cuda, "sha256": None,
                                  "file": f"torch-2.16.0-cp315-cp315-{PLATFORM_TAGS[os_name]}.whl"}
                        for os_name, variant, cuda in (("linux", "cu132", "13.2"), ("windows", "cpu", None),
                                                       ("macos", "cpu", None))},
        }})
        partners["torchvision"]["0.31.0"] = {
            "version": "0.31.0", "torch": "==2.16.0", "uploaded": "2026-12-02", "sha256": None,
            "file": "torchvision-0.31.0-cp315-cp315-manylinux_2_28_x86_64.whl"}
        versions["torchvision"].append("0.31.0")
    for (variant, package), files in sorted(pages.items()):
        write_index(root, variant, package, files)
    stubs: dict[str, bytes] = {}
    torch_files = [f for r in torch_rows for f in release_files(r, stubs)]
    torch_files.append(simple_file("torch-0.3.0.post4-cp36-cp36m-manylinux1_x86_64.whl", None, OLD_UPLOAD, None))
    torch_files.append(simple_file("torch-2.13.1-cp312-cp312-manylinux_2_28_x86_64.whl", None,
                                   "2026-07-20T10:00:00Z", ">=3.10", yanked=True))
    torch_files.append(simple_file("torch-2.17.0rc1-cp312-cp312-manylinux_2_28_x86_64.whl", None,
                                   "2026-12-05T10:00:00Z", ">=3.11"))
    write_simple(root, "torch", torch_files, stubs)
    for p in ("torchvision", "torchaudio"):
        write_simple(root, p, partner_files(p, versions[p], partners[p], stubs), stubs)


def main() -> None:
    rows = json.loads((ROOT / "matrices" / "releases.json").read_text(encoding="utf-8"))["releases"]
    build(HERE / "sync", rows, drift=False)
    build(HERE / "drift", rows, drift=True)


if __name__ == "__main__":
    main()
