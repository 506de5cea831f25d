"""The facts snapshot's JSON form: to and from dicts, redaction, and the one loader.

``to_json(facts)`` writes ``{"schema": "envcheck.facts/1", ...}`` (redacted by default: the
hostname, GPU UUIDs and serial numbers are replaced); ``from_dict``/``from_json`` read it back,
checking every field against the model's types, and raise :class:`InputError` with one line
naming the file and the field when a snapshot is malformed. Missing fields below the top level
take their defaults, so hand-written snapshots for rule tests can stay short; unknown fields are
errors (they are typos or a newer schema).

:func:`load_facts` is how every command that takes ``--facts`` reads its file: a bare snapshot
(``envcheck facts --json``, ``-o FILE``) or a ``--json`` envelope that carries one (``envcheck
diagnose --json``, ``envcheck facts --json``).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Dict, List, Optional

from envcheck.errors import InputError
from envcheck.facts.model import SCHEMA, STATUSES, Facts

MAX_BYTES = 32 * 1024 * 1024  # a snapshot of a 64-GPU node is well under 1 MiB

__all__ = ["MAX_BYTES", "encode", "decode", "to_dict", "to_json", "from_dict", "from_json", "load_facts", "redact", "unwrap"]

_REDACTED_HOST = "redacted-host"


def to_dict(facts: Facts) -> Dict[str, Any]:
    """The snapshot as plain JSON-able data (not redacted). ``report`` appears only for facts
    read from a pasted report, so a machine's snapshot reads as it always did."""
    data = _to_data(facts)
    if data.get("report") is None:
        data.pop("report", None)
    return data


def to_json(facts: Facts, *, redact: bool = True, indent: Optional[int] = 2) -> str:
    """The snapshot's JSON text; redacted unless ``redact=False`` (or already redacted)."""
    shown = _redact(facts) if redact and not facts.redacted else facts
    return json.dumps(to_dict(shown), indent=indent, ensure_ascii=False) + "\n"


def unwrap(data: Any) -> Any:
    """The snapshot inside a ``--json`` envelope (``data.facts``, or ``data`` itself); anything
    else unchanged."""
    if isinstance(data, dict) and "envcheck_result_version" in data and isinstance(data.get("data"), dict):
        inner = data["data"]
        return inner["facts"] if isinstance(inner.get("facts"), dict) else inner
    return data


def from_dict(data: Any, *, source: str = "<snapshot>") -> Facts:
    """A snapshot from its JSON data (a bare snapshot; see :func:`unwrap` for envelopes)."""
    if not isinstance(data, dict):
        raise InputError("{}: not an envcheck facts snapshot (expected a JSON object)".format(source))
    schema = data.get("schema")
    if schema is None:
        raise InputError("{}: not an envcheck facts snapshot (no 'schema' field)".format(source))
    if schema != SCHEMA:
        message = "{}: field 'schema': unsupported snapshot schema {!r} (this envcheck reads {})"
        raise InputError(message.format(source, schema, SCHEMA))
    for name in ("host", "driver", "nvcc", "torch"):
        if name not in data:
            raise InputError("{}: field {!r} is missing".format(source, name))
    return _decode(Facts, data, "", source)


