#!/usr/bin/env python3
"""Maintainer tool: turn gathered upstream facts into envcheck's own data files.

    python tests/tools/import_upstream.py PATH/TO/upstream [--out matrices] [--tests tests/data]

PATH/TO/upstream holds the fact files gathered from PyTorch's and NVIDIA's published tables
(pytorch-releases.json, cuda-drivers.json, wheel-archs.json). This script is run by hand when
those facts change; envcheck never reads them at run or test time. It writes:

* ``matrices/releases.json``, ``matrices/cuda.json``, ``matrices/wheel_archs.json``: the data
  envcheck ships, in its own format, with every row's source and confidence carried over;
* ``tests/data/upstream_reference.json``: the facts the table-driven tests check the shipped data
  and the command generator against (partners, Pythons, variants, official commands verbatim).

Curated additions that no gathered fact covers (torch 1.3.x, a few PyPI defaults) live in
``CURATED`` below, each with its own source line and ``inferred`` confidence.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from envcheck.matrix.store import dump_json  # noqa: E402
from envcheck.matrix.variants import parse_variant  # noqa: E402

DATA_DATE = "2026-12-07"

# Releases the gathered facts do not cover, from the pytorch.org previous-versions page as the
# maintainers know it. Marked inferred: envcheck says so whenever an answer rests on them.
CURATED_RELEASES = [
    {
        "torch": "1.3.0",
        "torchvision": "0.4.1",
        "torchaudio": None,
        "python": ["2.7", "3.5", "3.6", "3.7"],
        "python_experimental": [],
        "pip_cuda": ["9.2", "10.1"],
        "pip_cpu": True,
        "rocm": [],
        "conda_cuda": ["9.2", "10.1"],
        "conda_style": "cudatoolkit",
        "pypi_default_cuda_linux": "10.1",
        "has_osx": True,
        "pip_form": "find-links",
        "source": "envcheck maintainers: pytorch.org previous-versions page, v1.3.0 block "
        "(not among the gathered upstream facts)",
        "notes": ["torchaudio had no release paired with 1.3.0 in the official commands"],
        "uncertain": ["python", "torchaudio"],
    },
    {
        "torch": "1.3.1",
        "torchvision": "0.4.2",
        "torchaudio": None,
        "python": ["2.7", "3.5", "3.6", "3.7"],
        "python_experimental": [],
        "pip_cuda": ["9.2", "10.1"],
        "pip_cpu": True,
        "rocm": [],
        "conda_cuda": ["9.2", "10.1"],
        "conda_style": "cudatoolkit",
        "pypi_default_cuda_linux": "10.1",
        "has_osx": True,
        "pip_form": "find-links",
        "source": "envcheck maintainers: pytorch.org previous-versions page, v1.3.1 block "
        "(not among the gathered upstream facts)",
        "notes": ["torchaudio had no release paired with 1.3.1 in the official commands"],
        "uncertain": ["python", "torchaudio"],
    },
]

# PyPI defaults the gathered facts leave open but other rows settle.
CURATED_DEFAULTS = {
    "1.8.1": ("cu102", "inferred: 1.8.0 and 1.9.0 on PyPI are CUDA 10.2 builds; 1.8.1 sits between"),
    "1.9.1": ("cu102", "inferred: 1.9.0 and 1.10.0 on PyPI are CUDA 10.2 builds"),
    "2.14.0": ("cu130", "inferred from 2.14.1, whose PyPI Linux wheel reads CUDA 13.0 in torch/version.py"),
    "2.14.1": ("cu130", "the PyPI Linux wheel's torch/version.py says CUDA 13.0 (upstream README)"),
    "2.15.0": ("cu132", "the PyPI Linux wheel's torch/version.py says CUDA 13.2 (upstream README)"),
}

# What is known of 2.15.0 beyond its existence (upstream wheel-archs.json runtime table rows).
CURATED_215 = {
    "python": ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"],
    "pip_cuda": ["12.6", "13.0", "13.2"],
    "pip_cpu": True,
    "note": "variants taken from the CUDA architecture table inside the 2.15.0 wheel "
    "(cu126, cu130, cu132; cu134 only in the runtime table); Pythons assumed as 2.14",
}

# Builds PyTorch publishes on its download index but not on the install selector (pytorch.org's
# "Start Locally" and previous-versions commands). None of the gathered release facts lists them;
# each entry names where its existence comes from. The GPU code of each is in wheel-archs.json.
HEAD_CHECK = ("a third-party torch/CUDA compatibility table whose maintainers checked each wheel with an HTTP "
        "HEAD request against download.pytorch.org/whl/<build>/ (200 = published, 403 = absent), notes of 2026-08-29")
SGLANG_ISSUE = "https://github.com/pytorch/pytorch/issues/185269 (SGLang depends on the 2.11 cu129 binary; cu129 wheels built for 2.12.1 at its request)"
OFF_SELECTOR = {
 "2.9.0": [dict(variant="cu129", os=["linux", "windows"], confidence="inferred",
   source=HEAD_CHECK + ": torch-2.9.0+cu129 published for Linux and Windows (cp310-cp314, cp313t/cp314t)",
   sources=["pytorch/pytorch release/2.9 branch: .github/scripts/generate_binary_build_matrix.py CUDA_ARCHES gained '12.9' after the v2.9.0 tag (the tag lists 12.6, 12.8, 13.0 only)",
            "widely pinned as torch==2.9.0+cu129 with torchvision==0.24.0+cu129, torchaudio==2.9.0+cu129 and --index-url https://download.pytorch.org/whl/cu129 in public projects"],
   note="built from the release branch after the v2.9.0 tag, so the tag's build matrix omits it; the only 2.9.0 build for Windows with CUDA 12.9")],
 "2.9.1": [dict(variant="cu129", os=["linux"], confidence="inferred",
   source=HEAD_CHECK + ": torch-2.9.1+cu129 published for Linux; the Windows wheel is absent (403), the first release to drop 12.9 on Windows",
   sources=["pytorch/pytorch release/2.9 generate_binary_build_matrix.py: windows_cuda_arches removes '12.9'",
            "widely pinned as torch==2.9.1+cu129 with torchvision==0.24.1+cu129 from https://download.pytorch.org/whl/cu129 in public projects"],
   note=None)],
 "2.10.0": [dict(variant="cu129", os=["linux"], confidence="inferred",
   source="https://github.com/rapidsai/rmm/pull/2541 (tests pinned torch==2.10.0+cu129 from the cu129 index)",
   sources=["https://github.com/pytorch/pytorch/issues/187834 ('cu129 was unsupported in PyTorch since PyTorch 2.10': built, not advertised)",
            HEAD_CHECK + ": Linux present, Windows absent (403)"],
   note=None)],
 "2.11.0": [dict(variant="cu129", os=["linux"], confidence="inferred",
   source=SGLANG_ISSUE,
   sources=[HEAD_CHECK + ": Linux present, Windows absent (403)"],
   note=None)],
 "2.12.1": [dict(variant="cu129", os=["linux"], confidence="inferred",
   source=SGLANG_ISSUE,
   sources=["https://github.com/pytorch/pytorch/pull/188443 (quotes the release/2.12 build_cuda.sh case for 12.9)",
            HEAD_CHECK + ": Linux present, Windows absent (403); 2.12.0 has no cu129 build"],
   note="built for 2.12.1 only, not 2.12.0")],
 "2.13.0": [dict(variant="cu129", os=["linux"], confidence="inferred",
   source="https://github.com/pytorch/test-infra/pull/8215 (cu129 Linux builds added to the test channel for release/2.13)",
   sources=[HEAD_CHECK + ": Linux present (cuDNN nvidia-cudnn-cu12==9.20.0.48), Windows absent (403)",
            "pytorch/pytorch torch/cuda/__init__.py@cf30153c4c131c8164ee7798e5022d810682e2cb: the runtime table of 2.13.0 lists a '12.9' build"],
   note="its promotion from the test channel to the release index rests on the third-party HEAD check")],
 "2.14.0": [dict(variant="cu134", os=["linux"], confidence="inferred",
   source="pytorch/test-infra@00fa5780cc757c7b8da59fb1338d1552f66cfde8 (2.14 branch cut): release/2.14 also builds cu134 wheels, while CUDA_ARCHES_NO_GETTING_STARTED = ['13.4'] keeps them off the install selector",
   sources=["pytorch/pytorch torch/cuda/__init__.py@5c4886908584029761b579af026dcfb627c84070: the runtime table of 2.14 lists a '13.4' build"],
   note="whether a Windows cu134 wheel exists is not established")],
}
OFF_SELECTOR["2.14.1"] = [dict(OFF_SELECTOR["2.14.0"][0])]

# Arch rows the gathered facts lack: builds above whose GPU code no source settles.
CURATED_ARCHS = [
    {"torch": "2.9", "torch_releases": ["2.9.0", "2.9.1"], "variant": "cu129", "os": "linux", "sass": None, "ptx": None,
     "source": HEAD_CHECK + " (existence only)", "sources": [], "evidence": "existence only", "uncertain": True,
     "note": "UNKNOWN arch list: cu129 wheels built from release/2.9 after the v2.9.0 tag; no source for their TORCH_CUDA_ARCH_LIST was found"},
    {"torch": "2.9.0", "variant": "cu129", "os": "windows", "sass": None, "ptx": None,
     "source": HEAD_CHECK + " (existence only)", "sources": [], "evidence": "existence only", "uncertain": True,
     "note": "UNKNOWN arch list: the only Windows cu129 wheel after 2.8 (2.9.1 on build 12.9 for Linux only)"},
]

# Notes the gathered facts wrote before a later source settled them.
ARCH_NOTES = {
    ("2.13", "cu129", "linux"): "built off the install selector (test-infra #8215 added cu129 Linux builds for "
    "release/2.13); its wheels on the cu129 index rest on a third-party HEAD check (see releases.json)",
}


def off_selector(row: dict, selector: list[str]) -> list[dict]:
    """A release's builds off the install selector: the curated ones above, and the ROCm builds
    that PyTorch's release validation matrix (pytorch/test-infra) lists beside the one the
    install pages show (each release is also built for the previous ROCm)."""
    out = [{k: v for k, v in e.items() if v is not None} for e in OFF_SELECTOR.get(row["torch"], [])]
    ti = row.get("test_infra_release_matrix") or {}
    for rocm in ti.get("rocm") or []:
        label = f"rocm{rocm}"
        if label in selector or row.get("rocm") is None:
            continue
        out.append({
            "variant": label,
            "os": ["linux"],
            "confidence": "inferred",
            "source": ti["source"],
            "note": f"the release channel's validation matrix of {ti['date']} lists ROCm {rocm} beside "
            f"the install pages' {', '.join(row['rocm'])}",
        })
    return sorted(out, key=lambda e: parse_variant(e["variant"]))


def cuda_to_variant(cuda: str) -> str:
    major, minor = cuda.split(".")[:2]
    return f"cu{major}{minor}"


def pip_form(commands: dict | None) -> str | None:
    if not commands:
        return None
    # Judge by the CPU and CUDA commands: ROCm lines lagged behind (1.10.1 kept the global page).
    text = " ".join(v for k, v in commands.items() if k == "cpu" or k.startswith("cu"))
    if "Download and install wheel" in text:
        return "direct-wheel"
    if "--extra-index-url" in text:
        return "extra-index-url"
    if "--index-url" in text:
        return "index-url"
    if re.search(r"/whl/(cu\d+|cpu)/torch_stable\.html", text):
        return "find-links-per-variant"
    if "torch_stable.html" in text:
        return "find-links"
    return None


PKGS = ("torch", "torchvision", "torchaudio")


def _named(cmds: list[str]) -> list[str]:
    """Which of the three packages the official commands install."""
    text = " ".join(cmds)
    return [p for p in PKGS if re.search(rf"(^|\s){p if p != 'torch' else 'torch(?:-cpu)?'}(==|\s|$)", text)
            or (p == "torch" and re.search(r"\bpytorch", text))]


def pip_details(row: dict, commands: dict, default_linux: str | None) -> dict:
    """Era details of the official pip commands that the generator must reproduce."""
    out: dict = {}
    cmds = [v for k, v in commands.items() if k != "osx" and "Download" not in v]
    if cmds:
        out["packages"] = _named(cmds)
        out["labels"] = [p for p in PKGS if any(re.search(rf"(^|\s){p}==[\d.]+\+", c) for c in cmds)]
        plain = default_linux and commands.get(default_linux, "")
        out["plain_default"] = bool(plain) and "-f " not in plain and "index-url" not in plain
        lts = re.search(r"https://download\.pytorch\.org/whl/(lts/[\d.]+)/", " ".join(cmds))
        if lts:
            out["index_base"] = f"https://download.pytorch.org/whl/{lts.group(1)}"
        overrides: dict = {}
        tv = row.get("torchvision")
        for variant, cmd in commands.items():
            m = re.search(r"torchvision==([\d.]+)", cmd)
            if m and tv and m.group(1) != tv and variant != "osx":
                overrides.setdefault(variant, {})["torchvision"] = m.group(1)
            if "git+https://github.com/pytorch/vision" in cmd:
                overrides.setdefault(variant, {})["torchvision"] = None
                overrides[variant]["note"] = "no torchvision wheel for this build: build it from source (pip install 'git+https://github.com/pytorch/vision.git@v%s')" % tv
            era = pip_form(commands) or ""
            if era.startswith("find-links") and "-f " in cmd:
                per_variant = re.search(r"/whl/[^/ ]+/torch_stable\.html", cmd) is not None
                if per_variant != (era == "find-links-per-variant"):
                    overrides.setdefault(variant, {})["find_links"] = "variant" if per_variant else "global"
        if overrides:
            out["overrides"] = overrides
    elif row.get("_curated"):  # 1.3.x: the find-links era, exactly as 1.2.0 and 1.4.0
        out.update(packages=["torch", "torchvision"], labels=["torch", "torchvision"], plain_default=True)
    else:
        out["packages"] = ["torch", "torchvision"] + (["torchaudio"] if row.get("torchaudio") else [])
        out["labels"] = []
        out["plain_default"] = False
    return out


def conda_details(row: dict) -> dict:
    cmds = row.get("conda_commands") or {}
    out: dict = {}
    if row.get("_curated"):
        return {"packages": ["torch", "torchvision"]}
    if not cmds:
        return out
    out["packages"] = _named([v for k, v in cmds.items()])
    extra: dict = {}
    for key, cmd in cmds.items():
        chans = [c for c in re.findall(r"-c (\S+)", cmd) if c not in ("pytorch", "pytorch-lts")]
        if chans and key != "osx":
            extra[key.replace("_linux", "").replace("_windows", "@windows")] = chans
    if extra:
        out["extra_channels"] = extra
    if "pytorch-cpu" in cmds.get("cpu", ""):
        out["cpu_packages"] = "pytorch-cpu"
    return out


def confidence_of(row: dict) -> str:
    kind = row.get("commands_kind") or ""
    if row["torch"] == "2.15.0":
        return "unknown"
    if kind.startswith("previous-versions page") or kind.startswith("getting-started selector"):
        return "official"
    return "inferred"


def convert_release(row: dict) -> dict:
    torch = row["torch"]
    commands = row.get("pip_commands") or {}
    curated = row.get("_curated", False)
    uncertain = list(row.get("uncertain") or [])
    notes = list(row.get("notes") or [])
    python = list(row.get("python") or [])
    pip_cuda = list(row.get("pip_cuda") or [])
    pip_cpu = row.get("pip_cpu")
    if torch == "2.15.0":
        python = CURATED_215["python"]
        pip_cuda = CURATED_215["pip_cuda"]
        pip_cpu = CURATED_215["pip_cpu"]
        notes.append(CURATED_215["note"])
    variants = []
    if pip_cpu or pip_cpu is None:
        variants.append("cpu")
    variants += [cuda_to_variant(c) for c in pip_cuda]
    variants += [f"rocm{r}" for r in (row.get("rocm") or [])]

    default_linux = row.get("pypi_default_cuda_linux")
    default_linux = cuda_to_variant(default_linux) if default_linux else None
    default_basis = row.get("pypi_default_cuda_linux_basis")
    if torch in CURATED_DEFAULTS and not default_linux:
        default_linux, default_basis = CURATED_DEFAULTS[torch]
        if default_basis.startswith("inferred"):
            uncertain.append("default_variant")
    if default_linux and not default_basis:
        default_basis = "the previous-versions page lists this CUDA variant as a plain `pip install`"
    if torch == "1.8.2":
        default_linux = None
        default_basis = "1.8.2 (LTS) was published only on download.pytorch.org, never on PyPI"
    elif default_linux is None:
        uncertain.append("default_variant")
        default_basis = "no source says which build a plain install from PyPI gives"

    has_osx = row.get("has_osx", "osx" in commands) or (not commands and vkey(torch) >= (2,))
    if torch == "1.8.2":
        has_osx = False
    platforms = ["linux", "windows"] + (["macos"] if has_osx else [])

    form = row.get("pip_form") or pip_form(commands)
    if form is None:
        form = "index-url"
        uncertain.append("pip_form")

    pip_extra = pip_details(row, commands, default_linux)
    style = row.get("conda_style")
    conda: dict = {"style": style or "none"}
    if style:
        conda["channel"] = "pytorch-lts" if torch == "1.8.2" else "pytorch"
        conda["variants"] = (["cpu"] if row.get("conda_commands", {}).get("cpu") or curated else []) + [
            cuda_to_variant(c) for c in row.get("conda_cuda") or []
        ]
        conda.update(conda_details(row))
        versions = row.get("conda_package_versions") or {}
        if versions:
            conda["torchvision"] = versions.get("torchvision")
            conda["torchaudio"] = versions.get("torchaudio")
    out = {
        "torch": torch,
        "torchvision": row.get("torchvision"),
        "torchaudio": row.get("torchaudio"),
        "python": python,
        "python_experimental": list(row.get("python_experimental") or []),
        "platforms": platforms,
        "pip": {
            "form": form,
            "variants": variants,
            "default": {"linux": default_linux, "windows": "cpu", "macos": "cpu" if has_osx else None},
            "default_basis": default_basis,
            **pip_extra,
            **({"off_selector": off} if (off := off_selector(row, variants)) else {}),
        },
        "conda": conda,
        "confidence": "inferred" if curated else confidence_of(row),
        "uncertain": sorted(set(uncertain)),
        "source": row["source"],
    }
    if row.get("sources") and row["sources"] != [row["source"]]:
        out["sources"] = row["sources"]
    if notes:
        out["notes"] = notes
    if torch == "2.15.0":
        out["partners_note"] = "no torchvision for 2.15 was published when the data was gathered"
    elif row.get("torchaudio") is None and vkey(torch) >= (2, 12):
        out["partners_note"] = (
            "torchaudio has no release after 2.11.0 (maintenance phase); official commands "
            "install torch and torchvision only"
        )
    return out


def vkey(v: str):
    return tuple(int(p) for p in v.split("."))


def convert_toolkits(rows: list[dict]) -> dict:
    out = []
    for r in sorted(rows, key=lambda r: vkey(r["cuda"])):
        t = {
            "cuda": r["cuda"],
            "label": r["nvidia_table_label"],
            "driver_linux": r["min_driver_linux"],
            "driver_windows": r["min_driver_windows"],
            "minor_compat_linux": r["minor_compat_min_linux"]
            or (r.get("minor_compat_min_branch") if r["cuda"].startswith("13") else None),
            "minor_compat_windows": r["minor_compat_min_windows"],
            "confidence": "inferred" if r.get("uncertain") else "official",
            "source": r["source"],
        }
        if r.get("driver_branch"):
            t["branch"] = r["driver_branch"]
        if r.get("uncertain"):
            t["uncertain"] = r["uncertain"]
        if r.get("notes"):
            t["notes"] = r["notes"]
        out.append(t)
    return {
        "schema": "envcheck.cuda/1",
        "updated": DATA_DATE,
        "about": "NVIDIA CUDA toolkits: Table 3 (driver shipped with the toolkit: full support) "
        "and Table 2 (minimum driver for CUDA minor-version compatibility within the major).",
        "toolkits": out,
    }


def convert_archs(rows: list[dict]) -> dict:
    out = []
    for r in rows:
        if r["sass"] is None:
            confidence = "unknown"
        elif r["uncertain"]:
            confidence = "inferred"
        else:
            confidence = "official"
        a = {
            "torch": r["torch"],
            "variant": r["variant"],
            "os": r["os"],
            "sass": r["sass"],
            "ptx": r["ptx"],
            "confidence": confidence,
            "evidence": r["evidence"],
            "source": r["source"],
        }
        note = ARCH_NOTES.get((r["torch"], r["variant"], r["os"]), r.get("note"))
        if note:
            a["note"] = note
        out.append(a)
    out.sort(key=lambda a: (a["os"], vkey(a["torch"]), a["variant"]))
    return {
        "schema": "envcheck.wheel_archs/1",
        "updated": DATA_DATE,
        "about": "GPU architectures compiled into PyTorch's official CUDA wheels. 'torch' is a "
        "release (1.8.0) or a series (2.7 = every 2.7.x). sass: real code for sm_XY; ptx: "
        "compute_XY that the driver can JIT for newer GPUs.",
        "rows": out,
    }


REFERENCE_FIELDS = (
    "torch torchvision torchaudio python python_experimental pip_cuda pip_cpu rocm conda_cuda "
    "conda_style pip_commands conda_commands conda_package_versions pip_index_style "
    "pypi_default_cuda_linux commands_kind source"
).split()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "matrices")
    ap.add_argument("--tests", type=Path, default=ROOT / "tests" / "data")
    args = ap.parse_args()

    releases = json.loads((args.upstream / "pytorch-releases.json").read_text())
    rows = list(releases) + [dict(c, _curated=True) for c in CURATED_RELEASES]
    rows.sort(key=lambda r: vkey(r["torch"]))
    data = {
        "schema": "envcheck.releases/1",
        "updated": DATA_DATE,
        "about": "Every torch release with its partners, Pythons, pip/conda variants and the "
        "command form of its era. confidence: official (PyTorch's install pages), inferred "
        "(derived or secondary sources), unknown. 'uncertain' names fields no source settles.",
        "releases": [convert_release(r) for r in rows],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "releases.json").write_text(dump_json(data), encoding="utf-8")
    toolkits = json.loads((args.upstream / "cuda-drivers.json").read_text())
    (args.out / "cuda.json").write_text(dump_json(convert_toolkits(toolkits)), encoding="utf-8")
    archs = json.loads((args.upstream / "wheel-archs.json").read_text()) + CURATED_ARCHS
    (args.out / "wheel_archs.json").write_text(dump_json(convert_archs(archs)), encoding="utf-8")

    reference = {
        "about": "Reference copy of upstream release facts (PyTorch install pages, release "
        "tables) for envcheck's table-driven tests. Each row keeps its source. Not used at run time.",
        "releases": [{k: r.get(k) for k in REFERENCE_FIELDS} for r in releases],
    }
    args.tests.mkdir(parents=True, exist_ok=True)
    (args.tests / "upstream_reference.json").write_text(dump_json(reference), encoding="utf-8")
    print(f"wrote {len(rows)} releases, {len(toolkits)} toolkits, {len(archs)} arch rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
