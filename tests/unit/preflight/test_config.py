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
    ('outlier_fraction = 75\n', "unknown key 'outlier_fraction'"),
    ('[distributed]\noutlier_fraction = 75\n', "a fraction"),
    ('[distributed]\ntimeout = 5\n', "unknown key 'timeout' in [distributed]"),
    ('[severity]\n"gpu.temp" = "warn"\n', "unknown check 'gpu.temp'"),
    ('[severity]\n"gpu.ecc" = "maybe"\n', '"fail", "warn" or "off"'),
    ('profile = "nope"\n', "no profile 'nope'"),
    ('[profiles.a]\nextends = "b"\n[profiles.b]\nextends = "a"\n', "extends itself"),
    ('min_gpus = \n', "not valid TOML"),
    ('min_gpu_memory = "80"\n', "min_gpu_memory = '80': expected a size with a unit: 80GB (80 x 10^9 bytes) or 80GiB"),
    ('min_shm = 1073741824\n', "min_shm = 1073741824: expected a size with a unit"),
    ('max_gpu_memory_used = "1.5"\n', "expected a size with a unit: 1.5GB"),
    ('[min_free_disk]\n"/scratch" = "500"\n', "min_free_disk = {'/scratch': '500'}: expected a size with a unit: 500GB"),
    ('[distributed]\nallreduce_sizes = ["1MiB", 4096]\n', "sizes with units such as"),
    ('max_temperature_c = 500\n', "max_temperature_c = 500: expected degrees C from 1 to 150"),
    ('max_temperature_c = 0\n', "degrees C from 1 to 150"),
    ('gpu_model = "/[unclosed/"\n', "gpu_model = '/[unclosed/': expected a valid /regex/ (unterminated character set"),
    ('min_cuda = "twelve"\n', 'expected a CUDA version such as "12.8"'),
    ('min_driver = "new"\n', 'expected a driver version such as "570" or "570.133.20"'),
    ('[distributed]\ntimeout_s = 0\n', "timeout_s = 0: expected seconds > 0"),
    ('[distributed]\ntimeout_s = -5\n', "timeout_s = -5: expected seconds > 0"),
    ('[distributed]\ntimeout_s = "soon"\n', "timeout_s = 'soon': expected seconds > 0"),
    ('timeout_s = 30\n', "unknown key 'timeout_s' in the top level (it belongs in [distributed])"),
    ('[distributed]\nmin_gpus = 3\n', "unknown key 'min_gpus' in [distributed] of the top level (it belongs outside [distributed])"),
    ('[profiles.mine]\ntimeout_s = 30\n', "(it belongs in [profiles.mine.distributed])"),
])
def test_config_errors_name_the_file_and_key(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    name = "a" if "profiles.a" in body else "mine" if "profiles.mine" in body else None
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


def test_zero_sizes_need_no_unit_and_mean_not_checked(tmp_path):
    """0 is 0 bytes in every unit; the shipped profiles write "0" for "not checked"."""
    path = tmp_path / "zero.toml"
    path.write_text('min_gpu_memory = 0\nmin_shm = "0"\nmin_free_ram = "0"\n[min_free_disk]\n"/tmp" = 0\n')
    th = resolve(None, str(path))
    assert (th.min_gpu_memory, th.min_shm, th.min_free_ram, dict(th.min_free_disk)) == (0, 0, 0, {"/tmp": 0})
    for key in ("min_gpu_memory", "min_shm", "min_free_ram", "min_free_disk"):
        assert config.shown(th, key).startswith(config.NOT_CHECKED) or config.shown(th, key) == "/tmp not checked"


@pytest.mark.parametrize("overrides, message", [
    ({"min_gpu_memory": "80"}, "command line: --min-gpu-memory '80': expected a size with a unit: 80GB"),
    ({"max_temperature_c": 500}, "command line: --max-temperature 500: expected degrees C from 1 to 150"),
    ({"gpu_model": "/[unclosed/"}, "--gpu-model '/[unclosed/': expected a valid /regex/"),
    ({"min_open_files": -1}, "--min-open-files -1: expected a whole number >= 0"),
    ({"min_gpus": -1}, "--min-gpus -1: expected a whole number >= 0"),
    ({"timeout_s": 0.0}, "--timeout 0.0: expected seconds > 0"),
    ({"timeout_s": -5.0}, "--timeout -5.0: expected seconds > 0"),
    ({"min_free_disk": {"/scratch": "500"}}, "--min-free-disk '/scratch=500': expected a size with a unit: 500GB"),
])
def test_flag_errors_name_the_flag(overrides, message):
    with pytest.raises(ConfigError) as info:
        resolve("default", None, overrides)
    assert message in str(info.value)


@pytest.mark.parametrize("value", ["/H100|A100/", "H100", "/", "//x"])
def test_gpu_model_regex_or_substring_accepted(value):
    assert resolve("default", None, {"gpu_model": value}).gpu_model == value


def test_unknown_profile_lists_the_known_ones_without_a_path():
    with pytest.raises(ConfigError) as info:
        resolve("nope")
    message = str(info.value)
    assert message.startswith("no profile 'nope' (known: default, h100-sxm, ")
    assert config.PROFILES_FILE not in message and "/" not in message


def test_profile_names_match_in_any_case(tmp_path):
    assert resolve("H100-SXM").profile == "h100-sxm"
    path = tmp_path / "cfg.toml"
    path.write_text('profile = "CPU"\n')
    assert resolve(None, str(path)).profile == "cpu"
    path.write_text('[profiles.Mine]\nmin_gpus = 2\n[profiles.mine]\nmin_gpus = 3\n')
    assert resolve("mine", str(path)).min_gpus == 3  # an exact match wins
    with pytest.raises(ConfigError, match="no profile 'MINE'"):
        resolve("MINE", str(path))  # two profiles match: ambiguous


def test_a_bad_profile_in_a_config_names_the_config(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text('profile = "nope"\n')
    with pytest.raises(ConfigError, match=r"cfg.toml: no profile 'nope' \(known: default, "):
        resolve(None, str(path))


def test_show_config_values_are_human_readable():
    th = resolve("healthcheck", None, {"min_gpu_memory": "80GB", "min_free_disk": {"/scratch": "500GiB"}})
    assert config.shown(th, "min_gpu_memory") == "80 GB (80000000000 bytes)"
    assert config.shown(th, "max_gpu_memory_used") == config.NOT_CHECKED  # 1PB: the healthcheck's "any"
    assert config.shown(th, "min_shm") == "1 GiB (1073741824 bytes)"
    assert config.shown(th, "min_free_disk") == "/scratch >= 500 GiB (536870912000 bytes), /tmp not checked"
    assert config.shown(th, "allreduce_sizes") == "1 MiB, 16 MiB, 256 MiB"
    assert config.shown(th, "min_driver") == config.NOT_CHECKED
    assert config.shown(th, "min_busbw_intra_gbs") == "not checked (outliers only)"
    assert config.shown(resolve("h100-sxm"), "min_busbw_intra_gbs") == "345 GB/s"
    assert config.shown(th, "max_temperature_c") == "87 C"
    assert config.shown(th, "timeout_s") == "120 s"
    assert config.shown(th, "min_free_ram_fraction") == config.NOT_CHECKED
    for key in config.FIELDS:
        assert isinstance(config.shown(th, key), str)


def test_json_thresholds_give_null_for_an_unchecked_maximum():
    assert resolve("healthcheck").to_dict()["max_gpu_memory_used"] is None
    assert resolve("default").to_dict()["max_gpu_memory_used"] == 2**30