def from_json(text: str, *, source: str = "<snapshot>") -> Facts:
    """A snapshot, or a ``--json`` envelope carrying one, from JSON text."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError("{}: not JSON ({})".format(source, exc)) from None
    except RecursionError:  # arrays or objects nested thousands deep: no snapshot looks like that
        raise InputError("{}: not a snapshot (JSON nested too deeply)".format(source)) from None
    return from_dict(unwrap(data), source=source)


def load_facts(path: str) -> Facts:
    """The facts in ``path``: a bare snapshot or a ``--json`` envelope carrying one. A file that
    cannot be read, is not JSON or is not a valid snapshot is :class:`InputError` (exit 2)."""
    from envcheck.files import read_input

    raw = read_input(path, "facts file", MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("{}: cannot read ({})".format(path, exc)) from None
    return from_json(text, source=path)


def _redact(facts: Facts) -> Facts:
    """A copy with the hostname, GPU UUIDs and serials replaced (consistently)."""
    data = to_dict(facts)
    swaps: Dict[str, str] = {}
    gpus: List[dict] = list(data["driver"].get("gpus") or [])
    smi = data["driver"].get("smi") or {}
    gpus += list(smi.get("gpus") or [])
    for gpu in gpus:
        uuid = gpu.get("uuid")
        if uuid and uuid not in swaps:
            swaps[uuid] = "GPU-redacted-{}".format(len(swaps))
        if gpu.get("serial"):
            gpu["serial"] = "redacted"
    data = _swap_strings(data, swaps)
    if data["host"].get("hostname"):
        data["host"]["hostname"] = _REDACTED_HOST
    data["redacted"] = True
    return _decode(Facts, data, "", "<redaction>")


redact = _redact


def _swap_strings(value: Any, swaps: Dict[str, str]) -> Any:
    if not swaps:
        return value
    if isinstance(value, str):
        for old, new in swaps.items():
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_swap_strings(v, swaps) for v in value]
    if isinstance(value, dict):
        return {k: _swap_strings(v, swaps) for k, v in value.items()}
    return value


def encode(obj: Any) -> Any:
    """Any part of the facts (a DriverFacts...) as plain JSON-able data."""
    return _to_data(obj)


def decode(tp: Any, data: Any, *, source: str = "<data>") -> Any:
    """Data made by :func:`encode` back into ``tp``, checked as a snapshot's part would be
    (:class:`InputError` names the field that is wrong)."""
    return _decode(tp, data, "", source)


def _to_data(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [_to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _to_data(v) for k, v in obj.items()}
    return obj


_HINTS: Dict[type, Dict[str, Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _fail(source: str, where: str, expected: str, value: Any) -> InputError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InputError(
        "{}: field {!r}: expected {}, got {}".format(source, where or "<top>", expected, shown)
    )


def _join(where: str, name: str) -> str:
    return "{}.{}".format(where, name) if where else name


def _decode(tp: Any, value: Any, where: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Union:
        if value is None:
            if type(None) in args:
                return None
            raise _fail(source, where, "a value", value)
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _decode(options[0], value, where, source)
        for option in options:  # pragma: no cover - no such field today
            try:
                return _decode(option, value, where, source)
            except InputError:
                continue
        raise _fail(source, where, " or ".join(map(str, options)), value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _fail(source, where, "an object ({})".format(tp.__name__), value)
        hints = _hints(tp)
        names = [f.name for f in dataclasses.fields(tp) if f.init]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise InputError(
                "{}: field {!r}: unknown field in {}".format(
                    source, _join(where, unknown[0]), tp.__name__
                )
            )
        kwargs = {
            k: _decode(hints[k], value[k], _join(where, k), source) for k in names if k in value
        }
        allowed = STATUSES.get(tp.__name__)
        if allowed and "status" in kwargs and kwargs["status"] not in allowed:
            raise _fail(
                source, _join(where, "status"), "one of " + ", ".join(allowed), kwargs["status"]
            )
        for f in dataclasses.fields(tp):
            if (
                f.init
                and f.name not in value
                and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING
            ):
                raise InputError("{}: field {!r} is missing".format(source, _join(where, f.name)))
        return tp(**kwargs)
    if origin is tuple:
        if not isinstance(value, list):
            raise _fail(source, where, "a list", value)
        item = args[0] if args else Any
        return tuple(
            _decode(item, v, "{}[{}]".format(where, i), source) for i, v in enumerate(value)
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(source, where, "an object", value)
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _decode(vt, v, "{}.{}".format(where, k), source) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(source, where, "true or false", value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(source, where, "an integer", value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(source, where, "a number", value)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _fail(source, where, "a string", value)
        return value
    raise TypeError("facts: no decoder for {!r} at {}".format(tp, where))  # a bug, not input
