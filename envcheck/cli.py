"""Thin click commands: parse options, call one library function, render, exit.

Everything heavy is imported inside the command that needs it, so ``envcheck --help`` and
``envcheck --version`` stay fast. Errors are ``EnvcheckError`` subclasses carrying their exit
code; :func:`main` is the only place that turns them into an exit status (one line on stderr,
or one JSON envelope on stdout with ``--json``; a traceback only with ``--debug``).
"""

from __future__ import annotations

import os
import sys

import click

from envcheck import __version__
from envcheck.errors import EXIT_USAGE, EnvcheckError

EXIT_INTERNAL = 70

json_option = click.option("--json", "as_json", is_flag=True, help="Print one versioned JSON envelope on stdout.")
os_choice = click.Choice(["linux", "windows", "macos"])


class Outcome:
    """What a command produced: data for JSON, lines for text, and the exit code."""

    def __init__(self, command: str, data, lines: list[str], exit_code: int = 0, warnings=None, data_info=None):
        self.command = command
        self.data = data
        self.lines = lines
        self.exit_code = exit_code
        self.warnings = list(warnings or [])
        self.data_info = data_info


def finish(outcome: Outcome, as_json: bool) -> None:
    from envcheck.render import emit_json, envelope, err

    if as_json:
        emit_json(
            envelope(
                outcome.command,
                exit_code=outcome.exit_code,
                data=outcome.data,
                warnings=outcome.warnings,
                data_info=outcome.data_info,
            )
        )
    else:
        out = sys.stdout
        for line in outcome.lines:
            out.write(line + "\n")
        out.flush()
        for w in outcome.warnings:
            err(f"envcheck: warning: {w}")
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


