"""Runtime verification: real work on each device, in child processes, with the answers checked.

* :func:`verify` (``envcheck verify``): the correctness suite on every device at once, then
  peer-to-peer copies and an all-reduce across GPUs; returns a
  :class:`~envcheck.verify.model.VerifyReport`.
* :func:`perf_sanity` (``envcheck verify --perf``, reused by preflight): matmul TFLOP/s and copy
  bandwidths judged against the GPU table (``matrices/gpus.json``).

Its parts, each with one job: :mod:`~envcheck.verify.plan` (devices and checks, pure) ->
:mod:`~envcheck.verify.run` (the children ``envcheck.children.verify_device`` and
``verify_multi``, their events as they come, NVML) -> :mod:`~envcheck.verify.report` (events ->
results, pure) with :mod:`~envcheck.verify.classify` (failures in words, fixes) ->
:mod:`~envcheck.verify.perf` (the figures judged against the GPU table, pure) ->
:mod:`~envcheck.verify.model` -> :mod:`envcheck.render.verify_text` (the text). Only ``run`` starts processes
and imports the other parts; ``plan``, ``report`` and ``perf`` import none of each other.
Importing this package imports neither torch nor NVML.
"""

from __future__ import annotations

from typing import Any

__all__ = ["verify", "perf_sanity"]


def verify(*args: Any, **kwargs: Any):
    """See :func:`envcheck.verify.run.verify`."""
    from envcheck.verify import run

    return run.verify(*args, **kwargs)


def perf_sanity(*args: Any, **kwargs: Any):
    """See :func:`envcheck.verify.run.perf_sanity`."""
    from envcheck.verify import run

    return run.perf_sanity(*args, **kwargs)
