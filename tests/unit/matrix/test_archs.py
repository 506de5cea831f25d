"""NVIDIA's compatibility rules give the known answers for real GPUs and real wheels."""

from __future__ import annotations

import pytest

from envcheck.matrix import archs
from envcheck.matrix.variants import ComputeCapability, parse_cc, parse_variant

CC = ComputeCapability


@pytest.mark.parametrize(
    "cc, sass, ptx, runs, how",
    [
        ("8.6", ["8.6"], [], True, "sass sm_86"),
        ("8.9", ["8.0", "8.6"], [], True, "sass sm_86"),  # same major, newer minor
        ("10.3", ["10.0"], [], True, "sass sm_100"),
        ("12.1", ["12.0"], [], True, "sass sm_120"),
        ("8.0", ["8.6"], [], False, ""),  # older minor than the code
        ("9.0", ["8.0", "8.6"], [], False, ""),  # SASS never crosses majors
        ("9.0", ["8.0"], ["8.0"], True, "ptx compute_80 (JIT on first use)"),  # PTX does
        ("12.0", ["9.0"], ["9.0"], True, "ptx compute_90 (JIT on first use)"),
        ("7.5", [], ["8.0"], False, ""),  # PTX only forward
        ("9.0", ["9.0a"], [], True, "sass sm_90a"),
        ("9.1", ["9.0a"], [], False, ""),  # 'a' targets: exactly that GPU
        ("10.3", ["10.0f"], [], True, "sass sm_100f"),
        ("8.7", ["8.0", "8.6"], [], False, ""),  # Jetson Orin: not desktop SASS
        ("8.7", ["8.7"], [], True, "sass sm_87"),
        ("7.2", ["7.0"], ["7.0"], True, "ptx compute_70 (JIT on first use)"),
    ],
)
def test_rules(cc, sass, ptx, runs, how):
    v = archs.runs_on(parse_cc(cc), tuple(sass), tuple(ptx))
    assert v.runs is runs
    assert v.how == how
    assert v.reason


# The answers the issue names, against the shipped wheel data.
@pytest.mark.parametrize(
    "gpu, cc, torch, variant, runs",
    [
        ("RTX 5090", "12.0", "2.7.0", "cu128", True),
        ("RTX 5090", "12.0", "2.6.0", "cu126", False),
        ("RTX 5090", "12.0", "2.6.0", "cu124", False),
        ("V100", "7.0", "2.9.0", "cu130", False),
        ("V100", "7.0", "2.12.0", "cu130", False),
        ("V100", "7.0", "2.15.0", "cu132", False),
        ("V100", "7.0", "2.11.0", "cu126", True),
        ("V100", "7.0", "2.11.0", "cu128", False),  # gone from cu128 at 2.11
        ("V100", "7.0", "2.10.0", "cu128", True),  # back in cu128 for 2.8-2.10
        ("V100", "7.0", "2.7.1", "cu128", False),
        ("GTX 1080", "6.1", "2.8.0", "cu126", True),
        ("GTX 1080", "6.1", "2.8.0", "cu128", False),
        ("GTX 1080", "6.1", "2.11.0", "cu130", False),
        ("K80", "3.7", "2.7.1", "cu118", True),
        ("K80", "3.7", "2.7.1", "cu126", False),
        ("K80", "3.7", "2.1.0", "cu121", False),  # cu12x wheels have no sm_37
        ("H100", "9.0", "2.15.0", "cu132", True),
        ("RTX 4090", "8.9", "2.11.0", "cu130", True),
        ("B200", "10.0", "2.7.0", "cu128", True),
        ("B200", "10.0", "2.6.0", "cu126", False),
        ("A100", "8.0", "1.8.1", "cu111", True),
        ("RTX 3090", "8.6", "1.8.1", "cu102", False),
    ],
)
def test_known_answers(matrix, gpu, cc, torch, variant, runs):
    wa = archs.wheel_archs(matrix, matrix.get(torch), parse_variant(variant), "linux")
    verdict = wa.runs_on(parse_cc(cc))
    assert verdict is not None, f"{torch} {variant}: no arch data"
    assert verdict.runs is runs, (gpu, verdict)


def test_k80_needs_cu11x_up_to_2_7(matrix):
    """Kepler K80 (sm_37): only cu11x wheels, and none after 2.7."""
    k80 = parse_cc("3.7")
    running = set()
    for rel in matrix.releases:
        for v in rel.cuda_variants():
            verdict = archs.wheel_archs(matrix, rel, v, "linux").runs_on(k80)
            if verdict and verdict.runs:
                running.add((rel.torch, v.label))
    assert running
    assert all(label.startswith(("cu10", "cu11")) for _, label in running)
    assert max(rel for rel, _ in running if rel.startswith("2.")) == "2.7.1"


def test_gtx_1080_only_cu126_from_2_8(matrix):
    pascal = parse_cc("6.1")
    for rel in matrix.releases:
        if rel.key < (2, 8):
            continue
        ok = {v.label for v in rel.cuda_variants() if _runs(matrix, rel, v, pascal)}
        assert ok <= {"cu126"}, (rel.torch, ok)


def _runs(matrix, rel, v, cc):
    verdict = archs.wheel_archs(matrix, rel, v, "linux").runs_on(cc)
    return bool(verdict and verdict.runs)


def test_windows_falls_back_to_linux_row_as_inferred(matrix):
    wa = archs.wheel_archs(matrix, matrix.get("2.7.1"), parse_variant("cu128"), "windows")
    assert wa.known and wa.confidence == "inferred" and "Linux" in wa.note


def test_unknown_archs_say_so(matrix):
    wa = archs.wheel_archs(matrix, matrix.get("1.4.0"), parse_variant("cu101"), "linux")
    assert not wa.known and wa.confidence == "unknown"
    assert wa.runs_on(parse_cc("7.0")) is None


def test_generations():
    assert archs.generation(CC(7, 5)) == "Turing"
    assert archs.generation(CC(8, 9)) == "Ada Lovelace"
    assert archs.generation(CC(9, 0)) == "Hopper"
