"""envcheck's model of a machine: what was observed (``model``), its JSON form (``codec``) and
the values derived from it once (``machine``).

Everything else in envcheck reads a machine through this package: probes fill the model,
``load_facts`` reads a recorded one (a bare snapshot or a ``--json`` envelope), and rules,
renderers, the installer, verify and preflight read :class:`~envcheck.facts.machine.Machine`.
Nothing here imports a probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.codec import from_dict, from_json, load_facts, redact, to_dict, to_json
    from envcheck.facts.model import SCHEMA, STATUSES, Facts

__all__ = ["SCHEMA", "STATUSES", "Facts", "load_facts", "from_dict", "from_json", "to_dict", "to_json", "redact"]

# Imported on first use (PEP 562): the model's ~30 dataclasses cost about 20 ms to create, and a
# command such as `install-command --cuda 12.8` that reads no facts should not pay for them.
_HOME = {"SCHEMA": "model", "STATUSES": "model", "Facts": "model"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module("envcheck.facts." + _HOME.get(name, "codec"))
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
