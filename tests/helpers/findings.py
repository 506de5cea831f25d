from __future__ import annotations

from typing import Set, Tuple

from envcheck.rules import diagnose


def codes(facts, matrix) -> Tuple[Set[str], Set[str]]:
    """(error and warning codes, info codes)."""
    diag = diagnose(facts, matrix, strict=True)
    return ({f.code for f in diag.findings if f.severity != "info"},
            {f.code for f in diag.findings if f.severity == "info"})


def one(facts, matrix, code: str):
    """The single finding with this code."""
    diag = diagnose(facts, matrix, strict=True)
    found = [f for f in diag.findings if f.code == code]
    assert len(found) == 1, (code, diag.codes)
    return found[0]
