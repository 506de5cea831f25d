"""What ``envcheck matrix`` answers, as plain data (rendered as text or JSON by the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from envcheck.matrix import archs as _archs
from envcheck.matrix import query
from envcheck.matrix.model import Release
from envcheck.matrix.store import Matrix
from envcheck.matrix.variants import ComputeCapability, Variant

__all__ = ["data_info", "release_entry", "variant_entry", "off_selector_entry", "gpu_entry", "overview",
           "MatrixQuery", "MatrixAnswer", "matrix_answer"]

PIP_FORM_WORDS = {
    "direct-wheel": "download the wheel file for your Python from download.pytorch.org/whl/<variant>/",
    "find-links": "pip install torch==X+<variant> -f https://download.pytorch.org/whl/torch_stable.html",
    "find-links-per-variant": "pip install torch==X+<variant> -f https://download.pytorch.org/whl/<variant>/torch_stable.html",
    "extra-index-url": "pip install torch==X+<variant> --extra-index-url https://download.pytorch.org/whl/<variant>",
    "index-url": "pip install torch==X --index-url https://download.pytorch.org/whl/<variant>",
}
CONDA_WORDS = {
    "cuda-metapackage": "conda install pytorch cudaXY -c pytorch (CUDA metapackage)",
    "cudatoolkit": "conda install pytorch cudatoolkit=X.Y -c pytorch",
    "pytorch-cuda": "conda install pytorch pytorch-cuda=X.Y -c pytorch -c nvidia",
    "none": "no conda packages from PyTorch (the pytorch channel ended with 2.5)",
}


def age_days(updated: str, today=None) -> int:
    """How many days old the data is (``updated`` is a date or a UTC timestamp)."""
    import datetime as dt

    day = dt.date.fromisoformat(updated[:10])
    return ((today or dt.date.today()) - day).days


def age_words(updated: str, today=None) -> str:
    days = age_days(updated, today)
    if days <= 0:
        return "today"
    return "1 day old" if days == 1 else f"{days} days old"


def data_info(matrix: Matrix) -> dict:
    i = matrix.info
    return {
        "age_days": age_days(i.updated),
        "origin": i.origin,
        "directory": i.directory,
        "updated": i.updated,
        "newest_release": i.newest_release,
        "releases": i.releases,
        "shipped_updated": i.shipped_updated,
    }


def _span(targets: tuple[str, ...]) -> str:
    if not targets:
        return ""
    ccs = sorted((_archs.split_target(t)[:2] for t in targets))
    lo = ComputeCapability(*ccs[0])
    hi = ComputeCapability(*ccs[-1])
    return f"{_archs.generation(lo)} to {_archs.generation(hi)}"


def off_selector_entry(release: Release, variant: Variant) -> dict | None:
    """Where an off-selector build's wheels exist and how that is known (None: on the selector)."""
    o = release.off_selector_build(variant)
    if o is None:
        return None
    return {"os": list(o.os), "confidence": o.confidence, "source": o.source,
            "sources": list(o.sources), "note": o.note}


def variant_entry(matrix: Matrix, release: Release, variant: Variant, os_name: str) -> dict:
    out: dict = {"variant": variant.label, "what": variant.describe(), "on_selector": release.on_selector(variant)}
    off = off_selector_entry(release, variant)
    if off is not None:
        out["off_selector"] = off
    if variant.kind == "cuda":
        wa = _archs.wheel_archs(matrix, release, variant, os_name)
        out["archs"] = {
            "known": wa.known,
            "sass": [f"sm_{t.replace('.', '')}" for t in wa.sass],
            "ptx": [f"compute_{t.replace('.', '')}" for t in wa.ptx],
            "generations": _span(wa.sass + wa.ptx) if wa.known else None,
            "confidence": wa.confidence,
            "note": wa.note or None,
        }
    return out


def release_entry(matrix: Matrix, release: Release, os_name: str = "linux") -> dict:
    default = {k: (v.label if v else None) for k, v in release.default.items()}
    return {
        "torch": release.torch,
        "torchvision": release.torchvision,
        "torchaudio": release.torchaudio,
        "partners_note": release.partners_note,
        "python": list(release.python),
        "python_experimental": list(release.python_experimental),
        "platforms": list(release.platforms),
        "pip": {
            "form": release.pip_form,
            "form_example": PIP_FORM_WORDS[release.pip_form],
            "variants": [variant_entry(matrix, release, v, os_name) for v in release.variants],
            "default": default,
            "default_basis": release.default_basis,
        },
        "conda": {
            "style": release.conda.style,
            "form": CONDA_WORDS[release.conda.style],
            "channel": release.conda.channel,
            "variants": [v.label for v in release.conda.variants],
            "torchvision": release.conda.torchvision or (release.torchvision if release.conda.style != "none" else None),
            "torchaudio": release.conda.torchaudio or (release.torchaudio if release.conda.style != "none" else None),
        },
        "confidence": release.confidence,
        "uncertain": sorted(release.uncertain),
        "package_index": _package_index(release),
        "caveats": query.caveats(release),
        "source": release.source,
        "sources": list(release.sources),
        "notes": list(release.notes),
        "archs_os": os_name,
    }


