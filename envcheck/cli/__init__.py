"""The command line: a click group with a lazy command table, and :func:`main`.

Each command lives in a module of this package (``matrix``, ``install``, ``diagnose``,
``verify``, ``fix``, ``preflight``) that imports click and :mod:`envcheck.cli._options` only; it
is imported when the command runs or its help is shown, so ``envcheck --help`` and ``envcheck
--version`` stay fast. A command body turns options into one library call and returns an
:class:`envcheck.outcome.Result`.

:func:`main` is the only place that writes a result or an error and the only one that leaves the
process: it renders the result (``envcheck.render.emit``), turns an ``EnvcheckError`` into one
line on stderr (or one JSON envelope on stdout with ``--json``; a traceback only with
``--debug``) and exits with the documented code.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Dict, List, Optional

import click

from envcheck import __version__
from envcheck.errors import EXIT_USAGE, EnvcheckError
from envcheck.outcome import EXIT_INTERRUPTED

__all__ = ["cli", "main", "COMMANDS", "EXIT_INTERNAL"]

EXIT_INTERNAL = 70

# name -> "module:attribute"; the module is imported only when the command is used (or listed).
COMMANDS: Dict[str, str] = {
    "diagnose": "envcheck.cli.diagnose:diagnose",
    "facts": "envcheck.cli.diagnose:facts",
    "explain": "envcheck.cli.diagnose:explain",
    "fix": "envcheck.cli.fix:fix",
    "install-command": "envcheck.cli.install:install_command",
    "requirements": "envcheck.cli.install:requirements",
    "matrix": "envcheck.cli.matrix:matrix",
    "verify": "envcheck.cli.verify:verify",
    "preflight": "envcheck.cli.preflight:preflight",
    "compare": "envcheck.cli.preflight:compare",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (click's documented lazy-loading pattern)."""

    def __init__(self, *args: Any, lazy: Optional[Dict[str, str]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            _refuse_empty_values(command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def _refuse_empty_values(command: click.Command) -> None:
    """Every option that takes a text or a path refuses an empty one (``--cuda ""``): bad input,
    exit 2, never read as "not given". Groups (``matrix update``) are walked too."""
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_flag or param.count:
            continue
        if not isinstance(param.type, (click.types.StringParamType, click.Path)):
            continue
        param.callback = _not_empty(param.callback)
    for sub in getattr(command, "commands", {}).values():
        _refuse_empty_values(sub)


def _not_empty(then: Any) -> Any:
    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        values = value if isinstance(value, (tuple, list)) else (value,)
        if any(isinstance(v, str) and not v.strip() for v in values):
            raise click.BadParameter("an empty value: give one, or leave the option out", ctx=ctx, param=param)
        return then(ctx, param, value) if then is not None else value

    return check


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


def _print_version(ctx: click.Context, _param: Any, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(_version_text())
    ctx.exit(0)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show envcheck's version and the date and newest release of its data.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> Any:
    """envcheck: make PyTorch + CUDA installs boring.

    Exit codes: 0 ok, 1 problems found, 2 bad input, 3 could not inspect or run,
    4 corrupt data, 5 network failure, 6 fix: what remains needs you, 70 internal error,
    130 interrupted (Ctrl-C, SIGTERM), 141 stdout closed before the command finished.
    """
    ctx.obj = {"debug": debug}
    if ctx.invoked_subcommand is None:  # bare `envcheck`: the help, not a usage error
        from envcheck.outcome import Result

        return Result("", lines=[ctx.get_help()])
    return None


# ------------------------------------------------------------------------------------------ main


def _wants_json(argv: List[str]) -> bool:
    return "--json" in argv


def _command_name(argv: List[str]) -> str:
    words = [a for a in argv if not a.startswith("-")]
    return " ".join(words[:2]) if words[:1] == ["matrix"] and words[1:2] == ["update"] else (words[0] if words else "")


EXIT_PIPE = 141  # 128 + SIGPIPE, what a shell shows for a program its reader stopped reading
MAX_MESSAGE = 500  # characters of an error line: bad input can be 100,000 digits long


def _settle_streams() -> None:
    """A closed stdout or stderr (``2>&-``) becomes /dev/null: envcheck still ends with its own code."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - for the process's life


def _drop_stdout() -> None:
    """The reader closed the pipe: send what is left to /dev/null so the exit flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout is not a file descriptor
        pass


def _say(line: str) -> None:
    """One line on stderr, never an error of its own (stderr may be closed or a full disk)."""
    from envcheck.render import err

    err(line)


def _catch_signals() -> Dict[int, Any]:
    """Ctrl-C (SIGINT) and SIGTERM both stop envcheck the same way: KeyboardInterrupt in the main
    thread, so every child is killed and the exit is 130 with "interrupted". SIGINT is caught even
    when the shell started envcheck with it ignored (a background job of a script)."""
    import signal

    def terminated(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous: Dict[int, Any] = {}
    try:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, terminated)
    except (ValueError, OSError):  # not the main thread (an embedding program): leave them be
        pass
    return previous


def _restore_signals(previous: Dict[int, Any]) -> None:
    import signal

    for sig, handler in previous.items():
        try:
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        except (ValueError, OSError, TypeError):  # pragma: no cover
            pass


def _kill_children() -> None:
    """Kill every child still running; a command that started none never imports envcheck.proc."""
    proc = sys.modules.get("envcheck.proc")
    if proc is not None:
        proc.kill_running()


def _interrupted(args: List[str], as_json: bool) -> None:
    """Children killed, then one line on stderr (and, with --json, the one envelope its contract
    promises, status "error"): nothing that reads as a finished, passing run. A second Ctrl-C
    while it cleans up is ignored, so it cannot end in a traceback."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):  # not the main thread
            pass
    _kill_children()
    if as_json:
        try:
            _write_failure(args, True, "interrupted", "interrupted before the command finished", EXIT_INTERRUPTED, None)
        except OSError:
            pass
    _say("envcheck: interrupted")
    sys.exit(EXIT_INTERRUPTED)


def _leave(result: Any) -> None:
    """Render a command's result and exit with its code (``os._exit`` where it asks for a hard exit).

    A reader that stops reading (``envcheck matrix | head``) ends the output quietly and the exit
    code is still the command's; stdout that cannot be written (a full disk) is one line, exit 3.
    """
    from envcheck.errors import EXIT_CANNOT_RUN
    from envcheck.render import emit

    code = result.exit_code
    try:
        emit(result)
    except BrokenPipeError:
        _drop_stdout()
    except OSError as exc:
        _say(f"envcheck: error: could not write the output: {exc.strerror or exc}")
        code = EXIT_CANNOT_RUN
    finally:
        if result.hard_exit:  # a distributed rank: no process-group destructors at exit, they can hang
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(code)
    sys.exit(code)


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point: run the CLI, render its result and map every failure to a documented exit code.

    It always ends in ``SystemExit`` with that code; the signal handlers it sets (Ctrl-C and
    SIGTERM as an interrupt) are put back as it leaves, for a program that calls it in-process.
    """
    previous = _catch_signals()
    try:
        _main(argv)
    finally:
        _restore_signals(previous)
        _kill_children()  # however it ends (a closed pipe, an internal error): no child left behind


def _main(argv: Optional[List[str]]) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    _settle_streams()
    debug = "--debug" in args
    as_json = _wants_json(args)
    if os.environ.get("ENVCHECK_FAULT"):  # a rehearsal: refuse a malformed one, say it is on
        from envcheck import faults

        try:
            entries = faults.check()
        except faults.FaultSpecError as exc:
            _fail(args, as_json, "input", str(exc), EXIT_USAGE, hint="README: Rehearsing failures")
        if entries:  # a value of only separators injects nothing
            _say("envcheck: warning: {}".format(faults.describe()))
    try:
        result = cli.main(args=args, prog_name="envcheck", standalone_mode=False)
        if isinstance(result, int):  # ctx.exit(code): --version, --help
            sys.exit(result)
        if result is not None:
            _leave(result)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:  # click's word for Ctrl-C, or end of input at a prompt
        if isinstance(exc.__context__, KeyboardInterrupt):
            _interrupted(args, as_json)
        _say("envcheck: aborted")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:  # usage errors: unknown option, bad choice...
        _fail(args, as_json, "usage", exc.format_message(), EXIT_USAGE, hint="see envcheck --help")
    except EnvcheckError as exc:
        if debug:
            raise
        if getattr(exc, "stderr_only", False):  # a distributed rank other than 0: rank 0 owns stdout
            as_json = False
        _fail(args, as_json, exc.kind, exc.message, exc.exit_code, hint=exc.hint)
    except KeyboardInterrupt:
        _interrupted(args, as_json)
    except SystemExit:
        raise
    except BrokenPipeError:  # the reader left before the command finished (`envcheck fix | head`)
        _drop_stdout()
        sys.exit(EXIT_PIPE)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        _fail(args, as_json, "internal", f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", EXIT_INTERNAL)
    sys.exit(0)


def _fail(args: List[str], as_json: bool, kind: str, message: str, code: int, hint: Optional[str] = None) -> None:
    if len(message) > MAX_MESSAGE:
        message = "{}... ({:,} characters in all)".format(message[:MAX_MESSAGE], len(message))
    try:
        _write_failure(args, as_json, kind, message, code, hint)
    except BrokenPipeError:
        _drop_stdout()
    except OSError:
        pass
    sys.exit(code)


def _write_failure(args: List[str], as_json: bool, kind: str, message: str, code: int, hint: Optional[str]) -> None:
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
        _say(line)
