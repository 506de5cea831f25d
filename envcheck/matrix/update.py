"""``envcheck matrix update``: refresh the data from the package index and PyTorch's index.

Capture, parse and merge are separate steps:

1. **capture** (:class:`HttpPages`, :class:`RecordedPages`): read the pages, nothing else.
   The package index pip uses (``PIP_INDEX_URL``/pip.conf, default ``https://pypi.org/simple``):
   ``<index>/<package>/`` as PEP 691 JSON, and the recent wheels' METADATA and version.py by
   HTTP range requests (:mod:`envcheck.matrix.wheelmeta`). PyTorch's index
   ``https://download.pytorch.org/whl/<variant>/<package>/`` (PEP 503 HTML or PEP 691 JSON,
   negotiated with ``Accept``). ``--from DIR`` reads the same recorded under ``DIR/simple/``,
   ``DIR/files/`` and ``DIR/whl/<variant>/<package>/index.json|index.html``.
2. **parse** (:mod:`envcheck.matrix.pyindex`, :mod:`envcheck.matrix.indexfacts`): wheel names ->
   release, build, Pythons, platforms; wheel metadata -> the facts the package index settles.
3. **merge** (:func:`merge`, pure): new releases get new rows (confidence ``inferred``);
   existing rows only gain builds, Pythons and partners that were null and marked uncertain.
   Nothing curated is ever removed or rewritten. A build the index shows that a row lacks is
   recorded off the install selector (``pip.off_selector``: the index cannot say what
   pytorch.org offers), with the OSes its wheels exist for; off-selector builds already in the
   data are probed too, kept, and gain OSes the index newly shows. A new release takes the
   previous release's off-selector builds to be off the selector too (marked inferred). Then the
   package index's facts are settled into each recent row (:func:`indexfacts.settle`).
4. **write** (only with ``--write``): the new data set is validated with ``store.load_dir``
   in a temporary folder first, then each file is written to a temporary file beside its target,
   fsynced and moved into place with ``os.replace``. Only the three data files are touched.

What is probed, within :data:`MAX_REQUESTS` page requests and :data:`MAX_WHEEL_READS` wheels:

* the package index's page for torch, torchvision and torchaudio (3 requests): every release;
  pre-releases, dev releases and releases whose files are all yanked are skipped. An unreachable
  package index ends the run (exit 5).
* torch's index page for every build of the newest :data:`RECENT_SERIES` minor series in the
  data, for ``cpu``, and for plausible next builds: the next :data:`NEXT_CUDA_MINORS` CUDA
  minors after the newest CUDA build and the next CUDA major's ``.0``; the next
  :data:`NEXT_ROCM_MINORS` ROCm minors after the newest ROCm build and the next ROCm major.
  A missing page (HTTP 404, or 403 as download.pytorch.org answers for a missing key) just
  means that build does not exist. When its first page cannot be reached at all, PyTorch's
  index is skipped with a warning.
* torchvision's and torchaudio's pages only where a partner is needed: for the builds of new
  releases, and of rows whose partner is null, marked uncertain, and now on the package index.

Environment: ``ENVCHECK_INDEX_URL`` (default ``https://download.pytorch.org/whl``) points at a
mirror of PyTorch's index; pip's own settings point at the package index.

Older releases than the probed window are curated history: a gap there is not reported.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from envcheck import files
from envcheck.errors import DataError, InputError, NetworkError
from envcheck.matrix import indexfacts, pyindex, store, wheelmeta
from envcheck.matrix.model import OSES
from envcheck.matrix.variants import Variant, parse_variant, version_key

__all__ = [
    "INDEX_URL",
    "SIMPLE_URL",
    "pip_index_url",
    "PACKAGES",
    "MAX_REQUESTS",
    "Build",
    "Observed",
    "Change",
    "Context",
    "UpdateResult",
    "HttpPages",
    "RecordedPages",
    "plan_variants",
    "observe",
    "merge",
    "write_dataset",
    "run",
]

INDEX_URL = "https://download.pytorch.org/whl"
SIMPLE_URL = "https://pypi.org/simple"  # pip's default package index
INDEX_URL_ENV = "ENVCHECK_INDEX_URL"
PACKAGES = ("torch", "torchvision", "torchaudio")
PARTNERS = ("torchvision", "torchaudio")
MAX_REQUESTS = 40
MAX_WHEEL_READS = 32
RECENT_SERIES = 7
NEXT_CUDA_MINORS = 4
NEXT_ROCM_MINORS = 2
ABSENT_HTTP = (403, 404, 410)
NETWORK_HINT = "check the network/proxy, or use --from DIR with recorded pages"
TOOL = "envcheck matrix update"


# ----------------------------------------------------------------------------------------- capture


class Unreachable(NetworkError):
    """No answer at all (refused, timed out, DNS, an HTTP error), as opposed to a wrong answer."""


@dataclass
class Page:
    """One request: which page, whether it exists, how many files it lists."""

    url: str
    package: str
    variant: str | None  # None for the package index's page
    found: bool
    files: int = 0


@dataclass
class WheelRead:
    """One wheel whose metadata was read: by ranges (or a .metadata file), never whole."""

    url: str
    requests: int = 0
    bytes: int = 0


class _Pages:
    """What both page sources share: the log of pages read, the request budget."""

    kind = ""

    def __init__(self, index_url: str, simple_url: str) -> None:
        self.index_url = index_url.rstrip("/")
        self.simple_url = simple_url.rstrip("/")
        self.log: list[Page] = []
        self.reads: list[WheelRead] = []
        self.pytorch_reachable = True

    def index_page_url(self, variant: str, package: str) -> str:
        return f"{self.index_url}/{variant}/{package}/"

    def simple_page_url(self, package: str) -> str:
        return f"{self.simple_url}/{package}/"

    def index(self, variant: str, package: str) -> list[pyindex.IndexFile] | None:
        """The files on a package's page for a build, None when the page does not exist."""
        self._spend()
        url = self.index_page_url(variant, package)
        got = self._index(variant, package, url)
        files = None
        if got is not None:
            body, ctype = got
            try:
                files = pyindex.parse_simple_page(body, ctype)
            except pyindex.InvalidIndexPage as exc:
                raise self._bad(url, exc) from None
        self.log.append(Page(url, package, variant, files is not None, len(files or ())))
        return files

    def project(self, package: str) -> pyindex.PypiProject:
        """A project's page on the package index (PEP 691 JSON preferred): every file of every
        release, with its requires-python, size, upload time and hashes."""
        self._spend()
        url = self.simple_page_url(package)
        body, ctype = self._simple(package, url)
        try:
            files = pyindex.parse_simple_page(body, ctype)
        except pyindex.InvalidIndexPage as exc:
            raise self._bad(url, exc) from None
        if not files:
            raise self._bad(url, pyindex.InvalidIndexPage(f"no files listed for {package}"))
        files = [dataclasses.replace(f, url=urljoin(url, f.url)) for f in files]
        self.log.append(Page(url, package, None, True, len(files)))
        return pyindex.project_from_files(package, files)

    def members(self, file: pyindex.IndexFile, wanted, metadata_only: bool = False) -> dict[str, bytes]:
        """The members of a wheel that ``wanted`` accepts, read without downloading the wheel.
        With ``metadata_only``, a PEP 658 ``.metadata`` file is read instead where the index
        offers one."""
        if len(self.reads) >= MAX_WHEEL_READS:  # pragma: no cover - the plan stays within budget
            raise RuntimeError(f"more than {MAX_WHEEL_READS} wheels planned")
        read = WheelRead(file.url)
        self.reads.append(read)
        if metadata_only and file.core_metadata:
            read.url = file.url + ".metadata"
            body = self._file_get(read.url)
            read.requests, read.bytes = 1, len(body)
            name = file.filename.split("-")[0] + "-" + file.filename.split("-")[1]
            return {f"{name}.dist-info/METADATA": body}

        def fetch(start: int, end: int) -> bytes:
            data = self._range(file.url, start, end)
            read.requests += 1
            read.bytes += len(data)
            return data

        tail, total = self._tail(file.url, wheelmeta.TAIL, file.size)
        read.requests += 1
        read.bytes += len(tail)
        try:
            return wheelmeta.read_members(fetch, total, wanted, tail=tail)
        except wheelmeta.WheelError as exc:
            raise self._bad(file.url, exc) from None

    def _spend(self) -> None:
        if len(self.log) >= MAX_REQUESTS:  # pragma: no cover - the plan stays within budget
            raise RuntimeError(f"more than {MAX_REQUESTS} requests planned")

    def describe(self) -> dict:
        raise NotImplementedError

    def _index(self, variant: str, package: str, url: str) -> tuple[bytes, str] | None:
        raise NotImplementedError

    def _simple(self, package: str, url: str) -> tuple[bytes, str]:
        raise NotImplementedError

    def _tail(self, url: str, length: int, size: int | None) -> tuple[bytes, int]:
        raise NotImplementedError

    def _range(self, url: str, start: int, end: int) -> bytes:
        raise NotImplementedError

    def _file_get(self, url: str) -> bytes:
        raise NotImplementedError

    def _bad(self, url: str, exc: Exception) -> Exception:
        raise NotImplementedError


