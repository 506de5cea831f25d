"""The shipped data agrees with the upstream facts, release by release and variant by variant."""

from __future__ import annotations

import json
import re

import pytest

from helpers.paths import DATA
from envcheck.matrix import store
from envcheck.matrix.variants import version_key

REFERENCE = json.loads((DATA / "upstream_reference.json").read_text(encoding="utf-8"))["releases"]
RELEASES = [r["torch"] for r in REFERENCE]

FORMS = {
    "manual wheel download": {"direct-wheel"},
    "-f (find-links)": {"find-links", "find-links-per-variant"},
    "--extra-index-url": {"extra-index-url"},
    "--index-url": {"index-url"},
}
CONDA = {"cuda-metapackage": "cuda-metapackage", "cudatoolkit": "cudatoolkit", "pytorch-cuda": "pytorch-cuda", None: "none"}


# What the package index's own metadata said on 2026-12-07 (read by `envcheck matrix update`; the
# wheels' METADATA and version.py are recorded in tests/data/index/metadata): for these releases
# it is the official source, and the rows follow it where the gathered reference said less.
# torch -> (Pythons, experimental Pythons, torchvision, torchaudio, Linux plain-pip build)
INDEX = {
    "2.12.0": (["3.10", "3.11", "3.12", "3.13", "3.14"], ["3.13t", "3.14t"], "0.27.0", None, "cu130"),
    "2.12.1": (["3.10", "3.11", "3.12", "3.13", "3.14"], ["3.14t"], "0.27.1", None, "cu130"),
    "2.13.0": (["3.10", "3.11", "3.12", "3.13", "3.14"], ["3.14t"], "0.28.0", None, "cu130"),
    "2.14.0": (["3.10", "3.11", "3.12", "3.13", "3.14"], ["3.14t"], "0.29.0", None, "cu130"),
    "2.14.1": (["3.10", "3.11", "3.12", "3.13", "3.14"], ["3.14t"], "0.29.1", None, "cu130"),
    "2.15.0": (["3.11", "3.12", "3.13", "3.14", "3.15"], ["3.14t", "3.15t"], "0.29.2", "2.11.1", "cu132"),
}


def test_index_facts_are_settled(matrix):
    for torch, (python, experimental, tv, ta, linux) in INDEX.items():
        rel = matrix.get(torch)
        assert (list(rel.python), list(rel.python_experimental)) == (python, experimental), torch
        assert (rel.torchvision, rel.torchaudio, rel.default["linux"].label) == (tv, ta, linux), torch
        assert rel.package_index is not None and rel.package_index.settled == {
            "python", "default_variant", "torchvision", "torchaudio"}, torch
        for fact in ("python", "default_variant", "torchvision", "torchaudio"):
            assert rel.is_sure(fact) and fact not in rel.uncertain, (torch, fact)
    pins = matrix.get("2.15.0").package_index
    assert (pins.requires_python, pins.cuda) == (">=3.11", "13.2")
    assert pins.pins["cuda-toolkit"] == "==13.2.2" and pins.pins["nvidia-nccl-cu13"] == "==2.30.7"


def cu(cuda: str) -> str:
    major, minor = cuda.split(".")[:2]
    return f"cu{major}{minor}"


def test_every_upstream_release_is_in_the_data(matrix):
    ours = {r.torch for r in matrix.releases}
    assert set(RELEASES) <= ours
    # 1.0.0 -> 2.15.0 at patch level, plus the curated 1.3.x rows the facts lack.
    assert {"1.0.0", "1.3.0", "1.3.1", "2.15.0"} <= ours
    assert matrix.releases[0].torch == "1.0.0" and matrix.newest.torch == "2.15.0"


