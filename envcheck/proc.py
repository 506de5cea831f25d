"""The one place envcheck runs other programs.

Every call takes an argument list (never a shell string) and a timeout, keeps stderr, and
returns a :class:`ProcResult` instead of raising: a missing program, a non-zero exit, a hang
killed at its timeout and a death by signal are all data for the caller to judge. On POSIX the
child gets its own process group so that a timeout kills everything it started (a hanging
``nvcc`` wrapper script, a torch child that forked workers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

__all__ = ["ChildRun", "ProcResult", "RUNNER", "run", "run_child", "stream", "check_python"]


def check_python(python: str, error: type | None = None) -> None:
    """A --python that is not an executable file: ``error`` (default CannotRunError, exit 3)."""
    from envcheck.errors import CannotRunError

    if not os.path.isfile(python) or not os.access(python, os.X_OK):
        raise (error or CannotRunError)(
            "--python {!r}: not an executable file".format(python),
            hint="give the path of a Python interpreter, e.g. .venv/bin/python",
        )

_POSIX = os.name == "posix"
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "children", "__runner__.py")


@dataclass(frozen=True)
class ProcResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when it never ran or was killed at the timeout
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    not_found: bool = False
    error: str | None = None  # OSError text when it could not start
    interrupted: bool = False  # stream(): the user pressed Ctrl-C; the child was asked to stop

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def signal(self) -> int | None:
        """The signal that killed the child (POSIX), else None."""
        if self.returncode is not None and self.returncode < 0:
            return -self.returncode
        return None

    @property
    def signal_name(self) -> str | None:
        sig = self.signal
        if sig is None:
            return None
        try:
            return signal.Signals(sig).name
        except ValueError:
            return f"signal {sig}"

    def describe(self) -> str:
        """One line saying how it ended, for evidence in findings and errors."""
        name = os.path.basename(self.argv[0]) if self.argv else "?"
        if self.not_found:
            return f"{name}: not found"
        if self.error:
            return f"{name}: could not start ({self.error})"
        if self.interrupted:
            return f"{name}: interrupted"
        if self.timed_out:
            return f"{name}: no answer within {self.seconds:.1f} s (killed)"
        if self.signal is not None:
            return f"{name}: killed by {self.signal_name}"
        if self.returncode:
            tail = (self.stderr or self.stdout).strip().splitlines()
            last = f": {tail[-1][:200]}" if tail else ""
            return f"{name}: exit status {self.returncode}{last}"
        return f"{name}: ok"


def _own_group() -> dict:
    """Popen arguments that give the child its own process group (killed as one at a timeout)."""
    if _POSIX:
        return {"start_new_session": True}
    if sys.platform == "win32":  # pragma: no cover
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    return {}  # pragma: no cover


def _kill_tree(proc: subprocess.Popen) -> None:
    try:
        if _POSIX:
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass


# Children started by run() that have not ended: threads run most of them (probes, verify's
# per-device children), so an interrupt in the main thread cannot reach their `finally`.
# kill_running() ends them all, so Ctrl-C or SIGTERM never leaves a GPU process behind.
_RUNNING: "set[subprocess.Popen]" = set()
_RUNNING_LOCK = threading.Lock()


def kill_running() -> int:
    """Kill every child of :func:`run` still running (with its process group); how many there were."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
        _RUNNING.clear()
    for p in procs:
        if p.poll() is None:
            _kill_tree(p)
    return len(procs)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin_text: str | None = None,
    name: str = "*",
) -> ProcResult:
    """Run ``argv`` and wait at most ``timeout`` seconds. Never raises for the child's sake.

    ``name``: which of envcheck's bounds this is; ``ENVCHECK_FAULT=timeout.NAME=S`` caps it
    (:mod:`envcheck.faults`).
    """
    from envcheck import faults

    timeout = faults.bound(name, timeout)
    args = tuple(str(a) for a in argv)
    start = time.monotonic()
    kwargs = _own_group()
    try:
        proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            args,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            **kwargs,
        )
    except FileNotFoundError:
        return ProcResult(args, None, "", "", time.monotonic() - start, not_found=True)
    except OSError as exc:
        return ProcResult(args, None, "", "", time.monotonic() - start, error=str(exc))
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    try:
        out, err = proc.communicate(input=stdin_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        try:
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:  # pragma: no cover - a child that ignores SIGKILL
            out, err = "", ""
        return ProcResult(
            args, None, out or "", err or "", time.monotonic() - start, timed_out=True
        )
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
        if proc.poll() is None:  # pragma: no cover - interrupted
            _kill_tree(proc)
    return ProcResult(args, proc.returncode, out or "", err or "", time.monotonic() - start)


@dataclass(frozen=True)
class ChildRun:
    """A child of :mod:`envcheck.children`: how the process ended and the events it printed."""

    result: ProcResult
    events: tuple  # of dicts, in order (envcheck.children.events.parse)
    unreadable: int = 0  # marked lines that were not a readable event


def run_child(
    python: str,
    name: str,
    args: Sequence[str] = (),
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    bound: str = "*",
) -> ChildRun:
    """Run the child ``envcheck.children.NAME`` in ``python`` (any interpreter: envcheck need
    not be installed there) through the one launcher, ``children/__runner__.py``, and read the
    events it printed. ``bound`` names the timeout for ``ENVCHECK_FAULT`` (see :func:`run`)."""
    from envcheck.children import events

    result = run([python, RUNNER, name, *args], timeout=timeout, env=env, cwd=cwd, name=bound)
    bad: list = []
    found = events.parse(result.stdout, bad)
    return ChildRun(result, tuple(found), len(bad))


def stream(
    argv: Sequence[str],
    *,
    timeout: float,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    grace: float = 30.0,
) -> ProcResult:
    """Run ``argv`` with its output (stdout and stderr merged) handed to ``on_line`` as it comes,
    for a long job the user watches (an install). Never raises for the child's sake.

    Ctrl-C does not kill the child outright: it gets SIGINT (pip then rolls back the package it
    was replacing), up to ``grace`` seconds to finish, then SIGKILL; the result says
    ``interrupted`` and the caller decides what to report. ``stdout`` holds the whole output.
    """
    args = tuple(str(a) for a in argv)
    start = time.monotonic()
    kwargs = _own_group()
    try:
        proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, text=True, encoding="utf-8", errors="replace",
            bufsize=1, **kwargs,
        )
    except FileNotFoundError:
        return ProcResult(args, None, "", "", time.monotonic() - start, not_found=True)
    except OSError as exc:
        return ProcResult(args, None, "", "", time.monotonic() - start, error=str(exc))
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            try:
                on_line(line.rstrip("\n"))
            except Exception:  # noqa: BLE001 - a display problem must not stop the install
                pass

    reader = threading.Thread(target=pump, name="envcheck-stream", daemon=True)
    reader.start()
    timed_out = interrupted = False
    try:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_tree(proc)
            proc.wait(timeout=5)
    except KeyboardInterrupt:
        interrupted = True
        _interrupt(proc)
        try:
            proc.wait(timeout=grace)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            _kill_tree(proc)
            proc.wait(timeout=5)
    finally:
        if proc.poll() is None:  # pragma: no cover - a second interrupt while waiting
            _kill_tree(proc)
    reader.join(timeout=5)
    code = None if timed_out else proc.returncode
    return ProcResult(args, code, "".join(lines), "", time.monotonic() - start, timed_out=timed_out,
                      interrupted=interrupted)


def _interrupt(proc: subprocess.Popen) -> None:
    """SIGINT to the child's process group (it has its own session, so the terminal's Ctrl-C
    reached only us)."""
    try:
        if _POSIX:
            os.killpg(proc.pid, signal.SIGINT)
        else:  # pragma: no cover - Windows
            proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
    except (ProcessLookupError, PermissionError, OSError):
        pass
