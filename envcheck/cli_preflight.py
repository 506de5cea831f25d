"""``envcheck preflight`` and ``envcheck compare``: thin click commands.

Registered by :mod:`envcheck.cli` (``cli.add_command(preflight)``, ``cli.add_command(compare)``).
At import time this module imports click, envcheck.cli's helpers and envcheck.errors only; the
work lives in :mod:`envcheck.preflight` and is imported inside the commands. torch is imported only by the
``--distributed`` path, inside the rank process.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from typing import Iterator, Mapping

import click

from envcheck.cli import Outcome, finish, json_option
from envcheck.errors import EnvcheckError, InputError

__all__ = ["preflight", "compare"]

# A node run's least --budget: collecting facts alone may take that long (NVML is given 6 s), and
# the distributed path gives its node checks the same floor.
MIN_BUDGET = 10.0

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


def _overrides(**flags) -> dict:
    out = {k: v for k, v in flags.items() if v is not None}
    return out


def _rank(env: Mapping[str, str]) -> int:
    """This process's rank as the launcher set it (RANK, SLURM_PROCID); 0 when unreadable."""
    from envcheck.preflight import launcher

    try:
        return launcher.detect(env).rank
    except InputError:
        return 0


@contextlib.contextmanager
def _errors_on_stderr_off_rank_0(distributed: bool) -> Iterator[None]:
    """Under --distributed, a rank other than 0 reports an error as one line on stderr only, with
    the same exit code: rank 0's envelope stays the only thing on the job's stdout."""
    try:
        yield
    except EnvcheckError as exc:
        debug = (click.get_current_context().find_root().obj or {}).get("debug")
        rank = _rank(os.environ) if distributed and not debug else 0
        if not rank:
            raise
        from envcheck.render import err

        err("envcheck: error: rank {}: {}".format(rank, exc.message) + (" ({})".format(exc.hint) if exc.hint else ""))
        sys.exit(exc.exit_code)


def _check_flags(budget: float, distributed: bool, dist_only: Mapping[str, object]) -> None:
    """What no threshold parser sees: the budget, and options of --distributed given without it."""
    if not math.isfinite(budget) or budget < MIN_BUDGET:
        raise InputError("--budget {:g}: expected seconds >= {:g} (collecting facts alone may take that long)"
                         .format(budget, MIN_BUDGET))
    given = [flag for flag, value in dist_only.items() if value is not None]
    if given and not distributed:
        raise InputError("{} {} only with --distributed (one rank of a torchrun or srun job)".format(
            ", ".join(given), "applies" if len(given) == 1 else "apply"))


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
@click.option("--python", "python", metavar="PATH",
              help="Judge and verify the torch of this interpreter (the jobs' venv python) instead of envcheck's own.")
