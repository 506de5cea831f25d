"""Pasted reports: ``envcheck diagnose --report FILE`` reads a bug report's text instead of a machine.

:func:`load_report` reads the file (or standard input) with bounds on size and time, refuses
binary, empty and unreadable input with one line (:class:`~envcheck.errors.InputError`, exit 2),
and returns :class:`~envcheck.facts.model.Facts` whose ``report`` says which block of the text
each fact came from. :mod:`envcheck.reports.parse` finds the blocks, :mod:`envcheck.reports.build`
fills the model, :mod:`envcheck.reports.errors` holds the error lines it knows, and
:mod:`envcheck.reports.reply` writes what a maintainer would answer. Nothing in the text is
ever run.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Optional

from envcheck.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.model import Facts

__all__ = ["MAX_BYTES", "load_report", "read_report"]

MAX_BYTES = 8 * 1024 * 1024  # an issue body is at most 65,536 characters; a log paste a few MB


def read_report(text: str, source: str = "-") -> "Facts":
    """The facts a report's text states. A text with nothing envcheck recognises is InputError."""
    from datetime import datetime, timezone

    from envcheck.reports.build import to_facts
    from envcheck.reports.parse import scan

    if not text.strip():
        raise InputError("{}: the report is empty".format(_name(source)),
                         hint="paste the output of `python -m torch.utils.collect_env` and `nvidia-smi`")
    found = scan(text)
    from envcheck.reports.errors import by_kind

    telling = [e for e in found.errors if not getattr(by_kind(e.kind), "context", False)]
    if not found.statements and not found.packages and not telling:  # a `docker run` line alone says nothing
        raise InputError(
            "{}: nothing envcheck can read: no collect_env, nvidia-smi, nvcc -V, pip/conda list, "
            "torch print or known error line".format(_name(source)),
            hint="paste the output of `python -m torch.utils.collect_env` and `nvidia-smi`")
    table = None
    try:
        from envcheck.matrix import gpus

        table = gpus.load()
    except Exception:  # noqa: BLE001 - without the GPU table names stay names (no capability)
        table = None
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return to_facts(found, source, gpu_table=table, collected_at=now)


def load_report(path: str, stdin: Optional[IO[bytes]] = None) -> "Facts":
    """The facts of the report in ``path`` (``-``: standard input), read with bounds."""
    raw = _read_bounded(path, stdin)
    if b"\x00" in raw[:65536] or _binary(raw[:65536]):
        raise InputError("{}: binary data, not a text report".format(_name(path)),
                         hint="paste the text output of `python -m torch.utils.collect_env`")
    text = raw.decode("utf-8", errors="replace")
    return read_report(text, path)


def _name(path: str) -> str:
    return "standard input" if path == "-" else path


def _read_bounded(path: str, stdin: Optional[IO[bytes]]) -> bytes:
    from envcheck.files import read_input

    return read_input(path, "report", MAX_BYTES, stdin=stdin,
                      too_big="paste only the relevant parts (collect_env, nvidia-smi, the error)")


def _binary(head: bytes) -> bool:
    """Mostly control bytes or invalid UTF-8: not a paste."""
    if not head:
        return False
    text = head.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\x1b\x0c"))
    return bad > max(8, len(text) // 20)
