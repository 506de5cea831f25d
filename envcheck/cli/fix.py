"""``envcheck fix``: diagnose, show the plan, ask, install, prove. A thin click command; the work
is :func:`envcheck.install.apply.fix`, the text :mod:`envcheck.render.fix_text`."""

from __future__ import annotations

from typing import Any, Callable, Optional

import click

from envcheck.cli._options import json_option, python_option, quick_option, quiet_option, seconds, timeout_option
from envcheck.outcome import Result

__all__ = ["fix"]


@click.command("fix")
@python_option("Repair this interpreter's torch (a venv's python) instead of envcheck's own.")
@click.option("-y", "--yes", is_flag=True, help="Install without asking.")
@click.option("--dry-run", is_flag=True, help="Show the plan and stop; nothing is changed.")
@click.option("--manager", type=click.Choice(["auto", "pip", "uv"]), default="auto", show_default=True,
              help="The installer: the interpreter's pip, or uv (auto: uv for a uv-made venv without pip).")
@click.option("--torch-index", metavar="URL", envvar="ENVCHECK_TORCH_INDEX", default="https://download.pytorch.org/whl",
              show_default=True, help="PyTorch's wheel index, or your mirror of it (env ENVCHECK_TORCH_INDEX).")
@click.option("--break-system-packages", "break_system", is_flag=True,
              help="Allow installing into a system Python (outside any virtual environment); passed on to pip.")
@click.option("--allow-conda-base", is_flag=True, help="Allow installing into conda's base environment.")
@quick_option
@click.option("--no-verify", is_flag=True, help="Do not run verify's quick checks after the install.")
@timeout_option
@click.option("--install-timeout", type=seconds(), default=1800.0, show_default=True,
              help="Seconds allowed for each install.")
@quiet_option("No progress and no installer output on stderr.")
@json_option
def fix(python: Optional[str], yes: bool, dry_run: bool, manager: str, torch_index: str, break_system: bool,
        allow_conda_base: bool, quick: bool, no_verify: bool, timeout: float, install_timeout: float, quiet: bool,
        as_json: bool) -> Result:
    """Repair this machine's torch: diagnose, show the plan, ask, install, prove.

    \b
      envcheck fix                     diagnose, show the plan, ask before installing
      envcheck fix --dry-run           the plan only
      envcheck fix --yes --json        no question; plan, steps and before/after as JSON
      envcheck fix --python .venv/bin/python

    It installs with the interpreter's own pip (or uv) and only installs: it never removes a
    package it does not replace, prints the command that puts back what it replaced, refuses a
    system Python without --break-system-packages and conda's base without --allow-conda-base.
    Afterwards it diagnoses again and runs verify's quick checks in fresh processes.

    Exit codes: 0 healthy; 1 problems an install should repair remain (declined, --dry-run, a
    failed install, a finding still there, verify failed); 2 bad input; 3 refused or could not
    run; 6 what remains needs you (a driver, a reboot), not an install; 130 interrupted.
    """
    from envcheck.install.apply import fix as run_fix
    from envcheck.render import err, fix_text

    _check(python, yes, dry_run, torch_index)
    report = run_fix(python, quick=quick, timeout=timeout, manager=manager, torch_index=torch_index,
                     break_system=break_system, allow_conda_base=allow_conda_base, dry_run=dry_run,
                     confirm=_confirm(yes), on_plan=_show_plan(as_json, quiet, yes), progress=None if quiet else err,
                     on_output=None if quiet else (lambda line: err("  | " + line)),
                     prove=not no_verify, install_timeout=install_timeout)
    return Result("fix", report.to_dict(), [] if as_json else fix_text.result_lines(report), report.exit_code,
                  as_json=as_json)


def _check(python: Optional[str], yes: bool, dry_run: bool, torch_index: str) -> None:
    from envcheck.errors import InputError

    if python:
        from envcheck.proc import check_python

        check_python(python)
    if yes and dry_run:
        raise InputError("give only one of --yes and --dry-run")
    if not torch_index.startswith(("https://", "http://", "file://")):
        raise InputError("--torch-index {!r}: not an index URL".format(torch_index),
                         hint="give PyTorch's https://download.pytorch.org/whl or your mirror of it")


def _show_plan(as_json: bool, quiet: bool, yes: bool) -> Callable[[Any], None]:
    """The plan, shown before the question: it cannot wait for the result. With --json, stdout
    is for the envelope: the plan goes to stderr, and only when a question needs it in sight."""
    from envcheck.render import err, fix_text, out

    def on_plan(report: Any) -> None:
        lines = fix_text.plan_lines(report)
        if not as_json:
            out(lines)
        elif not quiet and report.decision == "installed" and not yes:
            for line in lines:
                err(line)

    return on_plan


def _confirm(yes: bool) -> Callable[[Any], bool]:
    def confirm(plan: Any) -> bool:
        if yes:
            return True
        from envcheck.render import err

        try:
            return click.confirm("Install ({} step{})?".format(len(plan.steps), "" if len(plan.steps) == 1 else "s"),
                                 default=False, err=True)
        except click.Abort:  # end of input: no answer is no
            err("")
            return False

    return confirm
