"""Read a wheel's metadata without downloading the wheel: a zip read by byte ranges.

A torch wheel is 500 MB; what the matrix needs from it is two small members:
``torch-X.dist-info/METADATA`` (``Requires-Python``, the Python classifiers, the CUDA library pins,
torchvision's ``torch`` requirement) and ``torch/version.py`` (the build tag ``+cu132`` and
``cuda = '13.2'``). A zip keeps its table of contents (the central directory) at its end, so:

1. read the file's last :data:`TAIL` bytes (one suffix range request): the end-of-central-directory
   record, zip64 aware, says where the central directory is;
2. read the central directory (one request when the tail did not already hold it; about 1.3 MB
   for torch's 13,000 members);
3. for each member wanted, read its local header and compressed bytes (one request each) and
   inflate them.

About 1.4 MB and four to six requests for a torch wheel; everything here is pure over a
``fetch(start, end)`` callable (``end`` exclusive), so tests read local files and recorded bytes
and :mod:`envcheck.matrix.update` does the HTTP. Every fault is a :class:`WheelError` naming
what could not be read; nothing here executes what it reads.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import HeaderParser

__all__ = [
    "TAIL",
    "MAX_MEMBER",
    "WheelError",
    "Member",
    "CoreMetadata",
    "VersionPy",
    "central_directory",
    "read_members",
    "parse_metadata",
    "parse_version_py",
    "members_for",
    "split",
]

TAIL = 64 * 1024 + 22  # the largest zip comment plus the end record: the record is always inside
MAX_MEMBER = 4 * 1024 * 1024  # a METADATA or version.py larger than this is not one
_LOCAL_SLACK = 1024  # room for the local header's own name and extra field, read in one go

Fetch = Callable[[int, int], bytes]


class WheelError(ValueError):
    """A file that cannot be read as a wheel (a zip) or lacks what was asked for."""


@dataclass(frozen=True)
class Member:
    """One entry of the central directory."""

    name: str
    method: int  # 0 stored, 8 deflated
    compressed: int
    size: int
    offset: int  # of its local header


# --------------------------------------------------------------------------------------- zip


def _end_record(tail: bytes, tail_start: int, total: int, fetch: Fetch) -> tuple[int, int, int]:
    """(central directory offset, its size, entries) from the end of the file."""
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise WheelError("not a zip file: no end-of-central-directory record in its last bytes")
    _sig, _disk, _cd_disk, _n_disk, entries, size, offset, _comment = struct.unpack_from("<IHHHHIIH", tail, pos)
    if 0xFFFFFFFF in (size, offset) or entries == 0xFFFF:
        loc = pos - 20
        if loc < 0 or tail[loc:loc + 4] != b"PK\x06\x07":
            raise WheelError("zip64 file without its zip64 end-of-central-directory locator")
        (rec_offset,) = struct.unpack_from("<Q", tail, loc + 8)
        rec = _slice(tail, tail_start, rec_offset, 56, fetch)
        if rec[:4] != b"PK\x06\x06":
            raise WheelError("zip64 end-of-central-directory record not where its locator says")
        entries, size, offset = struct.unpack_from("<QQQ", rec, 32)
    if offset + size > total:
        raise WheelError(f"central directory ({offset}+{size}) runs past the end of the file ({total} bytes)")
    return offset, size, entries


def _slice(tail: bytes, tail_start: int, start: int, length: int, fetch: Fetch) -> bytes:
    """Bytes [start, start+length): from the tail already read when it holds them, else fetched."""
    if start >= tail_start:
        got = tail[start - tail_start:start - tail_start + length]
    else:
        got = fetch(start, start + length)
    if len(got) != length:
        raise WheelError(f"short read: {len(got)} of {length} bytes at offset {start}")
    return got


def central_directory(data: bytes) -> list[Member]:
    """Parse a central directory (the bytes from its first entry to its last)."""
    out: list[Member] = []
    pos = 0
    while pos + 46 <= len(data):
        if data[pos:pos + 4] != b"PK\x01\x02":
            break
        (_sig, _made, _need, flags, method, _time, _date, _crc, csize, usize, n_name, n_extra, n_comment,
         _disk, _iattr, _eattr, offset) = struct.unpack_from("<IHHHHHHIIIHHHHHII", data, pos)
        name_bytes = data[pos + 46:pos + 46 + n_name]
        extra = data[pos + 46 + n_name:pos + 46 + n_name + n_extra]
        if len(name_bytes) != n_name:
            raise WheelError("central directory is truncated")
        name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if 0xFFFFFFFF in (csize, usize, offset):
            usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        out.append(Member(name, method, csize, usize, offset))
        pos += 46 + n_name + n_extra + n_comment
    if not out:
        raise WheelError("central directory holds no entries")
    return out


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            values = iter(struct.unpack_from(f"<{length // 8}Q", extra, pos + 4))
            usize = next(values) if usize == 0xFFFFFFFF else usize
            csize = next(values) if csize == 0xFFFFFFFF else csize
            offset = next(values) if offset == 0xFFFFFFFF else offset
            return usize, csize, offset
        pos += 4 + length
    raise WheelError("zip64 sizes without a zip64 extra field")


def _member_bytes(member: Member, fetch: Fetch) -> bytes:
    if member.size > MAX_MEMBER or member.compressed > MAX_MEMBER:
        raise WheelError(f"{member.name} is {member.size} bytes: too large to be metadata")
    want = 30 + len(member.name.encode()) + _LOCAL_SLACK + member.compressed
    raw = fetch(member.offset, member.offset + want)
    if len(raw) < 30 or raw[:4] != b"PK\x03\x04":
        raise WheelError(f"no local header for {member.name} at offset {member.offset}")
    n_name, n_extra = struct.unpack_from("<HH", raw, 26)
    start = 30 + n_name + n_extra
    if start + member.compressed > len(raw):
        raw += fetch(member.offset + len(raw), member.offset + start + member.compressed)
    body = raw[start:start + member.compressed]
    if len(body) != member.compressed:
        raise WheelError(f"{member.name}: short read")
    if member.method == 0:
        return body
    if member.method == 8:
        try:
            inflater = zlib.decompressobj(-15)
            out = inflater.decompress(body, MAX_MEMBER + 1)
        except zlib.error as exc:
            raise WheelError(f"{member.name}: cannot inflate ({exc})") from None
        if len(out) != member.size:
            raise WheelError(f"{member.name}: inflated to {len(out)} bytes, the directory says {member.size}")
        return out
    raise WheelError(f"{member.name}: compression method {member.method} is not supported")


def read_members(fetch: Fetch, total: int, wanted: Callable[[str], bool],
                 tail: bytes | None = None) -> dict[str, bytes]:
    """The members whose names ``wanted`` accepts, read by ranges from a zip of ``total`` bytes.

    ``tail``, when given, is the file's last bytes already read (a suffix range request answers
    with them and the total size together).
    """
    if total < 22:
        raise WheelError(f"not a zip file: {total} bytes")
    if tail is None:
        tail = fetch(max(0, total - TAIL), total)
    tail_start = total - len(tail)
    offset, size, _entries = _end_record(tail, tail_start, total, fetch)
    directory = _slice(tail, tail_start, offset, size, fetch)
    return {m.name: _member_bytes(m, fetch) for m in central_directory(directory) if wanted(m.name)}


# ---------------------------------------------------------------------------------- metadata

_CLASSIFIER_PY = re.compile(r"^Programming Language :: Python :: (\d+\.\d+)$")
# Pins that say which CUDA the build is made with: the NVIDIA library wheels and the toolkit.
_CUDA_PIN = re.compile(r"^(nvidia-[a-z0-9-]+|cuda-toolkit|cuda-bindings|triton|pytorch-triton(?:-rocm)?)$")


@dataclass(frozen=True)
class CoreMetadata:
    """What a wheel's ``METADATA`` says that the matrix uses."""

    name: str
    version: str
    requires_python: str | None
    classifier_pythons: tuple[str, ...]
    requires: tuple[str, ...]  # Requires-Dist without extras, as written
    torch: str | None = None  # the specifier on torch ("==2.14.0", ">=2.14.0", "" for any)
    pins: dict = field(default_factory=dict)  # CUDA-related package -> specifier ("==13.2.2")


