"""Run an in-process call (NVML, a statvfs on a hung mount) with a deadline.

The call runs in a daemon thread; past the deadline it is left behind (it cannot be killed)
and the caller reports ``timed-out``. Daemon threads do not keep the interpreter alive.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional, Tuple

__all__ = ["Job", "run_bounded"]


class Job:
    def __init__(self, name: str, fn: Callable[[], Any], bound: float) -> None:
        self.name = name
        self.fn = fn
        self.bound = bound
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.seconds: Optional[float] = None
        self.thread = threading.Thread(target=self._run, name="envcheck-" + name, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        try:
            self.result = self.fn()
        except Exception as exc:  # noqa: BLE001 - a probe bug must not cost the other facts
            self.error = exc
        self.seconds = round(time.monotonic() - start, 3)

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()


def run_bounded(
    fn: Callable[[], Any], bound: float, name: str = "call"
) -> Tuple[bool, Any, Optional[BaseException]]:
    """``(finished, result, error)`` of ``fn()`` after at most ``bound`` seconds."""
    job = Job(name, fn, bound)
    job.thread.start()
    job.thread.join(bound)
    return job.done, job.result, job.error
