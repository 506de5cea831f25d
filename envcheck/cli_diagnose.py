"""``envcheck diagnose``, ``envcheck facts`` and ``envcheck explain``: thin click commands.

Probes (``envcheck.probes.collect``), rules (``envcheck.rules``) and renderers
(``envcheck.render.diagnose_text``) are imported inside the commands, so importing this module
costs only click. ``envcheck.cli`` registers the three commands.

Exit codes of ``diagnose``: 0 no errors (warnings allowed unless ``--fail-on warning``), 1 errors
found, 2 bad input (a malformed ``--facts`` file, conflicting options), 3 could not inspect
(``--python`` is not a working interpreter), 4 corrupt data.
"""

from __future__ import annotations

from typing import Any

import click

from envcheck.cli import Outcome, finish, json_option

__all__ = ["diagnose", "facts", "explain", "DEFAULT_TIMEOUT"]

# Seconds for the torch child (import torch + CUDA queries). With every other probe hanging too,
# collect() returns after max(probes.QUICK_BOUND, DEFAULT_TIMEOUT + 3 s) = 13 s.
DEFAULT_TIMEOUT = 10.0

_python_option = click.option(
    "--python", "python", metavar="PATH",
    help="Inspect the torch of this interpreter (a venv's python) instead of envcheck's own.",
)
_quick_option = click.option("--quick", is_flag=True, help="Skip importing torch in a child process (fast).")
_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=1.0), default=DEFAULT_TIMEOUT, show_default=True,
    help="Seconds allowed for the torch child (import torch, CUDA queries).",
)
_redact_option = click.option(
    "--no-redact", is_flag=True, help="Keep the hostname and GPU UUIDs/serials in the facts.",
)


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("debug"))


def _check_python(python: str, error: Any = None) -> None:
    """A --python that is not an executable file: ``error`` (default CannotRunError, exit 3)."""
    import os

    from envcheck.errors import CannotRunError

    if not os.path.isfile(python) or not os.access(python, os.X_OK):
        raise (error or CannotRunError)(
            "--python {!r}: not an executable file".format(python),
            hint="give the path of a Python interpreter, e.g. .venv/bin/python",
        )


def _collect(quick: bool, python, timeout: float):
    """Probe this machine; a --python that does not run as Python is exit 3."""
    from envcheck.errors import CannotRunError
    from envcheck.probes import collect

    if python:
        _check_python(python)
    snapshot = collect(quick=quick, python=python, timeout=timeout)
    if python and snapshot.torch.status in ("failed", "timed-out"):
        raise CannotRunError(
            "could not inspect {}: {}".format(python, snapshot.torch.detail),
            hint="--python must name a Python interpreter (3.8 or later)",
        )
    return snapshot


# ------------------------------------------------------------------------------------- diagnose


@click.command("diagnose")
@_quick_option
@_python_option
@click.option("--facts", "facts_file", type=click.Path(dir_okay=False),
              help="Diagnose a facts snapshot (envcheck facts --json, or a saved diagnose --json) instead of this machine.")
@click.option("--report", "report_file", metavar="FILE|-",
              help="Diagnose a pasted bug report (collect_env, nvidia-smi, nvcc -V, pip/conda list, "
              "torch prints, error lines; - reads standard input) instead of this machine.")
