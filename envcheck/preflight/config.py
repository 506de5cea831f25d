"""Preflight thresholds: shipped profiles (``profiles.toml``), a user config, flags. Parse once.

Layers, later ones winning key by key: the chosen profile (after the profiles it ``extends``),
the config file's top-level keys, then command-line flags. A config's ``[profiles.NAME]`` tables
merge over the shipped profile of that name (or define a new one, extending ``default`` unless
it says otherwise); its ``profile = "NAME"`` picks the base unless ``--profile`` does.

Config files are TOML (``tomllib`` on Python 3.11+, the ``tomli`` package before) or JSON (a
``.json`` name, or text starting with ``{``): the same structure either way, so fleet tooling
that writes JSON needs no TOML library. Unknown keys are errors that name the file, the key and
the nearest known key: a typo must not silently leave a default in force.

:class:`Thresholds` remembers where every value came from (``sources``), for the report.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from envcheck.errors import CannotRunError, InputError
from envcheck.preflight.units import InvalidSize, SizeWithoutUnit, format_size_exact, parse_size

__all__ = [
    "SCHEMA",
    "PROFILES_FILE",
    "ConfigError",
    "Thresholds",
    "FIELDS",
    "NOT_CHECKED",
    "UNLIMITED_SIZE",
    "load_file",
    "load_profiles",
    "profile_names",
    "resolve",
    "shown",
]

SCHEMA = "envcheck.preflight-profiles/1"
PROFILES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles.toml")
SEVERITIES = ("fail", "warn", "off")
FLAGS_SOURCE = "command line"  # the source name of flag values (``overrides``)
NOT_CHECKED = "not checked"
UNLIMITED_SIZE = 10**15  # "1PB": a max_gpu_memory_used this large checks nothing (profile healthcheck)


class ConfigError(InputError):
    """A config file or flag value that cannot be used (exit 2): names file, key and value."""

    kind = "config"


# name -> (kind, table): table None is top level, "distributed" the [distributed] sub-table.
FIELDS: Dict[str, Tuple[str, Optional[str]]] = {
    "description": ("str", None),
    "min_gpus": ("int", None),
    "gpu_model": ("str", None),
    "min_gpu_memory": ("size", None),
    "max_gpu_memory_used": ("size", None),
    "max_temperature_c": ("int", None),
    "require_persistence": ("bool", None),
    "require_ecc": ("bool", None),
    "max_ecc_uncorrected": ("int", None),
    "max_retired_pages": ("int", None),
    "fail_throttle": ("strlist", None),
    "warn_throttle": ("strlist", None),
    "pcie_at_max": ("bool", None),
    "min_driver": ("version", None),
    "min_cuda": ("version", None),
    "require_torch": ("spec", None),
    "min_free_ram": ("size", None),
    "min_free_ram_fraction": ("fraction", None),
    "min_shm": ("size", None),
    "min_open_files": ("int", None),
    "diagnose": ("bool", None),
    "verify": ("bool", None),
    "perf": ("bool", None),
    "min_free_disk": ("sizemap", None),
    "perf_fractions": ("fractionmap", None),
    "severity": ("severitymap", None),
    "timeout_s": ("seconds", "distributed"),
    "allreduce_sizes": ("sizelist", "distributed"),
    "min_busbw_intra_gbs": ("number", "distributed"),
    "min_busbw_inter_gbs": ("number", "distributed"),
    "outlier_fraction": ("fraction", "distributed"),
}
_TABLES = ("min_free_disk", "perf_fractions", "severity", "distributed")
_META = ("extends",)
# the flag of a key when it is not "--" + the key with dashes (envcheck.cli.preflight's options)
_FLAGS = {"max_temperature_c": "--max-temperature", "timeout_s": "--timeout",
          "min_busbw_intra_gbs": "--min-busbw-intra", "min_busbw_inter_gbs": "--min-busbw-inter"}
# int keys bounded beyond >= 0: (lowest, highest, what the message says is expected)
_RANGES: Dict[str, Tuple[int, Optional[int], str]] = {"max_temperature_c": (1, 150, "degrees C from 1 to 150")}
_VERSIONS = {
    "min_driver": 'a driver version such as "570" or "570.133.20"',
    "min_cuda": 'a CUDA version such as "12.8"',
}
# size keys whose 0 means "not checked" (checks.py skips them); a size map's 0 skips that path
_ZERO_IS_OFF = ("min_gpu_memory", "min_free_ram", "min_shm", "min_free_disk")


@dataclass(frozen=True)
class Thresholds:
    profile: str = "default"
    description: str = ""
    min_gpus: int = 1
    gpu_model: str = ""
    min_gpu_memory: int = 0
    max_gpu_memory_used: int = 1 << 30
    max_temperature_c: int = 80
    require_persistence: bool = True
    require_ecc: bool = True
    max_ecc_uncorrected: int = 0
    max_retired_pages: int = 62
    fail_throttle: Tuple[str, ...] = ()
    warn_throttle: Tuple[str, ...] = ()
    pcie_at_max: bool = True
    min_driver: str = ""
    min_cuda: str = ""
    require_torch: str = ""
    min_free_ram: int = 0
    min_free_ram_fraction: float = 0.5
    min_shm: int = 1 << 30
    min_open_files: int = 65536
    diagnose: bool = True
    verify: bool = True
    perf: bool = True
    min_free_disk: Tuple[Tuple[str, int], ...] = ()
    perf_fractions: Tuple[Tuple[str, float], ...] = ()
    severity: Tuple[Tuple[str, str], ...] = ()
    timeout_s: float = 120.0
    allreduce_sizes: Tuple[int, ...] = (1 << 20, 16 << 20, 256 << 20)
    min_busbw_intra_gbs: float = 0.0
    min_busbw_inter_gbs: float = 0.0
    outlier_fraction: float = 0.75
    sources: Tuple[Tuple[str, str], ...] = field(default=(), compare=False)

    def severity_of(self, check_id: str) -> str:
        return dict(self.severity).get(check_id, "fail")

    def fraction_for(self, gpu_class: str) -> Optional[float]:
        return dict(self.perf_fractions).get(gpu_class)

    def source_of(self, name: str) -> str:
        return dict(self.sources).get(name, "built-in")

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: sizes in bytes, ``max_gpu_memory_used`` null when not checked (>= 1PB)."""
        out: Dict[str, Any] = {}
        for name in ("profile",) + tuple(FIELDS):
            value = getattr(self, name)
            if name == "max_gpu_memory_used" and value >= UNLIMITED_SIZE:
                value = None
            elif name in ("min_free_disk", "perf_fractions", "severity"):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        out["sources"] = dict(self.sources)
        return out


