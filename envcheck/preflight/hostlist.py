"""Slurm hostlist expressions, parsed without ``scontrol``: ``gpu[01-04,07],cpu5``.

Grammar (what ``scontrol show hostnames`` accepts in practice): a comma-separated list of host
expressions; commas inside brackets separate ranges, not hosts. A host expression is text with
any number of bracket groups, each a comma list of numbers ``7`` or ranges ``01-04``; several
groups multiply out (``r[1-2]n[1-2]`` is r1n1 r1n2 r2n1 r2n2). The width of a range's lower
bound, when zero-padded, is kept (``[08-10]`` gives 08 09 10). Order is kept; duplicates are
kept (Slurm keeps them too). Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import List, Optional

__all__ = ["InvalidHostlist", "expand", "first_host"]

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
_MAX_HOSTS = 1_000_000  # a guard against "n[0-999999999]" eating the memory


class InvalidHostlist(ValueError):
    """A hostlist that does not parse: the offending text is quoted."""


def _split_top(text: str) -> List[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
            if depth > 1:
                raise InvalidHostlist("Invalid hostlist: {!r} (nested '[')".format(text))
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise InvalidHostlist("Invalid hostlist: {!r} (unmatched ']')".format(text))
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise InvalidHostlist("Invalid hostlist: {!r} (unclosed '[')".format(text))
    parts.append("".join(cur))
    return parts


def _numbers(body: str, whole: str) -> List[str]:
    out: List[str] = []
    for item in body.split(","):
        m = _RANGE.match(item.strip())
        if not m:
            raise InvalidHostlist("Invalid hostlist: {!r} (bad range {!r})".format(whole, item))
        lo_text, hi_text = m.group(1), m.group(2)
        lo = int(lo_text)
        hi = int(hi_text) if hi_text is not None else lo
        if hi < lo:
            raise InvalidHostlist("Invalid hostlist: {!r} (range {!r} runs backwards)".format(whole, item))
        if hi - lo >= _MAX_HOSTS:
            raise InvalidHostlist("Invalid hostlist: {!r} (range {!r} too large)".format(whole, item))
        width = len(lo_text) if lo_text.startswith("0") and len(lo_text) > 1 else 0
        out.extend(str(n).zfill(width) for n in range(lo, hi + 1))
    return out


def _expand_one(expr: str, whole: str) -> List[str]:
    hosts = [""]
    pos = 0
    for m in re.finditer(r"\[([^\]]*)\]", expr):
        prefix = expr[pos:m.start()]
        numbers = _numbers(m.group(1), whole)
        hosts = [h + prefix + n for h in hosts for n in numbers]
        if len(hosts) > _MAX_HOSTS:
            raise InvalidHostlist("Invalid hostlist: {!r} (too many hosts)".format(whole))
        pos = m.end()
    tail = expr[pos:]
    if "[" in tail or "]" in tail:  # pragma: no cover - caught by _split_top
        raise InvalidHostlist("Invalid hostlist: {!r}".format(whole))
    return [h + tail for h in hosts]


def expand(text: str) -> List[str]:
    """Every host of a Slurm hostlist, in order: ``"gpu[01-02],cpu5"`` -> gpu01 gpu02 cpu5."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidHostlist("Invalid hostlist: {!r} (empty)".format(text))
    hosts: List[str] = []
    for part in _split_top(text.strip()):
        part = part.strip()
        if not part:
            raise InvalidHostlist("Invalid hostlist: {!r} (empty entry)".format(text))
        if re.search(r"\s", part):
            raise InvalidHostlist("Invalid hostlist: {!r} (space in {!r})".format(text, part))
        hosts.extend(_expand_one(part, text))
    return hosts


def first_host(text: str) -> Optional[str]:
    """The first host of a hostlist (where Slurm jobs put rank 0), without expanding the rest."""
    parts = _split_top(text.strip()) if isinstance(text, str) and text.strip() else []
    if not parts or not parts[0].strip():
        raise InvalidHostlist("Invalid hostlist: {!r} (empty)".format(text))
    head = parts[0].strip()
    first = re.sub(r"\[([^\]]*)\]", lambda m: "[" + m.group(1).split(",")[0].split("-")[0] + "]", head)
    return _expand_one(first, text)[0]