def _package_index(release: Release) -> dict | None:
    """What the package index's own metadata settled for a release (official), or None."""
    facts = release.package_index
    if facts is None:
        return None
    return {
        "source": facts.source,
        "read": facts.read,
        "uploaded": facts.uploaded,
        "requires_python": facts.requires_python,
        "classifiers": list(facts.classifiers),
        "wheels": dict(facts.default_files),
        "cuda": facts.cuda,
        "pins": dict(facts.pins),
        "partners": dict(facts.partners),
        "settled": sorted(facts.settled),
    }


def gpu_entry(matrix: Matrix, releases: list[Release], cc: ComputeCapability, os_name: str) -> list[dict]:
    """For each release: which CUDA builds run on a GPU of capability ``cc`` and why not the others."""
    rows = []
    for r in releases:
        runs, not_runs, unknown = [], [], []
        for v in r.variants_for_os(os_name):
            if v.kind != "cuda":
                continue
            wa = _archs.wheel_archs(matrix, r, v, os_name)
            verdict = wa.runs_on(cc)
            if verdict is None:
                unknown.append({"variant": v.label, "why": wa.note})
            elif verdict.runs:
                runs.append({"variant": v.label, "how": verdict.how, "confidence": wa.confidence,
                             "on_selector": r.on_selector(v)})
            else:
                not_runs.append({"variant": v.label, "why": verdict.reason, "confidence": wa.confidence})
        rows.append({"torch": r.torch, "runs": runs, "does_not_run": not_runs, "unknown": unknown})
    return rows


def overview(matrix: Matrix, *, conda: bool = False) -> list[dict]:
    """One row per release; ``conda=True`` lists the conda builds instead of the pip wheels."""
    return [
        {
            "torch": r.torch,
            "torchvision": r.torchvision,
            "torchaudio": r.torchaudio,
            "python": list(r.python),
            "variants": [v.label for v in (r.conda.variants if conda else r.variants)],
            "off_selector": [] if conda else [o.variant.label for o in r.off_selector],
            "conda": r.conda.style,
            "confidence": r.confidence,
        }
        for r in matrix.releases
    ]


@dataclass(frozen=True)
class MatrixQuery:
    """What ``envcheck matrix`` was asked: at most one of ``cuda``/``rocm``/``cpu``; ``cc``; ``torch``."""

    torch: Optional[str] = None
    cuda: Optional[str] = None
    rocm: Optional[str] = None
    cpu: bool = False
    conda: bool = False
    cc: Optional[str] = None
    os_name: str = "linux"


@dataclass
class MatrixAnswer:
    """The answer to a :class:`MatrixQuery`: ``kind`` is ``builds`` (releases with a build),
    ``gpu`` (which builds run on a compute capability), ``releases`` (the entries of --torch) or
    ``overview``; ``data`` is the JSON document; ``off_selector`` counts builds off the install
    selector (``builds`` only)."""

    kind: str
    data: Dict[str, Any]
    info: Dict[str, Any]
    warnings: List[str] = field(default_factory=list)
    variant: Optional[Variant] = None
    off_selector: int = 0
    count: int = 0  # releases with the build (``builds`` only)


def matrix_answer(m: Matrix, q: MatrixQuery) -> MatrixAnswer:
    """Answer ``envcheck matrix``'s question from the data (pure given the loaded matrix)."""
    from envcheck.errors import InputError
    from envcheck.matrix.variants import parse_cc, parse_cuda, parse_rocm

    picked = [x for x in (q.cuda, q.rocm, q.cpu or None) if x]
    if len(picked) > 1:
        raise InputError("give only one of --cuda, --rocm and --cpu")
    info = data_info(m)
    releases = query.find_releases(m, q.torch) if q.torch else list(m.releases)
    if picked:
        variant = parse_cuda(q.cuda) if q.cuda else parse_rocm(q.rocm) if q.rocm else Variant("cpu")
        having = query.releases_with(m, variant, conda=q.conda)
        chosen = [r for r in releases if r in having]
        if not chosen:
            raise query.no_such_build(releases, variant, having, conda=q.conda)
        rows = [r for r in overview(m, conda=q.conda) if any(r["torch"] == c.torch for c in chosen)]
        warnings: List[str] = []
        for r in chosen:
            warnings += query.caveats(r)
        off = [r for r in chosen if not q.conda and not r.on_selector(variant)]
        return MatrixAnswer("builds", {"variant": variant.label, "conda": q.conda, "releases": rows}, info,
                            sorted(set(warnings)), variant, len(off), len(chosen))
    if q.cc:
        gpu = parse_cc(q.cc)
        rows = gpu_entry(m, releases, gpu, q.os_name)
        return MatrixAnswer("gpu", {"compute_capability": str(gpu), "generation": _archs.generation(gpu),
                                    "os": q.os_name, "releases": rows}, info)
    if q.torch:
        return MatrixAnswer("releases", {"releases": [release_entry(m, r, q.os_name) for r in releases]}, info)
    return MatrixAnswer("overview", {"releases": overview(m)}, info)