# ------------------------------------------------------------------------------------ showing


def _size_words(n: int) -> str:
    exact = format_size_exact(n)
    return exact if exact.endswith(" B") else "{} ({} bytes)".format(exact, n)


def shown(th: Thresholds, name: str) -> str:
    """One threshold as ``--show-config`` prints it: sizes with units and bytes, NOT_CHECKED when off."""
    value = getattr(th, name)
    kind = FIELDS[name][0]
    if kind == "size":
        off = not value if name in _ZERO_IS_OFF else value >= UNLIMITED_SIZE
        return NOT_CHECKED if off else _size_words(value)
    if kind == "sizemap":
        return ", ".join("{} >= {}".format(p, _size_words(n)) if n else "{} {}".format(p, NOT_CHECKED)
                         for p, n in value) or NOT_CHECKED
    if kind == "sizelist":
        return ", ".join(format_size_exact(n) for n in value)
    if kind in ("version", "spec") or name == "gpu_model":
        return value or NOT_CHECKED
    if name in ("min_open_files", "min_free_ram_fraction") and not value:
        return NOT_CHECKED
    if name in ("min_busbw_intra_gbs", "min_busbw_inter_gbs"):
        return "{:g} GB/s".format(value) if value else NOT_CHECKED + " (outliers only)"
    if name == "max_temperature_c":
        return "{} C".format(value)
    if kind == "seconds":
        return "{:g} s".format(value)
    if kind == "bool":
        return "true" if value else "false"
    if name == "perf_fractions":
        return ", ".join("{} = {:g}".format(k, v) for k, v in value) or "the GPU table's rule per class"
    if kind in ("strlist", "severitymap"):
        return ", ".join(v if isinstance(v, str) else "{} = {}".format(*v) for v in value) or "none"
    return str(value)


# ------------------------------------------------------------------------------------ reading


def _toml_module():
    if sys.version_info >= (3, 11):
        import tomllib  # novermin - guarded by the version check

        return tomllib
    try:
        import tomli  # type: ignore[import-not-found]
    except ImportError:
        return None
    return tomli