@pytest.mark.parametrize("torch", RELEASES)
def test_partners(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    if torch in INDEX:
        ref = {"torchvision": INDEX[torch][2], "torchaudio": INDEX[torch][3]}
    assert rel.torchvision == ref["torchvision"]
    assert rel.torchaudio == ref["torchaudio"]
    if rel.torchvision is None or (rel.torchaudio is None and version_key(torch) >= (2, 12)):
        assert rel.partners_note, "an explicit none needs a reason"


@pytest.mark.parametrize("torch", RELEASES)
def test_pythons(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    if torch in INDEX:  # the package index's wheels and metadata settle it
        ref = {"python": INDEX[torch][0], "python_experimental": INDEX[torch][1]}
    if ref["python"] is None:
        assert "python" in rel.uncertain and rel.confidence == "unknown"
    else:
        assert list(rel.python) == ref["python"]
    assert list(rel.python_experimental) == (ref["python_experimental"] or [])


@pytest.mark.parametrize("torch", RELEASES)
def test_pip_variants(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    labels = {v.label for v in rel.variants}
    if ref["pip_cuda"] is not None:
        # The install selector's CUDA builds are exactly the upstream list; the others are off it.
        selector = {v.label for v in rel.selector_variants if v.kind == "cuda"}
        assert selector == {cu(c) for c in ref["pip_cuda"]}
        assert ("cpu" in labels) == bool(ref["pip_cpu"])
    if ref["rocm"] is not None:
        assert {v.label for v in rel.selector_variants if v.kind == "rocm"} == {f"rocm{r}" for r in ref["rocm"]}
    # Every variant the official commands name exists in the data.
    for key in ref["pip_commands"] or {}:
        variant = key.split("_")[-1] if key.startswith("windows_") else key
        if variant != "osx":
            assert variant in labels, f"{torch}: official command for {key} but no such build"


@pytest.mark.parametrize("torch", RELEASES)
def test_platforms(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    assert "linux" in rel.platforms and "windows" in rel.platforms
    if ref["pip_commands"]:
        assert ("macos" in rel.platforms) == ("osx" in ref["pip_commands"])


@pytest.mark.parametrize("torch", RELEASES)
def test_default_variant(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    if torch in INDEX:
        assert rel.default["linux"].label == INDEX[torch][4]
    elif ref["pypi_default_cuda_linux"]:
        assert rel.default["linux"].label == cu(ref["pypi_default_cuda_linux"])
    else:
        assert rel.default["linux"] is None or "default_variant" in rel.uncertain or not rel.is_sure("default_variant")
    # A plain install from the package index gives CPU builds on Windows and macOS.
    assert rel.default["windows"].label == "cpu"


@pytest.mark.parametrize("torch", RELEASES)
def test_conda(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    assert rel.conda.style == CONDA[ref["conda_style"]]
    assert {v.label for v in rel.conda.variants if v.kind == "cuda"} == {cu(c) for c in ref["conda_cuda"]}
    if version_key(torch) >= (2, 6):
        assert rel.conda.style == "none"  # the pytorch channel ended with 2.5.x
    versions = ref.get("conda_package_versions") or {}
    if versions:
        assert rel.conda.torchvision == versions["torchvision"]


@pytest.mark.parametrize("torch", RELEASES)
def test_command_form(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    styles = [s for s in ref["pip_index_style"] or [] if s in FORMS]
    if not styles:
        assert "pip_form" in rel.uncertain and rel.pip_form == "index-url"
        return
    assert rel.pip_form in FORMS[styles[0]]
    cuda_cmds = " ".join(v for k, v in ref["pip_commands"].items() if k == "cpu" or k.startswith("cu"))
    if rel.pip_form == "find-links-per-variant":
        assert re.search(r"/whl/(cu\d+|cpu)/torch_stable\.html", cuda_cmds)
    if rel.pip_form == "find-links":
        assert "download.pytorch.org/whl/torch_stable.html" in cuda_cmds


@pytest.mark.parametrize(
    "first, last, form",
    [("1.0.0", "1.1.0", "direct-wheel"), ("1.2.0", "1.10.0", "find-links"),
     ("1.10.1", "1.10.2", "find-links-per-variant"), ("1.11.0", "1.13.1", "extra-index-url"),
     ("2.0.0", "2.15.0", "index-url")],
)
def test_command_eras(matrix, first, last, form):
    lo, hi = version_key(first), version_key(last)
    era = [r for r in matrix.releases if lo <= r.key <= hi and r.torch != "1.8.2"]
    assert era and all(r.pip_form == form for r in era), [(r.torch, r.pip_form) for r in era]


@pytest.mark.parametrize("torch", RELEASES)
def test_confidence(matrix, upstream, torch):
    ref, rel = upstream[torch], matrix.get(torch)
    kind = ref["commands_kind"] or ""
    if torch == "2.15.0":  # unknown in the gathered facts; the package index settled the rest
        assert rel.confidence == "inferred"
    elif kind.startswith(("previous-versions page", "getting-started selector")):
        assert rel.confidence == "official"
    else:
        assert rel.confidence == "inferred"
    assert rel.source == ref["source"]


def test_torchaudio_ends_with_2_11(matrix):
    """No torchaudio for 2.12-2.14; torchaudio 2.11.1 (torch>=2.11) was uploaded with torch 2.15.0."""
    after = [r for r in matrix.releases if (2, 12) <= r.key < (2, 15)]
    assert after and all(r.torchaudio is None for r in after)
    assert matrix.get("2.11.0").torchaudio == "2.11.0"
    assert matrix.get("2.15.0").torchaudio == "2.11.1"


def test_versions_are_strings_never_floats():
    raw = json.loads((store.shipped_dir() / "releases.json").read_text(encoding="utf-8"))
    for row in raw["releases"]:
        for key in ("torch", "torchvision", "torchaudio"):
            assert row[key] is None or isinstance(row[key], str)
        assert all(isinstance(p, str) for p in row["python"])
    assert any(r["torchvision"] == "0.20.0" for r in raw["releases"])  # not 0.2


@pytest.mark.parametrize("name", store.FILES)
def test_files_are_in_canonical_form(name):
    """Dumping the parsed file reproduces it byte for byte, so refreshes give small diffs."""
    path = store.shipped_dir() / name
    text = path.read_text(encoding="utf-8")
    assert store.dump_json(json.loads(text)) == text


def test_toolkit_tables(matrix):
    by = {t.cuda: t for t in matrix.toolkits}
    assert by["12.0.0"].minor_compat_linux == "525.60.13" and by["12.0.0"].minor_compat_windows == "528.33"
    assert by["11.1.0"].minor_compat_linux == "450.80.02" and by["11.1.0"].minor_compat_windows == "452.39"
    assert by["11.0.1"].minor_compat_linux == "450.36.06"
    assert by["13.0.0"].minor_compat_linux == "580"
    assert by["10.2.89"].minor_compat_linux is None  # no minor-version compatibility before 11.0
    assert by["12.8.0"].driver_linux == "570.26"


# Builds published on PyTorch's index but not offered by its install selector: (torch, build) ->
# the OSes with wheels. From PyTorch's issues and PRs (SGLang's cu129 requests, test-infra #8215,
# the 2.14 branch cut's CUDA_ARCHES_NO_GETTING_STARTED) and a third-party HEAD check of the index.
OFF_SELECTOR = {
    ("2.9.0", "cu129"): ("linux", "windows"),  # built from release/2.9 after the tag, both OSes
    ("2.9.1", "cu129"): ("linux",),  # from 2.9.1 on, 12.9 is built for Linux only
    ("2.10.0", "cu129"): ("linux",),
    ("2.11.0", "cu129"): ("linux",),
    ("2.12.1", "cu129"): ("linux",),  # not 2.12.0
    ("2.13.0", "cu129"): ("linux",),
    ("2.14.0", "cu134"): ("linux",),
    ("2.14.1", "cu134"): ("linux",),
}


# Each release is also built for the previous ROCm: pytorch/test-infra's release validation matrix
# lists it beside the one the install pages show.
ROCM_OFF_SELECTOR = {
    "2.0.0": "rocm5.3", "2.0.1": "rocm5.3", "2.1.0": "rocm5.5", "2.1.1": "rocm5.5", "2.1.2": "rocm5.5",
    "2.2.0": "rocm5.7", "2.2.1": "rocm5.6", "2.2.2": "rocm5.6", "2.3.0": "rocm5.7", "2.3.1": "rocm5.7",
    "2.4.0": "rocm6.0", "2.4.1": "rocm6.0", "2.7.0": "rocm6.2.4", "2.7.1": "rocm6.2.4", "2.8.0": "rocm6.3",
    "2.9.0": "rocm6.3", "2.9.1": "rocm6.3", "2.10.0": "rocm7.0", "2.11.0": "rocm7.1", "2.12.0": "rocm7.1",
}


def test_off_selector_builds(matrix):
    found = {(r.torch, o.variant.label): o.os for r in matrix.releases for o in r.off_selector}
    rocm = {key: oses for key, oses in found.items() if key[1].startswith("rocm")}
    assert rocm == {(torch, label): ("linux",) for torch, label in ROCM_OFF_SELECTOR.items()}
    assert {key: oses for key, oses in found.items() if key not in rocm} == OFF_SELECTOR
    for (torch, label), oses in OFF_SELECTOR.items():
        rel = matrix.get(torch)
        v = rel.variant(label)
        assert v is not None and not rel.on_selector(v) and v not in rel.selector_variants
        for os_name in ("linux", "windows"):
            assert (v in rel.variants_for_os(os_name)) == (os_name in oses), (torch, label, os_name)
        o = rel.off_selector_build(v)
        assert o.source and o.confidence in ("official", "inferred")
    assert matrix.get("2.12.0").variant("cu129") is None
    assert matrix.get("2.8.0").on_selector(matrix.get("2.8.0").variant("cu129"))  # 2.8's cu129 was offered


@pytest.mark.parametrize("torch, label", sorted(OFF_SELECTOR))
def test_off_selector_builds_have_an_arch_row(matrix, torch, label):
    """Every off-selector build has a GPU-code row: its SASS/PTX where a source settles it, else
    a row that says the code is unknown (never silently "no row")."""
    from envcheck.matrix import archs

    rel = matrix.get(torch)
    v = rel.variant(label)
    for os_name in rel.off_selector_build(v).os:
        wa = archs.wheel_archs(matrix, rel, v, os_name)
        assert wa.row is not None, (torch, label, os_name)
    expected = {"2.12.1": True, "2.13.0": True, "2.14.0": True, "2.14.1": True}
    assert archs.wheel_archs(matrix, rel, v, "linux").known == expected.get(torch, False)


@pytest.mark.parametrize("problem, entry", [
    ("among the selector's variants", {"variant": "cu126", "os": ["linux"], "confidence": "inferred", "source": "s"}),
    ("os must name some of its platforms", {"variant": "cu129", "os": ["solaris"], "confidence": "inferred", "source": "s"}),
    ("os must name some of its platforms", {"variant": "cu129", "os": [], "confidence": "inferred", "source": "s"}),
    ("confidence must be one of", {"variant": "cu129", "os": ["linux"], "confidence": "sure", "source": "s"}),
    ("missing field 'source'", {"variant": "cu129", "os": ["linux"], "confidence": "inferred"}),
])
def test_off_selector_entries_are_validated(tmp_path, problem, entry):
    from envcheck.errors import DataError

    src = store.shipped_dir()
    for name in store.FILES:
        (tmp_path / name).write_text((src / name).read_text(encoding="utf-8"), encoding="utf-8")
    doc = json.loads((tmp_path / "releases.json").read_text(encoding="utf-8"))
    row = next(r for r in doc["releases"] if r["torch"] == "2.13.0")
    row["pip"]["off_selector"] = [entry]
    (tmp_path / "releases.json").write_text(store.dump_json(doc), encoding="utf-8")
    with pytest.raises(DataError, match=problem) as exc:
        store.load_dir(tmp_path)
    assert "torch 2.13.0" in exc.value.message
