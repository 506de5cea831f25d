"""envcheck.facts: the snapshot format, its loader and redaction."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from envcheck.errors import EXIT_USAGE, InputError
from envcheck.facts import SCHEMA, Facts, from_json, load_facts, to_json
from envcheck.facts.model import EnvFacts

from helpers.fakes import DATA

SNAPSHOTS = sorted(os.listdir(os.path.join(DATA, "snapshots")))


def _path(name: str) -> str:
    return os.path.join(DATA, "snapshots", name)


def _text(name: str) -> str:
    with open(_path(name), encoding="utf-8") as fh:
        return fh.read()


def test_three_snapshots_at_least():
    assert {
        "this-machine.json",
        "h100x8-torch2.11-cu130-driver580.json",
        "laptop-rtx3060-cpu-torch.json",
    } <= set(SNAPSHOTS)


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_snapshot_round_trips_byte_for_byte(name):
    facts = load_facts(_path(name))
    assert facts.schema == SCHEMA and facts.redacted
    assert to_json(facts, redact=False) == _text(name)
    assert from_json(to_json(facts)) == facts


def test_h100_snapshot_values():
    f = load_facts(_path("h100x8-torch2.11-cu130-driver580.json"))
    assert (f.driver.version, f.driver.cuda_max, len(f.driver.gpus)) == ("580.82.07", "13.0", 8)
    assert {g.compute_capability for g in f.driver.gpus} == {"9.0"}
    assert (f.torch.version, f.torch.variant, f.torch.cuda_build) == ("2.11.0", "cu130", "13.0")
    assert all(p.satisfied for p in f.torch.cuda_pins)
    assert (f.nvcc.cpp_extension_home, f.nvcc.release) == ("/usr/local/cuda", "13.0")
    assert f.torch_runtime.is_available is True and f.torch_runtime.device_count == 8
    assert [g.uuid for g in f.driver.gpus][:2] == ["GPU-redacted-0", "GPU-redacted-1"]


def test_laptop_snapshot_values():
    f = load_facts(_path("laptop-rtx3060-cpu-torch.json"))
    assert f.driver.gpus[0].name == "NVIDIA GeForce RTX 3060 Laptop GPU"
    assert (f.torch.variant, f.torch.cuda_build, f.torch_runtime.is_available) == (
        "cpu",
        None,
        False,
    )
    assert f.nvcc.status == "missing"


def test_this_machine_snapshot_values():
    f = load_facts(_path("this-machine.json"))
    assert (f.driver.status, f.driver.error_code) == ("missing", "library-not-found")
    assert f.torch.status == "missing" and f.host.hostname == "redacted-host"
    assert f.nvcc.toolkits[0].release == "13.0"


def _gpu_facts() -> Facts:
    f = load_facts(_path("h100x8-torch2.11-cu130-driver580.json"))
    gpus = tuple(
        dataclasses.replace(
            g, uuid="GPU-%08x-1111-2222-3333-444455556666" % i, serial="165432100%d" % i
        )
        for i, g in enumerate(f.driver.gpus)
    )
    env = dataclasses.replace(
        f.host.env, cuda_visible_devices="{},{}".format(gpus[3].uuid, gpus[1].uuid)
    )
    return dataclasses.replace(
        f,
        redacted=False,
        host=dataclasses.replace(f.host, hostname="dgx-h100-017", env=env),
        driver=dataclasses.replace(f.driver, gpus=gpus),
    )


def test_redaction_is_consistent_and_leaves_the_original():
    facts = _gpu_facts()
    text = to_json(facts)
    assert "dgx-h100-017" not in text and "1111-2222" not in text and "1654321" not in text
    back = from_json(text)
    assert back.redacted and back.host.hostname == "redacted-host"
    assert back.host.env.cuda_visible_devices == "GPU-redacted-3,GPU-redacted-1"
    assert {g.serial for g in back.driver.gpus} == {"redacted"}
    assert facts.host.hostname == "dgx-h100-017"  # frozen original untouched
    unredacted = from_json(to_json(facts, redact=False))
    assert unredacted == facts


def _broken(mutate) -> str:
    data = json.loads(_text("h100x8-torch2.11-cu130-driver580.json"))
    mutate(data)
    return json.dumps(data)


def _set(path, value):
    def mutate(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(path):
    def mutate(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "{not json",
            "snap.json: not JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        ("[]", "snap.json: not an envcheck facts snapshot (expected a JSON object)"),
        (
            _broken(_delete(["schema"])),
            "snap.json: not an envcheck facts snapshot (no 'schema' field)",
        ),
        (
            _broken(_set(["schema"], "envcheck.facts/2")),
            "snap.json: field 'schema': unsupported snapshot schema 'envcheck.facts/2' "
            "(this envcheck reads envcheck.facts/1)",
        ),
        (_broken(_delete(["torch"])), "snap.json: field 'torch' is missing"),
        (
            _broken(_set(["driver", "gpus", 2, "memory_total_mib"], "lots")),
            "snap.json: field 'driver.gpus[2].memory_total_mib': expected an integer, got 'lots'",
        ),
        (
            _broken(_set(["driver", "gpus", 0, "persistence_mode"], 1)),
            "snap.json: field 'driver.gpus[0].persistence_mode': expected true or false, got 1",
        ),
        (
            _broken(_set(["driver", "gpus", 0, "colour"], "green")),
            "snap.json: field 'driver.gpus[0].colour': unknown field in GpuFacts",
        ),
        (
            _broken(_delete(["driver", "gpus", 5, "index"])),
            "snap.json: field 'driver.gpus[5].index' is missing",
        ),
        (
            _broken(_set(["torch", "status"], "fine")),
            "snap.json: field 'torch.status': expected one of ok, missing, failed, timed-out, unknown, got 'fine'",
        ),
        (
            _broken(_set(["host", "env", "nccl"], ["NCCL_DEBUG=INFO"])),
            "snap.json: field 'host.env.nccl': expected an object, got ['NCCL_DEBUG=INFO']",
        ),
        (
            _broken(_set(["torch", "cuda_pins"], {"a": 1})),
            "snap.json: field 'torch.cuda_pins': expected a list, got {'a': 1}",
        ),
        (
            _broken(_set(["nvcc", "toolkits", 0], "x" * 100)),
            "snap.json: field 'nvcc.toolkits[0]': expected an object (Toolkit), got 'xxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...",
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-schema",
        "schema-2",
        "no-torch",
        "bad-int",
        "bad-bool",
        "unknown-field",
        "missing-required",
        "bad-status",
        "bad-dict",
        "bad-list",
        "long-value",
    ],
)
def test_malformed_snapshot_one_clear_line(text, message):
    with pytest.raises(InputError) as info:
        from_json(text, source="snap.json")
    assert str(info.value) == message
    assert info.value.exit_code == EXIT_USAGE
    assert "\n" not in str(info.value)


def test_short_hand_written_snapshot_takes_defaults():
    text = json.dumps(
        {
            "schema": SCHEMA,
            "host": {"env": {"cuda_visible_devices": ""}},
            "driver": {
                "status": "ok",
                "cuda_max": "12.8",
                "gpus": [{"index": 0, "compute_capability": "12.0"}],
            },
            "nvcc": {},
            "torch": {"status": "ok", "version": "2.6.0+cu124", "cuda_build": "12.4"},
        }
    )
    f = from_json(text)
    assert f.host.env == EnvFacts(cuda_visible_devices="")
    assert f.driver.gpus[0].compute_capability == "12.0" and f.driver.gpus[0].status == "ok"
    assert f.torch_runtime is None and f.nvcc.status == "missing"


def test_load_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.json: cannot read \(No such file or directory\)"):
        load_facts(str(tmp_path / "nope.json"))


def test_load_facts_reads_a_bare_snapshot_and_both_envelopes(tmp_path):
    """One loader for every --facts: ``facts --json`` / ``-o`` (bare) and a ``diagnose --json``
    envelope (``data.facts``) give the same facts."""
    facts = load_facts(_path("laptop-rtx3060-cpu-torch.json"))
    data = json.loads(to_json(facts, redact=False))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(data))
    diag = tmp_path / "diagnose.json"
    diag.write_text(json.dumps({"envcheck_result_version": 1, "command": "diagnose", "exit_code": 1,
                                "data": {"findings": [], "facts": data}}))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"envcheck_result_version": 1, "command": "facts", "data": data}))
    assert load_facts(str(bare)) == load_facts(str(diag)) == load_facts(str(plain)) == facts


def test_load_facts_rejects_an_envelope_without_facts(tmp_path):
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps({"envcheck_result_version": 1, "command": "matrix", "data": {"releases": []}}))
    with pytest.raises(InputError, match=r"matrix\.json: not an envcheck facts snapshot \(no 'schema' field\)"):
        load_facts(str(path))