@json_option
@click.option("--markdown", is_flag=True, help="Markdown for a bug report (facts JSON folded in <details>).")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="Exit 1 on errors only, or on warnings too.")
@_timeout_option
@_redact_option
def diagnose(quick, python, facts_file, report_file, as_json, markdown, fail_on, timeout, no_redact):
    """What is installed, the three CUDA versions, the GPUs, what is wrong and the fix.

    \b
      envcheck diagnose                  this machine (imports torch in a child process)
      envcheck diagnose --quick          without importing torch (well under a second)
      envcheck diagnose --python .venv/bin/python
      envcheck diagnose --facts other-machine.json
      envcheck diagnose --report issue.txt  a pasted bug report (- for stdin)
      envcheck diagnose --markdown > report.md

    With --report, only what the text states is judged: an unknown fact never produces a
    finding, and the report ends with the reply a maintainer would give.

    Exit codes: 0 no errors, 1 errors (or warnings with --fail-on warning), 2 bad input
    (also an empty, binary, over-large or unreadable report), 3 could not inspect.
    Finding codes: envcheck explain.
    """
    from envcheck.errors import InputError
    from envcheck.facts import load_facts, to_json

    if as_json and markdown:
        raise InputError("give only one of --json and --markdown")
    if facts_file and (python or quick):
        raise InputError("--facts describes a recorded machine: --python and --quick do not apply")
    if report_file and (python or quick or facts_file):
        raise InputError("--report describes a pasted report: --python, --quick and --facts do not apply")
    if report_file:
        from envcheck.reports import load_report

        snapshot = load_report(report_file)
    else:
        snapshot = load_facts(facts_file) if facts_file else _collect(quick, python, timeout)

    from envcheck.matrix import store
    from envcheck.render import diagnose_text as rd
    from envcheck.rules import diagnose as run_rules

    m = store.load()
    diag = run_rules(snapshot, m, strict=_debug())
    code = diag.exit_code(fail_on)
    answer = None
    if snapshot.report is not None:
        from envcheck.reports.reply import reply

        answer = reply(snapshot, diag)
    source = ("report {}".format("standard input" if report_file == "-" else report_file) if report_file
              else "facts {}".format(facts_file) if facts_file else "this machine")
    if markdown:
        facts_json = to_json(snapshot, redact=not no_redact)
        lines = rd.markdown(snapshot, diag, facts_json, answer.lines() if answer else None).rstrip("\n").split("\n")
        data = None
    elif as_json:
        import json

        lines = []
        data = {
            "source": source,
            "machine": rd.machine(snapshot, diag.machine),
            "diagnosis": diag.to_dict(),
            "facts": json.loads(to_json(snapshot, redact=not no_redact)),
        }
        if answer is not None:
            data["reply"] = answer.to_dict()
    else:
        import sys

        from envcheck.render import use_color

        lines = rd.text_lines(snapshot, diag, color=use_color(sys.stdout),
                              reply=answer.lines() if answer else None)
        data = None
    info = None
    if as_json:
        from envcheck.matrix import report

        info = report.data_info(m)
    finish(Outcome("diagnose", data, lines, code, [], info), as_json)


# ---------------------------------------------------------------------------------------- facts


@click.command("facts")
@_quick_option
@_python_option
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot (JSON, schema envcheck.facts/1) on stdout.")
@_redact_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the snapshot here (atomically).")
@click.option("--force", is_flag=True, help="Overwrite an existing --output file.")
@_timeout_option
def facts(quick, python, as_json, no_redact, output, force, timeout):
    """Collect a facts snapshot of this machine: a short summary, or the JSON with --json / -o.

    The snapshot is what `diagnose --facts` and `install-command --facts` read. The hostname
    and GPU UUIDs/serials are redacted unless --no-redact. With --json the snapshot itself (not
    an envelope) is printed; errors still come as one JSON envelope.
    """
    from pathlib import Path

    from envcheck.errors import OutputExistsError
    from envcheck.facts import to_json

    if output and Path(output).exists() and not force:
        raise OutputExistsError("{} exists; use --force to overwrite it".format(output))
    snapshot = _collect(quick, python, timeout)
    text = to_json(snapshot, redact=not no_redact)
    if output:
        from envcheck.files import write_atomic
        from envcheck.render import err

        write_atomic(Path(output), text, force=force)
        err("wrote {} ({}facts{})".format(
            output, "quick " if quick else "", "" if no_redact else ", redacted"))
        return  # the file is the product: nothing more on stdout
    if as_json:
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from envcheck.render import diagnose_text as rd

    finish(Outcome("facts", None, rd.facts_lines(snapshot)), False)


# -------------------------------------------------------------------------------------- explain


@click.command("explain")
@click.argument("code", required=False)
@json_option
def explain(code, as_json):
    """What a finding code means, how it is detected and how to fix it (no CODE: list them)."""
    import dataclasses

    from envcheck.errors import InputError
    from envcheck.rules.catalog import CATALOG, explain_lines, lookup

    if not code:
        lines = ["{} {:<32} {:<8} {}".format(d.code, d.name, d.severity, d.title) for d in CATALOG]
        lines.append("")
        lines.append("envcheck explain CODE (or NAME) for one of them")
        finish(Outcome("explain", [dataclasses.asdict(d) for d in CATALOG], lines), as_json)
        return
    doc = lookup(code)
    if doc is None:
        raise InputError("unknown finding code {!r}".format(code), hint="envcheck explain lists every code")
    finish(Outcome("explain", dataclasses.asdict(doc), explain_lines(doc)), as_json)


def _register() -> None:
    """Make the commands part of the CLI even when this module is imported first."""
    from envcheck import cli as _cli

    for command in (diagnose, facts, explain):
        if command.name not in _cli.cli.commands:
            _cli.cli.add_command(command)


_register()