class HttpPages(_Pages):
    """The real indexes, over HTTP(S): one request per page, each with its own timeout."""

    kind = "network"

    def __init__(self, index_url: str, simple_url: str, timeout: float) -> None:
        super().__init__(index_url, simple_url)
        self.timeout = timeout

    def describe(self) -> dict:
        return {"kind": self.kind, "index_url": self.index_url, "package_index": self.simple_url,
                "timeout": self.timeout}

    def _index(self, variant: str, package: str, url: str) -> tuple[bytes, str] | None:
        return _http_get(url, pyindex.ACCEPT, self.timeout, absent_ok=True)

    def _simple(self, package: str, url: str) -> tuple[bytes, str]:
        got = _http_get(url, pyindex.ACCEPT, self.timeout, absent_ok=False)
        assert got is not None
        return got

    def _tail(self, url: str, length: int, size: int | None) -> tuple[bytes, int]:
        if size is not None:
            return self._range(url, max(0, size - length), size), size
        body, total = _http_range(url, f"-{length}", self.timeout)
        return body, total

    def _range(self, url: str, start: int, end: int) -> bytes:
        return _http_range(url, f"{start}-{end - 1}", self.timeout)[0]

    def _file_get(self, url: str) -> bytes:
        got = _http(url, {"Accept-Encoding": "identity"}, self.timeout, absent_ok=False)
        assert got is not None
        if len(got[0]) > wheelmeta.MAX_MEMBER:
            raise self._bad(url, wheelmeta.WheelError(f"{len(got[0])} bytes: too large to be metadata"))
        return got[0]

    def _bad(self, url: str, exc: Exception) -> Exception:
        return NetworkError(f"unexpected answer from {url}: {exc}", hint=NETWORK_HINT)


