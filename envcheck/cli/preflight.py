"""``envcheck preflight`` and ``envcheck compare``.

At import time this module imports click and the CLI's shared options only; the work lives in
:mod:`envcheck.preflight` (its options and their rules in :mod:`envcheck.preflight.options`) and
is imported inside the commands. torch is imported only by the ``--distributed`` path, inside the
rank process.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Mapping, Tuple

import click

from envcheck.cli._options import debug, json_option, python_option, quiet_option
from envcheck.errors import EnvcheckError, InputError
from envcheck.outcome import Result

__all__ = ["preflight", "compare"]

EXAMPLES = """
\b
  envcheck preflight                                   the default profile
  envcheck preflight --profile h100-sxm --json         a shipped profile, JSON for fleet tools
  envcheck preflight --config preflight.toml           your thresholds (TOML or JSON)
  envcheck preflight --min-gpus 8 --min-gpu-memory 80GB --min-driver 570 --require-torch '>=2.6'
  torchrun --nnodes 4 --nproc-per-node 8 -m envcheck preflight --distributed
  srun --ntasks-per-node 8 envcheck preflight --distributed

\b
Exit codes: 0 every check passed (warnings allowed unless --strict), 1 a check failed,
2 bad options or config, 3 a check could not run (never counted as a pass).
Thresholds and where their numbers come from: envcheck/preflight/README.md.
"""


def _rank(env: Mapping[str, str]) -> int:
    """This process's rank as the launcher set it (RANK, SLURM_PROCID); 0 when unreadable."""
    from envcheck.preflight import launcher

    try:
        return launcher.detect(env).rank
    except InputError:
        return 0


class RankError(EnvcheckError):
    """An error of a distributed rank other than 0: one line on stderr only (never an envelope),
    with the same exit code, so rank 0's envelope stays the only thing on the job's stdout."""

    stderr_only = True

    def __init__(self, rank: int, exc: EnvcheckError) -> None:
        super().__init__("rank {}: {}".format(rank, exc.message), hint=exc.hint)
        self.exit_code = exc.exit_code
        self.kind = exc.kind


@contextlib.contextmanager
def _errors_off_rank_0(distributed: bool) -> Iterator[None]:
    try:
        yield
    except EnvcheckError as exc:
        rank = _rank(os.environ) if distributed and not debug() else 0
        if not rank:
            raise
        raise RankError(rank, exc) from exc


@click.command("preflight", epilog=EXAMPLES)
@click.option("--profile", metavar="NAME", help="A named profile (default, h100-sxm, a100-sxm, cpu, or one in --config).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Thresholds in TOML or JSON; flags override it.")
@click.option("--min-gpus", type=int, help="GPUs the node must have.")
@click.option("--gpu-model", metavar="TEXT|/REGEX/", help="Every GPU's NVML name must contain this.")
@click.option("--min-gpu-memory", metavar="SIZE", help="Memory per GPU (80GB = 80e9 bytes; 80GiB = 80 x 2^30).")
@click.option("--min-driver", metavar="VERSION", help="Lowest NVIDIA driver (570, 570.133.20).")
@click.option("--min-cuda", metavar="X.Y", help="Lowest CUDA the driver must support.")
@click.option("--require-torch", metavar="SPEC", help="torch version specifier ('>=2.6').")
@click.option("--max-temperature", "max_temperature_c", type=int, metavar="C", help="Hottest a GPU may be before work starts.")
@click.option("--max-gpu-memory-used", metavar="SIZE", help="GPU memory other processes may already hold.")
@click.option("--min-free-ram", metavar="SIZE", help="Available host memory.")
@click.option("--min-free-disk", multiple=True, metavar="PATH=SIZE", help="Free space on a path; repeat per path.")
@click.option("--min-shm", metavar="SIZE", help="Size of /dev/shm.")
@click.option("--min-open-files", type=int, help="Soft limit on open files (ulimit -n).")
@click.option("--no-diagnose", is_flag=True, help="Skip envcheck diagnose's rules.")
@click.option("--no-verify", is_flag=True, help="Skip the quick verify.")
@click.option("--no-perf", is_flag=True, help="Skip the performance sanity check.")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("--budget", type=float, default=55.0, show_default=True,
              help="Seconds for a node run, all steps together (at least 10).")
