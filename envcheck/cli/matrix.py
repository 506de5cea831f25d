"""``envcheck matrix`` and ``envcheck matrix update``: what exists, and refreshing it."""

from __future__ import annotations

from typing import Any, Optional

import click

from envcheck.cli._options import OS_CHOICE, json_option, seconds, torch_spec_option
from envcheck.outcome import Result

__all__ = ["matrix", "matrix_update"]


@click.group(invoke_without_command=True)
@torch_spec_option
@click.option("--cuda", metavar="X.Y", help="Releases with a build for this CUDA (12.1, cu121, 12.1.1).")
@click.option("--rocm", metavar="X.Y", help="Releases with a build for this ROCm (6.2, rocm6.2).")
@click.option("--cpu", is_flag=True, help="Releases with a CPU-only build.")
@click.option("--conda", is_flag=True, help="With --cuda/--rocm/--cpu: conda packages instead of pip wheels.")
@click.option("--compute-capability", "--cc", "cc", metavar="X.Y", help="Which builds run on a GPU of this compute capability (8.6, sm_86).")
@click.option("--os", "os_name", type=OS_CHOICE, default="linux", show_default=True, help="Whose wheels' GPU code to show.")
@json_option
@click.pass_context
def matrix(ctx: click.Context, torch_spec: Optional[str], cuda: Optional[str], rocm: Optional[str], cpu: bool,
           conda: bool, cc: Optional[str], os_name: str, as_json: bool) -> Any:
    """What exists: releases, partners, Pythons, builds and the GPUs they run on.

    \b
      envcheck matrix                      every release, one line each
      envcheck matrix --torch 2.7          partners, Pythons, builds, GPU code
      envcheck matrix --cuda 12.1          which releases have a cu121 build
      envcheck matrix --cc 7.0 --torch '>=2.8'   which builds run on a V100
      envcheck matrix update               refresh the data from the package index and PyTorch's index
    """
    if ctx.invoked_subcommand is not None:
        return None
    from envcheck.matrix import report, store
    from envcheck.render import matrix_text

    q = report.MatrixQuery(torch=torch_spec, cuda=cuda, rocm=rocm, cpu=cpu, conda=conda, cc=cc, os_name=os_name)
    answer = report.matrix_answer(store.load(), q)
    return Result("matrix", answer.data, matrix_text.answer_lines(answer), 0, answer.warnings, answer.info, as_json)


@matrix.command("update")
@click.option("--write", is_flag=True, help="Write the refreshed data (atomically, after validation).")
@click.option("--output", type=click.Path(file_okay=False), help="Write to this folder instead of the user data folder (maintainers: matrices/).")
@click.option("--check", is_flag=True, help="Exit 1 when upstream has releases or builds the data lacks (for scheduled CI).")
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False), help="Read recorded index pages from this folder instead of the network.")
@click.option("--timeout", type=seconds(1.0, 600.0), default=20.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--index-url", "index_url", metavar="URL",
              help="The package index to read (default: pip's own: PIP_INDEX_URL, pip.conf, else https://pypi.org/simple).")
@json_option
def matrix_update(write: bool, output: Optional[str], check: bool, source: Optional[str], timeout: float,
                  index_url: Optional[str], as_json: bool) -> Result:
    """Refresh the data from the package index's own metadata and PyTorch's index; show what changed."""
    from envcheck.matrix import update
    from envcheck.render import matrix_text

    result = update.run(write=write, output=output, check=check, source=source, timeout=timeout,
                        package_index=index_url)
    return Result("matrix update", result.to_dict(), matrix_text.update_lines(result), result.exit_code,
                  result.warnings, result.data_info, as_json)
