"""Record this machine's NVML readings in the form tests/helpers/fakes.py replays.

    PYTHONPATH=. python tests/gpu/record_nvml.py OUT.json

The real pynvml is wrapped in a recorder and envcheck's own NVML probe runs through it, so the
recording holds exactly the calls the probe makes, with their answers (values, or the NVML
error each raised). Then the recording is replayed through ``FakeNvml`` and the probe run again:
the two results must be equal, which proves the fake answers as the real binding does.

Exit codes: 0 recorded and replayed equal; 1 recorded, but the replay differs (the differing
fields are printed); 3 pynvml cannot be imported (nothing written).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]  # the repository, tests/ (helpers)

FORMAT = (
    "Recorded NVML readings replayed by tests/helpers/fakes.py (see tests/data/probes/README.md): "
    "'init_error', 'system' and per-device 'devices' map pynvml function names to return values; "
    "{'error': NAME} raises NVMLError NVML_ERROR_NAME; enum arguments are keyed by name."
)


def _error_name(nvml: Any, exc: BaseException) -> str:
    value = getattr(exc, "value", None)
    for name in dir(nvml):
        if name.startswith("NVML_ERROR_") and getattr(nvml, name) == value:
            return name[len("NVML_ERROR_"):]
    return "UNKNOWN"


def _plain(name: str, value: Any) -> Any:
    """A pynvml answer as JSON: structs as their fields, bytes as text, tuples as lists."""
    from helpers.fakes import _STRUCTS

    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if name in _STRUCTS:
        fields = ("busId",) if name == "nvmlDeviceGetPciInfo" else ("total", "used", "free")
        return {f: _plain("", getattr(value, f, None)) for f in fields}
    if isinstance(value, (tuple, list)):
        return [_plain("", v) for v in value]
    return value


def _arg_key(name: str, args: tuple) -> Optional[str]:
    """The recording's key for a call with an enum argument (None: the value is stored plain)."""
    from helpers.fakes import _ARG_NAMES, _ECC_COUNTERS, _ECC_TYPES

    if name == "nvmlDeviceGetTotalEccErrors":
        return "{}/{}".format(_ECC_TYPES.get(args[0], args[0]), _ECC_COUNTERS.get(args[1], args[1]))
    if name in _ARG_NAMES:
        return _ARG_NAMES[name].get(args[0], str(args[0]))
    return None


class RecordingNvml:
    """A pynvml-like module that forwards to ``real`` and writes down every answer."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.NVMLError = real.NVMLError
        self.recording: Dict[str, Any] = {"system": {}, "devices": []}
        for const in dir(real):
            if const.startswith("NVML_"):
                setattr(self, const, getattr(real, const))

    def nvmlInit(self) -> None:
        try:
            self._real.nvmlInit()
        except self._real.NVMLError as exc:
            self.recording["init_error"] = _error_name(self._real, exc)
            raise

    def nvmlShutdown(self) -> None:
        self._real.nvmlShutdown()

    def nvmlDeviceGetCount(self) -> int:
        count = self._real.nvmlDeviceGetCount()
        self.recording["devices"] = [{} for _ in range(int(count))]
        return count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        try:
            return (index, self._real.nvmlDeviceGetHandleByIndex(index))
        except self._real.NVMLError as exc:
            self.recording["devices"][index]["nvmlDeviceGetHandleByIndex"] = {
                "error": _error_name(self._real, exc)
            }
            raise

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._real, name)  # AttributeError: this binding lacks it, as recorded
        if name.startswith("nvmlSystem"):
            return lambda: self._call(self.recording["system"], name, (), fn)
        if name.startswith("nvmlDevice"):
            return lambda handle, *args: self._call(
                self.recording["devices"][handle[0]], name, args, lambda *a: fn(handle[1], *a)
            )
        return fn

    def _call(self, into: Dict[str, Any], name: str, args: tuple, fn: Any) -> Any:
        key = _arg_key(name, args)
        try:
            value = fn(*args)
            kept = _plain(name, value)
        except self._real.NVMLError as exc:
            kept = {"error": _error_name(self._real, exc)}
            raise
        except Exception:  # noqa: BLE001 - a binding bug: FakeNvml can only replay an NVML error
            kept = {"error": "UNKNOWN"}
            raise
        finally:
            if key is None:
                into[name] = kept
            else:
                into.setdefault(name, {})[key] = kept
        return value


def _differences(a: Any, b: Any) -> List[str]:
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    return ["{}: live {!r}, replayed {!r}".format(k, da[k], db.get(k)) for k in da if da[k] != db.get(k)]


def record(path: Path, root: str = "/") -> int:
    try:
        import pynvml  # type: ignore[import-not-found]
    except Exception as exc:  # noqa: BLE001 - ImportError or a broken install
        print("record_nvml: pynvml cannot be imported: {}: {}".format(type(exc).__name__, exc))
        return 3
    from helpers.fakes import FakeNvml

    from envcheck.probes.nvml import probe_nvml

    recorder = RecordingNvml(pynvml)
    live = probe_nvml(recorder, root=root, smi=None, nvml_timeout=None)
    proc = os.path.join(root, "proc", "driver", "nvidia", "version")
    try:
        with open(proc, encoding="utf-8", errors="replace") as fh:
            proc_text: Optional[str] = fh.read()
    except OSError:
        proc_text = None
    doc: Dict[str, Any] = {
        "format": FORMAT,
        "description": "recorded live by tests/gpu/record_nvml.py: {}".format(live.detail),
        "proc_driver_version": proc_text,
    }
    doc.update(recorder.recording)
    if not doc.get("init_error"):
        doc.pop("init_error", None)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    replayed = probe_nvml(FakeNvml(doc), root=root, smi=None, nvml_timeout=None)
    diffs = _differences(live, replayed)
    print("record_nvml: {} -> {} ({} GPU(s) recorded)".format(live.status, path, len(doc["devices"])))
    if diffs:
        print("record_nvml: the replay differs from the live probe:")
        for line in diffs:
            print("  " + line)
        return 1
    print("record_nvml: replayed through FakeNvml, the probe's result is identical")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip())
        sys.exit(2)
    sys.exit(record(Path(sys.argv[1])))
