"""The finding: what a rule reports. Severity, name and references come from the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Tuple

from envcheck.rules.catalog import SEVERITIES, lookup

__all__ = ["Finding", "finding", "ev", "SEVERITY_RANK"]

SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}  # error 0, warning 1, info 2


@dataclass(frozen=True)
class Finding:
    code: str  # "EC101" (stable)
    name: str  # "driver-too-old"
    severity: str  # error | warning | info
    title: str  # one line naming this machine's values
    evidence: Tuple[str, ...] = ()  # "fact.path = value"
    cause: str = ""  # plain words
    fix: str = ""  # what to do, in words
    command: Optional[str] = None  # the exact command, when there is one
    refs: Tuple[str, ...] = ()  # failure modes F1..F11
    alternative: Optional[str] = None  # a second command offered beside ``command``
    alternative_why: Optional[str] = None  # what the alternative is, in words

    @property
    def label(self) -> str:
        return "{} {}".format(self.code, self.name)

    @property
    def rank(self) -> Tuple[int, str]:
        return (SEVERITY_RANK[self.severity], self.code)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "title": self.title,
            "evidence": list(self.evidence),
            "cause": self.cause,
            "fix": self.fix,
            "command": self.command,
            "alternative": {"command": self.alternative, "why": self.alternative_why} if self.alternative else None,
            "refs": list(self.refs),
        }


def finding(
    code: str,
    title: str,
    evidence: Iterable[str] = (),
    cause: str = "",
    fix: str = "",
    command: Optional[str] = None,
    alternative: Optional[Tuple[str, str]] = None,
) -> Finding:
    """A finding of a catalogued code (an unknown code is a bug: KeyError)."""
    doc = lookup(code)
    if doc is None or doc.code != code:
        raise KeyError("finding code {!r} is not in the catalog".format(code))
    return Finding(
        code=doc.code,
        name=doc.name,
        severity=doc.severity,
        title=title,
        evidence=tuple(evidence),
        cause=cause,
        fix=fix or doc.fix,
        command=command,
        refs=doc.refs,
        alternative=alternative[0] if alternative and command else None,
        alternative_why=alternative[1] if alternative and command else None,
    )


def ev(path: str, value: Any) -> str:
    """One evidence line: ``driver.cuda_max = 12.2``."""
    if value is None:
        shown = "null"
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, str):
        shown = value if value and value.strip() == value and "\n" not in value else repr(value)
        if len(shown) > 200:
            shown = shown[:197] + "..."
    elif isinstance(value, (list, tuple)):
        shown = "[" + ", ".join(str(v) for v in value) + "]"
    else:
        shown = str(value)
    return "{} = {}".format(path, shown)
