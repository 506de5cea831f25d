"""Toolkit rules (EC501-EC503) and GPU health rules (EC601-EC606)."""

from __future__ import annotations

import dataclasses

import pytest

from helpers.facts import change, load
from helpers.findings import codes, one

H100 = "h100x8-torch2.11-cu130-driver580"


def _toolkit(facts, **kw):
    tks = list(facts.nvcc.toolkits)
    tks[0] = dataclasses.replace(tks[0], **kw)
    return change(facts, {"nvcc.toolkits": tuple(tks)})




@pytest.mark.parametrize("release, problems, notes", [
    ("13.0", set(), {"EC001"}),
    ("13.1", set(), {"EC001", "EC502"}),
    ("12.8", {"EC501"}, set()),
])
def test_nvcc_vs_torch(matrix, release, problems, notes):
    facts = load(H100)
    sel = facts.nvcc.selected
    tks = tuple(dataclasses.replace(t, release=release) if t is sel else t for t in facts.nvcc.toolkits)
    assert codes(change(facts, {"nvcc.toolkits": tks}), matrix) == (problems, notes)


def test_nvcc_major_mismatch_points_at_a_matching_toolkit(matrix):
    f = one(load("nvcc11.8-torch2.7-cu128"), matrix, "EC501")
    assert f.command == "export CUDA_HOME=/usr/local/cuda-12.8"
    assert "mismatches the version" in f.cause and "nvidia-smi" in f.cause


@pytest.mark.parametrize("status, detail", [
    ("timed-out", "nvcc: no answer within 5.0 s (killed)"),
    ("failed", "nvcc: exit status 1: Segmentation fault"),
    ("failed", "nvcc: no release line in output: garbage"),
])
def test_nvcc_unusable(matrix, status, detail):
    facts = load(H100)
    sel = facts.nvcc.selected
    tks = tuple(dataclasses.replace(t, status=status, detail=detail, release=None) if t is sel else t
                for t in facts.nvcc.toolkits)
    f = one(change(facts, {"nvcc.toolkits": tks}), matrix, "EC503")
    assert detail in "\n".join(f.evidence) and "cpp_extension would use it" in f.cause


def g(i, **kw):
    return {"driver.gpus[{}].{}".format(i, k): v for k, v in kw.items()}


@pytest.mark.parametrize("changes, problems, notes", [
    (g(0, ecc_uncorrected_volatile=1), {"EC602"}, set()),
    (g(0, ecc_uncorrected_aggregate=5), set(), {"EC001"}),  # past errors, already handled
    (g(1, remap_pending=True), {"EC603"}, set()),
    (g(1, remap_failed=True), {"EC603"}, set()),
    (g(2, retired_pages_pending=True), {"EC603"}, set()),
    (g(2, retired_pages_dbe=40, retired_pages_sbe=30), {"EC603"}, set()),
    (g(2, retired_pages_dbe=10), set(), {"EC001"}),
    (dict(g(3, status="lost")), {"EC601"}, set()),
    ({"driver.status": "failed", "driver.error_code": "gpu-lost", "driver.gpus": (), "torch_runtime": None},
     {"EC601"}, set()),
    (g(4, compute_mode="exclusive-process"), {"EC604"}, set()),
    (g(4, compute_mode="exclusive-thread"), {"EC604"}, set()),
    (g(5, compute_mode="prohibited"), {"EC605"}, set()),
    (g(6, mig_enabled=True), set(), {"EC001", "EC606"}),
])
def test_health_rules(matrix, changes, problems, notes):
    assert codes(change(load(H100), changes), matrix) == (problems, notes)


def test_failed_remap_needs_service_not_a_reset(matrix):
    f = one(change(load(H100), g(1, remap_failed=True)), matrix, "EC603")
    assert f.command is None and "RMA" in f.fix
    pending = one(load("a100-ecc-remap-pending"), matrix, "EC603")
    assert pending.command == "sudo nvidia-smi -r -i 0"
