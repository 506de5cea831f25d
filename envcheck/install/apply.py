"""``envcheck fix`` carried out: diagnose, plan, ask, install, prove.

:func:`fix` diagnoses the target interpreter, plans the installs (:mod:`envcheck.install.repair`),
asks (``confirm``), runs each install with the interpreter's own pip (or uv) through
:func:`envcheck.proc.stream`, lists what changed (the inventory before and after) with the
command that puts it back, then diagnoses again and runs a quick ``verify`` in fresh children.
It returns a :class:`FixReport`; rendering is :mod:`envcheck.render.fix_text`.

Exit codes (:attr:`FixReport.exit_code`): 0 healthy (after the installs, or already); 1 problems
an install should repair remain (declined, ``--dry-run``, an install failed, a finding is still
there, or verify failed); 3 refused or could not run (a system Python, conda's base, a read-only
site-packages, no pip); 6 what remains needs you, not an install (a driver, a reboot); 130
interrupted.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from envcheck.errors import EXIT_MANUAL, EXIT_OK
from envcheck.install.repair import (PYTORCH_INDEX, Manager, Plan, Step, install_args, mirror, plan_fix,
                                     restore_commands)

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts import Facts
    from envcheck.install.inventory import Installed, Inventory
    from envcheck.rules import Diagnosis

__all__ = ["StepResult", "Change", "FixReport", "fix", "choose_manager", "QUICK_CHECKS", "INSTALL_TIMEOUT",
           "EXIT_INTERRUPTED"]

QUICK_CHECKS = ("tensor", "copy", "matmul-fp32")  # verify's quick proof: a tensor, copies, a matmul
INSTALL_TIMEOUT = 1800.0  # seconds per install: a CUDA build with its nvidia-* wheels is ~3 GB
from envcheck.outcome import EXIT_INTERRUPTED  # noqa: E402 - re-exported

Progress = Optional[Callable[[str], None]]


@dataclass(frozen=True)
class StepResult:
    command: str
    status: str  # ok | failed | timed-out | interrupted | skipped | could-not-start
    exit_code: Optional[int] = None
    seconds: float = 0.0
    detail: str = ""
    tail: Tuple[str, ...] = ()  # the installer's last lines, for a failure

    def to_dict(self) -> Dict[str, Any]:
        return {"command": self.command, "status": self.status, "exit_code": self.exit_code,
                "seconds": round(self.seconds, 2), "detail": self.detail, "tail": list(self.tail)}


@dataclass(frozen=True)
class Change:
    name: str
    before: Optional["Installed"]
    after: Optional["Installed"]

    @property
    def kind(self) -> str:
        return "added" if self.before is None else "removed" if self.after is None else "replaced"

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "change": self.kind,
                "before": self.before.to_dict() if self.before else None,
                "after": self.after.to_dict() if self.after else None}


@dataclass
class FixReport:
    python: str
    environment: Dict[str, Any]
    before: "Diagnosis"
    plan: Plan
    decision: str  # nothing-to-do | manual-only | refused | dry-run | declined | installed
    steps: List[StepResult] = field(default_factory=list)
    changes: List[Change] = field(default_factory=list)
    restore: List[str] = field(default_factory=list)  # puts back exactly what changed
    after: Optional["Diagnosis"] = None
    verify: Optional[Any] = None  # VerifyReport
    verify_error: Optional[str] = None
    interrupted: bool = False

    @property
    def final(self) -> "Diagnosis":
        return self.after if self.after is not None else self.before

    def remaining(self) -> Tuple[List[Any], List[Any]]:
        """(installable, manual) error/warning findings of the final diagnosis."""
        bad = [f for f in self.final.findings if f.severity in ("error", "warning")]
        return ([f for f in bad if install_args(f.command) is not None],
                [f for f in bad if install_args(f.command) is None])

    @property
    def verify_failed(self) -> bool:
        return self.verify_error is not None or (self.verify is not None and self.verify.failed)

    @property
    def exit_code(self) -> int:
        from envcheck.outcome import fix_exit

        refused = self.decision == "refused"
        if self.interrupted or refused:
            return fix_exit(interrupted=self.interrupted, refused=refused, unapplied_plan=False, failed=False,
                            manual=False)
        installable, manual = self.remaining()
        failed = any(s.status not in ("ok", "skipped") for s in self.steps) or bool(installable) or self.verify_failed
        return fix_exit(interrupted=False, refused=False, failed=failed, manual=bool(manual),
                        unapplied_plan=self.decision in ("dry-run", "declined") and bool(self.plan.steps))

    @property
    def outcome(self) -> str:
        """One line: what became of the machine."""
        code = self.exit_code
        if self.interrupted:
            return "interrupted: " + ("nothing was changed" if not self.changes else
                                      "{} package(s) changed (listed above, with the command that puts them back)"
                                      .format(len(self.changes)))
        if self.decision == "refused":
            return "refused: " + (self.plan.refusal or "")
        if self.decision == "dry-run":
            return "dry run: nothing was changed" if self.plan.steps else "dry run: nothing to install"
        if self.decision == "declined":
            return "declined: nothing was changed"
        failed = [s for s in self.steps if s.status not in ("ok", "skipped")]
        if failed:
            return "the install failed ({}): {}".format(
                failed[0].detail, "nothing was changed" if not self.changes else
                "{} package(s) changed; the command above puts them back".format(len(self.changes)))
        if code == EXIT_OK:
            if self.decision != "installed":
                return "healthy: nothing to fix"
            if self.verify is not None:
                return "healthy now: diagnosed again, and verify's checks passed"
            return "healthy now by the diagnosis (verify was not run)"
        if code == EXIT_MANUAL:
            return "what remains needs you: no install can repair it (see above)"
        if self.verify_failed:
            return "installed, but verify failed: the machine is not healthy yet"
        return "problems remain after the install (see above)"

    def to_dict(self) -> Dict[str, Any]:
        return {
            "python": self.python,
            "environment": self.environment,
            "decision": self.decision,
            "before": self.before.to_dict(),
            "plan": self.plan.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "changes": [c.to_dict() for c in self.changes],
            "restore": list(self.restore),
            "after": self.after.to_dict() if self.after is not None else None,
            "verify": self.verify.to_dict() if self.verify is not None else None,
            "verify_error": self.verify_error,
            "interrupted": self.interrupted,
            "outcome": self.outcome,
        }


def choose_manager(inv: "Inventory", wanted: str = "auto", *, which: Callable[[str], Optional[str]] = shutil.which
                   ) -> Manager:
    """pip, or uv where the environment is uv's (a uv venv has no pip) or ``wanted`` says so."""
    from envcheck.errors import CannotRunError

    uv = which("uv")
    if wanted == "uv" or (wanted == "auto" and uv and (inv.uv_venv or not inv.pip)):
        if not uv:
            raise CannotRunError("--manager uv: uv is not on PATH", hint="install it (pipx install uv) or use pip")
        return Manager("uv", inv.executable, uv)
    return Manager("pip", inv.executable)


