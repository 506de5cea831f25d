"""The one outcome vocabulary: severities, check statuses, perf verdicts, and their exit codes.

Every word a result uses to say how things went is defined here, and this is the only module that
maps one onto another or onto an exit code:

* ``Severity`` of a diagnose finding: ``error`` | ``warning`` | ``info``;
* ``CheckStatus`` of a verify check: ``passed`` | ``failed`` | ``skipped`` | ``not-run``;
* ``GateStatus`` of a preflight check: ``fail`` | ``not-run`` | ``warn`` | ``pass`` | ``n/a``;
* ``PerfVerdict`` of a measurement against the GPU table: ``ok`` | ``low`` | ``fail`` | ``high`` |
  ``none`` (no verdict);
* ``EnvelopeStatus`` of a ``--json`` envelope: ``ok`` | ``problems`` | ``error``.

A command returns a :class:`Result`; ``envcheck.cli.main`` renders it (``envcheck.render.emit``)
and is the only place that leaves the process. Exit codes themselves are listed in
:mod:`envcheck.errors`. Imports nothing above the standard library and :mod:`envcheck.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, List, Literal, Optional, Tuple

from envcheck.errors import EXIT_CANNOT_RUN, EXIT_MANUAL, EXIT_OK, EXIT_PROBLEMS

__all__ = [
    "Severity", "SEVERITIES", "FailOn", "CheckStatus", "CHECK_STATUSES", "GateStatus", "GATE_STATUSES",
    "PerfVerdict", "PERF_VERDICTS", "EnvelopeStatus", "EXIT_INTERRUPTED",
    "diagnose_exit", "verify_exit", "gate_exit", "gate_status", "worst_gate", "gate_of_verdict",
    "problems_exit", "fix_exit", "envelope_status", "Result",
]

EXIT_INTERRUPTED = 130

Severity = Literal["error", "warning", "info"]
SEVERITIES: Tuple[str, ...] = ("error", "warning", "info")  # worst first
FailOn = Literal["error", "warning"]

CheckStatus = Literal["passed", "failed", "skipped", "not-run"]
CHECK_STATUSES: Tuple[str, ...] = ("passed", "failed", "skipped", "not-run")

GateStatus = Literal["fail", "not-run", "warn", "pass", "n/a"]
GATE_STATUSES: Tuple[str, ...] = ("fail", "not-run", "warn", "pass", "n/a")  # worst first
_GATE_RANK = {s: i for i, s in enumerate(GATE_STATUSES)}

PerfVerdict = Literal["ok", "low", "fail", "high", "none"]
PERF_VERDICTS: Tuple[str, ...] = ("ok", "low", "fail", "high", "none")
# A verdict as a preflight check reads it: too slow fails, a little slow warns, no verdict is not a pass.
_GATE_OF_VERDICT = {"fail": "fail", "low": "warn", "ok": "pass", "high": "pass", "none": "not-run"}

EnvelopeStatus = Literal["ok", "problems", "error"]


def diagnose_exit(severities: Iterable[str], fail_on: str = "error") -> int:
    """1 when a finding is an error (or a warning, with ``fail_on="warning"``); info never counts."""
    worst = ("error",) if fail_on == "error" else ("error", "warning")
    return EXIT_PROBLEMS if any(s in worst for s in severities) else EXIT_OK


def verify_exit(statuses: Iterable[str], verdicts: Iterable[str] = ()) -> int:
    """1 when a check failed or a measurement's perf verdict is ``fail``; skipped and not-run
    checks, and ``low``/``none`` verdicts, are reported, never a failure by themselves."""
    failed = any(s == "failed" for s in statuses) or any(v == "fail" for v in verdicts)
    return EXIT_PROBLEMS if failed else EXIT_OK


def gate_exit(statuses: Iterable[str], *, strict: bool = False) -> int:
    """preflight: 1 when a check failed (or warned, with ``strict``); 3 when one could not run
    (never counted as a pass); else 0."""
    found = set(statuses)
    if "fail" in found or (strict and "warn" in found):
        return EXIT_PROBLEMS
    if "not-run" in found:
        return EXIT_CANNOT_RUN
    return EXIT_OK


def gate_status(exit_code: int) -> str:
    """A node's (or a cluster's) overall status word for its exit code."""
    return {EXIT_OK: "pass", EXIT_PROBLEMS: "fail", EXIT_CANNOT_RUN: "not-run"}[exit_code]


def worst_gate(statuses: Iterable[str]) -> str:
    """The worst of some preflight statuses; ``n/a`` when there are none."""
    found = list(statuses)
    if not found:
        return "n/a"
    return min(found, key=lambda s: _GATE_RANK.get(s, 0))


def gate_of_verdict(verdict: str) -> str:
    """A perf verdict as a preflight check status."""
    return _GATE_OF_VERDICT.get(verdict, "not-run")


def problems_exit(found: bool) -> int:
    """Commands whose only verdict is "problems found or not" (compare, matrix update --check,
    requirements --check)."""
    return EXIT_PROBLEMS if found else EXIT_OK


def fix_exit(*, interrupted: bool, refused: bool, unapplied_plan: bool, failed: bool, manual: bool) -> int:
    """``envcheck fix``: 130 interrupted; 3 refused; 1 a plan not applied (declined, --dry-run), a
    failed step, an installable problem left or verify failed; 6 only what needs a person is left."""
    if interrupted:
        return EXIT_INTERRUPTED
    if refused:
        return EXIT_CANNOT_RUN
    if unapplied_plan or failed:
        return EXIT_PROBLEMS
    return EXIT_MANUAL if manual else EXIT_OK


def envelope_status(exit_code: int, has_errors: bool) -> str:
    """The envelope's ``status``: ``error`` when the command could not do its job, ``problems`` for
    exit 1 (it ran and found something), ``ok`` otherwise."""
    if has_errors:
        return "error"
    return "problems" if exit_code == EXIT_PROBLEMS else "ok"


@dataclass
class Result:
    """What a command produced. ``envcheck.cli.main`` renders it and exits with ``exit_code``.

    * ``data``: the envelope's ``data`` under ``--json``; ``lines``: stdout in text mode;
    * ``log``: lines for stderr, written first (explanations beside a command meant for ``$(...)``);
    * ``warnings``: the envelope's ``warnings``, or ``envcheck: warning:`` lines on stderr;
    * ``raw``: printed as it is instead of an envelope or lines (``facts --json``'s bare snapshot);
    * ``quiet``: nothing on stdout (a distributed rank other than 0; a file written with ``-o``);
    * ``hard_exit``: leave with ``os._exit`` after flushing (a distributed rank: process-group
      destructors at exit can hang).
    """

    command: str
    data: Any = None
    lines: List[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    warnings: List[str] = field(default_factory=list)
    data_info: Optional[dict] = None
    as_json: bool = False
    log: List[str] = field(default_factory=list)
    raw: Optional[str] = None
    quiet: bool = False
    hard_exit: bool = False