def _http_get(url: str, accept: str, timeout: float, *, absent_ok: bool,
              headers: dict | None = None) -> tuple[bytes, str] | None:
    """GET one page: (body, content type), None for a missing page; NetworkError otherwise."""
    got = _http(url, {"Accept": accept, **(headers or {})}, timeout, absent_ok=absent_ok)
    return None if got is None else (got[0], got[1].get("Content-Type", ""))


def _http_range(url: str, spec: str, timeout: float) -> tuple[bytes, int]:
    """GET one byte range (``"100-199"``, ``"-65558"``): (bytes, the file's total size). A server
    that ignores ranges would send the whole wheel: that is refused, never downloaded."""
    got = _http(url, {"Range": f"bytes={spec}", "Accept-Encoding": "identity"}, timeout,
                absent_ok=False, ranged=True)
    assert got is not None
    body, headers = got
    m = re.match(r"bytes (\d+)-(\d+)/(\d+)", headers.get("Content-Range", ""))
    if not m:
        raise NetworkError(f"unexpected answer from {url}: no Content-Range for bytes={spec}", hint=NETWORK_HINT)
    if len(body) != int(m.group(2)) - int(m.group(1)) + 1:
        raise NetworkError(f"unexpected answer from {url}: truncated range ({len(body)} bytes for bytes={spec})",
                           hint=NETWORK_HINT)
    return body, int(m.group(3))


