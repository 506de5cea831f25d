"""``envcheck verify``: run real work on every device and check the answers.

Registered by ``envcheck.cli`` (``cli.add_command(cli_verify.verify)``). Glue only: the work is
in :mod:`envcheck.verify`, imported when the command runs.
"""

from __future__ import annotations

import click

from envcheck.cli import Outcome, finish, json_option

__all__ = ["verify"]


@click.command("verify")
@click.option("--device", "devices", multiple=True, metavar="DEVICE",
              help="cpu, cuda (every GPU) or cuda:N; repeat for several. Default: every visible GPU, "
                   "or the CPU when there is none.")
@click.option("--perf", is_flag=True,
              help="Also measure matmul TFLOP/s and copy bandwidths against the GPU's datasheet.")
@click.option("--timeout", type=click.FloatRange(min=1.0), metavar="SECONDS",
              help="Per device process (default 120, 300 with --perf); a check that hangs is killed then.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@json_option
def verify(devices, perf, timeout, quiet, as_json):
    """Run real work on each device and check the answers.

    \b
    Each device gets its own process (all at once) with a timeout: tensors and copies
    (bit-exact, pinned memory), fp32/TF32/fp16/bf16 matmuls against a float64 CPU reference,
    an MLP's gradients, a cuDNN convolution, a memory test; with several GPUs, peer-to-peer
    copies and an NCCL all-reduce. Failures are named: no kernel image, out of memory,
    illegal address, ECC, NCCL, timeout, crash.

    \b
      envcheck verify                       every visible GPU (or the CPU)
      envcheck verify --device cuda:1 --json
      envcheck verify --device cpu          proves the torch install itself works
      envcheck verify --perf                plus TFLOP/s and bandwidth against the datasheet

    Exit codes: 0 all passed, 1 a check failed, 2 bad input (no such device), 3 could not run
    (torch missing or broken, CUDA unusable for a GPU asked for).
    """
    from envcheck.render import err
    from envcheck.verify import render, run

    progress = None if quiet else err
    report = run.verify(devices, perf=perf, timeout=timeout, progress=progress)
    finish(Outcome("verify", report.to_dict(), render.text_lines(report), report.exit_code, report.warnings), as_json)
