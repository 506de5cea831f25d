"""``envcheck explain``: the finding catalogue for people, one code or all of them."""

from __future__ import annotations

from typing import List

from envcheck.rules.catalog import CATALOG, Doc

__all__ = ["list_lines", "explain_lines"]


def list_lines() -> List[str]:
    """``envcheck explain`` without a code: one line per finding."""
    lines = ["{} {:<32} {:<8} {}".format(d.code, d.name, d.severity, d.title) for d in CATALOG]
    return lines + ["", "envcheck explain CODE (or NAME) for one of them"]


def explain_lines(doc: Doc, width: int = 100) -> List[str]:
    """``envcheck explain CODE``: what it means, how it is detected, how to fix it."""
    import textwrap

    def para(text: str) -> List[str]:
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)

    refs = ", ".join(doc.refs) if doc.refs else "none"
    return (
        ["{} {} ({})".format(doc.code, doc.name, doc.severity), doc.title, ""]
        + para("What it means: " + doc.meaning) + [""]
        + para("How it is detected: " + doc.detection) + [""]
        + para("How to fix: " + doc.fix) + [""]
        + ["Failure modes: " + refs]
    )