def load_file(path: str) -> Dict[str, Any]:
    """A TOML or JSON config as a dict. ConfigError for a missing or malformed file."""
    from envcheck.files import MIB, read_input

    raw = read_input(path, "config file", 4 * MIB, error=ConfigError)
    text = raw.decode("utf-8", "replace")
    if path.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except RecursionError:
            raise ConfigError("{}: not a config (JSON nested too deeply)".format(path)) from None
        except ValueError as exc:
            raise ConfigError("{}: not valid JSON ({})".format(path, exc)) from None
    else:
        toml = _toml_module()
        if toml is None:
            raise CannotRunError(
                "{}: reading TOML needs Python 3.11+ or the tomli package".format(path),
                hint="install tomli or use Python 3.11+ (a JSON config needs neither)",
            )
        try:
            data = toml.loads(text)
        except Exception as exc:  # noqa: BLE001 - TOMLDecodeError of tomllib or tomli
            raise ConfigError("{}: not valid TOML ({})".format(path, exc)) from None
    if not isinstance(data, dict):
        raise ConfigError("{}: expected a table of settings at the top".format(path))
    return data


def load_profiles(path: str = PROFILES_FILE) -> Dict[str, Dict[str, Any]]:
    """The shipped profiles, checked (unknown keys, bad values, broken ``extends``)."""
    data = load_file(path)
    if data.get("schema") != SCHEMA:
        raise ConfigError("{}: schema {!r}, expected {!r}".format(path, data.get("schema"), SCHEMA))
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or "default" not in profiles:
        raise ConfigError("{}: no [profiles.default] table".format(path))
    for name, body in profiles.items():
        _check_keys(body, path, "profile {!r}".format(name), allow_meta=True, sub=_sub_table(name))
    for name in profiles:
        _chain(profiles, name, path)
        _parse_layer(_flatten(_merged(profiles, name, path)), path)
    return profiles


def profile_names(path: str = PROFILES_FILE) -> List[str]:
    return sorted(load_profiles(path))


# ---------------------------------------------------------------------------------- checking


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return " (did you mean {!r}?)".format(close[0]) if close else ""


def _check_keys(body: Any, source: str, where: str, allow_meta: bool = False, sub: str = "[distributed]") -> None:
    """Unknown keys are errors naming the nearest key, or the table (``sub``) a key belongs in."""
    if not isinstance(body, dict):
        raise ConfigError("{}: {} is not a table".format(source, where))
    top = [k for k, (_, t) in FIELDS.items() if t is None] + ["distributed"]
    if allow_meta:
        top += list(_META)
    for key, value in body.items():
        if key in FIELDS and key not in top:
            raise ConfigError("{}: unknown key {!r} in {} (it belongs in {})".format(source, key, where, sub))
        if key not in top:
            raise ConfigError("{}: unknown key {!r} in {}{}".format(source, key, where, _suggest(key, top)))
        if key == "distributed":
            if not isinstance(value, dict):
                raise ConfigError("{}: 'distributed' in {} is not a table".format(source, where))
            known = [k for k, (_, t) in FIELDS.items() if t == "distributed"]
            for k in value:
                if k in FIELDS and k not in known:
                    raise ConfigError("{}: unknown key {!r} in [distributed] of {} (it belongs outside {})"
                                      .format(source, k, where, sub))
                if k not in known:
                    raise ConfigError(
                        "{}: unknown key {!r} in [distributed] of {}{}".format(source, k, where, _suggest(k, known))
                    )


def _sub_table(profile: str) -> str:
    return "[profiles.{}.distributed]".format(profile)


def _profile_name(name: str, profiles: Mapping[str, Any], where: str) -> str:
    """``name`` as the profiles spell it (any case when that is unambiguous); else ConfigError."""
    if name in profiles:
        return name
    same = [p for p in profiles if p.lower() == name.lower()]
    if len(same) == 1:
        return same[0]
    known = ", ".join(profiles)
    raise ConfigError("{}no profile {!r}{} (known: {})".format(where, name, _suggest(name, profiles), known))


def _chain(profiles: Mapping[str, Any], name: str, source: str) -> List[str]:
    """``[default, ..., name]``: the profiles ``name`` extends, base first."""
    chain: List[str] = []
    cur: Optional[str] = name
    while cur is not None:
        if cur in chain:
            raise ConfigError("{}: profile {!r} extends itself (via {})".format(source, name, " -> ".join(chain + [cur])))
        if cur not in profiles:
            raise ConfigError(
                "{}: no profile {!r}{} (known: {})".format(source, cur, _suggest(cur, profiles), ", ".join(sorted(profiles)))
            )
        chain.append(cur)
        body = profiles[cur]
        nxt = body.get("extends", None if cur == "default" else "default")
        if nxt is not None and not isinstance(nxt, str):
            raise ConfigError("{}: 'extends' of profile {!r} must be a profile name".format(source, cur))
        cur = nxt
    return list(reversed(chain))


