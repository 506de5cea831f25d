"""Faults that need no process: malformed ``--facts`` snapshots (one line, exit 2, no traceback) and
recorded NVML readings replayed through the probe (the finding each must give)."""

from __future__ import annotations

import json

import pytest

from envcheck.facts import load_facts

from helpers import paths

THIS_MACHINE = str(paths.DATA / "probes" / "snapshots" / "this-machine.json")


def _valid():
    with open(THIS_MACHINE, encoding="utf-8") as fh:
        return json.load(fh)


def _with(path, value):
    data = _valid()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize("content, words", [
    ("", "not JSON"),
    ("{not json", "not JSON"),
    ("[1, 2]", "not an envcheck facts snapshot"),
    ("{}", "no 'schema' field"),
    ('{"schema": "envcheck.facts/9"}', "unsupported snapshot schema"),
    ('{"schema": "envcheck.facts/1"}', "field 'host' is missing"),
    (_with(["driver", "gpu_count"], "eight"), "field 'driver.gpu_count': expected an integer"),
    (_with(["torch", "colour"], "red"), "field 'torch.colour': unknown field"),
    (_with(["torch_runtime", "status"], "exploded"), "field 'torch_runtime.status': expected one of"),
    (b"\xff\xfe\x00garbage", "cannot read"),
])
def test_malformed_snapshot_is_one_line_exit_2(cli, tmp_path, content, words):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    res = cli("diagnose", "--facts", str(path))
    assert res.returncode == 2
    assert res.stdout == "" and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("envcheck: error: {}".format(path)), lines
    assert words in lines[0]
    doc = json.loads(cli("diagnose", "--facts", str(path), "--json").stdout)
    assert doc["exit_code"] == 2 and doc["errors"][0]["kind"] == "input"


def test_a_directory_for_facts_is_a_usage_error(cli, tmp_path):
    res = cli("diagnose", "--facts", str(tmp_path))
    assert res.returncode == 2 and "Traceback" not in res.stderr


@pytest.mark.parametrize("recording, code", [
    ("driver-library-mismatch", "EC105"),
    ("no-permission", "EC106"),
    ("gpu-lost", "EC601"),
    ("a100-ecc-remap-pending", "EC602"),
])
def test_recorded_nvml_readings_through_the_probe(matrix, recording, code):
    """The probe's own injection point: a recorded NVML module, no process at all."""
    import dataclasses

    from helpers.fakes import FakeNvml, load_recording

    from envcheck.probes.nvml import probe_nvml
    from envcheck.rules import diagnose

    driver = probe_nvml(FakeNvml(load_recording(recording)), root="/nonexistent", smi=None, nvml_timeout=None)
    facts = dataclasses.replace(load_facts(THIS_MACHINE), driver=driver)
    assert code in diagnose(facts, matrix, strict=True).codes
