"""Text of ``envcheck fix``: the plan (before anything changes) and the result (before and after,
side by side). Pure functions of a :class:`~envcheck.install.apply.FixReport`."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.install.apply import FixReport
    from envcheck.rules import Diagnosis

__all__ = ["plan_lines", "result_lines"]

WIDTH = 100


def _wrap(text: str, indent: int) -> List[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False) or [pad]


def _torch_of(diag: "Diagnosis") -> str:
    m = diag.machine
    if m is None or not m.torch_version:
        return "not installed"
    return "{} ({})".format(m.torch_version, m.variant_label or "unknown build")


def _version(inst: Any) -> str:
    if inst is None:
        return "not installed"
    return inst.version + ("" if inst.source == "an index" else " from " + inst.source)


def plan_lines(report: "FixReport") -> List[str]:
    """What is wrong, what will be installed from where and why, what it keeps, how to undo it."""
    from envcheck.render.diagnose_text import headline

    plan, env = report.plan, report.environment
    out = ["envcheck fix: {} (Python {}, {}; installs with {})".format(
        report.python, env.get("python"), env.get("kind"), plan.manager.kind)]
    out.append("  now: torch {}; {}".format(_torch_of(report.before), headline(report.before)))
    if plan.steps:
        out.append("")
        out.append("Plan:")
    for n, step in enumerate(plan.steps, 1):
        out.append("  {}. {}".format(n, plan.manager.command("install", step.args + plan.extra_args)))
        for code, title in zip(step.fixes, step.why):
            out += _wrap("repairs {} {}".format(code, title), 5)
        for t in step.touches:
            keeps = ""
            if t.name == "torch" and t.installed is not None:
                wanted = t.wanted.split("==", 1)[1] if "==" in t.wanted else ""
                if wanted.split("+")[0] == t.installed.version.split("+")[0]:
                    keeps = " (keeps your release)"
                elif wanted:
                    keeps = " (another release)"
            out.append("     {}: {} -> {}{}".format(t.name, _version(t.installed), t.wanted, keeps))
        for url in step.indexes:
            out.append("     from {}".format(url))
    if plan.restore:
        out.append("")
        out.append("To put back what it replaces (recorded now):")
        out += ["  $ " + c for c in plan.restore]
    if plan.manual:
        out.append("")
        out.append("No install can repair these; they need you:")
        for m in plan.manual:
            out += _wrap("{} {} {}".format(m.severity.upper(), m.code, m.title), 2)
            if m.fix:
                out += _wrap(m.fix, 6)
            if m.command:
                out.append("      $ " + m.command)
    if plan.refusal:
        out.append("")
        out += _wrap("Not installing: {}.".format(plan.refusal), 0)
        if plan.refusal_hint:
            out += _wrap("To go on: {}.".format(plan.refusal_hint), 2)
    elif not plan.steps and not plan.manual:
        out.append("  nothing to install")
    return out


def _findings_table(before: "Diagnosis", after: Optional["Diagnosis"]) -> List[str]:
    rows = []
    after_codes = {f.code: f for f in after.findings} if after is not None else {}
    seen = set()
    for f in before.findings:
        if f.severity == "info" or f.code in seen:
            continue
        seen.add(f.code)
        now = ("-" if after is None else
               "still {}".format(after_codes[f.code].severity) if f.code in after_codes else "gone")
        rows.append((f.code, f.name, f.severity, now))
    if after is not None:
        for f in after.findings:
            if f.severity != "info" and f.code not in seen:
                seen.add(f.code)
                rows.append((f.code, f.name, "-", "new {}".format(f.severity)))
    return ["  {:<6} {:<34} {:<26} {}".format(*r) for r in rows]


def result_lines(report: "FixReport") -> List[str]:
    """The steps run, what changed with the command that puts it back, then before | after."""
    from envcheck.render.diagnose_text import headline

    out: List[str] = []
    if report.steps:
        out.append("")
        out.append("Steps:")
        for n, s in enumerate(report.steps, 1):
            out.append("  {}. {} ({:.1f} s): {}".format(n, s.status, s.seconds, s.command))
            if s.status not in ("ok",):
                out += _wrap(s.detail, 5)
                out += ["     | " + line for line in s.tail[-8:]]
    if report.decision == "installed" or report.changes:
        out.append("")
        if report.changes:
            out.append("Changed ({}):".format(len(report.changes)))
            for c in report.changes:
                out.append("  {:<24} {} -> {}".format(c.name, _version(c.before), _version(c.after)))
            out.append("To put it back exactly:")
            out += ["  $ " + c for c in report.restore]
        else:
            out.append("Nothing changed in the environment.")
    if report.after is not None:
        b, a = report.before, report.after
        out.append("")
        row = "  {:<41} {:<26} {}".format
        out.append(row("", "before", "after"))
        out.append(row("torch", _short(b), _short(a)))
        if "not checked" not in (_usable(b), _usable(a)):
            out.append(row("CUDA usable", _usable(b), _usable(a)))
        out.append(row("findings", _count(b), _count(a)))
        out += _findings_table(b, a)
        if report.verify is not None:
            s = report.verify.summary()
            out.append(row("verify", "-", "{} ({} checks on {})".format(s["verdict"], s["checks"], ", ".join(s["devices"]))))
        elif report.verify_error:
            out.append(row("verify", "-", "failed"))
            out += _wrap(report.verify_error, 4)
        else:
            out.append(row("verify", "-", "not run"))
        out.append("  after: " + headline(a))
    out.append("")
    out.append("envcheck fix: " + report.outcome)
    return out


def _short(diag: "Diagnosis") -> str:
    m = diag.machine
    return m.torch_version if m is not None and m.torch_version else "not installed"


def _usable(diag: "Diagnosis") -> str:
    m = diag.machine
    if m is None or m.runtime is None:
        return "not checked"
    return "yes" if m.runtime.is_available else "no"


def _count(diag: "Diagnosis") -> str:
    return "{} error(s), {} warning(s)".format(diag.count("error"), diag.count("warning"))
