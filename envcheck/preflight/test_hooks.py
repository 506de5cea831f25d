"""Test-only hooks for the distributed path, read from the environment. Documented in
envcheck/preflight/README.md ("Test hooks"); harmless when unset, and never set by envcheck itself.

``ENVCHECK_PREFLIGHT_TEST_RANK_OVERRIDES``
    JSON object mapping a rank to threshold overrides for that rank only, e.g.
    ``{"1": {"min_open_files": 99999999}}``: the way tests make one rank fail a check.
``ENVCHECK_PREFLIGHT_TEST_EXIT``
    ``RANK:PHASE:CODE``: that rank exits with CODE (``os._exit``) when it reaches PHASE
    (``start``: before joining; ``checks``: after its node checks; ``collectives``: before the
    collectives), e.g. ``2:start:0`` for a rank that silently never joins.
``ENVCHECK_PREFLIGHT_TEST_HANG``
    ``RANK:PHASE:SECONDS``: that rank sleeps SECONDS at PHASE (a stuck rank).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Mapping, Optional

from envcheck.errors import InputError

__all__ = ["rank_overrides", "maybe_exit", "OVERRIDES_VAR", "EXIT_VAR", "HANG_VAR"]

OVERRIDES_VAR = "ENVCHECK_PREFLIGHT_TEST_RANK_OVERRIDES"
EXIT_VAR = "ENVCHECK_PREFLIGHT_TEST_EXIT"
HANG_VAR = "ENVCHECK_PREFLIGHT_TEST_HANG"


def _my_rank(env: Mapping[str, str]) -> Optional[str]:
    return env.get("RANK") or env.get("SLURM_PROCID")


def rank_overrides(th: Any, env: Optional[Mapping[str, str]] = None) -> Any:
    """``th`` with this rank's test overrides applied (unchanged when none)."""
    from dataclasses import replace

    from envcheck.preflight import config

    env = os.environ if env is None else env
    text = env.get(OVERRIDES_VAR)
    rank = _my_rank(env)
    if not text or rank is None:
        return th
    try:
        table = json.loads(text)
    except ValueError as exc:
        raise InputError("{}: not JSON ({})".format(OVERRIDES_VAR, exc)) from None
    mine = table.get(str(rank)) if isinstance(table, dict) else None
    if not mine:
        return th
    parsed = config._parse_layer(mine, OVERRIDES_VAR)  # noqa: SLF001 - the same parser as configs
    sources = dict(th.sources)
    sources.update({k: "test hook " + OVERRIDES_VAR for k in parsed})
    return replace(th, sources=tuple(sorted(sources.items())), **parsed)


def _match(var: str, phase: str, env: Mapping[str, str]):
    text = env.get(var)
    rank = _my_rank(env)
    if not text or rank is None:
        return None
    parts = text.split(":")
    if len(parts) != 3 or parts[0] != str(rank) or parts[1] != phase:
        return None
    return parts[2]


def maybe_exit(phase: str, env: Optional[Mapping[str, str]] = None) -> None:
    """Act on ENVCHECK_PREFLIGHT_TEST_EXIT / _HANG for this rank at ``phase``."""
    env = os.environ if env is None else env
    code = _match(EXIT_VAR, phase, env)
    if code is not None:
        sys.stderr.write("envcheck preflight: test hook: rank {} exits with {} at {}\n".format(_my_rank(env), code, phase))
        sys.stderr.flush()
        os._exit(int(code))
    seconds = _match(HANG_VAR, phase, env)
    if seconds is not None:
        sys.stderr.write("envcheck preflight: test hook: rank {} hangs {} s at {}\n".format(_my_rank(env), seconds, phase))
        sys.stderr.flush()
        time.sleep(float(seconds))