def changes_between(before: "Inventory", after: "Inventory") -> List[Change]:
    b, a = before.by_name, after.by_name
    out = []
    for name in sorted(set(b) | set(a)):
        old, new = b.get(name), a.get(name)
        if old is None or new is None or not old.same(new):
            out.append(Change((new or old).name, old, new))  # type: ignore[union-attr]
    return out


def fix(
    python: Optional[str] = None,
    *,
    quick: bool = False,
    timeout: float = 10.0,
    manager: str = "auto",
    torch_index: str = PYTORCH_INDEX,
    break_system: bool = False,
    allow_conda_base: bool = False,
    dry_run: bool = False,
    confirm: Callable[[Plan], bool] = lambda plan: False,
    on_plan: Callable[["FixReport"], None] = lambda report: None,
    progress: Progress = None,
    on_output: Optional[Callable[[str], None]] = None,
    prove: bool = True,
    install_timeout: float = INSTALL_TIMEOUT,
    verify_timeout: Optional[float] = None,
    env: Optional[Mapping[str, str]] = None,
) -> FixReport:
    """Diagnose ``python`` (default: this interpreter), plan, ask, install, prove."""
    from envcheck.install.inventory import probe_inventory
    from envcheck.matrix import store

    say = progress or (lambda line: None)
    target = python or sys.executable
    matrix = store.load()
    say("envcheck fix: diagnosing {}".format(target))
    before = _diagnose(matrix, quick=quick, python=python, timeout=timeout)
    inv = probe_inventory(target, env=dict(env) if env is not None else None)
    plan = plan_fix(before, inv, choose_manager(inv, manager), torch_index=torch_index,
                    break_system=break_system, allow_conda_base=allow_conda_base)
    report = FixReport(target, inv.environment_dict(), before, plan, decision="installed")
    if not plan.steps:
        report.decision = "manual-only" if plan.manual else "nothing-to-do"
    elif plan.refusal:
        report.decision = "refused"
    elif dry_run:
        report.decision = "dry-run"
    on_plan(report)
    if report.decision != "installed":
        return report
    if not confirm(plan):
        report.decision = "declined"
        return report

    try:
        _run_steps(report, matrix, quick=quick, python=python, timeout=timeout, env=env, say=say,
                   on_output=on_output, install_timeout=install_timeout)
    except KeyboardInterrupt:  # between installs (the check before a later step)
        report.interrupted = True
    # even after Ctrl-C or a failed install: say exactly what changed, and how to put it back
    after_inv = probe_inventory(target, env=dict(env) if env is not None else None)
    report.changes = changes_between(inv, after_inv)
    report.restore = restore_commands(
        [c.before for c in report.changes if c.before is not None],
        [c.name for c in report.changes if c.before is None], plan.manager, torch_index)
    if report.interrupted or any(s.status not in ("ok", "skipped") for s in report.steps):
        return report

    say("envcheck fix: diagnosing again")
    report.after = _diagnose(matrix, quick=quick, python=python, timeout=timeout)
    if prove and report.after.machine is not None and report.after.machine.torch_installed:
        _prove(report, target, verify_timeout, env, say)
    return report


