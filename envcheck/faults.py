"""Fault injection: rehearse a failure without breaking a machine. Off unless ``ENVCHECK_FAULT`` is set.

An operator uses it to see what a health check, an alert or a scheduler does when a GPU check hangs,
a rank never joins or a probe times out; envcheck's own tests use it for every fault they need in
a real process. It is the only such switch in envcheck, and it changes nothing while unset.

``ENVCHECK_FAULT`` holds entries separated by ``;``, each ``POINT[@RANK]=VALUE``:

``timeout.NAME=SECONDS``
    Cap one of envcheck's own bounds (never raise it): ``nvcc``, ``smi``, ``nvml``, ``torch`` (the
    torch child), ``python`` (reading another interpreter), ``tool`` (compilers' ``--version``),
    ``inventory`` (``envcheck fix``'s package list), ``verify`` (each verify device process),
    ``disk`` (preflight's disk probe); ``timeout.*`` caps every one. ``proc.run(name=...)`` applies
    them to programs; the NVML probe and the disk probe apply theirs to in-process calls.
``verify.CHECK=ACTION``
    The verify check named CHECK (``tensor``, ``matmul-fp32``, ``perf:copy-h2d``, ``p2p``,
    ``allreduce``...) misbehaves as it begins.
``preflight.PHASE@RANK=ACTION``
    That rank of ``preflight --distributed`` misbehaves at PHASE: ``start`` (before it joins),
    ``checks`` (after its node checks) or ``collectives`` (before the collectives).
``preflight.thresholds@RANK=JSON``
    That rank's thresholds, changed as a config file would (``{"min_shm": "1PB"}``): one rank fails.
``preflight.nodes=N``
    The ranks of one machine pretend to be N nodes (``rank % N``), to rehearse cross-node timing.

ACTION is ``hang`` (forever) or ``hang:SECONDS``, ``exit`` or ``exit:CODE`` (the process ends at
once, code 3 unless given), ``abort`` (SIGABRT), ``segv`` (SIGSEGV), ``raise:MESSAGE`` (a
RuntimeError, as a CUDA error would be) or ``wrong:MESSAGE`` (a wrong answer, where the point checks
answers). ``@RANK`` matches ``RANK`` (torchrun) or ``SLURM_PROCID``; an entry with a rank never
fires in a process without one. Every injected fault says so on stderr as it fires.

This module uses the standard library only: it is loaded by path inside child interpreters that
may not have envcheck installed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = ["VAR", "FaultSpecError", "parse", "check", "describe", "value", "bound", "thresholds",
           "fake_nodes", "trigger"]

VAR = "ENVCHECK_FAULT"
ACTIONS = ("hang", "exit", "abort", "segv", "raise", "wrong")
BOUNDS = ("nvcc", "smi", "nvml", "torch", "python", "tool", "inventory", "verify", "disk", "*")
PHASES = ("start", "checks", "collectives")

Entry = Tuple[str, Optional[str], str]  # (point, rank or None, value)


class FaultSpecError(ValueError):
    """``ENVCHECK_FAULT`` does not parse: one line naming the entry."""


def _env(env: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if env is None else env


def parse(text: str) -> List[Entry]:
    """The entries of an ``ENVCHECK_FAULT`` value, checked; :class:`FaultSpecError` if malformed."""
    out: List[Entry] = []
    for raw in text.split(";"):
        item = raw.strip()
        if not item:
            continue
        point, sep, value = item.partition("=")
        point, value = point.strip(), value.strip()
        if not sep or not point or not value:
            raise FaultSpecError("{}: {!r} is not POINT=VALUE".format(VAR, item))
        rank = None
        if "@" in point:
            point, rank = point.split("@", 1)
            if not rank.isdigit():
                raise FaultSpecError("{}: {!r}: the rank after @ must be a number".format(VAR, item))
        _check_entry(item, point, value)
        out.append((point, rank, value))
    return out


def _check_entry(item: str, point: str, value: str) -> None:
    family, _, name = point.partition(".")
    if family == "timeout":
        if name not in BOUNDS:
            raise FaultSpecError("{}: {!r}: no bound named {!r} (bounds: {})".format(VAR, item, name, ", ".join(BOUNDS)))
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not seconds > 0 or seconds != seconds or seconds == float("inf"):
            raise FaultSpecError("{}: {!r}: a timeout is a number of seconds above 0".format(VAR, item))
    elif point == "preflight.thresholds":
        try:
            table = json.loads(value)
        except ValueError as exc:
            raise FaultSpecError("{}: {!r}: not JSON ({})".format(VAR, item, exc)) from None
        if not isinstance(table, dict):
            raise FaultSpecError("{}: {!r}: thresholds are a JSON object".format(VAR, item))
    elif point == "preflight.nodes":
        if not value.isdigit() or int(value) < 1:
            raise FaultSpecError("{}: {!r}: the number of fake nodes is a whole number above 0".format(VAR, item))
    elif (family == "verify" and name) or (family == "preflight" and name in PHASES):
        action, _, arg = value.partition(":")
        if action not in ACTIONS:
            raise FaultSpecError("{}: {!r}: no action {!r} (actions: {})".format(VAR, item, action, ", ".join(ACTIONS)))
        if action in ("hang", "exit") and arg:
            try:
                number = float(arg) if action == "hang" else int(arg)
            except ValueError:
                number = -1
            if number < 0:
                raise FaultSpecError("{}: {!r}: {} takes a number".format(VAR, item, action))
    else:
        raise FaultSpecError("{}: {!r}: no fault point {!r} (timeout.NAME, verify.CHECK, preflight.PHASE, "
                             "preflight.thresholds, preflight.nodes)".format(VAR, item, point))


def check(env: Optional[Mapping[str, str]] = None) -> List[Entry]:
    """The entries in force (none when unset); :class:`FaultSpecError` if the value is malformed."""
    text = _env(env).get(VAR, "")
    return parse(text) if text.strip() else []


def describe(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """One line for stderr while faults are injected, else None."""
    text = _env(env).get(VAR, "").strip()
    return "{} is set: results include injected faults ({})".format(VAR, text) if text else None


def _rank(env: Mapping[str, str]) -> Optional[str]:
    return env.get("RANK") or env.get("SLURM_PROCID")


def value(point: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The value injected at ``point`` for this process (its rank), or None. Malformed: None."""
    env = _env(env)
    if not env.get(VAR):
        return None
    try:
        entries = parse(env[VAR])
    except FaultSpecError:
        return None  # the CLI refuses a malformed value before anything runs
    rank = _rank(env)
    for p, r, v in entries:
        if p == point and (r is None or r == rank):
            return v
    return None


