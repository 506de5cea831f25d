"""``envcheck install-command`` and ``envcheck requirements``: what to install for a target."""

from __future__ import annotations

import sys
from typing import Any, List, Optional, Tuple

import click

from envcheck.cli._options import force_option, json_option, output_option, quiet_option, split_python, target_options
from envcheck.outcome import Result

__all__ = ["install_command", "requirements"]


def _check_environment(driver: Optional[str], ccs: Tuple[str, ...]) -> None:
    """A bad value that came from ENVCHECK_DRIVER_VERSION or ENVCHECK_COMPUTE_CAPABILITY, not
    from a flag, is named by its variable: the user may not know it is set."""
    from click.core import ParameterSource

    from envcheck.errors import InputError
    from envcheck.matrix.variants import parse_cc, parse_driver

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    for name, var, values, parse in (("driver", "ENVCHECK_DRIVER_VERSION", [driver] if driver else [], parse_driver),
                                     ("ccs", "ENVCHECK_COMPUTE_CAPABILITY", list(ccs), parse_cc)):
        if ctx.get_parameter_source(name) != ParameterSource.ENVIRONMENT:
            continue
        for value in values:
            try:
                parse(value)
            except ValueError as exc:
                raise InputError(f"{var}: {exc}", hint=f"fix or unset {var}, or give the flag") from None


def _target(manager: str = "pip", **flags: Any) -> Tuple[Any, List[str]]:
    """Typed target options from the flags (``--python X.Y`` read as ``--python-version``, with
    its deprecation warning), the environment's values checked."""
    from envcheck.install.target import TargetOptions

    python, python_version, warnings = split_python(flags.pop("python"), flags.pop("python_version"))
    _check_environment(flags["driver"], flags["ccs"])
    return TargetOptions(python=python, python_version=python_version, manager=manager,
                         torch=flags.pop("torch_spec"), ccs=tuple(flags.pop("ccs")), **flags), warnings


@click.command("install-command")
@target_options
@click.option("--manager", type=click.Choice(["pip", "uv", "conda"]), default="pip", show_default=True)
@click.option("--pyproject", is_flag=True, help="With --manager uv: print the pyproject.toml snippet instead.")
@quiet_option("Only the command; no explanation on stderr.")
@json_option
def install_command(manager: str, pyproject: bool, quiet: bool, as_json: bool, **flags: Any) -> Result:
    """The command that installs the right torch, torchvision and torchaudio, and why.

    stdout carries only the command, so $(envcheck install-command) works; the explanation
    goes to stderr.
    """
    from envcheck.errors import InputError
    from envcheck.install import commands, target
    from envcheck.matrix import report, store
    from envcheck.render import install_text

    if pyproject and manager != "uv":
        raise InputError("--pyproject is for --manager uv (it prints a [tool.uv] snippet)")
    opts, deprecated = _target(manager, **flags)
    m = store.load()
    choice = target.resolve(m, opts)
    answer = commands.install_answer(m, choice, manager, pyproject=pyproject)
    if as_json:
        log = []
    elif quiet:
        log = install_text.loud_lines(choice, manager)
    else:
        log = install_text.explain_lines(choice, manager) + [f"note: {n}" for n in answer.notes]
    return Result("install-command", answer.data, [answer.command], answer.exit_code,
                  deprecated + (choice.warnings if as_json else []), report.data_info(m), as_json, log=log)


def _check_alone(**given: Any) -> None:
    """--check reads the build and release from the file: the options that choose them are refused."""
    from envcheck.errors import InputError

    conflicting = [flag for flag, value in given.items() if value]
    if conflicting:
        raise InputError(
            f"--check reads the build and release from the file: {', '.join(conflicting)} cannot be combined with it "
            "(describe the target with --driver, --compute-capability, --python-version and --os)"
        )


@click.command("requirements")
@target_options
@output_option("Write the file here (atomically); stdout otherwise.")
@force_option
@click.option("--check", "check_file", type=click.Path(dir_okay=False), help="Check an existing requirements file instead; exit 1 on problems.")
@quiet_option("No explanation on stderr.")
@json_option
def requirements(output: Optional[str], force: bool, check_file: Optional[str], quiet: bool, as_json: bool,
                 **flags: Any) -> Result:
    """A pinned requirements file for a target, or a check of an existing one."""
    from envcheck.install import requirements as rq
    from envcheck.install import target
    from envcheck.matrix import report, store
    from envcheck.render import install_text

    if check_file:
        _check_alone(**{"--cuda": flags["cuda"], "--rocm": flags["rocm"], "--cpu": flags["cpu"],
                        "--torch": flags["torch_spec"], "--strict-driver": flags["strict_driver"],
                        "--facts": flags["facts_file"], "-o/--output": output, "--force": force})
    opts, deprecated = _target(**flags)
    m = store.load()
    if check_file:
        res = rq.check_for(m, check_file, opts)
        return Result("requirements", res.to_dict(), install_text.check_lines(check_file, res), res.exit_code,
                      deprecated, report.data_info(m), as_json)
    choice = target.resolve(m, opts)
    written = rq.write(m, choice, output, force=force, command_line=_command_line())
    lines = [] if output else written.text.rstrip("\n").splitlines()
    log = [f"wrote {output}: torch {choice.release.torch} {choice.variant.label}"] if output and not quiet else []
    if not as_json:
        log += install_text.loud_lines(choice) if quiet else install_text.explain_lines(choice)
    return Result("requirements", written.data, lines, 0, deprecated + (choice.warnings if as_json else []),
                  report.data_info(m), as_json, log=log)


def _command_line() -> str:
    """The command that made a requirements file, for its header (no output or display flags)."""
    args = [a for a in sys.argv[1:] if a not in ("--json", "-q", "--quiet", "--force")]
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "--output"):
            skip = True
            continue
        if a.startswith("--output="):
            continue
        out.append(a)
    return "envcheck " + " ".join(out)
