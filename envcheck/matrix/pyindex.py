"""Parse package-index pages: PEP 503 HTML, PEP 691 JSON (with PEP 700 file details), wheel filenames.

Pure functions over text already fetched (``envcheck.matrix.update`` does the I/O), so tests
feed them recorded pages. Every parser raises :class:`InvalidIndexPage` (a ``ValueError``)
quoting what it could not read; a single odd file on a page is skipped, never fatal.

A torch wheel's name carries what the matrix needs::

    torch-2.15.0+cu132-cp313-cp313t-manylinux_2_28_x86_64.whl
          ^^^^^^ ^^^^^ ^^^^^ ^^^^^^ ^^^^^^^^^^^^^^^^^^^^^^^
          release variant python (free-threaded abi) platform

parsed with ``packaging`` (``Version("2.15.0+cu132").local == "cu132"``), not with regexes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

__all__ = [
    "JSON_TYPE",
    "HTML_TYPE",
    "ACCEPT",
    "InvalidIndexPage",
    "InvalidWheel",
    "IndexFile",
    "Wheel",
    "PypiProject",
    "parse_simple_page",
    "parse_simple_html",
    "parse_simple_json",
    "project_from_files",
    "parse_wheel",
    "variant_label",
    "wheels",
    "wheel_files",
    "plain_release",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html"
# PEP 691 content negotiation: JSON preferred, HTML (PEP 503) accepted.
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.1"


class InvalidIndexPage(ValueError):
    """A page that is not a simple-index page or PyPI JSON document."""


class InvalidWheel(ValueError):
    """A file name that is not a wheel of a final release with a readable version."""


@dataclass(frozen=True)
class IndexFile:
    """One file listed on an index page."""

    filename: str
    url: str
    yanked: bool = False
    requires_python: str | None = None  # PEP 503 data-requires-python / PEP 691 requires-python
    size: int | None = None  # PEP 700 (JSON api-version 1.1)
    upload_time: str | None = None  # PEP 700: ISO 8601, "2026-10-28T15:17:47Z"
    sha256: str | None = None
    core_metadata: bool = False  # PEP 658/714: a FILE.metadata file is served beside it


@dataclass(frozen=True)
class Wheel:
    """What a wheel's file name says about its build."""

    filename: str
    name: str  # normalised project name: "torch"
    version: str  # public version: "2.15.0"
    local: str | None  # "cu132", "rocm7.2", "cpu", or None (macOS wheels on the cpu index)
    variant: str | None  # the build label the local part names, None when it names none
    pythons: frozenset[str]  # "3.13", "3.13t" (free-threaded)
    platforms: frozenset[str]  # "linux" | "windows" | "macos"
    prerelease: bool = False


@dataclass(frozen=True)
class PypiProject:
    """One project on a package index: ``releases`` maps each version to its files."""

    name: str
    releases: Mapping[str, tuple[IndexFile, ...]]

    def final_versions(self) -> list[str]:
        """Released versions: no pre-/dev releases, none with every file yanked, none empty."""
        out = []
        for text, files in self.releases.items():
            try:
                v = Version(text)
            except InvalidVersion:
                continue
            if v.is_prerelease or v.is_devrelease or v.local:
                continue
            if not files or all(f.yanked for f in files):
                continue
            out.append(str(v))
        return sorted(out, key=Version)


# ------------------------------------------------------------------------------------ index pages


