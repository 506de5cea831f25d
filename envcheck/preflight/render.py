"""Text for people: one line per check (status, check, measured value, threshold)."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from envcheck.preflight.checks import Check

__all__ = ["check_line", "node_lines", "RESULT_WORDS"]

RESULT_WORDS = {0: "PASS", 1: "FAIL", 3: "COULD NOT RUN"}
_WORD = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not-run": "NOT RUN", "n/a": "n/a"}


def check_line(c: Check, *, indent: str = "  ") -> str:
    name = c.id if c.subject in ("node", "") or c.subject.startswith("gpu") else "{} {}".format(c.id, c.subject)
    line = "{}{:<8}{:<22} {}".format(indent, _WORD.get(c.status, c.status), name, c.measured)
    if c.threshold and c.threshold != "-":
        line += "  [want {}]".format(c.threshold)
    return line


def _counts(checks: Sequence[Check]) -> str:
    order = ("pass", "warn", "fail", "not-run", "n/a")
    counts: Dict[str, int] = {}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    return ", ".join("{} {}".format(counts[s], s) for s in order if counts.get(s))


def node_lines(report: Any, *, verbose: bool = False) -> List[str]:
    """The node report: a header, the checks (n/a ones only with ``verbose``), the result."""
    s = report.summary
    gpus = s.get("gpu_names") or []
    head = "preflight {} (profile {}): {} GPU(s){}, driver {}, torch {}".format(
        report.host, report.profile, s.get("gpu_count", 0), " " + "/".join(gpus) if gpus else "",
        s.get("driver") or "-", s.get("torch") or "-",
    )
    lines = [head]
    for c in report.checks:
        if c.status == "n/a" and not verbose:
            continue
        lines.append(check_line(c))
        if c.detail and c.status in ("fail", "warn", "not-run"):
            lines.extend("            " + part for part in c.detail.splitlines())
    code = report.exit_code
    lines.append("result: {} (exit {}; {}; {:.1f} s)".format(RESULT_WORDS.get(code, code), code, _counts(report.checks),
                                                             report.seconds))
    return lines
