"""Runtime verification: real work on each device, in child processes, with the answers checked.

* :func:`verify` (``envcheck verify``): the correctness suite on every device at once, then
  peer-to-peer copies and an all-reduce across GPUs; returns a
  :class:`~envcheck.verify.model.VerifyReport`.
* :func:`perf_sanity` (``envcheck verify --perf``, reused by preflight): matmul TFLOP/s and copy
  bandwidths judged against the GPU table (``matrices/gpus.json``).

The pipeline: ``_child`` (runs in the child, torch only) -> ``runner`` (processes, events,
NVML) -> ``classify`` (failures in words, fixes) and ``perf`` (verdicts) -> ``model`` ->
``render``. Importing this package imports neither torch nor NVML.
"""

from __future__ import annotations

from typing import Any

__all__ = ["verify", "perf_sanity"]


def verify(*args: Any, **kwargs: Any):
    """See :func:`envcheck.verify.runner.verify`."""
    from envcheck.verify import runner

    return runner.verify(*args, **kwargs)


def perf_sanity(*args: Any, **kwargs: Any):
    """See :func:`envcheck.verify.perf.perf_sanity`."""
    from envcheck.verify import perf

    return perf.perf_sanity(*args, **kwargs)
