"""Output: one JSON envelope for every command, and small helpers for text on a terminal.

stdout is the product, stderr is logs. ``--json`` always prints exactly one envelope on stdout,
also when the command failed::

    {"envcheck_result_version": 1, "command": "matrix", "status": "ok" | "problems" | "error",
     "exit_code": 0, "envcheck_version": "0.1.0", "data_info": {...} | null,
     "data": ..., "warnings": [...], "errors": [{"kind": ..., "message": ...}]}

One exception, kept on purpose: ``envcheck facts --json`` prints the bare facts snapshot (schema
``envcheck.facts/1``), the same document ``-o FILE`` writes, because that is what ``--facts``
reads back and what users attach to bug reports (``envcheck.facts.load_facts`` reads both
forms). Its errors still come as one envelope.

Every renderer lives in this package: ``diagnose_text`` (diagnose, facts, a report's reply),
``explain_text``, ``matrix_text`` (matrix, matrix update), ``install_text`` (install-command,
requirements), ``fix_text``, ``verify_text``, ``preflight_text`` (node and cluster reports,
--show-config, compare). :func:`emit` writes a
command's :class:`envcheck.outcome.Result`; only ``envcheck.cli.main`` calls it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, List, TextIO

__all__ = ["RESULT_VERSION", "envelope", "emit_json", "emit", "out", "use_color", "style", "err"]

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
    from envcheck.outcome import envelope_status

    status = envelope_status(exit_code, bool(errors))
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


def emit(result: Any) -> None:
    """Write a command's result: its envelope (``--json``), its raw text, or its lines on stdout
    with its log and warnings on stderr."""
    if result.raw is not None:
        sys.stdout.write(result.raw)
        sys.stdout.flush()
        return
    for line in result.log:
        err(line)
    if result.as_json:
        if not result.quiet:
            emit_json(envelope(result.command, exit_code=result.exit_code, data=result.data,
                               warnings=result.warnings, data_info=result.data_info))
        return
    if not result.quiet:
        out(result.lines)
    for w in result.warnings:
        err(f"envcheck: warning: {w}")


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


def out(lines: List[str]) -> None:
    """Lines of the product on stdout before the result is complete (fix's plan, shown before it asks)."""
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def err(line: str) -> None:
    """A log line for people: stderr, never mixed into the product on stdout. A stderr that
    cannot be written (closed, a pipe whose reader left, a full disk) loses the line, never the
    command: the product and the exit code do not depend on the logs."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