def bound(name: str, seconds: float, env: Optional[Mapping[str, str]] = None) -> float:
    """``seconds``, or less where ``timeout.NAME`` (or ``timeout.*``) caps it."""
    for point in ("timeout." + name, "timeout.*"):
        v = value(point, env)
        if v is not None:
            return min(seconds, float(v))
    return seconds


def thresholds(env: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """``preflight.thresholds`` for this rank, as a config layer (empty when none)."""
    v = value("preflight.thresholds", env)
    return json.loads(v) if v else {}


def fake_nodes(env: Optional[Mapping[str, str]] = None) -> int:
    """``preflight.nodes`` (0 when not set)."""
    v = value("preflight.nodes", env)
    return int(v) if v else 0


def trigger(point: str, env: Optional[Mapping[str, str]] = None, wrong: Any = None) -> None:
    """Misbehave as ``point``'s entry says, if one matches this process; otherwise return at once.

    ``wrong``: the exception class the caller treats as a wrong answer (``wrong:MESSAGE``).
    """
    v = value(point, env)
    if v is None:
        return
    action, _, arg = v.partition(":")
    sys.stderr.write("envcheck: injected fault ({}): {} at {}\n".format(VAR, v, point))
    sys.stderr.flush()
    if action == "hang":
        deadline = time.monotonic() + float(arg) if arg else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.05 if deadline is not None else 1.0)
    elif action == "exit":
        os._exit(int(arg) if arg else 3)
    elif action == "abort":
        os.abort()
    elif action == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(5)
    elif action == "raise":
        raise RuntimeError(arg or "injected fault at {}".format(point))
    elif action == "wrong":
        raise (wrong or AssertionError)(arg or "injected wrong answer at {}".format(point))