def _http(url: str, headers: dict, timeout: float, *, absent_ok: bool,
          ranged: bool = False) -> tuple[bytes, Any] | None:
    import http.client
    import socket
    import urllib.error
    import urllib.request

    from envcheck import __version__

    request = urllib.request.Request(url, headers={**headers, "User-Agent": f"envcheck/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if ranged and response.status != 206:
                raise NetworkError(
                    f"unexpected answer from {url}: HTTP {response.status} to a range request (the server "
                    "ignores ranges; envcheck does not download whole wheels)", hint=NETWORK_HINT)
            body = response.read()
            return body, response.headers
    except urllib.error.HTTPError as exc:
        exc.close()
        if absent_ok and exc.code in ABSENT_HTTP:
            return None
        reason = f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = _reason(exc.reason, timeout)
    except (socket.timeout, http.client.HTTPException, OSError) as exc:
        reason = _reason(exc, timeout)
    raise Unreachable(f"cannot reach {url}: {reason}", hint=NETWORK_HINT)


def _reason(exc: Any, timeout: float) -> str:
    import socket

    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # "Connection refused", "Name or service not known"
    return str(exc) or type(exc).__name__


class RecordedPages(_Pages):
    """Pages recorded under a folder, laid out like the URLs (``--from DIR``): PyTorch's index
    under ``whl/``, the package index under ``simple/``, wheels (small stand-ins holding the
    recorded METADATA and version.py) under ``files/``."""

    kind = "recorded"

    def __init__(self, root: Path) -> None:
        super().__init__(INDEX_URL, SIMPLE_URL)
        self.root = Path(root)
        if not (self.root / "simple").is_dir():
            raise InputError(
                f"{self.root} holds no recorded index pages (expected {self.root / 'simple'}/<package>/index.json)",
                hint="record pages as DIR/simple/<package>/index.json, DIR/files/<wheel> and "
                "DIR/whl/<variant>/<package>/index.json or index.html",
            )

    def describe(self) -> dict:
        return {"kind": self.kind, "directory": str(self.root), "index_url": self.index_url,
                "package_index": self.simple_url}

    def _index(self, variant: str, package: str, url: str) -> tuple[bytes, str] | None:
        folder = self.root / "whl" / variant / package
        for name, ctype in (("index.json", pyindex.JSON_TYPE), ("index.html", pyindex.HTML_TYPE)):
            path = folder / name
            if path.is_file():
                return path.read_bytes(), ctype
        return None

    def _simple(self, package: str, url: str) -> tuple[bytes, str]:
        for name, ctype in (("index.json", pyindex.JSON_TYPE), ("index.html", pyindex.HTML_TYPE)):
            path = self.root / "simple" / package / name
            if path.is_file():
                return path.read_bytes(), ctype
        raise InputError(f"{self.root} has no recorded page for {url} (expected {self.root / 'simple' / package}/index.json)")

    def _file(self, url: str) -> Path:
        path = self.root / "files" / unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if not path.is_file():
            raise InputError(f"{self.root} has no recorded wheel for {url} (expected {path})")
        return path

    def _tail(self, url: str, length: int, size: int | None) -> tuple[bytes, int]:
        data = self._file(url).read_bytes()
        return data[-length:], len(data)

    def _range(self, url: str, start: int, end: int) -> bytes:
        with self._file(url).open("rb") as f:
            f.seek(start)
            return f.read(end - start)

    def _file_get(self, url: str) -> bytes:
        return self._file(url).read_bytes()

    def _bad(self, url: str, exc: Exception) -> Exception:
        return InputError(f"recorded page for {url} in {self.root} is unreadable: {exc}")


def pip_index_url(environ: Mapping[str, str] | None = None) -> str:
    """The package index pip uses: ``PIP_INDEX_URL``, else ``index-url`` in pip's configuration
    files (the ``[install]`` section over ``[global]``; ``PIP_CONFIG_FILE`` read last, and
    ``os.devnull`` there meaning none), else the public index."""
    import configparser
    import sys

    env = os.environ if environ is None else environ
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"]
    home = Path(env.get("HOME") or Path.home())
    config = env.get("PIP_CONFIG_FILE")
    if config == os.devnull:
        return SIMPLE_URL
    xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    files = [Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf"), home / ".pip" / "pip.conf",
             Path(xdg) / "pip" / "pip.conf", Path(sys.prefix) / "pip.conf"]
    if os.name == "nt":  # pragma: no cover - Windows locations
        appdata = env.get("APPDATA")
        files = [Path(env.get("ProgramData", "C:/ProgramData")) / "pip" / "pip.ini", home / "pip" / "pip.ini"]
        files += [Path(appdata) / "pip" / "pip.ini"] if appdata else []
        files.append(Path(sys.prefix) / "pip.ini")
    if config:
        files.append(Path(config))
    found = SIMPLE_URL
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                found = parser.get(section, "index-url").strip() or found
    return found


def pages_from(source: str | os.PathLike | None, timeout: float,
               index_url: str | None = None, simple_url: str | None = None) -> _Pages:
    if source is not None:
        return RecordedPages(Path(source))
    index_url = index_url or os.environ.get(INDEX_URL_ENV) or INDEX_URL
    simple_url = simple_url or pip_index_url()
    for name, url in ((INDEX_URL_ENV, index_url), ("the package index URL", simple_url)):
        if not re.match(r"^https?://[^/]", url):
            raise InputError(f"{name} must be an http(s) URL, got {url!r}")
    if not timeout or timeout <= 0:
        raise InputError(f"--timeout must be a positive number of seconds, got {timeout!r}")
    return HttpPages(index_url, simple_url, timeout)


# ------------------------------------------------------------------------------------------- parse


@dataclass
class Build:
    """One package release on one build's index: the Pythons and platforms of its wheels."""

    pythons: set = field(default_factory=set)
    platforms: set = field(default_factory=set)


@dataclass
class Observed:
    """What upstream shows, parsed from the pages."""

    # package -> release -> build label -> Build
    builds: dict = field(default_factory=dict)
    # package -> final releases on the package index
    pypi: dict = field(default_factory=dict)
    # package -> its page on the package index
    projects: dict = field(default_factory=dict)
    # torch release -> what the package index's own metadata settles (the row's package_index)
    facts: dict = field(default_factory=dict)

    def add_page(self, package: str, variant: str, files: Iterable[pyindex.IndexFile]) -> None:
        for w in pyindex.wheels(files):
            if w.name != package or w.prerelease or not pyindex.plain_release(w.version):
                continue
            # A wheel counts for the build its label names; unlabelled wheels (macOS) are CPU.
            label = w.variant or ("cpu" if w.local is None else None)
            if label != variant:
                continue
            b = self.builds.setdefault(package, {}).setdefault(w.version, {}).setdefault(label, Build())
            b.pythons |= w.pythons
            b.platforms |= w.platforms

    def variants(self, package: str, release: str) -> set:
        return set(self.builds.get(package, {}).get(release, {}))

    def pythons(self, package: str, release: str) -> set:
        return {p for b in self.builds.get(package, {}).get(release, {}).values() for p in b.pythons}

    def platforms(self, package: str, release: str) -> set:
        return {p for b in self.builds.get(package, {}).get(release, {}).values() for p in b.platforms}


def _variant_key(label: str) -> Variant:
    return parse_variant(label)  # Variants sort CPU, CUDA, ROCm, each by version


def _python_key(text: str) -> tuple:
    return (version_key(text.rstrip("t")), text.endswith("t"))


def _window(rows: list[dict]) -> list[dict]:
    """Rows of the newest RECENT_SERIES minor series: the ones upstream is still compared with."""
    series = sorted({version_key(r["torch"])[:2] for r in rows})[-RECENT_SERIES:]
    return [r for r in rows if version_key(r["torch"])[:2] >= series[0]]


def off_labels(row: dict) -> list[str]:
    """The row's builds that are published but not on the install selector."""
    return [o["variant"] for o in row["pip"].get("off_selector") or []]


def _published(row: dict) -> set:
    """Every build the row knows: the selector's and the off-selector ones."""
    return set(row["pip"]["variants"]) | set(off_labels(row))


def plan_variants(rows: list[dict]) -> list[str]:
    """Which builds' torch pages to read: ``cpu``, the recent window's builds (off-selector ones
    too), plausible next ones."""
    window = _window(rows)
    known = {v for r in window for v in _published(r)}
    parsed = [parse_variant(v) for v in known]
    plausible: list[str] = []
    newest_cuda = max((parse_variant(v) for v in rows[-1]["pip"]["variants"] if v.startswith("cu")),
                      default=None, key=lambda v: v.version)
    if newest_cuda is None:
        newest_cuda = max((v for v in parsed if v.kind == "cuda"), default=None, key=lambda v: v.version)
    if newest_cuda is not None:
        major, minor = newest_cuda.version[:2]
        plausible += [Variant("cuda", (major, minor + i)).label for i in range(1, NEXT_CUDA_MINORS + 1)]
        plausible.append(Variant("cuda", (major + 1, 0)).label)
    newest_rocm = max((v for v in parsed if v.kind == "rocm"), default=None, key=lambda v: v.version)
    if newest_rocm is not None:
        major, minor = newest_rocm.version[:2]
        plausible += [Variant("rocm", (major, minor + i)).label for i in range(1, NEXT_ROCM_MINORS + 1)]
        plausible.append(Variant("rocm", (major + 1, 0)).label)
    # cpu first: the first request tells whether the index can be reached at all.
    ordered = ["cpu"] + sorted(known - {"cpu"}, key=_variant_key, reverse=True)
    ordered += [p for p in plausible if p not in ordered]
    return ordered


def _predict(package: str, torch: str) -> str | None:
    """The partner release the version rules predict: torchaudio == torch, torchvision 0.(minor+15)."""
    k = version_key(torch)
    if package == "torchaudio":
        return torch
    if package == "torchvision" and k[0] == 2 and len(k) == 3:
        return f"0.{k[1] + 15}.{k[2]}"
    return None


def observe(pages: _Pages, rows: list[dict], today: str = "") -> tuple[Observed, list[str]]:
    """Read every page the plan needs (at most MAX_REQUESTS) and parse them."""
    obs = Observed()
    warnings: list[str] = []
    plan = plan_variants(rows)
    budget_for_torch = MAX_REQUESTS - len(PACKAGES) - 2 * 2  # leave room for a few partner pages
    if len(plan) > budget_for_torch:  # pragma: no cover - not with today's data
        warnings.append(f"probing only {budget_for_torch} of {len(plan)} builds (request limit {MAX_REQUESTS})")
        plan = plan[:budget_for_torch]
    # The package index first: pip reaches it from everywhere, and its answers are official.
    for package in PACKAGES:
        project = pages.project(package)
        obs.projects[package] = project
        obs.pypi[package] = [v for v in project.final_versions() if pyindex.plain_release(v)]
    for i, variant in enumerate(plan):
        try:
            files = pages.index(variant, "torch")
        except Unreachable as exc:
            if i:
                raise
            # PyTorch's own index is out of reach from many networks: go on with the package index.
            pages.pytorch_reachable = False
            warnings.append(f"{exc.message}: builds not compared with PyTorch's index, package index only")
            break
        if files is not None:
            obs.add_page("torch", variant, files)
    obs.facts, more = indexfacts.read_all(pages.simple_page_url, obs.projects, rows, pages.members, today)
    warnings += more
    if not pages.pytorch_reachable:
        return obs, warnings

    known = {r["torch"] for r in rows}
    floor = version_key(_window(rows)[0]["torch"])
    new = [v for v in obs.builds.get("torch", {}) if v not in known and version_key(v) > floor]
    wanted: dict[str, set] = {p: set() for p in PARTNERS}
    for v in new:
        for p in PARTNERS:
            wanted[p] |= obs.variants("torch", v)
    for r in rows:
        for p in PARTNERS:
            if r[p] is None and p in r["uncertain"] and _predict(p, r["torch"]) in obs.pypi.get(p, ()):
                wanted[p] |= _published(r) | obs.variants("torch", r["torch"])
    left = MAX_REQUESTS - len(pages.log)
    for p in PARTNERS:
        for variant in sorted(wanted[p], key=_variant_key):
            if left <= 0:
                warnings.append(f"request limit {MAX_REQUESTS} reached: {p} pages for {variant} not read")
                continue
            left -= 1
            files = pages.index(variant, p)
            if files is not None:
                obs.add_page(p, variant, files)
    return obs, warnings


# ------------------------------------------------------------------------------------------- merge


@dataclass
class Change:
    """One release the refresh adds or extends."""

    torch: str
    kind: str  # "new" | "changed" | "pending"
    row: dict | None = None  # the new or extended row
    added: dict = field(default_factory=dict)  # field -> added items ("variants", "python", ...)
    partners: dict = field(default_factory=dict)  # package -> (old, new)
    reason: str = ""

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"torch": self.torch, "change": self.kind}
        if self.kind == "new":
            out["row"] = self.row
        if self.added:
            out["added"] = self.added
        if self.partners:
            out["partners"] = {k: {"from": a, "to": b} for k, (a, b) in self.partners.items()}
        if self.reason:
            out["reason"] = self.reason
        return out


def pythons_text(python: list[str], experimental: list[str]) -> str:
    if not python:
        text = "python unknown"
    else:
        keys = [version_key(p) for p in python]
        contiguous = all(a[0] == b[0] and b[1] == a[1] + 1 for a, b in zip(keys, keys[1:]))
        text = f"python {python[0]}-{python[-1]}" if contiguous and len(python) > 2 else "python " + " ".join(python)
    if experimental:
        text += f" (experimental {' '.join(experimental)})"
    return text


def _insert_sorted(items: list[str], new: Iterable[str], key) -> list[str]:
    """Insert each new item after the last item that sorts before it; existing order untouched."""
    out = list(items)
    for item in sorted(new, key=key):
        pos = len(out)
        for i, existing in enumerate(out):
            if key(existing) > key(item):
                pos = i
                break
        out.insert(pos, item)
    return out


@dataclass
class Context:
    """What a merge writes into the rows it makes: the date, and where the pages came from."""

    date: str
    pages: _Pages
    warnings: list = field(default_factory=list)

    def urls(self, package: str, variants: Iterable[str]) -> list[str]:
        return [self.pages.index_page_url(v, package) for v in sorted(variants, key=_variant_key)]

    @property
    def recorded(self) -> str:
        if isinstance(self.pages, RecordedPages):
            return f" (recorded copies in {self.pages.root})"
        return ""


def _find_partner(obs: Observed, package: str, torch: str, variants: set) -> tuple[str | None, str]:
    predicted = _predict(package, torch)
    if predicted is None:
        return None, f"no version rule pairs a {package} release with torch {torch}"
    common = sorted(obs.variants(package, predicted) & variants, key=_variant_key)
    if common:
        return predicted, f"{package} {predicted} is on the {' '.join(common)} indexes beside torch {torch}"
    if predicted in obs.pypi.get(package, ()):
        return None, f"{package} {predicted} is on PyPI but on none of torch {torch}'s build indexes"
    return None, f"no {package} {predicted} on the package indexes or PyPI"


def _extend(row: dict, obs: Observed, ctx: Context) -> Change | None:
    """Add what upstream shows that an existing row lacks; never remove or rewrite anything."""
    torch = row["torch"]
    upstream = obs.variants("torch", torch)
    if not upstream:
        return None
    new_row = copy.deepcopy(row)
    change = Change(torch, "changed", new_row)
    pip = new_row["pip"]
    # A build the index shows that the row lacks is off the install selector: the row's selector
    # list is what the install pages offered (or was inferred), and the index cannot say more.
    missing = sorted(upstream - _published(row), key=_variant_key)
    if missing:
        off = list(pip.get("off_selector") or [])
        for v in missing:
            off.append({
                "variant": v,
                "os": _oses(obs, torch, v, new_row["platforms"]),
                "confidence": "official",
                "source": f"{ctx.pages.index_page_url(v, 'torch')}, read by {TOOL} on {ctx.date}{ctx.recorded}",
                "note": "on PyTorch's index; not among the builds the row's install commands offer",
            })
        pip["off_selector"] = sorted(off, key=lambda o: _variant_key(o["variant"]))
        change.added["off_selector"] = missing
    for o in pip.get("off_selector") or []:
        seen = [x for x in _oses(obs, torch, o["variant"], new_row["platforms"], default=[]) if x not in o["os"]]
        if seen and o["variant"] in upstream:
            o["os"] = [x for x in OSES if x in o["os"] or x in seen]
            change.added.setdefault("off_selector_os", []).extend(f"{o['variant']} for {x}" for x in seen)
    have = set(new_row["python"]) | set(new_row["python_experimental"])
    pythons = obs.pythons("torch", torch) - have
    regular = sorted((p for p in pythons if not p.endswith("t")), key=_python_key)
    free = sorted((p for p in pythons if p.endswith("t")), key=_python_key)
    if regular:
        new_row["python"] = _insert_sorted(new_row["python"], regular, _python_key)
        change.added["python"] = regular
    if free:
        new_row["python_experimental"] = _insert_sorted(new_row["python_experimental"], free, _python_key)
        change.added["python_experimental"] = free
    for p in PARTNERS:
        if new_row[p] is None and p in new_row.get("uncertain", ()):
            found, _how = _find_partner(obs, p, torch, _published(new_row))
            if found:
                new_row[p] = found
                change.partners[p] = (None, found)
                packages = pip.get("packages")
                if isinstance(packages, list) and p not in packages:
                    pip["packages"] = _insert_sorted(packages, [p], PACKAGES.index)
    if not change.added and not change.partners:
        return None
    what = [f"build {v}" for v in change.added.get("variants", [])]
    what += [f"build {v} (off the install selector)" for v in change.added.get("off_selector", [])]
    what += [f"build {item}" for item in change.added.get("off_selector_os", [])]
    what += [f"python {p}" for k in ("python", "python_experimental") for p in change.added.get(k, [])]
    what += [f"{p} {new}" for p, (_old, new) in change.partners.items()]
    urls = ctx.urls("torch", upstream)
    note = f"{TOOL} {ctx.date}: added {', '.join(what)}, seen on {' '.join(urls)}{ctx.recorded}"
    new_row["notes"] = list(new_row.get("notes") or []) + [note]
    if change.partners and new_row.get("partners_note"):
        old = new_row["partners_note"]
        new_row["notes"].append(f"partners_note before {ctx.date}: {old}")
        missing_partners = [p for p in PARTNERS if new_row[p] is None]
        if missing_partners:
            new_row["partners_note"] = "; ".join(
                _find_partner(obs, p, torch, _published(new_row))[1] for p in missing_partners
            ) + f" ({TOOL}, {ctx.date})"
        else:
            del new_row["partners_note"]
    return change


def _oses(obs: Observed, torch: str, label: str, platforms: list, default: list | None = None) -> list:
    """The OSes whose wheels a build's index page lists for a release (within the row's platforms)."""
    b = obs.builds.get("torch", {}).get(torch, {}).get(label)
    seen = [o for o in OSES if b is not None and o in b.platforms and o in platforms]
    return seen or (["linux"] if default is None else default)


def _new_row(torch: str, prev: dict, obs: Observed, ctx: Context) -> dict:
    """A row for a release the data lacks, from its wheels; marked inferred and uncertain. Builds
    that were off the install selector in the previous release are taken to be off it here too."""
    published = sorted(obs.variants("torch", torch), key=_variant_key)
    prev_off = set(off_labels(prev))
    variants = [v for v in published if v not in prev_off]
    pythons = obs.pythons("torch", torch)
    python = sorted((p for p in pythons if not p.endswith("t")), key=_python_key)
    experimental = sorted((p for p in pythons if p.endswith("t")), key=_python_key)
    seen_os = obs.platforms("torch", torch)
    platforms = [o for o in OSES if o in seen_os] or list(prev["platforms"])
    notes = [
        (f"added by {TOOL} on {ctx.date}: builds are the indexes that carry torch {torch}, "
         f"Pythons the cpXY tags of its wheels{ctx.recorded}"),
    ]
    if not python:
        python, experimental = list(prev["python"]), list(prev["python_experimental"])
        notes.append(f"no CPython tags in the wheel names: Pythons copied from torch {prev['torch']}")
    if torch not in obs.pypi.get("torch", ()):
        notes.append(f"torch {torch} was not on PyPI when {TOOL} ran")

    partners: dict[str, str | None] = {}
    why: list[str] = []
    for p in PARTNERS:
        found, how = _find_partner(obs, p, torch, set(published))
        partners[p] = found
        (notes if found else why).append(how)

    pip = copy.deepcopy(prev["pip"])
    pip.pop("overrides", None)  # per-build quirks of another release
    pip.pop("index_base", None)
    pip.pop("off_selector", None)
    pip["variants"] = variants
    off = [v for v in published if v in prev_off]
    if off:
        pip["off_selector"] = [{
            "variant": v,
            "os": _oses(obs, torch, v, platforms),
            "confidence": "inferred",
            "source": f"{ctx.pages.index_page_url(v, 'torch')}, read by {TOOL} on {ctx.date}{ctx.recorded}",
            "note": f"off the install selector in torch {prev['torch']}; taken to be off it for {torch} too",
        } for v in off]
    default = {}
    for os_name in OSES:
        label = (prev["pip"].get("default") or {}).get(os_name)
        default[os_name] = label if label in variants else None
    pip["default"] = default
    pip["default_basis"] = (
        f"copied from torch {prev['torch']} by {TOOL} ({ctx.date}); not confirmed for {torch}"
    )
    if isinstance(pip.get("packages"), list):
        pip["packages"] = ["torch"] + [p for p in PARTNERS if partners[p]]
        if isinstance(pip.get("labels"), list):
            pip["labels"] = [p for p in pip["labels"] if p in pip["packages"]]
    conda = copy.deepcopy(prev["conda"]) if prev["conda"].get("style") == "none" else {"style": "none"}
    uncertain = {"default_variant", "pip_commands", "pip_form"}
    uncertain |= {p for p in PARTNERS if partners[p] is None or p == "torchvision"}

    urls = ctx.urls("torch", published)
    row: dict[str, Any] = {
        "torch": torch,
        "torchvision": partners["torchvision"],
        "torchaudio": partners["torchaudio"],
        "python": python,
        "python_experimental": experimental,
        "platforms": platforms,
        "pip": pip,
        "conda": conda,
        "confidence": "inferred",
        "uncertain": sorted(uncertain),
        "source": f"PyTorch package indexes {ctx.pages.index_url}/<build>/torch/ "
        f"({' '.join(published)}) and {ctx.pages.simple_page_url('torch')}, read by {TOOL} on "
        f"{ctx.date}{ctx.recorded}",
        "sources": urls + [ctx.pages.simple_page_url("torch")],
        "notes": notes,
    }
    if why:
        row["partners_note"] = "; ".join(why) + f" ({TOOL}, {ctx.date})"
    return row


def merge(rows: list[dict], obs: Observed, ctx: Context) -> tuple[list[dict], list[Change]]:
    """The refreshed rows and what changed, in release order. ``rows`` is not modified."""
    out = list(rows)
    changes: list[Change] = []
    for i, row in enumerate(rows):
        change = _extend(row, obs, ctx)
        if change is not None:
            out[i] = change.row if change.row is not None else row
            changes.append(change)

    known = {r["torch"] for r in rows}
    floor = version_key(_window(rows)[0]["torch"])
    on_index = {v for v in obs.builds.get("torch", {}) if v not in known and version_key(v) > floor}
    for torch in sorted(on_index, key=version_key):
        keys = [version_key(r["torch"]) for r in out]
        pos = next((i for i, k in enumerate(keys) if k > version_key(torch)), len(out))
        row = _new_row(torch, out[pos - 1], obs, ctx)
        if torch in obs.facts:
            row = indexfacts.settle(row, obs.facts[torch], ctx.pages.simple_page_url("torch"))[0]
        out.insert(pos, row)
        changes.append(Change(torch, "new", row))
    by_torch = {c.torch: c for c in changes}
    for i, row in enumerate(out):
        torch = row["torch"]
        if torch in on_index or torch not in obs.facts:
            continue
        settled, items, warnings = indexfacts.settle(row, obs.facts[torch], ctx.pages.simple_page_url("torch"))
        ctx.warnings.extend(warnings)
        if not items:
            continue
        settled["notes"] = list(settled.get("notes") or []) + [
            f"{TOOL} {ctx.date}: from the package index's own metadata ({ctx.pages.simple_page_url('torch')}"
            f"{ctx.recorded}): {'; '.join(items)}"]
        out[i] = settled
        change = by_torch.get(torch)
        if change is None:
            change = by_torch[torch] = Change(torch, "changed", settled)
            changes.append(change)
        change.row = settled
        change.added["index"] = items
    newest = max(obs.pypi.get("torch", ()), key=version_key, default=None)
    if newest is not None and newest in known and obs.projects and newest not in obs.facts:
        changes.append(Change(newest, "pending", reason=(
            "the newest release on the package index lacks its official fields: its wheels' metadata "
            "could not be read (see the warnings)")))
    for torch in obs.pypi.get("torch", ()):
        if torch not in known and torch not in on_index and version_key(torch) > floor:
            reason = ("on the package index but on none of the probed build indexes; not added (run again "
                      "when its wheels are indexed)") if ctx.pages.pytorch_reachable else (
                      "on the package index; not added, since PyTorch's index (its builds) could not be read")
            changes.append(Change(torch, "pending", reason=reason))
    changes.sort(key=lambda c: (version_key(c.torch), c.kind))
    return out, changes


# ------------------------------------------------------------------------------------------- write


def timestamp(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_dataset(docs: Mapping[str, dict], target: Path) -> list[Path]:
    """Validate the data set, then replace the three files in ``target`` one by one, atomically.

    ``releases.json`` goes last: its ``updated`` decides whether the folder's data is used, so a
    crash part-way leaves the old date on the new (equally valid) files, never the reverse.
    """
    import tempfile

    texts = {name: store.dump_json(docs[name]) for name in store.FILES}
    with tempfile.TemporaryDirectory(prefix="envcheck-update-") as tmp:
        for name, text in texts.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        try:
            store.load_dir(Path(tmp), "user")
        except DataError as exc:
            raise DataError(f"the refreshed data does not validate, nothing written: {exc.message}") from None

    target.mkdir(parents=True, exist_ok=True)
    order = [n for n in store.FILES if n != "releases.json"] + ["releases.json"]
    temps: dict[str, str] = {}
    try:
        for name in order:  # every file on disk first, then the renames: releases.json last
            temps[name] = files.write_temp(target / name, texts[name])
        for name in order:
            os.replace(temps[name], target / name)
            del temps[name]  # only once it is in place: a failed rename leaves it for cleanup
    except OSError as exc:
        raise InputError(f"cannot write the data to {target}: {exc}") from None
    finally:
        for leftover in temps.values():
            files.discard(leftover)
    _fsync_dir(target)
    return [target / n for n in store.FILES]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------- result


@dataclass
class UpdateResult:
    """What ``envcheck matrix update`` found and did; the CLI renders it."""

    source: dict
    base: dict  # the data compared with (DataInfo as a dict)
    changes: list[Change]
    pages: list[Page]
    reads: list[WheelRead] = field(default_factory=list)
    newest_on_index: str | None = None
    check: bool = False
    write: bool = False
    target: str | None = None
    written: list[str] = field(default_factory=list)
    updated: str | None = None
    warnings: list[str] = field(default_factory=list)
    written_info: dict | None = None

    @property
    def new(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "new"]

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "changed"]

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "pending"]

    @property
    def in_sync(self) -> bool:
        return not self.changes

    @property
    def exit_code(self) -> int:
        from envcheck.outcome import problems_exit

        return problems_exit(self.check and not self.in_sync)

    @property
    def data_info(self) -> dict | None:
        return self.written_info or self.base

    def to_dict(self) -> dict:
        return {
            "in_sync": self.in_sync,
            "check": self.check,
            "source": self.source,
            "compared_with": self.base,
            "new_releases": [c.torch for c in self.new],
            "changed_releases": [c.torch for c in self.changed],
            "pending_releases": [c.torch for c in self.pending],
            "newest_on_index": self.newest_on_index,
            "changes": [c.to_dict() for c in self.changes],
            "requests": [dataclasses.asdict(p) for p in self.pages],
            "wheel_reads": [dataclasses.asdict(r) for r in self.reads],
            "write": {
                "requested": self.write,
                "directory": self.target,
                "files": self.written,
                "updated": self.updated,
            },
        }


