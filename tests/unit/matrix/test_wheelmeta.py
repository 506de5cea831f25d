"""envcheck.matrix.wheelmeta: a wheel's METADATA and version.py read by byte ranges.

Zips are made here with the standard library's zipfile (the format pip and the wheel builders
write), METADATA texts are the headers recorded from the package index's own torch,
torchvision and torchaudio wheels (tests/data/index/metadata), and where this machine holds a
real torch wheel (/opt/wheels) it is read the same way.
"""

from __future__ import annotations

from helpers import paths
import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

from envcheck.matrix import wheelmeta as wm

METADATA = paths.DATA / "index" / "metadata"
TORCH_215 = "torch-2.15.0-cp312-cp312-manylinux_2_28_x86_64.whl"


class Ranges:
    """A fetch over bytes that counts what it was asked for."""

    def __init__(self, data: bytes) -> None:
        self.data, self.calls = data, []

    def __call__(self, start: int, end: int) -> bytes:
        assert 0 <= start <= end, (start, end)
        self.calls.append((start, end))
        return self.data[start:end]

    @property
    def read(self) -> int:
        return sum(b - a for a, b in self.calls)


def make_wheel(members: dict[str, bytes], filler: int = 2_000_000, files: int = 300) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("torch/lib/libtorch_cpu.so", os.urandom(filler), compress_type=zipfile.ZIP_STORED)
        for i in range(files):
            z.writestr(f"torch/include/h{i}.h", f"// header {i}\n" * 20, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def recorded(wheel: str, member: str) -> bytes:
    return (METADATA / wheel / member).read_bytes()


def test_reads_two_members_by_ranges_without_the_rest():
    meta, version = recorded(TORCH_215, "METADATA"), recorded(TORCH_215, "version.py")
    data = make_wheel({"torch/version.py": version, "torch-2.15.0.dist-info/METADATA": meta})
    fetch = Ranges(data)
    got = wm.read_members(fetch, len(data), wm.members_for("torch"))
    assert got == {"torch/version.py": version, "torch-2.15.0.dist-info/METADATA": meta}
    assert len(fetch.calls) <= 4  # the tail (holding this small directory), then one per member
    assert fetch.read < len(data) // 20  # the 2 MB library is never read


def test_given_tail_saves_the_first_request():
    data = make_wheel({"torch/version.py": b"__version__ = '2.15.0+cu132'\ncuda = '13.2'\n"}, filler=10)
    fetch = Ranges(data)
    tail = data[-wm.TAIL:]
    got = wm.read_members(fetch, len(data), lambda n: n == "torch/version.py", tail=tail)
    assert wm.parse_version_py(got["torch/version.py"].decode()).cuda == "13.2"
    assert all(a < len(data) - len(tail) or b <= len(data) for a, b in fetch.calls)
    assert (len(data) - wm.TAIL, len(data)) not in fetch.calls


def _as_zip64(data: bytes) -> bytes:
    """The same zip with a zip64 end record (as zips over 4 GiB or 65,535 entries have)."""
    pos = data.rfind(b"PK\x05\x06")
    _sig, _d, _cd, _nd, entries, size, offset, _c = struct.unpack_from("<IHHHHIIH", data, pos)
    record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries, size, offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, pos, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:pos] + record + locator + end


def test_zip64_end_record():
    data = _as_zip64(make_wheel({"torch/version.py": b"__version__ = '2.15.0+cpu'\n"}, filler=200_000))
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # the standard library agrees it is a valid zip
        assert z.read("torch/version.py").startswith(b"__version__")
    got = wm.read_members(Ranges(data), len(data), lambda n: n == "torch/version.py")
    assert wm.parse_version_py(got["torch/version.py"].decode()).local == "cpu"


@pytest.mark.parametrize("data, message", [
    (b"<html>Not Found</html>" * 10, "no end-of-central-directory record"),
    (b"PK", "not a zip file: 2 bytes"),
])
def test_not_a_zip(data, message):
    with pytest.raises(wm.WheelError, match=message):
        wm.read_members(Ranges(data), len(data), lambda n: True)


