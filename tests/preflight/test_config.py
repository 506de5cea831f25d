"""Profiles, config files (TOML and JSON), flags, and where each value came from."""

from __future__ import annotations

import json

import pytest

from envcheck.errors import CannotRunError
from envcheck.preflight import config
from envcheck.preflight.checks import CHECK_IDS
from envcheck.preflight.config import ConfigError, resolve


def test_shipped_profiles_load_and_resolve():
    names = config.profile_names()
    assert {"default", "h100-sxm", "a100-sxm", "cpu", "healthcheck"} <= set(names)
    for name in names:
        th = resolve(name)
        assert th.profile == name
        for check_id, _ in th.severity:
            assert check_id in CHECK_IDS


def test_default_profile_values_and_sources():
    th = resolve()
    assert th.min_gpus == 1
    assert th.max_gpu_memory_used == 2**30
    assert th.min_shm == 2**30
    assert th.max_retired_pages == 62
    assert dict(th.min_free_disk) == {"/tmp": 10 * 2**30}
    assert th.allreduce_sizes == (2**20, 16 * 2**20, 256 * 2**20)
    assert th.severity_of("gpu.persistence") == "warn"
    assert th.severity_of("gpu.ecc_errors") == "fail"
    assert th.source_of("min_gpus") == "profile default"


def test_profile_extends_default():
    th = resolve("h100-sxm")
    assert (th.min_gpus, th.gpu_model, th.min_gpu_memory, th.min_driver) == (8, "H100 80GB HBM3", 80 * 10**9, "535")
    assert th.min_busbw_intra_gbs == 345
    assert th.source_of("min_gpus") == "profile h100-sxm"
    assert th.source_of("max_temperature_c") == "profile default"
    assert th.timeout_s == 120  # from default's [distributed], kept under h100-sxm's own [distributed]


def test_toml_config_layers_and_flags(tmp_path):
    path = tmp_path / "preflight.toml"
    path.write_text(
        'profile = "h100-sxm"\n'
        'max_temperature_c = 70\n'
        '[min_free_disk]\n"/scratch" = "500GB"\n'
        '[severity]\n"gpu.persistence" = "fail"\n'
        '[distributed]\ntimeout_s = 30\n'
        '[profiles.mine]\nextends = "cpu"\nmin_open_files = 1024\n'
    )
    th = resolve(None, str(path), {"min_gpus": 4})
    assert th.profile == "h100-sxm"
    assert th.max_temperature_c == 70 and th.source_of("max_temperature_c") == "config preflight.toml"
    assert th.min_gpus == 4 and th.source_of("min_gpus") == "flag"
    assert dict(th.min_free_disk) == {"/tmp": 10 * 2**30, "/scratch": 500 * 10**9}
    assert th.severity_of("gpu.persistence") == "fail"
    assert th.severity_of("host.open_files") == "warn"
    assert th.timeout_s == 30
    mine = resolve("mine", str(path))
    assert (mine.min_gpus, mine.min_open_files, mine.perf) == (0, 1024, False)


def test_json_config_is_the_same_structure(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"profile": "cpu", "min_shm": "2GiB", "distributed": {"allreduce_sizes": ["4KiB"]}}))
    th = resolve(None, str(path))
    assert (th.profile, th.min_shm, th.allreduce_sizes) == ("cpu", 2 * 2**30, (4096,))


@pytest.mark.parametrize("body, message", [
    ('min_gpu = 8\n', "unknown key 'min_gpu' in the top level (did you mean 'min_gpus'?)"),
    ('min_gpu_memory = "lots"\n', "min_gpu_memory = 'lots': expected a size"),
    ('min_gpus = -1\n', "expected a whole number"),
    ('require_torch = ">=two"\n', "version specifier"),
    ('min_driver = "new"\n', "a version"),
    ('outlier_fraction = 75\n', "unknown key 'outlier_fraction'"),
    ('[distributed]\noutlier_fraction = 75\n', "a fraction"),
    ('[distributed]\ntimeout = 5\n', "unknown key 'timeout' in [distributed]"),
    ('[severity]\n"gpu.temp" = "warn"\n', "unknown check 'gpu.temp'"),
    ('[severity]\n"gpu.ecc" = "maybe"\n', '"fail", "warn" or "off"'),
    ('profile = "nope"\n', "no profile 'nope'"),
    ('[profiles.a]\nextends = "b"\n[profiles.b]\nextends = "a"\n', "extends itself"),
    ('min_gpus = \n', "not valid TOML"),
])
def test_config_errors_name_the_file_and_key(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    name = "a" if "profiles.a" in body else None
    with pytest.raises(ConfigError) as info:
        resolve(name, str(path))
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        resolve(None, str(tmp_path / "absent.toml"))


def test_flag_values_are_parsed_like_config_values():
    th = resolve("default", None, {"min_gpu_memory": "80GB", "require_torch": "2.6", "allreduce_sizes": ["1MiB"]})
    assert th.min_gpu_memory == 80 * 10**9
    assert th.require_torch == "==2.6.*"
    with pytest.raises(ConfigError, match="command line"):
        resolve("default", None, {"min_shm": "big"})


def test_toml_without_a_reader_says_what_to_do(tmp_path, monkeypatch):
    """Python 3.9/3.10 without tomli: a clear error; JSON configs still work."""
    monkeypatch.setattr(config, "_toml_module", lambda: None)
    path = tmp_path / "x.toml"
    path.write_text("min_gpus = 1\n")
    with pytest.raises(CannotRunError, match="tomli") as info:
        config.load_file(str(path))
    assert "install tomli or use Python 3.11+" in info.value.hint
    js = tmp_path / "x.json"
    js.write_text('{"min_gpus": 1}')
    assert config.load_file(str(js)) == {"min_gpus": 1}


def test_profiles_round_trip_through_json(tmp_path):
    """The shipped TOML expressed as JSON resolves to the same thresholds (one structure)."""
    data = config.load_file(config.PROFILES_FILE)
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(data))
    for name in config.profile_names():
        a = resolve(name)
        b = resolve(name, profiles_path=str(path))
        assert a == b


def test_show_config_dict_is_json_ready():
    d = resolve("h100-sxm").to_dict()
    json.dumps(d)
    assert d["sources"]["min_gpus"] == "profile h100-sxm"