@click.option("--show-config", is_flag=True, help="Print the thresholds in force and where each comes from, then exit.")
@click.option("-v", "--verbose", is_flag=True, help="Also list checks that do not apply here.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@json_option
def preflight(profile, config_path, min_gpus, gpu_model, min_gpu_memory, min_driver, min_cuda, require_torch,
              max_temperature_c, max_gpu_memory_used, min_free_ram, min_free_disk, min_shm, min_open_files,
              no_diagnose, no_verify, no_perf, strict, budget, distributed, timeout_s, backend, allreduce_sizes,
              min_busbw_intra_gbs, min_busbw_inter_gbs, python, show_config, verbose, quiet, as_json):
    """Is this node (or this cluster) ready for a PyTorch job? Pass, warn or fail, per check.

    Combines diagnose's errors, thresholds on GPUs, driver, torch and host resources, a quick
    verify and a performance sanity check. Made for a Slurm prolog (non-zero drains the node),
    a Kubernetes init container or a Docker HEALTHCHECK.
    """
    with _errors_on_stderr_off_rank_0(distributed):
        _check_flags(budget, distributed, {
            "--timeout": timeout_s, "--backend": None if backend == "auto" else backend,
            "--allreduce-sizes": allreduce_sizes, "--min-busbw-intra": min_busbw_intra_gbs,
            "--min-busbw-inter": min_busbw_inter_gbs,
        })
        if python is not None:
            if distributed:
                raise InputError("--python does not apply with --distributed: each rank is already the job's "
                                 "Python (start envcheck with it: python -m envcheck preflight --distributed)")
            from envcheck.cli_diagnose import _check_python

            _check_python(python, InputError)  # a bad flag: exit 2, so a prolog does not drain the node
        from envcheck.preflight import config
        from envcheck.render import err

        disk = {}
        for item in min_free_disk:
            path, sep, size = item.rpartition("=")
            if not sep or not path:
                raise InputError("--min-free-disk {!r}: expected PATH=SIZE (/scratch=500GB)".format(item))
            disk[path] = size
        overrides = _overrides(
            min_gpus=min_gpus, gpu_model=gpu_model, min_gpu_memory=min_gpu_memory, min_driver=min_driver,
            min_cuda=min_cuda, require_torch=require_torch, max_temperature_c=max_temperature_c,
            max_gpu_memory_used=max_gpu_memory_used, min_free_ram=min_free_ram, min_free_disk=disk or None,
            min_shm=min_shm, min_open_files=min_open_files, timeout_s=timeout_s,
            allreduce_sizes=[s.strip() for s in allreduce_sizes.split(",") if s.strip()] if allreduce_sizes else None,
            min_busbw_intra_gbs=min_busbw_intra_gbs, min_busbw_inter_gbs=min_busbw_inter_gbs,
        )
        if no_diagnose:
            overrides["diagnose"] = False
        if no_verify:
            overrides["verify"] = False
        if no_perf:
            overrides["perf"] = False
        if min_free_ram is not None:
            overrides["min_free_ram_fraction"] = 0.0
        th = config.resolve(profile, config_path, overrides)
        if distributed:
            from envcheck import faults

            rehearsal = faults.thresholds()  # one rank's thresholds, injected to rehearse a failing rank
            if rehearsal:
                th = config.with_layer(th, rehearsal, faults.VAR, "injected fault " + faults.VAR)
        if show_config:
            lines = ["thresholds in force (profile {}):".format(th.profile)]
            for key in config.FIELDS:
                lines.append("  {:<24} {:<40} from {}".format(key, config.shown(th, key), th.source_of(key)))
            finish(Outcome("preflight", {"mode": "show-config", "thresholds": th.to_dict()}, lines, 0), as_json)
            return
        progress = (lambda line: None) if quiet else err
        if distributed:
            from envcheck.preflight import dist

            result = dist.run_rank(th, backend=backend, progress=progress, strict=strict, budget=budget)
            try:
                if result.print_report:
                    finish(Outcome("preflight", result.data, result.lines, result.exit_code), as_json)
            finally:
                dist.hard_exit(result.exit_code)  # no process-group destructors at exit: they can hang
    from envcheck.preflight import node, render

    report = node.run_node(th, progress=progress, budget=budget, strict=strict, python=python)
    data = {"mode": "node", "report": report.to_dict(), "thresholds": th.to_dict()}
    finish(Outcome("preflight", data, render.node_lines(report, verbose=verbose), report.exit_code), as_json)


@click.command("compare")
@click.argument("snapshots", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--all", "show_all", is_flag=True, help="Also list the fields every snapshot agrees on.")
@json_option
def compare(snapshots, show_all, as_json):
    """Compare facts snapshots (envcheck facts --json) of many nodes: what differs, and who.

    For every field that differs, the majority value and the odd ones out. Exit 1 when
    anything that matters for a job differs (driver, CUDA, torch and its partners, GPU model,
    Python), 0 when all agree.
    """
    from envcheck.preflight import compare as cmp

    result = cmp.compare_files(list(snapshots))
    finish(Outcome("compare", result.to_dict(), cmp.text_lines(result, show_all=show_all), result.exit_code), as_json)