@click.option("--distributed", is_flag=True, help="One rank of a job started by torchrun or srun: node, GPU and collective checks; rank 0 prints the cluster report.")
@click.option("--timeout", "timeout_s", type=float, metavar="SECONDS", help="--distributed: bound on joining, each collective and the gather.")
@click.option("--backend", type=click.Choice(["auto", "nccl", "gloo"]), default="auto", show_default=True, help="--distributed: NCCL on GPUs, gloo on CPUs.")
@click.option("--allreduce-sizes", metavar="SIZES", help="--distributed: comma-separated message sizes (1MiB,16MiB,256MiB).")
@click.option("--min-busbw-intra", "min_busbw_intra_gbs", type=float, metavar="GB/S", help="--distributed: all-reduce bus bandwidth within a node.")
@click.option("--min-busbw-inter", "min_busbw_inter_gbs", type=float, metavar="GB/S", help="--distributed: all-reduce bus bandwidth across nodes.")
@python_option("Judge and verify the torch of this interpreter (the jobs' venv python) instead of envcheck's own.")
@click.option("--show-config", is_flag=True, help="Print the thresholds in force and where each comes from, then exit.")
@click.option("-v", "--verbose", is_flag=True, help="Also list checks that do not apply here.")
@quiet_option()
@json_option
def preflight(quiet: bool, as_json: bool, **flags: Any) -> Result:
    """Is this node (or this cluster) ready for a PyTorch job? Pass, warn or fail, per check.

    Combines diagnose's errors, thresholds on GPUs, driver, torch and host resources, a quick
    verify and a performance sanity check. Made for a Slurm prolog (non-zero drains the node),
    a Kubernetes init container or a Docker HEALTHCHECK.
    """
    from envcheck.preflight.options import PreflightOptions
    from envcheck.render import err, preflight_text

    progress = (lambda line: None) if quiet else err
    with _errors_off_rank_0(flags["distributed"]):
        opts = PreflightOptions.from_flags(**flags)
        th = opts.thresholds
        if opts.show_config:
            return Result("preflight", {"mode": "show-config", "thresholds": th.to_dict()},
                          preflight_text.config_lines(th), as_json=as_json)
        if opts.distributed:
            from envcheck.preflight import dist

            r = dist.run_rank(th, backend=opts.backend, progress=progress, strict=opts.strict, budget=opts.budget)
            lines = preflight_text.rank_lines(r.data) if r.print_report else []
            return Result("preflight", r.data, lines, r.exit_code, as_json=as_json, quiet=not r.print_report,
                          hard_exit=True)  # no process-group destructors at exit: they can hang
    from envcheck.preflight import node

    report = node.run_node(th, progress=progress, budget=opts.budget, strict=opts.strict, python=opts.python)
    data = {"mode": "node", "report": report.to_dict(), "thresholds": th.to_dict()}
    return Result("preflight", data, preflight_text.node_lines(report, verbose=opts.verbose), report.exit_code,
                  as_json=as_json)


@click.command("compare")
@click.argument("snapshots", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--all", "show_all", is_flag=True, help="Also list the fields every snapshot agrees on.")
@json_option
def compare(snapshots: Tuple[str, ...], show_all: bool, as_json: bool) -> Result:
    """Compare facts snapshots (envcheck facts --json) of many nodes: what differs, and who.

    For every field that differs, the majority value and the odd ones out. Exit 1 when
    anything that matters for a job differs (driver, CUDA, torch and its partners, GPU model,
    Python), 0 when all agree.
    """
    from envcheck.preflight import compare as cmp
    from envcheck.render import preflight_text

    result = cmp.compare_files(list(snapshots))
    return Result("compare", result.to_dict(), preflight_text.compare_lines(result, show_all=show_all),
                  result.exit_code, as_json=as_json)


