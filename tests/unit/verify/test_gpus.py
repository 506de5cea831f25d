"""The GPU table: canonical form, validation naming file and row, and NVML name matching."""

from __future__ import annotations

import json

import pytest

from envcheck.errors import DataError
from envcheck.matrix import gpus, store

TABLE = store.shipped_dir() / gpus.FILE


@pytest.fixture(scope="module")
def table():
    return gpus.load_file(TABLE)


@pytest.fixture
def doc():
    return json.loads(TABLE.read_text(encoding="utf-8"))


def test_file_is_in_canonical_form():
    text = TABLE.read_text(encoding="utf-8")
    assert store.dump_json(json.loads(text)) == text


def test_not_part_of_the_refreshable_set():
    assert gpus.FILE not in store.FILES


def test_rows_and_fields(table):
    assert len(table.rows) >= 54
    for row in table.rows:
        assert row.source.strip(), row.key
        assert row.confidence in ("official", "inferred", "unknown"), row.key
        assert row.gpu_class in table.classes, row.key
        assert set(row.peaks) == {"fp32", "tf32", "bf16", "fp16"}
    for cls in table.classes.values():
        assert cls.source.strip() and cls.description.strip()
    assert table.verdict_source and table.host_link_source
    assert 0 < table.floor < table.spread <= 1


@pytest.mark.parametrize(
    "key, cls, bf16, bw",
    [
        ("h100_sxm", "hbm-datacenter", 989, 3350),
        ("h100_pcie", "pcie-hopper", 756, 2000),
        ("l4", "power-capped", 121, 300),
        ("t4", "power-capped", None, 320),
        ("nvidia_geforce_rtx_4090", "geforce", 165.2, 1008),
        ("nvidia_a100_sxm4_80gb", "hbm-datacenter", 312, 2039),
        ("agx_orin", "integrated", None, 204.8),
    ],
)
def test_known_rows(table, key, cls, bf16, bw):
    row = table.get(key)
    assert row is not None
    assert (row.gpu_class, row.peaks["bf16"], row.mem_bw_gbs) == (cls, bf16, bw)


def test_healthy_ranges_from_the_upstream_readme(table):
    c = table.classes
    assert c["hbm-datacenter"].matmul_half == gpus.Range(0.75, 0.87)
    assert c["pcie-hopper"].matmul_half == gpus.Range(0.65, 0.70)
    assert c["power-capped"].matmul_half == gpus.Range(0.55, 0.66)
    assert c["geforce"].matmul_half == gpus.Range(0.90, 1.15)
    assert c["hbm-datacenter"].memory_copy == gpus.Range(0.62, 0.88)
    assert c["integrated"].matmul_half is None


# --------------------------------------------------------------------------------- matching

MATCHES = [
    # the prefix traps
    ("NVIDIA A10", "a10"),
    ("NVIDIA A10G", "a10g"),
    ("NVIDIA A100-SXM4-40GB", "nvidia_a100_sxm4_40gb"),
    ("NVIDIA A100-SXM4-80GB", "nvidia_a100_sxm4_80gb"),
    ("NVIDIA A100 80GB PCIe", "nvidia_a100_pcie_80gb"),
    ("NVIDIA A100-PCIE-40GB", "nvidia_a100_pcie_40gb"),
    ("NVIDIA L4", "l4"),
    ("NVIDIA L40", "l40"),
    ("NVIDIA L40S", "l40s"),
    ("NVIDIA H200", "h200_sxm"),
    ("NVIDIA H200 NVL", "h200_nvl"),
    ("NVIDIA H800", "h800_sxm"),
    ("NVIDIA H800 PCIe", "h800_pcie"),
    ("NVIDIA H100 80GB HBM3", "h100_sxm"),  # the SXM5 part says HBM3, not SXM
    ("NVIDIA H100 PCIe", "h100_pcie"),
    ("NVIDIA H100 NVL", "h100_nvl"),
    # MIG slices keep the parent GPU
    ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "nvidia_a100_sxm4_40gb"),
    ("NVIDIA H100 80GB HBM3 MIG 3g.40gb", "h100_sxm"),
    ("NVIDIA H200 MIG 1g.18gb", "h200_sxm"),
    ("NVIDIA A100-SXM4-80GB MIG 1g.10gb+me", "nvidia_a100_sxm4_80gb"),
    # older drivers without "NVIDIA ", case and spacing
    ("A100-SXM4-40GB", "nvidia_a100_sxm4_40gb"),
    ("A10", "a10"),
    ("GeForce GTX 1080 Ti", "gtx1080ti"),
    ("NVIDIA GeForce GTX 1080 Ti", "gtx1080ti"),
    ("GeForce RTX 3090", "nvidia_geforce_rtx_3090"),
    ("  NVIDIA   L4 ", "l4"),
    ("nvidia l40s", "l40s"),
    # Tesla names, Jetson
    ("Tesla T4", "t4"),
    ("Tesla V100-SXM2-16GB", "v100_sxm2_16"),
    ("Tesla V100-SXM2-32GB-LS", "v100_sxm2_32"),
    ("Orin (nvgpu)", "agx_orin"),
    ("NVIDIA GeForce RTX 5090", "nvidia_geforce_rtx_5090"),
]