def _merge(base: Dict[str, Any], over: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if k in _TABLES and isinstance(v, dict) and isinstance(out.get(k), dict):
            merged = dict(out[k])
            merged.update(v)
            out[k] = merged
        else:
            out[k] = v
    return out


def _merged(profiles: Mapping[str, Any], name: str, source: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for link in _chain(profiles, name, source):
        out = _merge(out, profiles[link])
    return out


def _flatten(body: Mapping[str, Any]) -> Dict[str, Any]:
    """Profile table -> {field: raw value}; the [distributed] keys come up to the top."""
    out = {k: v for k, v in body.items() if k not in ("distributed",) + _META}
    out.update(body.get("distributed") or {})
    return out


# ----------------------------------------------------------------------------------- parsing


def _bad(source: str, key: str, value: Any, expected: str) -> ConfigError:
    if source == FLAGS_SOURCE and key in FIELDS:
        flag = _FLAGS.get(key, "--" + key.replace("_", "-"))
        return ConfigError("{}: {} {!r}: expected {}".format(source, flag, value, expected))
    return ConfigError("{}: {} = {!r}: expected {}".format(source, key, value, expected))


def _size(key: str, value: Any, source: str, shown: Any = None) -> int:
    """A size with a unit (``80GB``; a bare 0 is fine): ``--min-gpu-memory 80`` is not 80 bytes.

    ``shown``: what the message quotes, when not ``value`` (a size map's ``{path: size}``).
    """
    shown = value if shown is None else shown
    try:
        return parse_size(value, unit_required=True)
    except SizeWithoutUnit as exc:
        raise _bad(source, key, shown, "a size with a unit: {n}GB ({n} x 10^9 bytes) or {n}GiB ({n} x 2^30 bytes)"
                   .format(n=exc.number)) from None
    except InvalidSize:
        raise _bad(source, key, shown, "a size such as 80GB, 1GiB or 0") from None


def _parse_value(key: str, value: Any, source: str) -> Any:
    kind = FIELDS[key][0]
    if kind == "str":
        if not isinstance(value, str):
            raise _bad(source, key, value, "text")
        if key == "gpu_model" and len(value) > 2 and value.startswith("/") and value.endswith("/"):
            try:
                re.compile(value[1:-1])
            except re.error as exc:
                raise _bad(source, key, value, "a valid /regex/ ({})".format(exc)) from None
        return value
    if kind == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        low, high, expected = _RANGES.get(key, (0, None, "a whole number >= 0"))
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            raise _bad(source, key, value, expected)
        return value
    if kind in ("number", "seconds", "fraction"):
        expected = "seconds > 0" if kind == "seconds" else "a number >= 0"
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _bad(source, key, value, expected) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise _bad(source, key, value, expected)
        if kind == "fraction" and value > 2:
            raise _bad(source, key, value, "a fraction (0.75, not 75)")
        if kind == "seconds" and value <= 0:
            raise _bad(source, key, value, expected)
        return float(value)
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        if not isinstance(value, bool):
            raise _bad(source, key, value, "true or false")
        return value
    if kind == "size":
        return _size(key, value, source)
    if kind == "version":
        if not isinstance(value, str):
            value = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        if not isinstance(value, str):
            raise _bad(source, key, value, _VERSIONS[key])
        if value.strip():
            from packaging.version import InvalidVersion, Version

            try:
                Version(value.strip())
            except InvalidVersion:
                raise _bad(source, key, value, _VERSIONS[key]) from None
        return value.strip()
    if kind == "spec":
        if not isinstance(value, str):
            raise _bad(source, key, value, "a version specifier such as \">=2.6\"")
        if value.strip():
            from packaging.specifiers import InvalidSpecifier, SpecifierSet

            text = value.strip()
            if text[0].isdigit():
                text = "==" + text + ("" if text.count(".") >= 2 else ".*")
            try:
                SpecifierSet(text)
            except InvalidSpecifier:
                raise _bad(source, key, value, "a version specifier such as \">=2.6\"") from None
            return text
        return ""
    if kind == "strlist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad(source, key, value, "a list of names")
        return tuple(value)
    if kind == "sizelist":
        if not isinstance(value, list) or not value:
            raise _bad(source, key, value, "a non-empty list of sizes")
        try:
            sizes = tuple(parse_size(v, unit_required=True) for v in value)
        except SizeWithoutUnit as exc:
            raise _bad(source, key, value, "sizes with units such as [\"1MiB\", \"256MiB\"] ({!r} has none)"
                       .format(exc.number)) from None
        except InvalidSize:
            raise _bad(source, key, value, "a list of sizes such as [\"1MiB\", \"256MiB\"]") from None
        if any(s < 4 for s in sizes):
            raise _bad(source, key, value, "sizes of at least 4 bytes")
        return sizes
    if kind == "sizemap":
        if not isinstance(value, dict):
            raise _bad(source, key, value, "a table of path = size")
        return tuple(sorted(
            (str(p), _size(key, v, source, shown="{}={}".format(p, v) if source == FLAGS_SOURCE else {p: v}))
            for p, v in value.items()
        ))
    if kind == "fractionmap":
        if not isinstance(value, dict):
            raise _bad(source, key, value, "a table of GPU class = fraction")
        return tuple(sorted((str(k), _parse_value("min_free_ram_fraction", v, source + " " + key)) for k, v in value.items()))
    if kind == "severitymap":
        from envcheck.preflight.checks import CHECK_IDS

        if not isinstance(value, dict):
            raise _bad(source, key, value, "a table of check = \"fail\" | \"warn\" | \"off\"")
        for k, v in value.items():
            if k not in CHECK_IDS:
                raise ConfigError("{}: severity: unknown check {!r}{}".format(source, k, _suggest(k, CHECK_IDS)))
            if v not in SEVERITIES:
                raise _bad(source, "severity." + k, v, "\"fail\", \"warn\" or \"off\"")
        return tuple(sorted(value.items()))
    raise AssertionError(kind)  # pragma: no cover


def _parse_layer(raw: Mapping[str, Any], source: str) -> Dict[str, Any]:
    return {k: _parse_value(k, v, source) for k, v in raw.items()}


def with_layer(th: Thresholds, raw: Mapping[str, Any], source: str, label: str) -> Thresholds:
    """``th`` with one more layer of values on top (checked as a config file's are), each from ``label``."""
    from dataclasses import replace

    parsed = _parse_layer(raw, source)
    sources = dict(th.sources)
    sources.update({k: label for k in parsed})
    return replace(th, sources=tuple(sorted(sources.items())), **parsed)


def resolve(
    profile: Optional[str] = None,
    config_path: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    profiles_path: str = PROFILES_FILE,
) -> Thresholds:
    """The thresholds in force: shipped profile <- config file <- flags (``overrides``)."""
    profiles = dict(load_profiles(profiles_path))
    config: Dict[str, Any] = {}
    if config_path:
        config = load_file(config_path)
        extra = config.get("profiles") or {}
        if not isinstance(extra, dict):
            raise ConfigError("{}: 'profiles' must be a table of profiles".format(config_path))
        for name, body in extra.items():
            _check_keys(body, config_path, "profile {!r}".format(name), allow_meta=True, sub=_sub_table(name))
            profiles[name] = _merge(profiles.get(name, {}), body)
        top = {k: v for k, v in config.items() if k not in ("profiles", "profile", "schema")}
        _check_keys(top, config_path, "the top level")
        if "profile" in config and not isinstance(config["profile"], str):
            raise ConfigError("{}: 'profile' must be a profile name".format(config_path))
    if profile:
        name = _profile_name(profile, profiles, "")
    else:  # the config's choice: an unknown one names the config
        name = _profile_name(config.get("profile") or "default", profiles, "{}: ".format(config_path or profiles_path))
    values: Dict[str, Any] = {}
    sources: Dict[str, str] = {}

    def layer(raw: Mapping[str, Any], source: str, label: str) -> None:
        parsed = _parse_layer(raw, source)
        for k, v in parsed.items():
            if k in ("min_free_disk", "perf_fractions", "severity") and k in values:
                merged = dict(values[k])
                merged.update(dict(v))
                v = tuple(sorted(merged.items()))
            values[k] = v
            sources[k] = label

    for link in _chain(profiles, name, config_path or profiles_path):
        where = "config {}".format(config_path) if config_path and link in (config.get("profiles") or {}) else profiles_path
        layer(_flatten(profiles[link]), where, "profile {}".format(link))
    if config_path:
        top = {k: v for k, v in config.items() if k not in ("profiles", "profile", "schema")}
        layer(_flatten(top), config_path, "config {}".format(os.path.basename(config_path)))
    if overrides:
        layer({k: v for k, v in overrides.items() if v is not None}, FLAGS_SOURCE, "flag")
    missing = [k for k in FIELDS if k not in values]
    if missing:
        raise ConfigError("profile {!r}: no value for {}".format(name, ", ".join(missing)))
    return Thresholds(profile=name, sources=tuple(sorted(sources.items())), **values)
