"""Sizes and bandwidths as people write them: ``80GB``, ``1GiB``, ``512 MiB``.

Decimal units (kB, MB, GB, TB, PB) are powers of 1000 and binary units (KiB, MiB, GiB, TiB, PiB)
powers of 1024, as in IEC 80000-13. The difference matters for GPU memory: an "80GB" H100 reports
81,559 MiB (79.6 GiB, 85.5 GB) through NVML, so ``--min-gpu-memory 80GB`` passes it and
``80GiB`` (81,920 MiB) would not.
"""

from __future__ import annotations

import re

__all__ = ["InvalidSize", "parse_size", "format_size", "format_gbs"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4, "p": 1000**5, "pb": 1000**5,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class InvalidSize(ValueError):
    """A size that does not parse: the offending text is quoted."""


def parse_size(text: object) -> int:
    """``"80GB"`` -> 80_000_000_000; ``"1GiB"`` -> 1_073_741_824; an int is bytes."""
    if isinstance(text, bool):
        raise InvalidSize("Invalid size: {!r} (expected e.g. 80GB, 1GiB, 512MiB)".format(text))
    if isinstance(text, int):
        if text < 0:
            raise InvalidSize("Invalid size: {!r} (negative)".format(text))
        return text
    m = _SIZE.match(str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise InvalidSize("Invalid size: {!r} (expected e.g. 80GB, 1GiB, 512MiB)".format(text))
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


def format_gbs(value: object) -> str:
    return "{:.1f} GB/s".format(value) if isinstance(value, (int, float)) else "?"
