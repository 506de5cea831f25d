"""``envcheck verify``: run real work on every device and check the answers.

Glue only: the work is in :mod:`envcheck.verify`, the text in :mod:`envcheck.render.verify_text`,
both imported when the command runs.
"""

from __future__ import annotations

from typing import Optional, Tuple

import click

from envcheck.cli._options import json_option, quiet_option, seconds
from envcheck.outcome import Result

__all__ = ["verify"]


@click.command("verify")
@click.option("--device", "devices", multiple=True, metavar="DEVICE",
              help="cpu, cuda (every GPU) or cuda:N; repeat for several. Default: every visible GPU, "
                   "or the CPU when there is none.")
@click.option("--perf", is_flag=True,
              help="Also measure matmul TFLOP/s and copy bandwidths against the GPU's datasheet.")
@click.option("--timeout", type=seconds(), metavar="SECONDS",
              help="Per device process (default 120, 300 with --perf); a check that hangs is killed then.")
@quiet_option()
@json_option
def verify(devices: Tuple[str, ...], perf: bool, timeout: Optional[float], quiet: bool, as_json: bool) -> Result:
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
    from envcheck.render import err, verify_text
    from envcheck.verify import run

    report = run.verify(devices, perf=perf, timeout=timeout, progress=None if quiet else err)
    return Result("verify", report.to_dict(), verify_text.text_lines(report), report.exit_code, report.warnings,
                  as_json=as_json)
