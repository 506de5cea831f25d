"""The one framing every child speaks: one JSON object per line, each with an ``event`` key,
after a mark that tells it apart from whatever torch or a library prints.

    @@envcheck {"event": "stage", "name": "import torch", "t": 0.001}

A child writes to its standard output, or to a file the parent reads while it runs (verify);
lines are flushed as written, so a child that hangs or crashes is known by its last line.
Non-finite floats become strings, so every line is strict JSON.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any, Dict, List, Optional

__all__ = ["MARK", "Emitter", "emit", "line", "parse"]

MARK = "@@envcheck "
_T0 = time.monotonic()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def line(event: str, **fields: Any) -> str:
    """One framed line (with its newline) for ``event`` and ``fields``, stamped with the
    seconds since the child started."""
    obj: Dict[str, Any] = {"event": event}
    obj.update(fields)
    obj["t"] = round(time.monotonic() - _T0, 3)
    return MARK + json.dumps(_finite(obj), default=str, allow_nan=False) + "\n"


class Emitter:
    """Writes framed events to ``path`` (appended) or, without one, to standard output."""

    def __init__(self, path: Optional[str] = None) -> None:
        self._fh = open(path, "a", encoding="utf-8") if path else None

    def emit(self, event: str, **fields: Any) -> None:
        fh = self._fh or sys.stdout
        fh.write(line(event, **fields))
        fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "Emitter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def emit(event: str, **fields: Any) -> None:
    """One event on standard output."""
    sys.stdout.write(line(event, **fields))
    sys.stdout.flush()


def parse(text: str, unreadable: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """The events in ``text``, in order. Lines without the mark (torch's own output), a line cut
    short by a kill and anything that is not an object with an ``event`` are skipped; marked
    lines that could not be read are added to ``unreadable`` when it is given."""
    out: List[Dict[str, Any]] = []
    for raw in text.splitlines():
        at = raw.find(MARK)
        if at < 0:
            continue
        try:
            obj = json.loads(raw[at + len(MARK):])
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("event"), str):
            out.append(obj)
        elif unreadable is not None:
            unreadable.append(raw)
    return out
