"""A corrupt or hand-broken data file gives one clear error naming file and row, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from envcheck.errors import EXIT_DATA, DataError
from envcheck.matrix import store


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    for name in store.FILES:
        shutil.copy(store.shipped_dir() / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(store.dump_json(doc), encoding="utf-8")


def _release(doc, torch):
    return next(r for r in doc["releases"] if r["torch"] == torch)


BREAKAGES = [
    ("releases.json", lambda d: _release(d, "2.7.1").update(torchvision=0.22), "release row", "torch 2.7.1", "'torchvision'"),
    ("releases.json", lambda d: _release(d, "2.7.1").pop("torchaudio"), "torch 2.7.1", "missing field 'torchaudio'", ""),
    ("releases.json", lambda d: _release(d, "2.7.1")["pip"]["variants"].append("cu12.8"), "torch 2.7.1", "cu12.8", ""),
    ("releases.json", lambda d: _release(d, "2.7.1")["pip"]["variants"].append("cu128"), "torch 2.7.1", "duplicates", ""),
    ("releases.json", lambda d: _release(d, "2.7.1").update(confidence="probably"), "torch 2.7.1", "confidence", ""),
    ("releases.json", lambda d: _release(d, "2.7.1")["pip"].update(form="magic"), "torch 2.7.1", "pip.form", ""),
    ("releases.json", lambda d: _release(d, "2.7.1")["pip"]["default"].update(linux="cu999"), "torch 2.7.1", "not among its variants", ""),
    ("releases.json", lambda d: _release(d, "2.7.1").update(torch="2.7"), "", "", ""),
    ("releases.json", lambda d: d["releases"].insert(0, dict(d["releases"][-1])), "row 2", "sorted", ""),
    ("releases.json", lambda d: d["releases"].append(dict(d["releases"][-1])), "duplicate", "", ""),
    ("releases.json", lambda d: (_release(d, "2.14.1").pop("partners_note"), _release(d, "2.14.1").update(torchvision=None)),
     "torch 2.14.1", "partners_note", ""),
    ("releases.json", lambda d: _release(d, "2.15.0").update(package_index=[]), "torch 2.15.0", "package_index", ""),
    ("releases.json", lambda d: _release(d, "2.15.0")["package_index"]["default"].update(linux=3), "torch 2.15.0",
     "package_index.default.linux", ""),
    ("releases.json", lambda d: d.update(schema="envcheck.releases/99"), "schema", "", ""),
    ("releases.json", lambda d: d.update(updated="yesterday"), "updated", "", ""),
    ("releases.json", lambda d: d.update(releases=[]), "non-empty", "", ""),
    ("cuda.json", lambda d: d["toolkits"][3].update(driver_linux=367.48), "toolkit row 4", "driver_linux", ""),
    ("cuda.json", lambda d: d["toolkits"].reverse(), "sorted", "", ""),
    ("wheel_archs.json", lambda d: d["rows"][0].update(sass=["sm_37"]), "arch row 1", "malformed", ""),
    ("wheel_archs.json", lambda d: d["rows"][0].update(os="beos"), "arch row 1", "beos", ""),
]


@pytest.mark.parametrize(
    "name, change, needles",
    [(b[0], b[1], [n for n in b[2:] if n]) for b in BREAKAGES],
    ids=[f"{b[0]}-{i}" for i, b in enumerate(BREAKAGES)],
)
def test_breakage_names_file_and_row(data_copy, name, change, needles):
    _edit(data_copy / name, change)
    with pytest.raises(DataError) as exc:
        store.load_dir(data_copy)
    message = str(exc.value)
    assert name in message
    for needle in needles:
        assert needle in message
    assert "\n" not in message
    assert exc.value.exit_code == EXIT_DATA


def test_not_json(data_copy):
    (data_copy / "cuda.json").write_text('{"schema": "envcheck.cuda/1",\n  "toolkits": [,]}\n')
    with pytest.raises(DataError, match=r"cuda\.json: line 2, column"):
        store.load_dir(data_copy)


def test_missing_file(data_copy):
    (data_copy / "wheel_archs.json").unlink()
    with pytest.raises(DataError, match="missing data file"):
        store.load_dir(data_copy)


def test_truncated_file(data_copy):
    path = data_copy / "releases.json"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="releases.json"):
        store.load_dir(data_copy)


def test_user_data_overrides_when_newer(data_copy, monkeypatch):
    _edit(data_copy / "releases.json", lambda d: d.update(updated="2099-01-01T00:00:00Z"))
    monkeypatch.setenv("ENVCHECK_DATA_DIR", str(data_copy))
    store._CACHE.clear()
    try:
        m = store.load()
        assert m.info.origin == "user" and m.info.directory == str(data_copy)
        assert m.info.shipped_updated < m.info.updated
    finally:
        store._CACHE.clear()


def test_older_user_data_is_ignored(data_copy, monkeypatch):
    _edit(data_copy / "releases.json", lambda d: d.update(updated="2001-01-01"))
    monkeypatch.setenv("ENVCHECK_DATA_DIR", str(data_copy))
    store._CACHE.clear()
    try:
        assert store.load().info.origin == "shipped"
    finally:
        store._CACHE.clear()


def test_corrupt_newer_user_data_exits_4_with_one_line(data_copy, cli):
    _edit(data_copy / "releases.json", lambda d: (d.update(updated="2099-01-01T00:00:00Z"), _release(d, "2.3.1").update(python="3.10")))
    r = cli("matrix", "--torch", "2.3.1", env={"ENVCHECK_DATA_DIR": str(data_copy)})
    assert r.returncode == 4
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "torch 2.3.1" in lines[0] and "releases.json" in lines[0]
    assert "Traceback" not in r.stderr
    j = cli("matrix", "--torch", "2.3.1", "--json", env={"ENVCHECK_DATA_DIR": str(data_copy)})
    doc = json.loads(j.stdout)
    assert j.returncode == 4 and doc["status"] == "error" and doc["errors"][0]["kind"] == "data"


def test_loading_is_cheap_enough_to_do_per_command():
    """Not a timing assertion: the benchmark measures speed. This guards the work done per load."""
    m = store.load_dir(store.shipped_dir())
    assert len(m.releases) >= 53 and len(m.archs) >= 100 and len(m.toolkits) >= 60
