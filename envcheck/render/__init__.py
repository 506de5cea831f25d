"""Output: one JSON envelope for every command, and small helpers for text on a terminal.

stdout is the product, stderr is logs. ``--json`` always prints exactly one envelope on stdout,
also when the command failed::

    {"envcheck_result_version": 1, "command": "matrix", "status": "ok" | "problems" | "error",
     "exit_code": 0, "envcheck_version": "0.1.0", "data_info": {...} | null,
     "data": ..., "warnings": [...], "errors": [{"kind": ..., "message": ...}]}
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

__all__ = ["RESULT_VERSION", "envelope", "emit_json", "use_color", "style", "err"]

RESULT_VERSION = 1


def envelope(
    command: str,
    *,
    exit_code: int = 0,
    data: Any = None,
    warnings: list[str] | None = None,
    errors: list[dict] | None = None,
    data_info: dict | None = None,
) -> dict:
    from envcheck import __version__

    if errors:
        status = "error"
    elif exit_code == 1:
        status = "problems"
    else:
        status = "ok"
    return {
        "envcheck_result_version": RESULT_VERSION,
        "command": command,
        "status": status,
        "exit_code": exit_code,
        "envcheck_version": __version__,
        "data_info": data_info,
        "data": data,
        "warnings": list(warnings or []),
        "errors": list(errors or []),
    }


def emit_json(doc: dict, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    stream.flush()


def use_color(stream: TextIO) -> bool:
    """Colour only on a real terminal, never with NO_COLOR set (https://no-color.org)."""
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def style(text: str, *names: str, stream: TextIO | None = None) -> str:
    if not names or not use_color(stream or sys.stdout):
        return text
    codes = ";".join(_CODES[n] for n in names)
    return f"\033[{codes}m{text}\033[0m"


def err(line: str) -> None:
    """A log line for people: stderr, never mixed into the product on stdout."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
