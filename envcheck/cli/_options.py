"""Every option more than one command takes, defined once, and the small checks on them.

Importing this module costs click only. ``--python`` always names an interpreter (a PATH);
``--python-version X.Y`` names a target's Python. The old ``--python X.Y`` of
``install-command`` and ``requirements`` still works, with a deprecation warning
(:func:`split_python`).
"""

from __future__ import annotations

import os
from typing import Any, Callable, List, Optional, Tuple, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# Seconds for the torch child (import torch + CUDA queries). With every other probe hanging too,
# collect() returns after max(probes.QUICK_BOUND, DEFAULT_TIMEOUT + 3 s) = 13 s.
DEFAULT_TIMEOUT = 10.0

OS_CHOICE = click.Choice(["linux", "windows", "macos"])

class Seconds(click.FloatRange):
    """A number of seconds: finite (``nan`` and ``inf`` refused, which FloatRange lets through or
    turns into waits that never end) and within the range."""

    name = "seconds"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        rv = super().convert(value, param, ctx)
        if rv != rv:  # nan compares unequal to itself and slips past the range check
            self.fail("{!r} is not a number of seconds".format(value), param, ctx)
        return rv


def seconds(low: float = 1.0, high: float = 86400.0) -> Seconds:
    return Seconds(min=low, max=high)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one versioned JSON envelope on stdout.")
quick_option = click.option("--quick", is_flag=True, help="Skip importing torch in a child process (fast).")


def quiet_option(what: str = "No progress on stderr.") -> Callable[[F], F]:
    """``-q/--quiet``: less on stderr (``what`` says what; warnings that matter still show)."""
    return click.option("-q", "--quiet", is_flag=True, help=what)


force_option = click.option("--force", is_flag=True, help="Overwrite an existing --output file.")


def output_option(what: str) -> Callable[[F], F]:
    """``-o/--output FILE``: written atomically, never over an existing file without --force."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False), help=what)


redact_option = click.option("--no-redact", is_flag=True, help="Keep the hostname and GPU UUIDs/serials in the facts.")
timeout_option = click.option(
    "--timeout", type=seconds(), default=DEFAULT_TIMEOUT, show_default=True,
    help="Seconds allowed for the torch child (import torch, CUDA queries).",
)
torch_spec_option = click.option("--torch", "torch_spec", metavar="VERSION|SPEC",
                                 help="A release (2.7.1), a series (2.7) or a range ('<2.6').")


def python_option(what: str) -> Callable[[F], F]:
    """``--python PATH``: an interpreter whose torch the command works on (``what`` says how)."""
    return click.option("--python", "python", metavar="PATH", help=what)


python_version_option = click.option(
    "--python-version", "python_version", metavar="X.Y",
    help="The target's Python (default: this one, or --python's; 'any' for no constraint).",
)


def target_options(f: F) -> F:
    """The options that describe a machine, shared by install-command and requirements."""
    for opt in reversed([
        click.option("--cuda", metavar="X.Y", help="A CUDA build (12.1, cu121, 12.1.1)."),
        click.option("--rocm", metavar="X.Y", help="A ROCm build (6.2, rocm6.2) - Linux only."),
        click.option("--cpu", is_flag=True, help="The CPU-only build."),
        click.option("--driver", metavar="VERSION", envvar="ENVCHECK_DRIVER_VERSION", show_envvar=True,
                     help="The NVIDIA driver of the target (535, 535.104.05)."),
        click.option("--compute-capability", "--cc", "ccs", multiple=True, metavar="X.Y", envvar="ENVCHECK_COMPUTE_CAPABILITY",
                     show_envvar=True, help="A GPU of the target (8.6, sm_86); repeat once per GPU (in the variable: separated by spaces)."),
        python_option("Install for this interpreter (a venv's python): its Python version, and its torch when "
                      "detecting. The old --python X.Y still works (deprecated: --python-version)."),
        python_version_option,
        click.option("--os", "os_name", type=OS_CHOICE, help="The target's OS (default: this one)."),
        torch_spec_option,
        click.option("--strict-driver", is_flag=True, help="Only builds the driver fully supports (no minor-version compatibility mode)."),
        click.option("--facts", "facts_file", type=click.Path(dir_okay=False), help="Describe the target with a facts snapshot (envcheck facts --json) or a saved envcheck diagnose --json."),
    ]):
        f = opt(f)
    return f


def _path_like(value: str) -> bool:
    return "/" in value or os.sep in value or os.path.exists(value)


def split_python(python: Optional[str], python_version: Optional[str]) -> Tuple[Optional[str], Optional[str], List[str]]:
    """(interpreter path, target version, warnings) from ``--python`` and ``--python-version``.

    A ``--python`` that is no path (``3.11``, ``any``: the form before ``--python-version``
    existed) is read as ``--python-version`` with a deprecation warning (and a value that is no
    version either is refused as one); a path is an interpreter.
    """
    from envcheck.errors import InputError

    if python is None or _path_like(python):
        return python, python_version, []
    if python_version is not None:
        raise InputError("--python {} and --python-version {}: give the target's Python once, as --python-version"
                         .format(python, python_version))
    v = python.strip()
    return None, v, ["--python {} is deprecated for a target's Python: use --python-version {} "
                     "(--python names an interpreter)".format(v, v)]


def debug() -> bool:
    """Whether ``envcheck --debug`` was given (rules then raise instead of reporting EC007)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("debug"))