UNKNOWN = [
    "NVIDIA H100",  # a bare H100 (PCI 2339) is another variant, not the SXM5
    "NVIDIA H800 NVL",
    "NVIDIA A1000",
    "NVIDIA L40G",
    "NVIDIA L4 Ti",
    "NVIDIA GeForce RTX 3090 Ti",
    "NVIDIA GeForce RTX 4070 SUPER",
    "NVIDIA GeForce RTX 5090 D",
    "NVIDIA RTX A5000",
    "",
    None,
]


@pytest.mark.parametrize("name, key", MATCHES)
def test_match(table, name, key):
    m = gpus.match(table, name)
    assert m.row is not None, m.describe()
    assert m.row.key == key, m.describe()


@pytest.mark.parametrize("name", UNKNOWN)
def test_no_match(table, name):
    assert gpus.match(table, name).row is None


def test_match_details(table):
    m = gpus.match(table, "NVIDIA A100-SXM4-40GB MIG 1g.5gb")
    assert (m.mig, m.pattern) == ("1g.5gb", "NVIDIA A100-SXM4-40GB")
    assert "MIG slice 1g.5gb" in m.describe()
    assert gpus.match(table, "NVIDIA L4").row.match == "exact"
    assert gpus.match(table, "Orin (nvgpu)").row.identifies == "family"
    assert gpus.match(table, "NVIDIA H100").describe() == "'NVIDIA H100' is not in envcheck's GPU table"


@pytest.mark.parametrize(
    "name, base, mig",
    [
        ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "NVIDIA A100-SXM4-40GB", "1g.5gb"),
        ("NVIDIA H100 80GB HBM3 MIG 7g.80gb", "NVIDIA H100 80GB HBM3", "7g.80gb"),
        ("NVIDIA L4", "NVIDIA L4", None),
    ],
)
def test_split_mig(name, base, mig):
    assert gpus.split_mig(name) == (base, mig)


@pytest.mark.parametrize("text, link", [("Gen4 x16", (4, 16)), ("Gen5 x8", (5, 8)), (None, None), ("x16", None)])
def test_pcie_link(text, link):
    assert gpus.pcie_link(text) == link


# ------------------------------------------------------------------------------- validation


def _write(tmp_path, doc):
    path = tmp_path / gpus.FILE
    path.write_text(store.dump_json(doc), encoding="utf-8")
    return path


def _row(doc, key):
    return next(r for r in doc["gpus"] if r["key"] == key)


def _corrupt(tmp_path, doc, match: str):
    path = _write(tmp_path, doc)
    with pytest.raises(DataError) as info:
        gpus.load_file(path)
    assert str(path) in info.value.message
    assert match in info.value.message, info.value.message
    return info.value


def test_a_prefix_pattern_that_shadows_another_row_is_refused(tmp_path, doc):
    _row(doc, "l4")["match"] = "prefix"
    e = _corrupt(tmp_path, doc, "(l4): prefix pattern 'l4' also matches")
    assert "make the row exact" in e.message


def test_h200_must_be_exact(tmp_path, doc):
    _row(doc, "h200_sxm")["match"] = "prefix"
    _corrupt(tmp_path, doc, "h200_nvl")


def test_a_pattern_in_two_rows_is_refused(tmp_path, doc):
    _row(doc, "a10g")["nvml"].append("A10")  # "NVIDIA A10" once the prefix is dropped
    _corrupt(tmp_path, doc, "is also a pattern of")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.pop("source"), "gpu row 1 (k80): missing field 'source'"),
        (lambda r: r.update(cc="sm_37"), "cc is not a compute capability"),
        (lambda r: r.update({"class": "datacentre"}), "unknown class 'datacentre'"),
        (lambda r: r.update(confidence="sure"), "confidence' must be one of"),
        (lambda r: r.update(match="fuzzy"), "field 'match' must be one of exact, prefix"),
        (lambda r: r["peaks_tflops"].pop("tf32"), "peaks_tflops must have exactly"),
        (lambda r: r["peaks_tflops"].update(fp32=-1), "field 'fp32' must be positive"),
        (lambda r: r.update(nvml=[]), "field 'nvml' must not be empty"),
        (lambda r: r.update(pcie="PCIe 3"), "pcie must look like"),
    ],
)
def test_row_errors_name_the_file_and_row(tmp_path, doc, edit, message):
    edit(doc["gpus"][0])
    _corrupt(tmp_path, doc, message)


def test_duplicate_key(tmp_path, doc):
    doc["gpus"][1]["key"] = doc["gpus"][0]["key"]
    _corrupt(tmp_path, doc, "gpu row 2 (k80): duplicate key (also row 1)")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(schema="envcheck.gpus/2"), "this envcheck reads 'envcheck.gpus/1'"),
        (lambda d: d["classes"]["geforce"].update(matmul_half=[1.2, 0.9]), "class 'geforce': field 'matmul_half'"),
        (lambda d: d["verdict"].update(floor=0.99), "need 0 < floor < spread <= 1"),
        (lambda d: d.update(gpus=[]), "'gpus' must be a non-empty list"),
    ],
)
def test_top_level_errors(tmp_path, doc, edit, message):
    edit(doc)
    _corrupt(tmp_path, doc, message)


def test_unreadable_json(tmp_path):
    path = tmp_path / gpus.FILE
    path.write_text('{"schema": ', encoding="utf-8")
    with pytest.raises(DataError, match=r"corrupt data file .*gpus.json: line 1"):
        gpus.load_file(path)
    with pytest.raises(DataError, match="missing data file"):
        gpus.load_file(tmp_path / "nope.json")
