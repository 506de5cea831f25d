"""envcheck's model of a machine: what was observed (``model``), its JSON form (``codec``) and
the values derived from it once (``machine``).

Everything else in envcheck reads a machine through this package: probes fill the model,
``load_facts`` reads a recorded one (a bare snapshot or a ``--json`` envelope), and rules,
renderers, the installer, verify and preflight read :class:`~envcheck.facts.machine.Machine`.
Nothing here imports a probe.
"""

from __future__ import annotations

from envcheck.facts.codec import from_dict, from_json, load_facts, redact, to_dict, to_json
from envcheck.facts.model import SCHEMA, STATUSES, Facts

__all__ = ["SCHEMA", "STATUSES", "Facts", "load_facts", "from_dict", "from_json", "to_dict", "to_json", "redact"]
