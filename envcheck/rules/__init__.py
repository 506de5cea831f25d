"""Rules: facts + matrix -> findings. Each rule is a pure function; none probes or prints.

:func:`diagnose` runs every rule over one :class:`~envcheck.facts.Facts` snapshot and returns a
:class:`Diagnosis`: the findings sorted by severity, and the one command that fixes the most.
Finding codes, severities and their documentation live in :mod:`envcheck.rules.catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

from envcheck.rules.findings import Finding, ev, finding

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts import Facts
    from envcheck.facts.machine import Machine
    from envcheck.matrix.store import Matrix

__all__ = ["Finding", "Diagnosis", "diagnose", "all_rules", "FAIL_ON"]

FAIL_ON = ("error", "warning")


@dataclass(frozen=True)
class Diagnosis:
    findings: Tuple[Finding, ...]
    command: Optional[str] = None  # the one command that fixes the most
    command_fixes: Tuple[str, ...] = ()  # codes of the findings it fixes
    machine: Optional["Machine"] = field(default=None, compare=False)  # what the rules read, for the report

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def codes(self) -> Tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def healthy(self) -> bool:
        return not any(f.severity in ("error", "warning") for f in self.findings)

    def exit_code(self, fail_on: str = "error") -> int:
        from envcheck.outcome import diagnose_exit

        return diagnose_exit((f.severity for f in self.findings), fail_on)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "summary": {s: self.count(s) for s in ("error", "warning", "info")},
            "healthy": self.healthy,
            "findings": [f.to_dict() for f in self.findings],
            "fix": {"command": self.command, "fixes": list(self.command_fixes)}
            if self.command else None,
        }


def all_rules() -> Tuple[Callable, ...]:
    from envcheck.rules import build, driver, ecosystem, environment, health, inspection, packages, toolkit

    return (
        inspection.RULES + driver.RULES + build.RULES + packages.RULES + ecosystem.RULES + environment.RULES
        + toolkit.RULES + health.RULES
    )


def diagnose(
    facts: "Facts",
    matrix: "Matrix",
    *,
    rules: Optional[Iterable[Callable]] = None,
    strict: bool = False,
) -> Diagnosis:
    """Run the rules (default: all) over ``facts``. ``strict`` lets a rule's bug raise;
    otherwise it becomes an EC006 finding naming the rule, so one bug costs one check."""
    from envcheck.rules.build import cuda_unavailable
    from envcheck.rules.reported import reported_errors, stated_only
    from envcheck.rules.view import View

    view = View(facts, matrix)
    found: List[Finding] = []
    for rule in all_rules() if rules is None else rules:
        try:
            found.extend(rule(view))
        except Exception as exc:  # noqa: BLE001 - see docstring
            if strict:
                raise
            found.append(finding(
                "EC006",
                "the check {} failed".format(rule.__name__),
                [ev("rule", "{}.{}".format(rule.__module__, rule.__name__)),
                 ev("error", "{}: {}".format(type(exc).__name__, exc))],
                cause="A bug in envcheck's rule, not a problem of this machine.",
                fix="Report it, with `envcheck facts --json` attached.",
            ))
    report = facts.report
    if report is not None:  # a pasted report: nothing rests on a fact it does not state
        found = stated_only(found, report.stated)
    if rules is None:
        found.extend(cuda_unavailable(view, found))
        if report is not None:
            found = stated_only(found, report.stated)
            found.extend(reported_errors(view, found))
        if not any(f.severity in ("error", "warning") for f in found):
            found.append(_healthy(view))
    found = _dedupe(found)
    found.sort(key=lambda f: f.rank)
    command, fixes = _best_command(found)
    return Diagnosis(tuple(found), command, fixes, view.machine)


def _dedupe(found: List[Finding]) -> List[Finding]:
    seen = set()
    out = []
    for f in found:
        key = (f.code, f.title)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _best_command(found: List[Finding]) -> Tuple[Optional[str], Tuple[str, ...]]:
    """The command shared by the most (errors count double) error/warning findings."""
    scores: Dict[str, List] = {}
    for order, f in enumerate(found):
        if not f.command or f.severity == "info":
            continue
        entry = scores.setdefault(f.command, [0, order, []])
        entry[0] += 2 if f.severity == "error" else 1
        entry[2].append(f.code)
    if not scores:
        return None, ()
    command, (score, _, codes) = min(scores.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
    return command, tuple(codes)


def _healthy(v) -> Finding:
    d = v.facts.driver
    if v.is_cuda_build and d.gpus:
        title = "{} (CUDA {}) fits {}{}".format(
            v.torch_text(), v.cuda_build, "driver {} and ".format(d.version) if d.version else "", v.gpu_text(list(d.gpus)))
    elif v.variant_label == "cpu" and not v.nvidia_machine:
        title = "{} (CPU build) on a machine without an NVIDIA GPU: consistent".format(v.torch_text())
    elif v.torch_known:
        title = "{} ({}): nothing to fix".format(v.torch_text(), v.variant_label or "unknown build")
    else:
        title = "nothing to fix"
    evidence = [ev("torch.version", v.torch_version), ev("torch.variant", v.variant_label),
                ev("driver.version", d.version), ev("driver.gpu_count", len(d.gpus))]
    if v.runtime is not None:
        evidence.append(ev("torch_runtime.is_available", v.runtime.is_available))
    return finding(
        "EC001",
        title,
        evidence,
        cause="No rule found an error or a warning." + (
            " (Quick mode: torch was not imported; run without --quick to check it loads.)"
            if v.facts.quick else ""),
        fix="Nothing to do.",
    )