def test_truncated_file_is_a_wheel_error():
    data = make_wheel({"torch/version.py": b"__version__ = '1'\n"}, filler=100_000)
    cut = data[:-10]  # the end record loses its tail: the offsets now point past the end
    with pytest.raises(wm.WheelError):
        wm.read_members(Ranges(cut), len(cut), lambda n: True)


def test_member_too_large_is_refused():
    data = make_wheel({"torch-1.0.dist-info/METADATA": b"Name: torch\n" * (wm.MAX_MEMBER // 12 + 10)}, filler=10)
    with pytest.raises(wm.WheelError, match="too large to be metadata"):
        wm.read_members(Ranges(data), len(data), wm.members_for("torch"))


# ------------------------------------------------------------------------------- the texts


def test_torch_metadata_from_the_index():
    meta = wm.parse_metadata(recorded(TORCH_215, "METADATA").decode())
    assert (meta.name, meta.version, meta.requires_python) == ("torch", "2.15.0", ">=3.11")
    assert meta.classifier_pythons == ("3.11", "3.12", "3.13", "3.14", "3.15")
    assert meta.pins["cuda-toolkit"] == "==13.2.2"
    assert meta.pins["nvidia-cudnn-cu13"] == "==9.26.0.51"
    assert meta.pins["nvidia-nccl-cu13"] == "==2.30.7"
    assert meta.pins["triton"] == "~=3.9.0"
    assert meta.torch is None
    assert not any("extra ==" in r for r in meta.requires)


@pytest.mark.parametrize("wheel, torch", [
    ("torchvision-0.29.0-cp312-cp312-manylinux_2_28_x86_64.whl", "==2.14.0"),
    ("torchvision-0.29.2-py3-none-manylinux_2_28_x86_64.whl", ">=2.14.0"),
    ("torchaudio-2.11.1-py3-none-manylinux_2_28_x86_64.whl", ">=2.11"),
    ("torchaudio-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl", None),  # declares no torch at all
])
def test_partner_torch_requirement(wheel, torch):
    assert wm.parse_metadata(recorded(wheel, "METADATA").decode()).torch == torch


def test_version_py_from_the_index():
    v = wm.parse_version_py(recorded(TORCH_215, "version.py").decode())
    assert (v.version, v.local, v.cuda, v.hip) == ("2.15.0+cu132", "cu132", "13.2", None)
    win = wm.parse_version_py(recorded("torch-2.15.0-cp312-cp312-win_amd64.whl", "version.py").decode())
    assert (win.local, win.cuda) == ("cpu", None)


@pytest.mark.parametrize("text", ["", "Version: 1.0\n", "garbage without headers"])
def test_metadata_without_name_and_version(text):
    with pytest.raises(wm.WheelError, match="without Name and Version"):
        wm.parse_metadata(text)


def test_version_py_is_read_not_run():
    with pytest.raises(wm.WheelError, match="without a __version__"):
        wm.parse_version_py("__version__ = compute()\nimport os; os.system('false')\n")


# ------------------------------------------------------------------------- a real torch wheel

LOCAL = sorted(Path("/opt/wheels").glob("torch-*.whl")) if Path("/opt/wheels").is_dir() else []


@pytest.mark.skipif(not LOCAL, reason="no torch wheel stored on this machine")
def test_real_torch_wheel_read_by_ranges():
    path = LOCAL[-1]
    version = path.name.split("-")[1]
    with path.open("rb") as f:
        def fetch(start: int, end: int) -> bytes:
            f.seek(start)
            return f.read(end - start)
        calls = Ranges(b"")
        got = wm.read_members(lambda a, b: (calls.calls.append((a, b)), fetch(a, b))[1],
                              path.stat().st_size, wm.members_for("torch"))
    meta, vpy = wm.split(got, "torch")
    with zipfile.ZipFile(path) as z:  # the same answers as reading the whole file
        names = [n for n in z.namelist() if n.endswith(".dist-info/METADATA") or n == "torch/version.py"]
        assert {n: z.read(n) for n in names} == got
    assert meta is not None and meta.name == "torch" and vpy is not None
    assert vpy.version == version and meta.requires_python
    assert calls.read < 4 * 1024 * 1024 < path.stat().st_size