def parse_simple_page(body: bytes | str, content_type: str | None = None) -> list[IndexFile]:
    """A simple-index page in whichever format the server chose (PEP 691 negotiation)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype.endswith("+json") or ctype == "application/json":
        return parse_simple_json(text)
    if ctype in (HTML_TYPE, "application/vnd.pypi.simple.v1+html", "application/xhtml+xml"):
        return parse_simple_html(text)
    # No or an unhelpful content type (a file on disk, a misconfigured mirror): sniff.
    return parse_simple_json(text) if text.lstrip().startswith("{") else parse_simple_html(text)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []
        self.tags = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if tag == "a":
            self._open = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def parse_simple_html(text: str) -> list[IndexFile]:
    """PEP 503: every ``<a href>`` is a file; its text is the file name."""
    parser = _Anchors()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # noqa: BLE001 - HTMLParser raises assorted errors on garbage
        raise InvalidIndexPage(f"Invalid simple-index HTML: {exc}") from None
    if not parser.tags and text.strip():
        raise InvalidIndexPage(f"Invalid simple-index HTML: no tags in {_head(text)!r}")
    files = []
    for attrs, label in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        name = label or unquote(urlsplit(href).path.rsplit("/", 1)[-1])
        if not name:
            continue
        digest = urlsplit(href).fragment
        files.append(IndexFile(
            name, href.split("#", 1)[0], "data-yanked" in attrs,
            requires_python=attrs.get("data-requires-python") or None,
            sha256=digest[7:] if digest.startswith("sha256=") else None,
            core_metadata=_truthy(attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata", False))),
        ))
    return files


def parse_simple_json(text: str) -> list[IndexFile]:
    """PEP 691: ``{"meta": {"api-version": "1.x"}, "name": ..., "files": [{"filename", "url"}]}``."""
    doc = _json(text, "simple-index JSON")
    meta = doc.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or not version.startswith("1."):
        raise InvalidIndexPage(f"Invalid simple-index JSON: api-version {version!r}, expected 1.x")
    raw = doc.get("files")
    if not isinstance(raw, list):
        raise InvalidIndexPage("Invalid simple-index JSON: 'files' is not a list")
    return list(_files(raw, "filename"))


def project_from_files(name: str, files: Iterable[IndexFile]) -> PypiProject:
    """A project's releases from its simple-index page: each file grouped under the release its
    name says (wheels and sdists; anything else is skipped)."""
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    releases: dict[str, list[IndexFile]] = {}
    for f in files:
        try:
            if f.filename.endswith(".whl"):
                version = parse_wheel_filename(f.filename)[1]
            else:
                version = parse_sdist_filename(f.filename)[1]
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        releases.setdefault(str(version), []).append(f)
    return PypiProject(name, {v: tuple(fs) for v, fs in releases.items()})


def _json(text: str, what: str) -> dict:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidIndexPage(f"Invalid {what}: {exc} in {_head(text)!r}") from None
    if not isinstance(doc, dict):
        raise InvalidIndexPage(f"Invalid {what}: expected an object, got {type(doc).__name__}")
    return doc


def _files(raw: Iterable[Any], key: str) -> Iterable[IndexFile]:
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            continue
        # PEP 691: "yanked" is false or a reason (a string, maybe empty, still yanked).
        yanked = item.get("yanked", False)
        hashes = item.get("hashes") if isinstance(item.get("hashes"), dict) else item.get("digests")
        size = item.get("size")
        upload = item.get("upload-time", item.get("upload_time_iso_8601"))
        yield IndexFile(
            item[key], str(item.get("url") or ""), yanked is not False and yanked is not None,
            requires_python=_text(item.get("requires-python", item.get("requires_python"))),
            size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
            upload_time=_text(upload),
            sha256=_text(hashes.get("sha256")) if isinstance(hashes, dict) else None,
            core_metadata=_truthy(item.get("core-metadata", item.get("data-dist-info-metadata", False))),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _truthy(value: Any) -> bool:
    """PEP 658/714: ``core-metadata`` is false, true, or a dict of hashes; in HTML, "true" or a hash."""
    if isinstance(value, str):
        return value.lower() not in ("", "false")
    return bool(value)


def _head(text: str) -> str:
    return text.strip()[:60]


# ------------------------------------------------------------------------------------ wheel names

_VARIANT = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(?:\.\d+){1,2})(?:\.(?!\d)|$)")


def variant_label(local: str | None) -> str | None:
    """The build a wheel's local version names: ``cu132``, ``rocm6.2.4``, ``cpu``.

    Old suffixes after the label are ignored (``cpu.cxx11.abi``, ``cu117.with.pypi.cudnn``).
    """
    if not local:
        return None
    m = _VARIANT.match(local.lower())
    return m.group(1) if m else None


def _python(interpreter: str, abi: str) -> str | None:
    m = re.fullmatch(r"cp(\d)(\d+)", interpreter)
    if not m:
        return None
    base = f"{m.group(1)}.{m.group(2)}"
    return base + "t" if abi == interpreter + "t" else base


def _platform(tag: str) -> str | None:
    if tag.startswith(("manylinux", "musllinux", "linux")):
        return "linux"
    if tag.startswith("win"):
        return "windows"
    if tag.startswith("macosx"):
        return "macos"
    return None


def parse_wheel(filename: str) -> Wheel:
    """Read a wheel's file name; raises :class:`InvalidWheel` for anything else."""
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise InvalidWheel(f"Invalid wheel: {filename!r} ({exc})") from None
    pythons = {p for t in tags for p in [_python(t.interpreter, t.abi)] if p}
    platforms = {p for t in tags for p in [_platform(t.platform)] if p}
    return Wheel(
        filename=filename,
        name=str(name),
        version=version.public,
        local=version.local,
        variant=variant_label(version.local),
        pythons=frozenset(pythons),
        platforms=frozenset(platforms),
        prerelease=version.is_prerelease or version.is_devrelease,
    )


def wheel_files(files: Iterable[IndexFile]) -> list[tuple[IndexFile, Wheel]]:
    """The readable wheels among a page's files, each with its file (sdists, odd names and yanked
    files skipped)."""
    out = []
    for f in files:
        if f.yanked or not f.filename.endswith(".whl"):
            continue
        try:
            out.append((f, parse_wheel(f.filename)))
        except InvalidWheel:
            continue
    return out


def wheels(files: Iterable[IndexFile]) -> list[Wheel]:
    """The readable wheels among a page's files (sdists, odd names and yanked files skipped)."""
    return [w for _f, w in wheel_files(files)]


def plain_release(version: str) -> bool:
    """A release the data can hold: ``2.15.0``, not ``0.3.0.post4`` or ``2.16.0rc1``."""
    return re.fullmatch(r"\d+(\.\d+){1,3}", version) is not None
