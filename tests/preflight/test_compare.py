"""envcheck compare: facts snapshots of several nodes, majority against outliers."""

from __future__ import annotations

import json

import pytest

from envcheck.errors import InputError
from envcheck.preflight.compare import compare_files, text_lines

from .conftest import PROBES, run_envcheck

H100 = PROBES / "snapshots" / "h100x8-torch2.11-cu130-driver580.json"


def _nodes(tmp_path, n=4):
    base = json.loads(H100.read_text())
    paths = []
    for i in range(n):
        doc = json.loads(json.dumps(base))
        doc["host"]["hostname"] = "gpu{:02d}".format(i + 1)
        doc["redacted"] = False
        if i == 2:
            doc["driver"]["version"] = "570.133.20"
            doc["driver"]["cuda_max"] = "12.8"
            doc["host"]["kernel"] = "5.15.0-130-generic"
        p = tmp_path / "gpu{:02d}.json".format(i + 1)
        p.write_text(json.dumps(doc))
        paths.append(str(p))
    return paths


def test_the_odd_node_is_named(tmp_path):
    c = compare_files(_nodes(tmp_path))
    assert c.labels == ["gpu01", "gpu02", "gpu03", "gpu04"]
    rows = {r["path"]: r for r in c.differing}
    assert set(rows) == {"driver.version", "driver.cuda_max", "host.kernel"}
    assert rows["driver.version"]["majority"] == "580.82.07" and rows["driver.version"]["majority_count"] == 3
    assert rows["driver.version"]["outliers"] == [{"snapshot": "gpu03", "value": "570.133.20"}]
    assert c.exit_code == 1
    text = "\n".join(text_lines(c))
    assert "odd one out gpu03: '570.133.20'" in text
    assert "differs host.kernel" in text  # shown, not important


def test_identical_nodes_agree(tmp_path):
    paths = _nodes(tmp_path)
    c = compare_files([paths[0], paths[1], paths[3]])
    assert c.differing == [] and c.exit_code == 0
    assert "every compared field agrees" in text_lines(c)


def test_two_snapshots_split_without_majority(tmp_path):
    paths = _nodes(tmp_path)
    c = compare_files([paths[0], paths[2]])
    row = [r for r in c.differing if r["path"] == "driver.version"][0]
    assert row["majority"] is None and len(row["split"]) == 2


def test_needs_two_snapshots_and_valid_files(tmp_path):
    with pytest.raises(InputError, match="at least two"):
        compare_files([str(H100)])
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(InputError, match="bad.json"):
        compare_files([str(H100), str(bad)])


@pytest.mark.slow
def test_compare_cli_json(tmp_path):
    proc = run_envcheck("compare", *_nodes(tmp_path), "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "compare" and doc["exit_code"] == 1
    assert doc["data"]["important_differences"] == ["driver.version", "driver.cuda_max"]
    bad = run_envcheck("compare", str(H100), str(tmp_path / "absent.json"))
    assert bad.returncode == 2 and "cannot read" in bad.stderr
