"""envcheck compare: facts snapshots of several nodes, majority against outliers."""

from __future__ import annotations

import json

import pytest

from envcheck.errors import InputError
from envcheck.preflight.compare import compare_files
from envcheck.render.preflight_text import compare_lines as text_lines

from helpers.cli import invoke
from helpers.preflight import PROBES

H100 = PROBES / "snapshots" / "h100x8-torch2.11-cu130-driver580.json"


def _nodes(tmp_path, n=4, edit=None):
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
        if edit:
            edit(i, doc)
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


def test_compare_cli_json(tmp_path):
    proc = invoke("compare", *_nodes(tmp_path), "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "compare" and doc["exit_code"] == 1
    assert doc["data"]["important_differences"] == ["driver.version", "driver.cuda_max"]
    bad = invoke("compare", str(H100), str(tmp_path / "absent.json"))
    assert bad.returncode == 2 and "cannot read" in bad.stderr
    twice = invoke("compare", str(H100), str(H100))
    assert twice.returncode == 2 and twice.stdout == ""
    assert twice.stderr.strip().splitlines() == ["envcheck: error: {}: given twice; name each snapshot once".format(H100)]


def _quick(i, doc):
    if i == 1:  # what facts --quick writes: the torch child skipped
        doc["quick"] = True
        doc["torch_runtime"] = None


def test_a_quick_snapshot_is_not_a_difference(tmp_path):
    paths = _nodes(tmp_path, edit=_quick)
    c = compare_files([paths[0], paths[1]])
    assert c.differing == [] and c.exit_code == 0
    assert c.not_collected == [{"snapshot": "gpu02", "quick": True, "sources": ["torch runtime"]}]
    row = [r for r in c.fields if r["path"] == "torch_runtime.is_available"][0]
    assert row["agree"] and row["value"] is True and row["not_collected"] == ["gpu02"]
    assert "not collected in gpu02 (quick snapshot): torch runtime (not compared there)" in text_lines(c)
    # with a majority, the quick one is neither in it nor an outlier
    c = compare_files(paths)
    assert {r["path"] for r in c.differing} == {"driver.version", "driver.cuda_max", "host.kernel"}
    row = [r for r in c.differing if r["path"] == "driver.version"][0]
    assert row["majority_count"] == 3 and row["compared"] == 4
    assert "torch_runtime.is_available" not in {r["path"] for r in c.differing}


def test_a_runtime_that_failed_still_differs(tmp_path):
    def crashed(i, doc):
        if i == 1:
            doc["torch_runtime"]["status"] = "crashed"

    c = compare_files(_nodes(tmp_path, edit=crashed))
    row = [r for r in c.differing if r["path"] == "torch_runtime.is_available"][0]
    assert row["outliers"] == [{"snapshot": "gpu02", "value": None}] and c.exit_code == 1


def test_the_same_path_twice_is_an_input_error(tmp_path, monkeypatch):
    paths = _nodes(tmp_path, n=2)
    with pytest.raises(InputError, match="gpu01.json: given twice"):
        compare_files([paths[0], paths[1], paths[0]])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="as '.*gpu01.json' and './gpu01.json'"):
        compare_files([paths[0], "./gpu01.json"])
    copy = tmp_path / "copy.json"  # the same content in another file is fine
    copy.write_text((tmp_path / "gpu01.json").read_text())
    assert compare_files([paths[0], str(copy)]).differing == []


@pytest.mark.parametrize("shm, odd, shown", [
    (1082101917696, 64 * 2**20, "host.shm_total_bytes: 1008 GiB on 3 of 4; odd one out gpu03: 64 MiB"),
    (1082101917696, int(1.5 * 2**30), "host.shm_total_bytes: 1008 GiB on 3 of 4; odd one out gpu03: 1.5 GiB"),
    (512 * 2**20, 2**30, "host.shm_total_bytes: 512 MiB on 3 of 4; odd one out gpu03: 1.0 GiB"),
], ids=["MiB", "tenths-of-GiB", "GiB-over-MiB"])
def test_sizes_are_shown_in_a_readable_unit(tmp_path, shm, odd, shown):
    def set_shm(i, doc):
        doc["host"]["shm"]["total_bytes"] = odd if i == 2 else shm

    lines = text_lines(compare_files(_nodes(tmp_path, edit=set_shm)))
    text = "; ".join(line.split("differs ")[-1].strip() for line in lines)
    assert shown in text


def test_memory_sizes_a_few_mib_apart_agree(tmp_path):
    def nudge(i, doc):
        doc["host"]["memory_total_bytes"] += i * 3 * 2**20

    c = compare_files(_nodes(tmp_path, edit=nudge))
    assert "host.memory_total_bytes" not in {r["path"] for r in c.differing}


def test_the_legend_explains_the_two_marks(tmp_path):
    lines = text_lines(compare_files(_nodes(tmp_path)))
    assert "legend: DIFFERS matters for a job (exit 1); differs is informational (exit 0)" in lines
    assert any(line.startswith("  DIFFERS driver.version") for line in lines)
    assert any(line.startswith("  differs host.kernel") for line in lines)


def _redacted(tmp_path, names):
    doc = json.loads(H100.read_text())
    paths = []
    for name in names:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(doc))
        paths.append(str(p))
    return paths


@pytest.mark.parametrize("names, labels", [
    (["rack1/n1.json", "rack2/n1.json"], ["rack1/n1", "rack2/n1"]),
    (["a/rack/n1.json", "b/rack/n1.json", "b/rack/n2.json"], ["a/rack/n1", "b/rack/n1", "n2"]),
    (["n1.json", "n2.json"], ["n1", "n2"]),
])
def test_labels_are_the_shortest_distinguishing_suffix(tmp_path, names, labels):
    assert compare_files(_redacted(tmp_path, names)).labels == labels


def test_a_file_in_the_current_folder_and_one_below(tmp_path, monkeypatch):
    _redacted(tmp_path, ["work/n1.json", "work/old/n1.json"])
    monkeypatch.chdir(tmp_path / "work")
    assert compare_files(["n1.json", "old/n1.json"]).labels == ["work/n1", "old/n1"]
