"""``envcheck diagnose``, ``envcheck facts`` and ``envcheck explain``.

Probes (``envcheck.probes.collect``), rules (``envcheck.rules``) and renderers
(``envcheck.render.diagnose_text``) are imported inside the commands, so importing this module
costs only click.

Exit codes of ``diagnose``: 0 no errors (warnings allowed unless ``--fail-on warning``), 1 errors
found, 2 bad input (a malformed ``--facts`` file, conflicting options), 3 could not inspect
(``--python`` is not a working interpreter), 4 corrupt data.
"""

from __future__ import annotations

from typing import Any, Optional

import click

from envcheck.cli._options import (
    DEFAULT_TIMEOUT,
    debug,
    force_option,
    json_option,
    output_option,
    python_option,
    quick_option,
    redact_option,
    timeout_option,
)
from envcheck.outcome import Result

__all__ = ["diagnose", "facts", "explain", "DEFAULT_TIMEOUT"]


def _snapshot(quick: bool, python: Optional[str], facts_file: Optional[str], report_file: Optional[str],
              timeout: float) -> Any:
    """What diagnose reads: a pasted report, a facts file, or this machine (one of them)."""
    from envcheck.errors import InputError

    if facts_file and (python or quick):
        raise InputError("--facts describes a recorded machine: --python and --quick do not apply")
    if report_file and (python or quick or facts_file):
        raise InputError("--report describes a pasted report: --python, --quick and --facts do not apply")
    if report_file:
        from envcheck.reports import load_report

        return load_report(report_file)
    if facts_file:
        from envcheck.facts import load_facts

        return load_facts(facts_file)
    from envcheck.probes import collect_checked

    return collect_checked(quick, python, timeout)


@click.command("diagnose")
@quick_option
@python_option("Inspect the torch of this interpreter (a venv's python) instead of envcheck's own.")
@click.option("--facts", "facts_file", type=click.Path(dir_okay=False),
              help="Diagnose a facts snapshot (envcheck facts --json, or a saved diagnose --json) instead of this machine.")
@click.option("--report", "report_file", metavar="FILE|-",
              help="Diagnose a pasted bug report (collect_env, nvidia-smi, nvcc -V, pip/conda list, "
              "torch prints, error lines; - reads standard input) instead of this machine.")
@json_option
@click.option("--markdown", is_flag=True, help="Markdown for a bug report (facts JSON folded in <details>).")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="Exit 1 on errors only, or on warnings too.")
@timeout_option
@redact_option
def diagnose(quick: bool, python: Optional[str], facts_file: Optional[str], report_file: Optional[str],
             as_json: bool, markdown: bool, fail_on: str, timeout: float, no_redact: bool) -> Result:
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

    if as_json and markdown:
        raise InputError("give only one of --json and --markdown")
    snapshot = _snapshot(quick, python, facts_file, report_file, timeout)
    from envcheck.matrix import store
    from envcheck.render import diagnose_text
    from envcheck.rules import diagnose as run_rules

    m = store.load()
    diag = run_rules(snapshot, m, strict=debug())
    source = ("report {}".format("standard input" if report_file == "-" else report_file) if report_file
              else "facts {}".format(facts_file) if facts_file else "this machine")
    return diagnose_text.result(snapshot, diag, m, source=source, fail_on=fail_on,
                                fmt="json" if as_json else "markdown" if markdown else "text", redact=not no_redact)


@click.command("facts")
@quick_option
@python_option("Inspect the torch of this interpreter (a venv's python) instead of envcheck's own.")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot (JSON, schema envcheck.facts/1) on stdout.")
@redact_option
@output_option("Write the snapshot here (atomically).")
@force_option
@timeout_option
def facts(quick: bool, python: Optional[str], as_json: bool, no_redact: bool, output: Optional[str], force: bool,
          timeout: float) -> Result:
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
    from envcheck.probes import collect_checked

    snapshot = collect_checked(quick, python, timeout)
    text = to_json(snapshot, redact=not no_redact)
    if output:  # the file is the product: nothing more on stdout
        from envcheck.files import write_atomic

        write_atomic(Path(output), text, force=force)
        what = "{}facts{}".format("quick " if quick else "", "" if no_redact else ", redacted")
        return Result("facts", log=["wrote {} ({})".format(output, what)], quiet=True)
    if as_json:
        return Result("facts", raw=text)
    from envcheck.render import diagnose_text

    return Result("facts", lines=diagnose_text.facts_lines(snapshot))


@click.command("explain")
@click.argument("code", required=False)
@json_option
def explain(code: Optional[str], as_json: bool) -> Result:
    """What a finding code means, how it is detected and how to fix it (no CODE: list them)."""
    import dataclasses

    from envcheck.errors import InputError
    from envcheck.render.explain_text import explain_lines, list_lines
    from envcheck.rules.catalog import CATALOG, lookup

    if not code:
        return Result("explain", [dataclasses.asdict(d) for d in CATALOG], list_lines(), as_json=as_json)
    doc = lookup(code)
    if doc is None:
        raise InputError("unknown finding code {!r}".format(code), hint="envcheck explain lists every code")
    return Result("explain", dataclasses.asdict(doc), explain_lines(doc), as_json=as_json)
