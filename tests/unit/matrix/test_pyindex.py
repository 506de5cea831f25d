"""envcheck.matrix.pyindex: pure parsers fed recorded pages (tests/data/index) and real names."""

from __future__ import annotations

from helpers import paths

import json

import pytest

from envcheck.matrix import pyindex
from envcheck.matrix.pyindex import IndexFile, InvalidIndexPage, InvalidWheel

INDEX = paths.DATA / "index"


@pytest.mark.parametrize(
    "filename, version, local, variant, pythons, platforms",
    [
        ("torch-2.15.0+cu132-cp312-cp312-manylinux_2_28_x86_64.whl", "2.15.0", "cu132", "cu132", {"3.12"}, {"linux"}),
        ("torch-2.6.0+cu124-cp313-cp313t-manylinux_2_28_x86_64.whl", "2.6.0", "cu124", "cu124", {"3.13t"}, {"linux"}),
        ("torch-2.7.0-cp312-none-macosx_11_0_arm64.whl", "2.7.0", None, None, {"3.12"}, {"macos"}),
        ("torch-2.5.1+rocm6.2-cp311-cp311-linux_x86_64.whl", "2.5.1", "rocm6.2", "rocm6.2", {"3.11"}, {"linux"}),
        ("torch-2.6.0+rocm6.2.4-cp312-cp312-manylinux_2_28_x86_64.whl", "2.6.0", "rocm6.2.4", "rocm6.2.4", {"3.12"}, {"linux"}),
        ("torch-2.3.1+cpu.cxx11.abi-cp310-cp310-linux_x86_64.whl", "2.3.1", "cpu.cxx11.abi", "cpu", {"3.10"}, {"linux"}),
        ("torch-2.0.0+cu117.with.pypi.cudnn-cp38-cp38-linux_x86_64.whl", "2.0.0", "cu117.with.pypi.cudnn", "cu117", {"3.8"}, {"linux"}),
        ("torch-1.10.0+cu113-cp37-cp37m-linux_x86_64.whl", "1.10.0", "cu113", "cu113", {"3.7"}, {"linux"}),
        ("torch-1.0.0-cp27-cp27mu-manylinux1_x86_64.whl", "1.0.0", None, None, {"2.7"}, {"linux"}),
        ("torchvision-0.31.0+cu134-cp315-cp315-win_amd64.whl", "0.31.0", "cu134", "cu134", {"3.15"}, {"windows"}),
        ("torch-2.7.0+cu128-cp312-cp312-manylinux_2_28_aarch64.whl", "2.7.0", "cu128", "cu128", {"3.12"}, {"linux"}),
        ("torchaudio-2.11.0-py3-none-any.whl", "2.11.0", None, None, set(), set()),
    ],
)
def test_parse_wheel(filename, version, local, variant, pythons, platforms):
    w = pyindex.parse_wheel(filename)
    assert (w.version, w.local, w.variant) == (version, local, variant)
    assert w.pythons == pythons and w.platforms == platforms
    assert w.name == filename.split("-")[0] and not w.prerelease


def test_parse_wheel_prerelease():
    w = pyindex.parse_wheel("torch-2.16.0.dev20261101+cpu-cp312-cp312-manylinux_2_28_x86_64.whl")
    assert w.prerelease and w.version == "2.16.0.dev20261101" and w.variant == "cpu"


@pytest.mark.parametrize(
    "filename", ["torch-2.15.0.tar.gz", "not-a-wheel.whl", "torch-two-cp312-cp312-linux_x86_64.whl"]
)
def test_parse_wheel_rejects(filename):
    with pytest.raises(InvalidWheel, match="Invalid wheel: " + repr(filename).replace(".", r"\.")) as exc:
        pyindex.parse_wheel(filename)
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    "local, label",
    [
        ("cu132", "cu132"),
        ("cu92", "cu92"),
        ("rocm7.14", "rocm7.14"),
        ("rocm6.2.4", "rocm6.2.4"),
        ("cpu", "cpu"),
        ("cpu.cxx11.abi", "cpu"),
        ("cu117.with.pypi.cudnn", "cu117"),
        ("xpu", None),
        ("cu1", None),
        ("", None),
        (None, None),
    ],
)
def test_variant_label(local, label):
    assert pyindex.variant_label(local) == label


def test_html_page_recorded():
    text = (INDEX / "drift" / "whl" / "cu132" / "torch" / "index.html").read_text(encoding="utf-8")
    files = pyindex.parse_simple_html(text)
    assert files and all(f.filename.endswith(".whl") for f in files)
    first = files[0]
    assert "+" in first.filename and "%2B" in first.url and "#" not in first.url
    assert first.sha256 and len(first.sha256) == 64  # the href's #sha256= fragment
    got = {(w.version, w.variant) for w in pyindex.wheels(files)}
    assert ("2.15.0", "cu132") in got and ("2.16.0", "cu132") in got


def test_json_page_recorded():
    text = (INDEX / "drift" / "whl" / "cpu" / "torch" / "index.json").read_text(encoding="utf-8")
    files = pyindex.parse_simple_json(text)
    ws = pyindex.wheels(files)
    assert set().union(*(w.platforms for w in ws)) == {"linux", "windows", "macos"}
    mac = [w for w in ws if "macos" in w.platforms]
    assert mac and all(w.local is None for w in mac)