def _version_text() -> str:
    from envcheck.matrix import store

    try:
        m = store.load()
    except EnvcheckError as exc:
        return f"envcheck {__version__}\ndata: unusable ({exc.message})"
    from envcheck.matrix.report import age_words

    i = m.info
    origin = "refreshed" if i.origin == "user" else "shipped"
    return (
        f"envcheck {__version__}\n"
        f"data: {origin}, updated {i.updated[:10]} ({age_words(i.updated)}), newest torch {i.newest_release} "
        f"({i.releases} releases) from {i.directory}"
    )


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(_version_text())
    ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show envcheck's version and the date and newest release of its data.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """envcheck: make PyTorch + CUDA installs boring.

    Exit codes: 0 ok, 1 problems found, 2 bad input, 3 could not inspect or run,
    4 corrupt data, 5 network failure, 70 internal error.
    """
    ctx.obj = {"debug": debug}
    if ctx.invoked_subcommand is None:  # bare `envcheck`: the help, not a usage error
        click.echo(ctx.get_help())


# ---------------------------------------------------------------------------------------- matrix


@cli.group(invoke_without_command=True)
@click.option("--torch", "torch_spec", metavar="VERSION|SPEC", help="A release (2.7.1), a series (2.7) or a range ('<2.6').")
@click.option("--cuda", metavar="X.Y", help="Releases with a build for this CUDA (12.1, cu121, 12.1.1).")
@click.option("--rocm", metavar="X.Y", help="Releases with a build for this ROCm (6.2, rocm6.2).")
@click.option("--cpu", is_flag=True, help="Releases with a CPU-only build.")
@click.option("--conda", is_flag=True, help="With --cuda/--rocm/--cpu: conda packages instead of pip wheels.")
@click.option("--compute-capability", "--cc", "cc", metavar="X.Y", help="Which builds run on a GPU of this compute capability (8.6, sm_86).")
@click.option("--os", "os_name", type=os_choice, default="linux", show_default=True, help="Whose wheels' GPU code to show.")
@json_option
@click.pass_context
def matrix(ctx, torch_spec, cuda, rocm, cpu, conda, cc, os_name, as_json):
    """What exists: releases, partners, Pythons, builds and the GPUs they run on.

    \b
      envcheck matrix                      every release, one line each
      envcheck matrix --torch 2.7          partners, Pythons, builds, GPU code
      envcheck matrix --cuda 12.1          which releases have a cu121 build
      envcheck matrix --cc 7.0 --torch '>=2.8'   which builds run on a V100
      envcheck matrix update               refresh the data from the package index and PyTorch's index
    """
    if ctx.invoked_subcommand is not None:
        return
    from envcheck.errors import InputError
    from envcheck.matrix import query, report, store
    from envcheck.matrix.variants import Variant, parse_cc, parse_cuda, parse_rocm
    from envcheck.render import matrix_text

    picked = [x for x in (cuda, rocm, cpu or None) if x]
    if len(picked) > 1:
        raise InputError("give only one of --cuda, --rocm and --cpu")
    m = store.load()
    info = report.data_info(m)
    warnings: list[str] = []
    releases = query.find_releases(m, torch_spec) if torch_spec else list(m.releases)
    if picked:
        variant = parse_cuda(cuda) if cuda else parse_rocm(rocm) if rocm else Variant("cpu")
        having = query.releases_with(m, variant, conda=conda)
        chosen = [r for r in releases if r in having]
        if not chosen:
            raise query.no_such_build(releases, variant, having, conda=conda)
        rows = [r for r in report.overview(m, conda=conda) if any(r["torch"] == c.torch for c in chosen)]
        what = "conda packages" if conda else "pip wheels"
        off = [r for r in chosen if not conda and not r.on_selector(variant)]
        offside = f" ({len(off)} of them off the install selector)" if off else ""
        lines = [f"{variant.describe()} ({variant.label}) {what} exist for {len(chosen)} releases{offside}:"]
        lines += matrix_text.overview_text(rows)
        data = {"variant": variant.label, "conda": conda, "releases": rows}
        for r in chosen:
            warnings += query.caveats(r)
    elif cc:
        gpu = parse_cc(cc)
        from envcheck.matrix.archs import generation

        rows = report.gpu_entry(m, releases, gpu, os_name)
        lines = matrix_text.gpu_text(str(gpu), generation(gpu), rows)
        data = {"compute_capability": str(gpu), "generation": generation(gpu), "os": os_name, "releases": rows}
    elif torch_spec:
        entries = [report.release_entry(m, r, os_name) for r in releases]
        lines = []
        for e in entries:
            lines += matrix_text.release_text(e) + [""]
        data = {"releases": entries}
    else:
        rows = report.overview(m)
        lines = matrix_text.overview_text(rows)
        data = {"releases": rows}
    lines.append(matrix_text.info_line(info))
    finish(Outcome("matrix", data, lines, 0, sorted(set(warnings)), info), as_json)


@matrix.command("update")
@click.option("--write", is_flag=True, help="Write the refreshed data (atomically, after validation).")
@click.option("--output", type=click.Path(file_okay=False), help="Write to this folder instead of the user data folder (maintainers: matrices/).")
@click.option("--check", is_flag=True, help="Exit 1 when upstream has releases or builds the data lacks (for scheduled CI).")
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False), help="Read recorded index pages from this folder instead of the network.")
@click.option("--timeout", type=float, default=20.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--index-url", "index_url", metavar="URL",
              help="The package index to read (default: pip's own: PIP_INDEX_URL, pip.conf, else https://pypi.org/simple).")
@json_option
def matrix_update(write, output, check, source, timeout, index_url, as_json):
    """Refresh the data from the package index's own metadata and PyTorch's index; show what changed."""
    from envcheck.matrix import update

    result = update.run(write=write, output=output, check=check, source=source, timeout=timeout,
                        package_index=index_url)
    finish(Outcome("matrix update", result.to_dict(), result.text_lines(), result.exit_code,
                   result.warnings, result.data_info), as_json)


# ------------------------------------------------------------------------------- install target


def target_options(f):
    """The options that describe a machine, shared by install-command and requirements."""
    for opt in reversed([
        click.option("--cuda", metavar="X.Y", help="A CUDA build (12.1, cu121, 12.1.1)."),
        click.option("--rocm", metavar="X.Y", help="A ROCm build (6.2, rocm6.2) - Linux only."),
        click.option("--cpu", is_flag=True, help="The CPU-only build."),
        click.option("--driver", metavar="VERSION", envvar="ENVCHECK_DRIVER_VERSION", show_envvar=True,
                     help="The NVIDIA driver of the target (535, 535.104.05)."),
        click.option("--compute-capability", "--cc", "ccs", multiple=True, metavar="X.Y", envvar="ENVCHECK_COMPUTE_CAPABILITY",
                     show_envvar=True, help="A GPU of the target (8.6, sm_86); repeat once per GPU (in the variable: separated by spaces)."),
        click.option("--python", "python", metavar="X.Y", help="The target's Python (default: this one; 'any' for no constraint)."),
        click.option("--os", "os_name", type=os_choice, help="The target's OS (default: this one)."),
        click.option("--torch", "torch_spec", metavar="VERSION|SPEC", help="A release (2.7.1), a series (2.7) or a range ('<2.6')."),
        click.option("--strict-driver", is_flag=True, help="Only builds the driver fully supports (no minor-version compatibility mode)."),
        click.option("--facts", "facts_file", type=click.Path(dir_okay=False), help="Describe the target with a facts snapshot (envcheck facts --json) or a saved envcheck diagnose --json."),
    ]):
        f = opt(f)
    return f


def _check_environment(driver, ccs) -> None:
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


def _resolve(cuda, rocm, cpu, driver, ccs, python, os_name, torch_spec, strict_driver, facts_file, manager="pip"):
    """Load the data, work out the target (given, from facts, or this machine) and choose."""
    from envcheck.install import choose as ch
    from envcheck.matrix import store

    m = store.load()
    _check_environment(driver, ccs)
    flags = dict(cuda=cuda, rocm=rocm, cpu=cpu, driver=driver, ccs=tuple(ccs), python=python,
                 os_name=os_name, torch=torch_spec, strict_driver=strict_driver, manager=manager)
    if facts_file or not any((driver, ccs, cuda, rocm, cpu)):
        # Detection: a --facts file, else this machine through diagnose --quick's probes.
        from envcheck.install import target as tg

        source = f"facts {facts_file}" if facts_file else "this machine"
        t = tg.from_machine(tg.machine_for(facts_file), source=source).with_flags(**flags)
    else:
        t = ch.target_from_options(**flags)
    return m, ch.choose(m, t)


def _explain(choice, manager: str = "pip") -> list[str]:
    lines = choice.target.describe()
    rel, v = choice.release, choice.variant
    off = "" if rel.on_selector(v) else ", not on the install selector"
    lines.append(f"choice: torch {rel.torch} ({v.describe()}, {v.label}) [{rel.confidence} data]{off}")
    lines += [f"  because {r}" for r in choice.reasons]
    shown = 0
    for r in choice.rejected:
        if shown >= 8:
            lines.append(f"  ... and {len(choice.rejected) - shown} more rejected alternatives (--json lists all)")
            break
        what = f"torch {r.torch}" + (f" {r.variant}" if r.variant else "")
        lines.append(f"  not {what}: {r.reason}")
        shown += 1
    lines += [f"WARNING: {w}" for w in choice.warnings]
    alt = _alternative(choice, manager)
    if alt is not None:
        lines.append(f"alternative, fully supported: {alt['command']}")
    lines += [f"note: {c}" for c in choice.caveats]
    return lines


@cli.command("install-command")
@target_options
@click.option("--manager", type=click.Choice(["pip", "uv", "conda"]), default="pip", show_default=True)
@click.option("--pyproject", is_flag=True, help="With --manager uv: print the pyproject.toml snippet instead.")
@click.option("-q", "--quiet", is_flag=True, help="Only the command; no explanation on stderr.")
@json_option
def install_command(cuda, rocm, cpu, driver, ccs, python, os_name, torch_spec, strict_driver, facts_file, manager, pyproject, quiet, as_json):
    """The command that installs the right torch, torchvision and torchaudio, and why.

    stdout carries only the command, so $(envcheck install-command) works; the explanation
    goes to stderr.
    """
    from envcheck.errors import InputError
    from envcheck.install import commands
    from envcheck.matrix import report
    from envcheck.render import err

    if pyproject and manager != "uv":
        raise InputError("--pyproject is for --manager uv (it prints a [tool.uv] snippet)")
    m, choice = _resolve(cuda, rocm, cpu, driver, ccs, python, os_name, torch_spec, strict_driver, facts_file, manager)
    rel, v, t = choice.release, choice.variant, choice.target
    plan = commands.choice_plan(choice)
    pip_cmd = commands.pip_command(plan)
    notes = list(plan.notes)
    data = {"target": _target_dict(t), "choice": choice.to_dict(), "manager": manager, "pip": pip_cmd}
    if choice.alternative is not None:
        data["choice"]["alternative"] = _alternative(choice, manager)
    if manager == "uv":
        cmd, alt = commands.uv_command(plan, rel, v)
        if alt:
            notes.append(f"for a uv that does not know --torch-backend={v.label} yet: {alt}")
        data["uv"] = cmd
        data["uv_index_form"] = alt
        if pyproject:
            cmd = commands.uv_pyproject(plan, v).rstrip("\n")
            data["pyproject"] = cmd
    elif manager == "conda":
        route = commands.conda_route(m.releases, rel, v, t.os)
        data["conda"] = route.command
        if route.command is None:
            data["conda_forge"] = route.forge
            notes += route.notes
        cmd = route.command or pip_cmd
    else:
        cmd = pip_cmd
    data["command"] = cmd
    data["notes"] = notes
    if not as_json and not quiet:
        for line in _explain(choice, manager) + [f"note: {n}" for n in notes]:
            err(line)
    elif not as_json:
        _say_loud(choice, manager)
    # A build asked for that cannot run here: the command is printed, but it is a problem (exit 1).
    code = 1 if choice.will_not_run else 0
    finish(Outcome("install-command", data, [cmd], code, [] if not as_json else choice.warnings, report.data_info(m)), as_json)


def _loud(choice) -> list[str]:
    """Warnings shown even with -q: the command will not do the job, or does it only in
    compatibility mode (with the fully supported alternative)."""
    return [w for w in choice.warnings if choice.will_not_run or choice.fallback and w.startswith("NO GPU BUILD FITS")
            or choice.driver_status == "compat" and w.startswith(("runs in CUDA minor-version", "no alternative:"))]


def _say_loud(choice, manager: str = "pip") -> None:
    """With -q: only what must not go unsaid (-q hides explanations, never a warning that the
    command will not do the job, nor the fully supported alternative to compatibility mode)."""
    from envcheck.render import err

    for w in _loud(choice):
        err(f"envcheck: warning: {w}")
    alt = _alternative(choice, manager)
    if alt is not None:
        err(f"envcheck: alternative, fully supported: {alt['command']}")


def _alternative(choice, manager: str = "pip") -> dict | None:
    """The fully supported alternative to a compatibility-mode choice, with its command in the
    form of the package manager asked for."""
    from envcheck.install import commands

    alt = choice.alternative
    if alt is None:
        return None
    out = alt.summary()
    out["command"] = commands.manager_command(alt, manager)
    return out


def _target_dict(t) -> dict:
    return {
        "source": t.source, "os": t.os, "python": t.python, "driver": t.driver,
        "driver_cuda": f"{t.driver_cuda[0]}.{t.driver_cuda[1]}" if t.driver_cuda else None,
        "gpus": [str(c) for c in t.gpus], "gpu_names": list(t.gpu_names),
        "asked_for": t.want.label if t.want else None, "torch": t.torch, "detected": list(t.detected),
    }


@cli.command("requirements")
@target_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the file here (atomically); stdout otherwise.")
@click.option("--force", is_flag=True, help="Overwrite an existing --output file.")
@click.option("--check", "check_file", type=click.Path(dir_okay=False), help="Check an existing requirements file instead; exit 1 on problems.")
@click.option("-q", "--quiet", is_flag=True, help="No explanation on stderr.")
@json_option
def requirements_cmd(cuda, rocm, cpu, driver, ccs, python, os_name, torch_spec, strict_driver, facts_file, output, force, check_file, quiet, as_json):
    """A pinned requirements file for a target, or a check of an existing one."""
    from pathlib import Path

    from envcheck.files import write_atomic
    from envcheck.install import requirements as rq
    from envcheck.matrix import report, store
    from envcheck.matrix.variants import parse_cc
    from envcheck.render import err

    if check_file:
        from envcheck.errors import InputError

        conflicting = [flag for flag, value in (
            ("--cuda", cuda), ("--rocm", rocm), ("--cpu", cpu), ("--torch", torch_spec), ("--strict-driver", strict_driver),
            ("--facts", facts_file), ("-o/--output", output), ("--force", force),
        ) if value]
        if conflicting:
            raise InputError(
                f"--check reads the build and release from the file: {', '.join(conflicting)} cannot be combined with it "
                "(describe the target with --driver, --compute-capability, --python and --os)"
            )
        m = store.load()
        from envcheck.install.choose import running_os, running_python

        py = None if (python or "").lower() == "any" else (python or running_python())
        res = rq.check(m, Path(check_file), driver=driver, gpus=tuple(parse_cc(c) for c in ccs),
                       os_name=os_name or running_os(), python=py)
        lines = [f"{check_file}: " + ("consistent" if not res.problems else f"{len(res.problems)} problem(s)")]
        lines += [f"  {p.code}: {p.message}" for p in res.problems]
        lines += [f"  note: {n}" for n in res.notes]
        finish(Outcome("requirements", res.to_dict(), lines, 1 if res.problems else 0, [], report.data_info(m)), as_json)
        return
    m, choice = _resolve(cuda, rocm, cpu, driver, ccs, python, os_name, torch_spec, strict_driver, facts_file)
    if choice.will_not_run:
        from envcheck.errors import InputError

        raise InputError(f"not writing a requirements file that cannot work: {choice.warnings[0]}")
    text = rq.render(m, choice, command_line=_requirements_cmdline())
    data = {"target": _target_dict(choice.target), "choice": choice.to_dict(), "text": text, "written": None}
    if choice.alternative is not None:
        data["choice"]["alternative"] = _alternative(choice)
    if output:
        write_atomic(Path(output), text, force=force)
        data["written"] = output
        lines = []
        if not quiet:
            err(f"wrote {output}: torch {choice.release.torch} {choice.variant.label}")
    else:
        lines = text.rstrip("\n").splitlines()
    if not as_json and not quiet:
        for line in _explain(choice):
            err(line)
    elif not as_json:
        _say_loud(choice)
    finish(Outcome("requirements", data, lines, 0, choice.warnings if as_json else [], report.data_info(m)), as_json)


def _requirements_cmdline() -> str:
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


# ------------------------------------------------------------------- diagnose, facts, explain


def _register_commands() -> None:
    """Commands that live in their own modules (each imports only click at import time)."""
    import importlib

    for module, names in (
        ("envcheck.cli_diagnose", ("diagnose", "facts", "explain")),
        ("envcheck.cli_verify", ("verify",)),
        ("envcheck.cli_fix", ("fix",)),
        ("envcheck.cli_preflight", ("preflight", "compare")),
    ):
        try:
            mod = importlib.import_module(module)
        except ImportError:  # pragma: no cover - a module not in this checkout
            continue
        for name in names:
            command = getattr(mod, name, None)
            if command is not None:
                cli.add_command(command)


_register_commands()


# ------------------------------------------------------------------------------------------ main


def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv


def _command_name(argv: list[str]) -> str:
    words = [a for a in argv if not a.startswith("-")]
    return " ".join(words[:2]) if words[:1] == ["matrix"] and words[1:2] == ["update"] else (words[0] if words else "")



def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every failure to a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    as_json = _wants_json(args)
    if os.environ.get("ENVCHECK_FAULT"):  # a rehearsal: refuse a malformed one, say it is on
        from envcheck import faults

        try:
            entries = faults.check()
        except faults.FaultSpecError as exc:
            _fail(args, as_json, "input", str(exc), EXIT_USAGE, hint="README: Rehearsing failures")
        if entries:  # a value of only separators injects nothing
            sys.stderr.write("envcheck: warning: {}\n".format(faults.describe()))
    try:
        cli.main(args=args, prog_name="envcheck", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("envcheck: aborted\n")
        sys.exit(130)
    except click.ClickException as exc:  # usage errors: unknown option, bad choice...
        _fail(args, as_json, "usage", exc.format_message(), EXIT_USAGE, hint="see envcheck --help")
    except EnvcheckError as exc:
        if debug:
            raise
        _fail(args, as_json, exc.kind, exc.message, exc.exit_code, hint=exc.hint)
    except KeyboardInterrupt:
        sys.stderr.write("envcheck: interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except BrokenPipeError:  # `envcheck matrix | head`
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        _fail(args, as_json, "internal", f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", EXIT_INTERNAL)


def _fail(args: list[str], as_json: bool, kind: str, message: str, code: int, hint: str | None = None) -> None:
    if as_json:
        from envcheck.render import emit_json, envelope

        error = {"kind": kind, "message": message}
        if hint:
            error["hint"] = hint
        emit_json(envelope(_command_name(args), exit_code=code, errors=[error]))
    else:
        line = f"envcheck: error: {message}"
        if hint:
            line += f" ({hint})"
        sys.stderr.write(line + "\n")
    sys.exit(code)


