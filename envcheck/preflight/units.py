"""Sizes and bandwidths as people write them: ``80GB``, ``1GiB``, ``512 MiB``.

Decimal units (kB, MB, GB, TB, PB) are powers of 1000 and binary units (KiB, MiB, GiB, TiB, PiB)
powers of 1024, as in IEC 80000-13. The difference matters for GPU memory: an "80GB" H100 reports
81,559 MiB (79.6 GiB, 85.5 GB) through NVML, so ``--min-gpu-memory 80GB`` passes it and
``80GiB`` (81,920 MiB) would not.

A bare number (``80``) is bytes to :func:`parse_size`; thresholds people type pass
``unit_required=True``, so that ``--min-gpu-memory 80`` is an error and not an 80-byte floor.
``0`` needs no unit (it is 0 bytes in every unit) and ``80B`` says bytes explicitly.
"""

from __future__ import annotations

import re

__all__ = ["InvalidSize", "SizeWithoutUnit", "parse_size", "format_size", "format_size_exact", "format_gbs"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4, "p": 1000**5, "pb": 1000**5,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}
_EXACT = (
    ("kB", 1000), ("KiB", 1 << 10), ("MB", 1000**2), ("MiB", 1 << 20), ("GB", 1000**3), ("GiB", 1 << 30),
    ("TB", 1000**4), ("TiB", 1 << 40), ("PB", 1000**5), ("PiB", 1 << 50),
)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class InvalidSize(ValueError):
    """A size that does not parse: the offending text is quoted."""


class SizeWithoutUnit(InvalidSize):
    """A bare number where a unit is required; ``number`` is the text, for a suggestion."""

    def __init__(self, number: str) -> None:
        super().__init__(
            "Invalid size: {!r} has no unit (write {n}GB for {n} x 10^9 bytes or {n}GiB for {n} x 2^30; "
            "{n}B for bytes)".format(number, n=number)
        )
        self.number = number


def parse_size(text: object, *, unit_required: bool = False) -> int:
    """``"80GB"`` -> 80_000_000_000; ``"1GiB"`` -> 1_073_741_824; an int is bytes.

    ``unit_required``: a bare number other than 0 (``80``, ``"80"``) raises SizeWithoutUnit.
    """
    if isinstance(text, bool):
        raise InvalidSize("Invalid size: {!r} (expected e.g. 80GB, 1GiB, 512MiB)".format(text))
    if isinstance(text, int):
        if text < 0:
            raise InvalidSize("Invalid size: {!r} (negative)".format(text))
        if unit_required and text:
            raise SizeWithoutUnit(str(text))
        return text
    m = _SIZE.match(str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise InvalidSize("Invalid size: {!r} (expected e.g. 80GB, 1GiB, 512MiB)".format(text))
    if unit_required and not unit and float(m.group(1)):
        raise SizeWithoutUnit(m.group(1))
    return int(round(float(m.group(1)) * _UNITS[unit]))


def format_size(n: object) -> str:
    """Bytes to a short binary-unit text: 85520809984 -> "79.6 GiB"."""
    if not isinstance(n, (int, float)):
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            if unit == "B":
                return "{} B".format(int(value))
            return "{:.1f} {}".format(value, unit)
        value /= 1024
    return "?"  # pragma: no cover


def format_size_exact(n: int) -> str:
    """Bytes in the largest unit that divides them: 80_000_000_000 -> "80 GB", 2**30 -> "1 GiB"."""
    best = "{} B".format(n)
    count = n
    for unit, factor in _EXACT:
        if n and n % factor == 0 and n // factor < count:
            best, count = "{} {}".format(n // factor, unit), n // factor
    return best


def format_gbs(value: object) -> str:
    return "{:.1f} GB/s".format(value) if isinstance(value, (int, float)) else "?"