def test_html_anchor_without_text_uses_href_and_yanked():
    page = """<!DOCTYPE html><html><body>
    <a href="https://x/whl/cpu/torch-2.9.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl#sha256=ab"></a>
    <a href="/whl/cpu/torch-2.9.1%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl" data-yanked="">torch-2.9.1+cpu-cp312-cp312-manylinux_2_28_x86_64.whl</a>
    <a>no href</a>
    </body></html>"""
    files = pyindex.parse_simple_html(page)
    assert [f.filename for f in files] == [
        "torch-2.9.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",
        "torch-2.9.1+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",
    ]
    assert [f.yanked for f in files] == [False, True]
    assert [w.version for w in pyindex.wheels(files)] == ["2.9.0"]


def test_json_yanked_reason_counts_as_yanked():
    page = (
        '{"meta":{"api-version":"1.0"},"name":"torch","files":['
        '{"filename":"torch-2.9.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl","url":"u","hashes":{},"yanked":"broken"},'
        '{"filename":"torch-2.9.1+cpu-cp312-cp312-manylinux_2_28_x86_64.whl","url":"u","hashes":{}},'
        '{"filename":"torch-2.9.1.tar.gz","url":"u","hashes":{}},'
        '{"url":"no filename"}]}'
    )
    files = pyindex.parse_simple_json(page)
    assert [(f.filename[:11], f.yanked) for f in files] == [
        ("torch-2.9.0", True), ("torch-2.9.1", False), ("torch-2.9.1", False)
    ]
    assert [w.version for w in pyindex.wheels(files)] == ["2.9.1"]


@pytest.mark.parametrize(
    "page, match",
    [
        ("not json", "Invalid simple-index JSON"),
        ("[]", "expected an object"),
        ('{"meta":{"api-version":"2.0"},"files":[]}', "api-version '2.0'"),
        ('{"meta":{"api-version":"1.1"},"files":{}}', "'files' is not a list"),
    ],
)
def test_json_page_rejects(page, match):
    with pytest.raises(InvalidIndexPage, match=match):
        pyindex.parse_simple_json(page)


def test_html_page_rejects_text_without_tags():
    with pytest.raises(InvalidIndexPage, match="no tags"):
        pyindex.parse_simple_html("Service Unavailable")
    assert pyindex.parse_simple_html("") == []


@pytest.mark.parametrize(
    "ctype",
    [pyindex.JSON_TYPE, "application/vnd.pypi.simple.v1+json; charset=utf-8", "application/json", None, ""],
)
def test_parse_simple_page_negotiated_json(ctype):
    body = b'{"meta":{"api-version":"1.1"},"name":"torch","files":[{"filename":"torch-2.9.0-cp312-none-macosx_11_0_arm64.whl","url":"u"}]}'
    assert [f.filename for f in pyindex.parse_simple_page(body, ctype)] == [
        "torch-2.9.0-cp312-none-macosx_11_0_arm64.whl"
    ]


@pytest.mark.parametrize("ctype", ["text/html", "text/html; charset=utf-8", "application/vnd.pypi.simple.v1+html", None])
def test_parse_simple_page_negotiated_html(ctype):
    body = b'<html><body><a href="/x/torch-2.9.0-cp312-none-macosx_11_0_arm64.whl">torch-2.9.0-cp312-none-macosx_11_0_arm64.whl</a></body></html>'
    assert len(pyindex.parse_simple_page(body, ctype)) == 1


def test_simple_project_recorded():
    text = (INDEX / "drift" / "simple" / "torch" / "index.json").read_text(encoding="utf-8")
    project = pyindex.project_from_files("torch", pyindex.parse_simple_json(text))
    assert "2.17.0rc1" in project.releases and "2.13.1" in project.releases
    finals = project.final_versions()
    assert "2.17.0rc1" not in finals  # pre-release
    assert "2.13.1" not in finals  # every file yanked
    assert finals[-2:] == ["2.15.0", "2.16.0"] and finals[0] == "0.3.0.post4"


def test_project_skips_odd_files():
    files = [IndexFile("torch-2.9.1-cp312-cp312-manylinux_2_28_x86_64.whl", ""), IndexFile("banana.whl", ""),
             IndexFile("torch-2.10.0.dev1-cp312-cp312-win_amd64.whl", ""), IndexFile("README.txt", "")]
    project = pyindex.project_from_files("torch", files)
    assert project.final_versions() == ["2.9.1"]
    assert list(project.releases) == ["2.9.1", "2.10.0.dev1"]


def test_json_page_file_details():
    """PEP 691/700 fields: requires-python, size, upload-time, hashes, core-metadata (PEP 714)."""
    doc = {"meta": {"api-version": "1.1"}, "name": "torch", "files": [
        {"filename": "torch-2.15.0-cp312-cp312-manylinux_2_28_x86_64.whl", "url": "https://f/t.whl",
         "hashes": {"sha256": "ab" * 32}, "requires-python": ">=3.11", "size": 539172785,
         "upload-time": "2026-10-28T15:17:47Z", "yanked": False, "core-metadata": {"sha256": "cd" * 32}},
        {"filename": "torch-2.15.0.tar.gz", "url": "https://f/t.tgz", "size": True, "core-metadata": False,
         "yanked": "broken"},
    ]}
    whl, sdist = pyindex.parse_simple_json(json.dumps(doc))
    assert (whl.requires_python, whl.size, whl.upload_time, whl.sha256, whl.core_metadata) == (
        ">=3.11", 539172785, "2026-10-28T15:17:47Z", "ab" * 32, True)
    assert (sdist.size, sdist.core_metadata, sdist.yanked, sdist.requires_python) == (None, False, True, None)
    project = pyindex.project_from_files("torch", [whl, sdist])
    assert list(project.releases) == ["2.15.0"] and len(project.releases["2.15.0"]) == 2
    assert project.final_versions() == ["2.15.0"]  # one file yanked, not all
