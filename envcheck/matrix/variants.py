"""Parse what users type for builds, CUDA versions, drivers and GPU architectures.

Parse once at the boundary into an immutable value, compare values afterwards. Each parser
raises an ``InputError`` subclass (also a ``ValueError``) that quotes the offending text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from envcheck.errors import InputError

__all__ = [
    "Variant",
    "InvalidVariant",
    "InvalidVersion",
    "ComputeCapability",
    "parse_variant",
    "parse_cuda",
    "parse_rocm",
    "parse_release",
    "parse_driver",
    "parse_cc",
    "version_key",
]


class InvalidVariant(InputError):
    pass


class InvalidVersion(InputError):
    pass


_NUM = re.compile(r"^\d{1,9}(\.\d{1,9})*$")  # a part of more than 9 digits is no version (and int() refuses 4,300)


@functools.lru_cache(maxsize=4096)
def version_key(text: str) -> tuple[int, ...]:
    """Numeric sort key of a dotted version ('2.10.0' sorts after '2.9.1'); cached: choosing a
    build compares the same few hundred versions about a million times over the suite."""
    return tuple(int(p) for p in text.split("."))


@dataclass(frozen=True, order=True)
class Variant:
    """A build of torch: ``cpu``, ``cu128`` (CUDA 12.8) or ``rocm6.2.4``. Variants sort as the data
    lists builds: CPU, then CUDA, then ROCm ("cpu" < "cuda" < "rocm"), each by version."""

    kind: str  # "cpu" | "cuda" | "rocm"
    version: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        if self.kind == "cpu":
            return "cpu"
        if self.kind == "cuda":
            return "cu" + "".join(str(p) for p in self.version[:2])
        return "rocm" + ".".join(str(p) for p in self.version)

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.version)

    @property
    def cuda_major(self) -> int | None:
        return self.version[0] if self.kind == "cuda" else None

    def describe(self) -> str:
        if self.kind == "cpu":
            return "CPU only"
        if self.kind == "cuda":
            return f"CUDA {self.dotted}"
        return f"ROCm {self.dotted}"

    def __str__(self) -> str:
        return self.label


def _cuda_from_digits(digits: str) -> tuple[int, int]:
    # cu92 -> 9.2, cu100 -> 10.0, cu128 -> 12.8, cu130 -> 13.0: the last digit is the minor.
    return int(digits[:-1]), int(digits[-1])


def parse_variant(text: str) -> Variant:
    """Parse a data-file label exactly: ``cpu``, ``cu121``, ``rocm6.2.4`` (no other spelling)."""
    t = text
    if t == "cpu":
        return Variant("cpu")
    m = re.fullmatch(r"cu(\d{2,3})", t)
    if m:
        return Variant("cuda", _cuda_from_digits(m.group(1)))
    m = re.fullmatch(r"rocm(\d+(?:\.\d+){1,2})", t)
    if m:
        return Variant("rocm", version_key(m.group(1)))
    raise InvalidVariant(
        f"Invalid variant: {text!r} (expected cpu, cuXYZ such as cu128, or rocmX.Y such as rocm6.2)"
    )


def parse_cuda(text: str) -> Variant:
    """What a user types for CUDA: ``12.1``, ``cu121``, ``12.1.1``, ``cuda12.1``, ``CUDA 12.1``."""
    t = text.strip().lower().replace(" ", "")
    if t.startswith("cuda"):
        t = t[4:].lstrip("=-")
    elif re.match(r"cu\d+\.", t):
        t = t[2:]
    m = re.fullmatch(r"cu(\d{2,3})", t)
    if m and _cuda_from_digits(m.group(1))[0] >= 7:
        return Variant("cuda", _cuda_from_digits(m.group(1)))
    m = re.fullmatch(r"(\d{1,2})\.(\d)(?:\.\d+)?", t)
    if m and int(m.group(1)) >= 7:
        return Variant("cuda", (int(m.group(1)), int(m.group(2))))
    raise InvalidVariant(
        f"Invalid CUDA version: {text!r} (expected something like 12.1, 12.1.1 or cu121)"
    )


def parse_rocm(text: str) -> Variant:
    t = text.strip().lower().replace(" ", "")
    if t.startswith("rocm"):
        t = t[4:]
    if re.fullmatch(r"\d+\.\d+(?:\.\d+)?", t):
        return Variant("rocm", version_key(t))
    raise InvalidVariant(f"Invalid ROCm version: {text!r} (expected something like 6.2 or rocm6.2.4)")


def parse_any_variant(text: str) -> Variant:
    """A variant given in any spelling: ``cpu``, ``cu121``, ``12.1``, ``rocm6.2``."""
    t = text.strip().lower()
    if t == "cpu":
        return Variant("cpu")
    if t.startswith("rocm"):
        return parse_rocm(t)
    try:
        return parse_cuda(t)
    except InvalidVariant:
        raise InvalidVariant(
            f"Invalid variant: {text!r} (expected cpu, a CUDA version such as 12.8 or cu128, "
            "or a ROCm version such as rocm6.2)"
        ) from None


def parse_release(text: str) -> tuple[int, ...]:
    """A torch release as a user types it: ``2.7``, ``2.7.1``, ``v2.7.1``, ``2.7.1+cu128``."""
    t = text.strip()
    if t[:1] in ("v", "V"):
        t = t[1:]
    t = t.split("+", 1)[0]
    if not _NUM.match(t) or not 1 <= t.count(".") <= 2:
        raise InvalidVersion(f"Invalid torch version: {text!r} (expected something like 2.7 or 2.7.1)")
    return version_key(t)


def parse_driver(text: str) -> tuple[int, ...]:
    """An NVIDIA driver version: ``535``, ``535.104``, ``535.104.05`` (Windows: ``537.13``)."""
    t = text.strip()
    if not re.fullmatch(r"\d{3}(\.\d{1,3}){0,2}", t):
        raise InvalidVersion(
            f"Invalid driver version: {text!r} (expected an NVIDIA driver version such as 535 "
            "or 535.104.05)"
        )
    return version_key(t)


@dataclass(frozen=True, order=True)
class ComputeCapability:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def sm(self) -> str:
        return f"sm_{self.major}{self.minor}"


def parse_cc(text: str) -> ComputeCapability:
    """A GPU's compute capability: ``8.6``, ``sm_86``, ``86``, ``sm_120``, ``12.0``."""
    t = text.strip().lower()
    m = re.fullmatch(r"(\d{1,2})\.(\d)", t)
    if m:
        return ComputeCapability(int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"(?:sm_?|compute_)?(\d{1,2})(\d)", t)
    if m:
        return ComputeCapability(int(m.group(1)), int(m.group(2)))
    raise InvalidVersion(
        f"Invalid compute capability: {text!r} (expected something like 8.6 or sm_86)"
    )