def _diagnose(matrix: Any, *, quick: bool, python: Optional[str], timeout: float) -> "Diagnosis":
    from envcheck.probes import collect
    from envcheck.rules import diagnose

    facts: "Facts" = collect(quick=quick, python=python, timeout=timeout)
    return diagnose(facts, matrix)


def _run_steps(report: FixReport, matrix: Any, *, quick: bool, python: Optional[str], timeout: float,
               env: Optional[Mapping[str, str]], say: Callable[[str], None],
               on_output: Optional[Callable[[str], None]], install_timeout: float) -> None:
    from envcheck.proc import stream

    plan = report.plan
    for i, step in enumerate(plan.steps):
        command = plan.manager.command("install", step.args + plan.extra_args)
        if i:
            skip = _still_needed(step, _diagnose(matrix, quick=True, python=python, timeout=timeout), plan)
            if skip:
                report.steps.append(StepResult(command, "skipped", detail=skip))
                say("envcheck fix: step {} skipped: {}".format(i + 1, skip))
                continue
        say("envcheck fix: step {} of {}: {}".format(i + 1, len(plan.steps), command))
        tail: List[str] = []

        def line(text: str) -> None:
            tail.append(text)
            del tail[:-15]
            if on_output is not None:
                on_output(text)

        result = stream(plan.manager.argv("install", step.args + plan.extra_args), timeout=install_timeout,
                        on_line=line, env=dict(env) if env is not None else None)
        status = ("interrupted" if result.interrupted else "timed-out" if result.timed_out
                  else "could-not-start" if result.not_found or result.error
                  else "ok" if result.returncode == 0 else "failed")
        report.steps.append(StepResult(command, status, result.returncode, result.seconds,
                                       result.describe(), tuple(tail) if status != "ok" else ()))
        if result.interrupted:
            report.interrupted = True
        if status != "ok":
            return


def _still_needed(step: Step, now: "Diagnosis", plan: Plan) -> Optional[str]:
    """Why a later step is no longer to be run (None: run it as planned)."""
    codes = {f.code for f in now.findings if f.severity in ("error", "warning")}
    if not codes & set(step.fixes):
        return "what it repairs ({}) is gone after the steps before it".format(", ".join(step.fixes))
    wanted = {mirror(a, plan.torch_index) for a in (install_args(f.command) for f in now.findings) if a is not None}
    if step.args not in wanted:
        return ("its findings remain but the repair they need changed after the steps before it: "
                "run envcheck fix again to see the new plan")
    return None


def _prove(report: FixReport, python: str, timeout: Optional[float], env: Optional[Mapping[str, str]],
           say: Callable[[str], None]) -> None:
    from envcheck.errors import EnvcheckError
    from envcheck.verify import run as verify_run

    say("envcheck fix: proving it (verify: {})".format(", ".join(QUICK_CHECKS)))
    try:
        report.verify = verify_run.verify(checks=QUICK_CHECKS, python=python, timeout=timeout, multi_gpu=False,
                                      env=env, progress=None)
    except EnvcheckError as exc:
        report.verify_error = exc.message
