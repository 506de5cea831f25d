from __future__ import annotations

import pytest

from envcheck.errors import InputError
from envcheck.matrix.variants import (
    ComputeCapability,
    Variant,
    parse_any_variant,
    parse_cc,
    parse_cuda,
    parse_driver,
    parse_release,
    parse_rocm,
    parse_variant,
    version_key,
)


@pytest.mark.parametrize(
    "text, label",
    [
        ("12.1", "cu121"),
        ("cu121", "cu121"),
        ("12.1.1", "cu121"),
        ("CUDA 12.1", "cu121"),
        ("cuda12.8", "cu128"),
        ("cu12.8", "cu128"),
        (" 13.0 ", "cu130"),
        ("cu92", "cu92"),
        ("9.2", "cu92"),
        ("10.0", "cu100"),
        ("cu100", "cu100"),
        ("11.8.0", "cu118"),
    ],
)
def test_cuda_aliases(text, label):
    assert parse_cuda(text).label == label


@pytest.mark.parametrize("text", ["12.x", "banana", "", "12", "cu1", "12.10", "1234.5", "cu12345", "cu12", "1.2", "6.5"])
def test_cuda_rejects(text):
    with pytest.raises(InputError) as exc:
        parse_cuda(text)
    assert repr(text) in str(exc.value)


def test_cuda_minor_is_the_last_digit():
    assert parse_cuda("cu100").version == (10, 0)
    assert parse_cuda("cu92").version == (9, 2)
    assert parse_cuda("cu130").dotted == "13.0"


@pytest.mark.parametrize(
    "text, version", [("6.2", (6, 2)), ("rocm6.2.4", (6, 2, 4)), ("ROCm 7.14", (7, 14))]
)
def test_rocm(text, version):
    assert parse_rocm(text) == Variant("rocm", version)


@pytest.mark.parametrize("text", ["cpu", "cu128", "rocm6.2.4", "rocm3.10", "cu92"])
def test_data_labels_round_trip(text):
    assert parse_variant(text).label == text


@pytest.mark.parametrize("text", ["cuda", "cu", "rocm", "gpu", "cu128 ", "CU128", "rocm6"])
def test_data_labels_are_strict(text):
    with pytest.raises(InputError):
        parse_variant(text)


@pytest.mark.parametrize(
    "text, label", [("cpu", "cpu"), ("12.8", "cu128"), ("rocm6.3", "rocm6.3"), ("cu118", "cu118")]
)
def test_any_variant(text, label):
    assert parse_any_variant(text).label == label


@pytest.mark.parametrize(
    "text, key",
    [("2.7", (2, 7)), ("2.7.1", (2, 7, 1)), ("v2.7.1", (2, 7, 1)), ("2.7.1+cu128", (2, 7, 1))],
)
def test_release(text, key):
    assert parse_release(text) == key


@pytest.mark.parametrize("text", ["banana", "2", "2.7.1.1", "2.x", "", ">=2.6"])
def test_release_rejects(text):
    with pytest.raises(InputError):
        parse_release(text)


@pytest.mark.parametrize(
    "text, cc",
    [("8.6", (8, 6)), ("sm_86", (8, 6)), ("86", (8, 6)), ("sm_120", (12, 0)), ("12.0", (12, 0)),
     ("compute_90", (9, 0)), ("SM_70", (7, 0))],
)
def test_compute_capability(text, cc):
    assert parse_cc(text) == ComputeCapability(*cc)


@pytest.mark.parametrize("text", ["banana", "8", "8.6.1", "sm_"])
def test_compute_capability_rejects(text):
    with pytest.raises(InputError):
        parse_cc(text)


@pytest.mark.parametrize("text, key", [("535", (535,)), ("535.104.05", (535, 104, 5)), ("528.33", (528, 33))])
def test_driver(text, key):
    assert parse_driver(text) == key


@pytest.mark.parametrize("text", ["banana", "53", "535.104.05.1", "v535"])
def test_driver_rejects(text):
    with pytest.raises(InputError):
        parse_driver(text)


def test_versions_sort_numerically_not_as_text():
    assert version_key("2.10.0") > version_key("2.9.1")
    assert version_key("0.20") != version_key("0.2")