# ------------------------------------------------------------------------------------------- run


def _base(output: Path | None) -> tuple[store.Matrix, Path]:
    """The data to refresh: the set in ``--output`` when it has one, else the data in use."""
    shipped = store.shipped_dir()
    if output is not None and all((output / n).is_file() for n in store.FILES):
        origin = "shipped" if output.resolve() == shipped.resolve() else "user"
        return store.load_dir(output, origin, store.read_updated(shipped)), output
    m = store.load()
    return m, Path(m.info.directory)


def _read_docs(directory: Path) -> dict[str, dict]:
    return {n: json.loads((directory / n).read_text(encoding="utf-8")) for n in store.FILES}


def run(
    *,
    write: bool = False,
    output: str | os.PathLike | None = None,
    check: bool = False,
    source: str | os.PathLike | None = None,
    timeout: float = 20.0,
    index_url: str | None = None,
    package_index: str | None = None,
    now: datetime | None = None,
) -> UpdateResult:
    """Compare the data with upstream; with ``write``, save the refreshed set.

    ``source`` is a folder of recorded pages (``--from``); without it the network is read
    (``index_url``, else ``$ENVCHECK_INDEX_URL``, else PyTorch's index; ``package_index``, else
    pip's configured index (``PIP_INDEX_URL``, pip.conf), else the public one). The data written
    goes to ``output``, else the user data folder.
    """
    out_dir = Path(output) if output is not None else None
    pages = pages_from(source, timeout, index_url, package_index)
    matrix, base_dir = _base(out_dir)
    docs = _read_docs(base_dir)
    rows = docs["releases.json"]["releases"]

    stamp = timestamp(now)
    ctx = Context(stamp[:10], pages)
    obs, warnings = observe(pages, rows, ctx.date)
    new_rows, changes = merge(rows, obs, ctx)
    warnings += ctx.warnings
    for c in changes:
        if c.kind == "pending":
            warnings.append(f"torch {c.torch} {c.reason}")

    target = out_dir if out_dir is not None else store.user_dir()
    result = UpdateResult(
        source=pages.describe(),
        base=dataclasses.asdict(matrix.info),
        changes=changes,
        pages=pages.log,
        reads=pages.reads,
        newest_on_index=max(obs.pypi.get("torch", ()), key=version_key, default=None),
        check=check,
        write=write,
        target=str(target),
        warnings=warnings,
    )
    if write and any(c.kind in ("new", "changed") for c in changes):
        new_docs = copy.deepcopy(docs)
        new_docs["releases.json"]["releases"] = new_rows
        for doc in new_docs.values():
            doc["updated"] = stamp
        result.written = [str(p) for p in write_dataset(new_docs, target)]
        result.updated = stamp
        shipped = store.shipped_dir()
        shipped_updated = store.read_updated(shipped)
        origin = "shipped" if target.resolve() == shipped.resolve() else "user"
        info = store.load_dir(target, origin, shipped_updated).info
        result.written_info = dataclasses.asdict(info)
        if origin == "user" and target == store.user_dir() and shipped_updated and stamp <= shipped_updated:
            warnings.append(f"the clock says {stamp}, not after the shipped data's {shipped_updated}: "
                            "envcheck keeps using the shipped data")
    return result
