"""Facts for rule tests: a recorded snapshot, with dotted-path changes applied."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Dict

from envcheck.facts import Facts, load_facts

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAPSHOTS = os.path.join(TESTS, "data", "snapshots")
PROBE_SNAPSHOTS = os.path.join(TESTS, "data", "probes", "snapshots")

_CACHE: Dict[str, Facts] = {}
_PART = re.compile(r"^(\w+)(?:\[(\d+)\])?$")


def snapshot_path(name: str) -> str:
    for folder in (SNAPSHOTS, PROBE_SNAPSHOTS):
        path = os.path.join(folder, name + ".json")
        if os.path.exists(path):
            return path
    raise FileNotFoundError(name)


def load(name: str) -> Facts:
    if name not in _CACHE:
        _CACHE[name] = load_facts(snapshot_path(name))
    return _CACHE[name]


def _set(obj: Any, parts, value: Any) -> Any:
    m = _PART.match(parts[0])
    assert m, parts[0]
    name, index = m.group(1), m.group(2)
    current = getattr(obj, name)
    if index is not None:
        items = list(current)
        i = int(index)
        items[i] = value if len(parts) == 1 else _set(items[i], parts[1:], value)
        new = tuple(items)
    else:
        new = value if len(parts) == 1 else _set(current, parts[1:], value)
    return dataclasses.replace(obj, **{name: new})


def change(facts: Facts, changes: Dict[str, Any]) -> Facts:
    """``change(f, {"driver.cuda_max": "12.2", "driver.gpus[0].compute_capability": "6.1"})``."""
    for path, value in changes.items():
        facts = _set(facts, path.split("."), value)
    return facts


def variant(name: str, **changes: Any) -> Facts:
    """A snapshot with changes given as keyword arguments, ``__`` for dots."""
    return change(load(name), {k.replace("__", "."): v for k, v in changes.items()})
