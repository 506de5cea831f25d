"""Every recorded machine yields exactly its expected findings.

The table is the contract: (errors and warnings), (notes). Snapshots live in
tests/data/snapshots/ (built by make_snapshots.py there) and tests/data/probes/snapshots/.
"""

from __future__ import annotations

import os

import pytest

from envcheck.rules import diagnose

from helpers.facts import PROBE_SNAPSHOTS, SNAPSHOTS, load

EXPECTED = {
    # name: ({error and warning codes}, {info codes})
    "a100-ecc-remap-pending": ({"EC602", "EC603"}, set()),
    "conda-env-pip-torch": ({"EC301", "EC305"}, set()),
    "container-without-gpus": ({"EC103"}, set()),
    "cu12-and-cu13-wheels": ({"EC303"}, set()),
    "cuda-visible-devices-empty": ({"EC401"}, set()),
    "devbox-no-driver-nvcc13-torch-cpu": (set(), {"EC001", "EC109", "EC202"}),
    "dgx-a100-gpu-lost": ({"EC601"}, {"EC102"}),
    "docker-shm-64m": ({"EC408"}, set()),
    "driver-library-mismatch": ({"EC105"}, set()),
    "driver-not-loaded-after-kernel-upgrade": ({"EC104"}, set()),
    "driver535-torch2.11-cu130": ({"EC101"}, set()),
    "exclusive-process-mode": ({"EC604"}, set()),
    "gtx1080-torch2.8-cu128": ({"EC203"}, set()),
    "ld-library-path-shadowing": ({"EC405"}, {"EC102", "EC502"}),
    "mixed-gpus-cuda-visible-devices-cut": ({"EC402", "EC403"}, set()),
    "nvcc11.8-torch2.7-cu128": ({"EC501"}, set()),
    "p100-cudnn9.13-upgraded": ({"EC206", "EC304"}, {"EC102"}),
    "rtx5090-torch2.6-cu124": ({"EC203"}, set()),
    "torch2.1-source-build-python3.12": ({"EC308"}, set()),
    "torchvision-other-build": ({"EC301"}, set()),
    "v100-torch2.11-cu130-quick": ({"EC203", "EC206"}, set()),
    "wsl2-libcuda-so1-only": ({"EC407"}, {"EC102"}),
    "wsl2-linux-driver": ({"EC406"}, set()),
    # the probe author's snapshots
    "h100x8-torch2.11-cu130-driver580": (set(), {"EC001"}),
    "laptop-rtx3060-cpu-torch": ({"EC201"}, set()),
    "this-machine": ({"EC002"}, {"EC109"}),
}


def _names(folder):
    return sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json"))


def test_every_snapshot_has_an_entry_and_there_are_enough():
    mine = _names(SNAPSHOTS)
    assert len(mine) >= 15
    assert set(mine) | set(_names(PROBE_SNAPSHOTS)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_snapshot_yields_its_codes(name, matrix):
    diag = diagnose(load(name), matrix, strict=True)
    problems = {f.code for f in diag.findings if f.severity in ("error", "warning")}
    notes = {f.code for f in diag.findings if f.severity == "info"}
    assert (problems, notes) == EXPECTED[name]
    assert diag.exit_code("error") == (1 if any(f.severity == "error" for f in diag.findings) else 0)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_are_complete_and_sorted(name, matrix):
    diag = diagnose(load(name), matrix, strict=True)
    ranks = [f.rank for f in diag.findings]
    assert ranks == sorted(ranks)
    for f in diag.findings:
        assert f.title and f.cause and f.fix
        if f.severity != "info":
            assert f.evidence, f.code
        for line in f.evidence:
            assert " = " in line, line
    if diag.command:
        assert diag.command_fixes and all(c in diag.codes for c in diag.command_fixes)
    if not diag.healthy:
        assert "EC001" not in diag.codes


def test_snapshots_round_trip(matrix):
    from envcheck.facts import from_json, to_json

    for name in _names(SNAPSHOTS):
        facts = load(name)
        with open(os.path.join(SNAPSHOTS, name + ".json"), encoding="utf-8") as fh:
            assert to_json(facts, redact=False) == fh.read()
        assert facts.redacted and from_json(to_json(facts)) == facts
