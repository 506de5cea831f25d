"""Probes: one module per source, each returning frozen facts and never raising for an absence.

=================  ==========================================================================
module             source
=================  ==========================================================================
``host``           OS, Python, WSL, containers, memory, /dev/shm, device nodes, environment
``nvcc``           CUDA toolkits (``nvcc --version``) and the one ``cpp_extension`` would use
``nvml``           driver and GPUs through NVML; /proc/driver/nvidia/version; nvidia-smi CSV
``torch_static``   torch's install read without importing it (importlib.metadata, version.py)
``torch_child``    torch imported in a child process (is_available, arch list, libraries)
``tools``          gcc, clang, cmake and ninja (``--version``)
=================  ==========================================================================

Importing this package imports none of them (nor pynvml, psutil or torch); :func:`collect`
does, when called.

Time bounds of :func:`collect` (all probes run at once, each in its own daemon thread):

====================  =====================================================================
probe                 bound
====================  =====================================================================
host                  file reads only; given up after ``HOST_TIMEOUT`` (a hung mount)
nvcc                  ``NVCC_TIMEOUT`` (5 s) per ``nvcc --version``, all toolkits in parallel
driver                NVML in-process, given up after ``NVML_TIMEOUT`` (6 s); then, only if
                      NVML failed, nvidia-smi with ``SMI_TIMEOUT`` (4 s)
torch (static)        in-process metadata reads; for ``--python`` a child, ``CHILD_TIMEOUT`` (10 s)
torch (runtime)       the child importing torch: ``timeout`` (default 60 s); skipped if quick
build tools           ``TOOL_TIMEOUT`` (5 s) per ``--version``, all in parallel; skipped if quick
====================  =====================================================================

A killed child gets up to 2 s more to be reaped (``envcheck.proc``), so with every external call
hanging, a quick collect returns within about 13 s (:data:`QUICK_BOUND`) and a full one within
``max(QUICK_BOUND, timeout + 3)``. A probe still running at its bound is reported as
``timed-out`` and left behind in its daemon thread.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.model import Facts

__all__ = ["collect", "collect_checked", "now_iso", "HOST_TIMEOUT", "NVML_TIMEOUT", "QUICK_BOUND"]

HOST_TIMEOUT = 5.0
NVML_TIMEOUT = 6.0
_GRACE = 3.0  # reaping a killed child, thread start-up
# The driver probe is the slowest path: NVML, then nvidia-smi (nvml.SMI_TIMEOUT, 4 s): 13 s.
QUICK_BOUND = NVML_TIMEOUT + 4.0 + _GRACE


def now_iso() -> str:
    """This moment, UTC, to the second: when a snapshot was collected."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def collect_checked(quick: bool = False, python: Optional[str] = None, timeout: Optional[float] = None) -> "Facts":
    """:func:`collect`, for commands that name an interpreter (``--python PATH``): one that is not
    an executable file, or does not run as Python (fails, hangs), is ``CannotRunError`` (exit 3),
    never a silent fallback to this interpreter."""
    if python:
        from envcheck.proc import check_python

        check_python(python)
    snapshot = collect(quick=quick, python=python, timeout=timeout)
    if python and snapshot.torch.status in ("failed", "timed-out"):
        from envcheck.errors import CannotRunError

        raise CannotRunError(
            "could not inspect {}: {}".format(python, snapshot.torch.detail),
            hint="--python must name a Python interpreter (3.8 or later)",
        )
    return snapshot


def collect(
    quick: bool = False,
    python: Optional[str] = None,
    timeout: Optional[float] = None,
) -> Facts:
    """Run every probe and return :class:`envcheck.facts.Facts` (unredacted).

    ``quick`` skips the torch child; ``python`` inspects another interpreter's torch (static
    reader and child run there); ``timeout`` bounds the torch child (default 60 s).
    """
    from envcheck import __version__
    from envcheck.facts.model import (  # noqa: F811 - the run-time import
        BuildTool,
        DriverFacts,
        Facts,
        HostFacts,
        NvccFacts,
        TorchRuntimeFacts,
        TorchStaticFacts,
    )
    from envcheck.probes.bounded import Job
    from envcheck.probes.host import probe_host
    from envcheck.probes.nvcc import NVCC_TIMEOUT, probe_nvcc
    from envcheck.probes.nvml import probe_nvml, read_kernel_module
    from envcheck.probes.torch_child import TORCH_TIMEOUT, probe_torch_child
    from envcheck.probes.tools import TOOL_TIMEOUT, TOOLS, probe_tools
    from envcheck.probes.torch_static import CHILD_TIMEOUT, probe_torch_static

    torch_timeout = TORCH_TIMEOUT if timeout is None else float(timeout)
    collected_at = now_iso()
    jobs = [
        Job("host", probe_host, HOST_TIMEOUT),
        Job("nvcc", probe_nvcc, NVCC_TIMEOUT + _GRACE),
        Job("driver", lambda: probe_nvml(nvml_timeout=NVML_TIMEOUT), QUICK_BOUND),
        Job("torch", lambda: probe_torch_static(python), CHILD_TIMEOUT + _GRACE),
    ]
    if not quick:  # --quick: no torch child and no compilers (they matter for building, not running)
        jobs.append(Job("tools", probe_tools, TOOL_TIMEOUT + _GRACE))
        jobs.append(
            Job(
                "torch_runtime",
                lambda: probe_torch_child(python, timeout=torch_timeout),
                torch_timeout + _GRACE,
            )
        )
    start = time.monotonic()
    for job in jobs:
        job.thread.start()
    for job in jobs:
        job.thread.join(max(0.0, start + job.bound - time.monotonic()))

    def outcome(name: str, missing: Callable[[str, str], Any]) -> Any:
        job = next((j for j in jobs if j.name == name), None)
        if job is None:
            return None
        if not job.done:
            return missing("timed-out", "no answer within {:.1f} s".format(job.bound))
        if job.error is not None:
            return missing(
                "failed", "probe error: {}: {}".format(type(job.error).__name__, job.error)
            )
        if job.result is None:  # the probe's thread ended without a result (a SystemExit inside it)
            return missing("failed", "probe ended without a result")
        return job.result

    driver = outcome(
        "driver",
        lambda s, d: DriverFacts(
            status=s,
            detail=d,
            error_code="timeout" if s == "timed-out" else "unknown",
            kernel_module=read_kernel_module(),
        ),
    )
    timings: Dict[str, float] = {j.name: j.seconds for j in jobs if j.seconds is not None}
    tools = outcome("tools", lambda s, d: tuple(BuildTool(name=n, status=s, detail=d) for n in TOOLS)) or ()
    return Facts(
        envcheck_version=__version__,
        collected_at=collected_at,
        quick=quick,
        python=python,
        host=outcome("host", lambda s, d: HostFacts(status=s, detail=d)),
        driver=driver,
        nvcc=outcome("nvcc", lambda s, d: NvccFacts(status=s, detail=d)),
        build_tools=tools,
        torch=outcome(
            "torch", lambda s, d: TorchStaticFacts(status=s, detail=d, interpreter=python)
        ),
        torch_runtime=outcome(
            "torch_runtime",
            lambda s, d: TorchRuntimeFacts(
                status="timed-out" if s == "timed-out" else "failed", detail=d, interpreter=python
            ),
        ),
        timings=timings,
    )