def parse_metadata(text: str) -> CoreMetadata:
    """Parse a core-metadata file (RFC 822 headers; the body is the description)."""
    from packaging.requirements import InvalidRequirement, Requirement

    headers = HeaderParser().parsestr(text, headersonly=True)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise WheelError("METADATA without Name and Version")
    pythons = []
    for c in headers.get_all("Classifier") or []:
        m = _CLASSIFIER_PY.match(c.strip())
        if m:
            pythons.append(m.group(1))
    requires: list[str] = []
    torch: str | None = None
    pins: dict[str, str] = {}
    for line in headers.get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        requires.append(line.strip())
        spec = str(req.specifier)
        if req.name.lower() == "torch":
            torch = spec
        elif _CUDA_PIN.match(req.name.lower()):
            pins[req.name.lower()] = spec
    return CoreMetadata(
        name=name.strip(),
        version=version.strip(),
        requires_python=(headers.get("Requires-Python") or "").strip() or None,
        classifier_pythons=tuple(sorted(set(pythons), key=lambda p: tuple(int(x) for x in p.split(".")))),
        requires=tuple(requires),
        torch=torch,
        pins=pins,
    )


_ASSIGN = re.compile(r"^(__version__|cuda|hip|rocm|git_version)\s*(?::[^=]+)?=\s*(?:'([^']*)'|\"([^\"]*)\"|None)\s*$",
                     re.M)


@dataclass(frozen=True)
class VersionPy:
    """``torch/version.py`` (or torchvision's, torchaudio's): the full version and the toolkit."""

    version: str  # "2.15.0+cu132"
    cuda: str | None = None
    hip: str | None = None

    @property
    def local(self) -> str | None:
        return self.version.split("+", 1)[1] if "+" in self.version else None


def parse_version_py(text: str) -> VersionPy:
    """Read the assignments of a generated ``version.py`` (never executed)."""
    found: dict[str, str | None] = {}
    for m in _ASSIGN.finditer(text):
        found[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    if not found.get("__version__"):
        raise WheelError("version.py without a __version__ string")
    return VersionPy(found["__version__"] or "", found.get("cuda") or None, found.get("hip") or None)


def members_for(project: str) -> Callable[[str], bool]:
    """The names to read from a project's wheel: its METADATA (under any spelling of the
    dist-info folder, ``torch-2.15.0+cpu.dist-info`` included) and its top-level version.py."""
    prefix = project.lower() + "-"

    def wanted(name: str) -> bool:
        return name == f"{project}/version.py" or (
            name.endswith(".dist-info/METADATA") and name.lower().startswith(prefix))

    return wanted


def split(members: dict[str, bytes], project: str) -> tuple[CoreMetadata | None, VersionPy | None]:
    """The parsed METADATA and version.py among the members read."""
    meta = version = None
    for name, data in members.items():
        text = data.decode("utf-8", "replace")
        if name.endswith(".dist-info/METADATA"):
            meta = parse_metadata(text)
        elif name == f"{project}/version.py":
            version = parse_version_py(text)
    return meta, version

