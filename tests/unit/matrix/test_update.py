"""envcheck.matrix.update: refresh from recorded pages, a local HTTP server, and the real CLI.

tests/data/index/sync mirrors the shipped data for torch >= 2.9; tests/data/index/drift adds a
simulated newer upstream (torch 2.16.0 on both indexes, with its wheels' metadata; 2.15.0 gains
cu134; 2.14.1's cu134 gains Windows wheels).
Both come from tests/data/index/make_fixtures.py: rerun it when the shipped rows change.
"""

from __future__ import annotations

from helpers import paths
import http.server
import json
import os
import shutil
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import pytest

from envcheck.render.matrix_text import change_lines, update_lines
from envcheck.errors import DataError, InputError, NetworkError
from envcheck.matrix import pyindex, store, update

ROOT = paths.ROOT
INDEX = paths.DATA / "index"
SYNC = INDEX / "sync"
DRIFT = INDEX / "drift"
NOW = datetime(2026, 12, 8, 12, 0, 0, tzinfo=timezone.utc)
STAMP = "2026-12-08T12:00:00Z"
SHIPPED = store.read_updated(store.shipped_dir())
REGENERATE = "the shipped data changed: rerun python tests/data/index/make_fixtures.py"

DRIFT_LINES = [
    "~ torch 2.14.1: + build cu134 for windows",  # an off-selector build gains Windows wheels
    "~ torch 2.15.0: + build cu134 (not on the install selector)",
    ("+ torch 2.16.0 (inferred): torchvision 0.31.0, no torchaudio, "
     "python 3.11-3.15 (experimental 3.15t), builds cpu cu130 cu132 cu134 (off the selector)"),
]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real user data, no mirror settings, no cached data set from another test."""
    monkeypatch.setenv("ENVCHECK_DATA_DIR", str(tmp_path / "user"))
    monkeypatch.delenv(update.INDEX_URL_ENV, raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # not this machine's pip configuration
    monkeypatch.setattr(store, "_CACHE", {})


@pytest.fixture
def dataset(tmp_path):
    """A copy of the shipped data set, as a maintainer's matrices/ checkout."""
    d = tmp_path / "matrices"
    d.mkdir()
    for name in store.FILES:
        shutil.copy2(store.shipped_dir() / name, d / name)
    return d


def snapshot(directory: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(directory.iterdir())}


def diff_lines(result) -> list[str]:
    return [line for line in update_lines(result) if line[:2] in ("+ ", "~ ", "! ")]


def rows_of(directory: Path) -> list[dict]:
    return json.loads((directory / "releases.json").read_text(encoding="utf-8"))["releases"]


# ----------------------------------------------------------------------------- recorded pages


def test_sync_pages_are_in_sync(dataset):
    result = update.run(output=dataset, source=SYNC, check=True, now=NOW)
    assert diff_lines(result) == [], REGENERATE
    assert result.in_sync and result.exit_code == 0 and result.warnings == []
    assert update_lines(result)[-1] == ("in sync: upstream has no release or build that the data lacks; the newest "
                                       "release on the package index, torch 2.15.0, is known and its official "
                                       "fields are settled")
    assert result.reads == []  # every wheel's hash is already recorded: nothing is read again
    assert len(result.pages) <= update.MAX_REQUESTS
    # Old releases on PyPI (1.x) and a yanked or pre-release version are not drift.
    assert result.to_dict()["pending_releases"] == []


def test_drift_shows_a_readable_diff(dataset):
    result = update.run(output=dataset, source=DRIFT, now=NOW)
    assert diff_lines(result) == DRIFT_LINES
    assert result.exit_code == 0  # without --check changes are not a failure
    assert "1 new, 2 extended, 0 pending" in update_lines(result)
    assert update_lines(result)[-1] == f"not written: run with --write to save it to {dataset}"


def test_check_exits_1_on_drift(dataset):
    result = update.run(output=dataset, source=DRIFT, check=True, now=NOW)
    assert result.exit_code == 1


def test_json_is_structured(dataset):
    doc = update.run(output=dataset, source=DRIFT, now=NOW).to_dict()
    json.dumps(doc)  # JSON-able
    assert doc["in_sync"] is False
    assert doc["new_releases"] == ["2.16.0"] and doc["changed_releases"] == ["2.14.1", "2.15.0"]
    windows, changed, new = doc["changes"]
    assert windows == {"torch": "2.14.1", "change": "changed", "added": {"off_selector_os": ["cu134 for windows"]}}
    assert changed == {"torch": "2.15.0", "change": "changed", "added": {"off_selector": ["cu134"]}}
    assert new["change"] == "new" and new["row"]["torch"] == "2.16.0"
    # The new release's two wheels and torchvision 0.31.0 were read by ranges; nothing else was.
    assert [r["url"].rsplit("/", 1)[-1] for r in doc["wheel_reads"]] == [
        "torch-2.16.0-cp315-cp315-manylinux_2_28_x86_64.whl", "torch-2.16.0-cp315-cp315-win_amd64.whl",
        "torchvision-0.31.0-cp315-cp315-manylinux_2_28_x86_64.whl"]
    assert doc["source"]["kind"] == "recorded" and doc["write"]["requested"] is False
    assert doc["compared_with"]["newest_release"] == "2.15.0"
    assert len(doc["requests"]) <= update.MAX_REQUESTS
    missing = {r["url"] for r in doc["requests"] if not r["found"]}
    assert "https://download.pytorch.org/whl/cu136/torch/" in missing  # a probed guess, not an error


def test_new_release_row(dataset):
    result = update.run(output=dataset, source=DRIFT, now=NOW)
    (new,) = result.new
    row = new.row
    prev = rows_of(dataset)[-1]
    assert row["confidence"] == "inferred"
    assert (row["torchvision"], row["torchaudio"]) == ("0.31.0", None)
    assert "no torchaudio release pins torch==2.16.0 or was uploaded with it" in row["partners_note"]
    assert row["python"] == ["3.11", "3.12", "3.13", "3.14", "3.15"]
    assert row["python_experimental"] == ["3.15t"]
    assert row["platforms"] == ["linux", "windows", "macos"]
    # cu134 was off the install selector in 2.15.0 (seen in the same refresh): taken to be off it here.
    assert row["pip"]["variants"] == ["cpu", "cu130", "cu132"]
    (off,) = row["pip"]["off_selector"]
    assert (off["variant"], off["os"], off["confidence"]) == ("cu134", ["linux", "windows"], "inferred")
    assert "off the install selector in torch 2.15.0" in off["note"]
    # What the package index settles: the default build per OS (version.py), Pythons, partners.
    assert row["pip"]["default"] == {"linux": "cu132", "windows": "cpu", "macos": "cpu"}
    assert not {"default_variant", "python", "torchaudio", "torchvision"} & set(row["uncertain"])
    block = row["package_index"]
    assert block["requires_python"] == ">=3.11" and block["pins"]["cuda-toolkit"] == "==13.2.3"
    assert block["partners"]["torchvision"]["torch"] == "==2.16.0"
    assert prev["torch"] == "2.15.0"
    assert "2026-12-08" in row["source"] and "https://download.pytorch.org/whl/" in row["source"]
    assert "https://download.pytorch.org/whl/cu134/torch/" in row["sources"]
    assert row["pip"]["packages"] == ["torch", "torchvision"]


def test_extended_row_keeps_every_curated_fact(dataset):
    old = {r["torch"]: r for r in rows_of(dataset)}["2.15.0"]
    result = update.run(output=dataset, source=DRIFT, now=NOW)
    change = next(c for c in result.changed if c.torch == "2.15.0")
    new = change.row
    # A build the index shows beside the row's selector builds is recorded off the selector.
    assert new["pip"]["variants"] == old["pip"]["variants"]
    (off,) = new["pip"]["off_selector"]
    assert (off["variant"], off["os"], off["confidence"]) == ("cu134", ["linux", "windows"], "official")
    assert off["source"].startswith("https://download.pytorch.org/whl/cu134/torch/")
    assert new["python"] == old["python"]
    assert new["python_experimental"] == old["python_experimental"]
    assert new["torchvision"] == old["torchvision"] == "0.29.2"
    assert new["notes"][: len(old["notes"])] == old["notes"]
    assert new["package_index"] == old["package_index"]
    for key in ("torch", "confidence", "uncertain", "source", "platforms", "conda"):
        assert new[key] == old[key]


# -------------------------------------------------------------------------------------- write


def test_without_write_nothing_is_written(dataset, tmp_path):
    before = snapshot(dataset)
    update.run(output=dataset, source=DRIFT, now=NOW)
    update.run(source=DRIFT, now=NOW)
    assert snapshot(dataset) == before
    assert not (tmp_path / "user").exists()


def test_write_replaces_the_three_files_and_they_load(dataset):
    old_text = {n: (dataset / n).read_text(encoding="utf-8") for n in store.FILES}
    (dataset / "README.md").write_text("mine\n", encoding="utf-8")
    result = update.run(write=True, output=dataset, source=DRIFT, now=NOW)
    assert sorted(p.name for p in dataset.iterdir()) == sorted([*store.FILES, "README.md"])
    assert (dataset / "README.md").read_text(encoding="utf-8") == "mine\n"
    assert [Path(p).name for p in result.written] == list(store.FILES)
    assert update_lines(result)[-1] == (
        f"wrote releases.json, cuda.json, wheel_archs.json to {dataset} (updated {STAMP})"
    )
    m = store.load_dir(dataset)
    assert m.newest.torch == "2.16.0" and m.info.updated == STAMP
    assert m.get("2.16.0").torchvision == "0.31.0" and m.get("2.16.0").package_index.requires_python == ">=3.11"
    for name in store.FILES:
        text = (dataset / name).read_text(encoding="utf-8")
        assert store.dump_json(json.loads(text)) == text  # byte-stable round trip
        assert json.loads(text)["updated"] == STAMP
        assert oct((dataset / name).stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    # cuda.json and wheel_archs.json: only the date changed.
    for name in ("cuda.json", "wheel_archs.json"):
        new = (dataset / name).read_text(encoding="utf-8")
        assert new == old_text[name].replace(f'"updated": "{SHIPPED}"', f'"updated": "{STAMP}"', 1)
    # Untouched rows are byte-identical, and every old row is still there.
    old_rows = json.loads(old_text["releases.json"])["releases"]
    new_rows = rows_of(dataset)
    assert [r["torch"] for r in new_rows] == [r["torch"] for r in old_rows] + ["2.16.0"]
    for old, new in zip(old_rows, new_rows):
        if old["torch"] not in ("2.14.1", "2.15.0"):
            assert store.dump_json(new) == store.dump_json(old)
    # Off-selector builds are kept, and gain the OSes the index shows.
    kept = {r["torch"]: r["pip"].get("off_selector") for r in new_rows}
    assert [o["variant"] for o in kept["2.13.0"]] == ["cu129"]
    assert kept["2.14.1"][0]["os"] == ["linux", "windows"] and kept["2.14.0"][0]["os"] == ["linux"]
    assert m.get("2.13.0").off_selector_build(m.get("2.13.0").variant("cu129")) is not None
    head = old_text["releases.json"].split('   "torch": "2.14.1"')[0]
    head = head.replace(f'"updated": "{SHIPPED}"', f'"updated": "{STAMP}"', 1)
    assert (dataset / "releases.json").read_text(encoding="utf-8").startswith(head)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_written_data_is_in_sync_afterwards(dataset):
    update.run(write=True, output=dataset, source=DRIFT, now=NOW)
    before = snapshot(dataset)
    again = update.run(write=True, output=dataset, source=DRIFT, check=True, now=NOW)
    assert again.in_sync and again.exit_code == 0 and again.written == []
    assert update_lines(again)[-1].endswith("torch 2.16.0, is known and its official fields are settled")
    assert snapshot(dataset) == before


def test_in_sync_writes_nothing(dataset):
    before = snapshot(dataset)
    result = update.run(write=True, output=dataset, source=SYNC, now=NOW)
    assert result.written == [] and snapshot(dataset) == before


def test_write_validates_before_replacing_anything(dataset, monkeypatch):
    before = snapshot(dataset)
    real = store.load_dir

    def picky(directory, *args, **kwargs):
        if Path(directory) != dataset:
            raise DataError("corrupt data file releases.json: release row 54 (torch 2.16.0): boom")
        return real(directory, *args, **kwargs)

    monkeypatch.setattr(store, "load_dir", picky)
    with pytest.raises(DataError, match="does not validate, nothing written: .*boom"):
        update.run(write=True, output=dataset, source=DRIFT, now=NOW)
    assert snapshot(dataset) == before


def test_write_failure_leaves_no_temporary_files(dataset, monkeypatch):
    before = snapshot(dataset)

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError, match="cannot write the data to"):
        update.run(write=True, output=dataset, source=DRIFT, now=NOW)
    assert snapshot(dataset) == before


def test_write_defaults_to_the_user_data_dir(tmp_path):
    result = update.run(write=True, source=DRIFT, now=NOW)
    user = tmp_path / "user"
    assert sorted(p.name for p in user.iterdir()) == sorted(store.FILES)
    assert result.data_info["origin"] == "user" and result.data_info["newest_release"] == "2.16.0"
    monkey_cache = store._CACHE
    monkey_cache.clear()
    m = store.load()
    assert m.info.origin == "user" and m.newest.torch == "2.16.0"
    assert m.info.shipped_updated == SHIPPED


def test_clock_behind_the_shipped_data_is_a_warning():
    result = update.run(write=True, source=DRIFT, now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert result.written
    assert any("keeps using the shipped data" in w for w in result.warnings)


# --------------------------------------------------------------------------------- merge rules


def _observed(*wheels_by_variant, pypi=None) -> update.Observed:
    obs = update.Observed()
    for package, variant, names in wheels_by_variant:
        obs.add_page(package, variant, [pyindex.IndexFile(n, "") for n in names])
    obs.pypi = pypi or {}
    return obs


def test_merge_pending_and_missing_partner(tmp_path):
    rows = rows_of(store.shipped_dir())
    obs = _observed(
        ("torch", "cpu", ["torch-2.16.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",
                          "torch-2.16.0-cp312-none-macosx_11_0_arm64.whl",
                          "torch-2.16.0+cu130-cp313-cp313-manylinux_2_28_x86_64.whl"]),
        ("torchvision", "cpu", ["torchvision-0.31.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"]),
        pypi={"torch": ["2.15.0", "2.16.0", "2.17.0"], "torchvision": ["0.31.1"]},
    )
    ctx = update.Context("2026-12-01", update.RecordedPages(DRIFT))
    before = json.dumps(rows)
    new_rows, changes = update.merge(rows, obs, ctx)
    assert json.dumps(rows) == before  # the input is not modified
    assert [(c.torch, c.kind) for c in changes] == [("2.16.0", "new"), ("2.17.0", "pending")]
    assert change_lines(changes[1]) == [
        ("! torch 2.17.0: on the package index but on none of the probed build indexes; not added "
         "(run again when its wheels are indexed)")
    ]
    row = new_rows[-1]
    # a +cu130 wheel on the cpu page is not a cu130 build; the macOS wheel is CPU
    assert row["pip"]["variants"] == ["cpu"] and row["platforms"] == ["linux", "macos"]
    assert row["python"] == ["3.12"]
    assert row["pip"]["default"] == {"linux": None, "windows": "cpu", "macos": "cpu"}
    assert row["torchvision"] == "0.31.0"
    result = update.UpdateResult({"kind": "recorded"}, {}, changes, [], check=True)
    assert result.exit_code == 1
    # the new row is valid data
    docs = {n: json.loads((store.shipped_dir() / n).read_text(encoding="utf-8")) for n in store.FILES}
    docs["releases.json"]["releases"] = new_rows
    update.write_dataset(docs, tmp_path / "out")
    assert store.load_dir(tmp_path / "out").newest.torch == "2.16.0"


def test_merge_partner_only_on_pypi_stays_null():
    rows = rows_of(store.shipped_dir())
    obs = _observed(
        ("torch", "cu132", ["torch-2.16.0+cu132-cp312-cp312-manylinux_2_28_x86_64.whl"]),
        ("torchvision", "cpu", ["torchvision-0.31.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"]),
        pypi={"torch": ["2.16.0"], "torchvision": ["0.31.0"]},
    )
    ctx = update.Context("2026-12-01", update.RecordedPages(DRIFT))
    new_rows, _ = update.merge(rows, obs, ctx)
    row = new_rows[-1]
    assert row["torchvision"] is None and row["pip"]["packages"] == ["torch"]
    assert "torchvision 0.31.0 is on PyPI but on none of torch 2.16.0's build indexes" in row["partners_note"]
    assert row["pip"]["default"]["linux"] == "cu132"


def test_plan_is_bounded_and_guesses_next_builds():
    rows = rows_of(store.shipped_dir())
    plan = update.plan_variants(rows)
    assert plan[0] == "cpu"
    for label in ("cu126", "cu130", "cu132", "rocm7.14", "cu133", "cu134", "cu136", "cu140",
                  "rocm7.15", "rocm7.16", "rocm8.0"):
        assert label in plan
    assert "cu118" not in plan  # only the recent series' builds
    assert len(plan) + len(update.PACKAGES) + 2 * 5 <= update.MAX_REQUESTS


def test_recorded_folder_must_hold_pages(tmp_path):
    with pytest.raises(InputError, match="holds no recorded index pages"):
        update.run(source=tmp_path)
    (tmp_path / "simple").mkdir()
    with pytest.raises(InputError, match=r"no recorded page for https://pypi.org/simple/torch/"):
        update.run(source=tmp_path)


def test_unreadable_page(tmp_path, server):
    shutil.copytree(SYNC / "simple", tmp_path / "simple")
    shutil.copytree(SYNC / "files", tmp_path / "files")
    page = tmp_path / "whl" / "cpu" / "torch"
    page.mkdir(parents=True)
    (page / "index.json").write_text('{"meta": {"api-version": "1.0"}, "files": 3}', encoding="utf-8")
    with pytest.raises(InputError, match="recorded page for https://download.pytorch.org/whl/cpu/torch/ in .* is unreadable"):
        update.run(source=tmp_path)
    _srv, base = server(tmp_path)
    with pytest.raises(NetworkError, match=r"unexpected answer from http://127\.0\.0\.1:\d+/whl/cpu/torch/: .*'files'"):
        update.run(index_url=base + "/whl", package_index=base + "/simple", timeout=5)


def test_bad_mirror_url(monkeypatch):
    monkeypatch.setenv(update.INDEX_URL_ENV, "download.pytorch.org/whl")
    with pytest.raises(InputError, match="ENVCHECK_INDEX_URL must be an http"):
        update.run()


# ---------------------------------------------------------------------------- network, for real


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves a recorded page set like download.pytorch.org and pypi.org would: negotiated index
    pages, and wheels answered by byte ranges (206 with Content-Range)."""

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Accept"), self.headers.get("User-Agent")))
        if self.server.status != 200:
            return self._send(self.server.status, b"oops", "text/plain")
        path = self.server.root / unquote(self.path.split("?", 1)[0]).lstrip("/")
        if path.is_dir():
            if self.server.html_only:
                return self._send(200, b"<html><body>Please enable JavaScript</body></html>", "text/html")
            choices = [("index.json", pyindex.JSON_TYPE), ("index.html", "text/html; charset=utf-8")]
            if pyindex.JSON_TYPE not in (self.headers.get("Accept") or ""):
                choices.reverse()
            for name, ctype in choices:
                if (path / name).is_file():
                    return self._send(200, (path / name).read_bytes(), ctype)
        elif path.is_file():
            data = path.read_bytes()
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes=") and self.server.ranges:
                first, _, last = wanted[6:].partition("-")
                start = len(data) - int(last) if first == "" else int(first)
                end = len(data) - 1 if first == "" or last == "" else min(int(last), len(data) - 1)
                start = max(start, 0)
                self.server.ranged.append((path.name, start, end))
                body = data[start:end + 1]
                if self.server.truncate:
                    body = body[: len(body) // 2]
                return self._send(206, body, "application/octet-stream",
                                  {"Content-Range": f"bytes {start}-{end}/{len(data)}"}, length=end - start + 1
                                  if not self.server.truncate else len(body))
            return self._send(200, data, "application/octet-stream")
        return self._send(404, b"Not Found", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None,
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    def start(root: Path, status: int = 200):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.daemon_threads = True
        srv.root, srv.status, srv.seen, srv.ranged = root, status, [], []
        srv.ranges, srv.truncate, srv.html_only = True, False, False
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((srv, thread))
        return srv, f"http://127.0.0.1:{srv.server_address[1]}"

    started: list = []
    yield start
    for srv, thread in started:
        srv.shutdown()
        srv.server_close()
        thread.join()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_network_path_against_a_local_index(dataset, server, monkeypatch):
    from envcheck import __version__

    srv, base = server(DRIFT)
    monkeypatch.setenv(update.INDEX_URL_ENV, base + "/whl")
    monkeypatch.setenv("PIP_INDEX_URL", base + "/simple/")  # pip's own setting names the package index
    result = update.run(output=dataset, check=True, timeout=5, now=NOW)
    assert diff_lines(result) == DRIFT_LINES and result.exit_code == 1
    assert result.source == {"kind": "network", "index_url": base + "/whl", "package_index": base + "/simple",
                             "timeout": 5}
    assert result.new[0].row["sources"][0] == base + "/whl/cpu/torch/"
    assert result.new[0].row["package_index"]["source"] == base + "/simple/torch/"
    assert [p for p, _, _ in srv.seen[:3]] == ["/simple/torch/", "/simple/torchvision/", "/simple/torchaudio/"]
    assert {ua for _, _, ua in srv.seen} == {f"envcheck/{__version__}"}
    page_accepts = {accept for path, accept, _ in srv.seen if not path.startswith("/files/")}
    assert page_accepts == {"application/vnd.pypi.simple.v1+json, text/html;q=0.1"}
    # The wheels were read by ranges (relative file URLs resolved against the page), never whole.
    assert {name for name, _, _ in srv.ranged} == {
        "torch-2.16.0-cp315-cp315-manylinux_2_28_x86_64.whl", "torch-2.16.0-cp315-cp315-win_amd64.whl",
        "torchvision-0.31.0-cp315-cp315-manylinux_2_28_x86_64.whl"}
    pages = [p for p, _, _ in srv.seen if not p.startswith("/files/")]
    assert len(pages) == len(result.pages) <= update.MAX_REQUESTS
    assert sum(r.requests for r in result.reads) == len(srv.ranged)


def test_pytorch_index_unreachable_is_a_warning(dataset, server, monkeypatch):
    """download.pytorch.org is blocked on many networks: the package index still settles facts."""
    _srv, base = server(DRIFT)
    result = update.run(output=dataset, check=True, timeout=2, now=NOW,
                        index_url=f"http://127.0.0.1:{_closed_port()}/whl", package_index=base + "/simple")
    assert any("builds not compared with PyTorch's index, package index only" in w for w in result.warnings)
    assert diff_lines(result) == [
        "! torch 2.16.0: on the package index; not added, since PyTorch's index (its builds) could not be read"]
    assert result.exit_code == 1  # the newest release on the index is not in the data


def _update_with(server, tweak, dataset):
    srv, base = server(DRIFT)
    tweak(srv)
    before = snapshot(dataset)
    with pytest.raises(NetworkError) as exc:
        update.run(output=dataset, write=True, timeout=5, now=NOW, index_url=base + "/whl",
                   package_index=base + "/simple")
    assert snapshot(dataset) == before  # nothing half-merged on disk
    assert "\n" not in exc.value.message and exc.value.exit_code == 5
    return exc.value.message


def test_server_ignoring_ranges_is_refused(server, dataset):
    message = _update_with(server, lambda srv: setattr(srv, "ranges", False), dataset)
    assert "HTTP 200 to a range request" in message and "does not download whole wheels" in message


def test_truncated_range_is_refused(server, dataset):
    message = _update_with(server, lambda srv: setattr(srv, "truncate", True), dataset)
    assert "unexpected answer from http://127.0.0.1:" in message


def test_html_instead_of_json_is_refused(server, dataset):
    message = _update_with(server, lambda srv: setattr(srv, "html_only", True), dataset)
    assert message.endswith("/simple/torch/: no files listed for torch")


def test_wrong_schema_is_refused(tmp_path, server, dataset):
    shutil.copytree(DRIFT, tmp_path / "idx")
    (tmp_path / "idx" / "simple" / "torch" / "index.json").write_text(
        '{"meta": {"api-version": "2.0"}, "files": []}', encoding="utf-8")
    _srv, base = server(tmp_path / "idx")
    with pytest.raises(NetworkError, match=r"/simple/torch/: Invalid simple-index JSON: api-version '2.0'"):
        update.run(output=dataset, timeout=5, index_url=base + "/whl", package_index=base + "/simple")


def test_server_error_is_a_network_error(server):
    _srv, base = server(DRIFT, status=500)
    with pytest.raises(NetworkError, match=r"cannot reach http://127\.0\.0\.1:\d+/simple/torch/: HTTP 500"):
        update.run(index_url=base + "/whl", package_index=base + "/simple", timeout=5)


def test_hanging_server_times_out():
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)  # accepts connections (the kernel does) and never answers
    try:
        base = f"http://127.0.0.1:{hang.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(NetworkError) as exc:
            update.run(index_url=base + "/whl", package_index=base + "/simple", timeout=0.3)
        assert time.monotonic() - started < 5
    finally:
        hang.close()
    err = exc.value
    assert err.message == f"cannot reach {base}/simple/torch/: no answer within 0.3 s"
    assert err.exit_code == 5 and "--from DIR" in err.hint


def test_connection_refused_is_one_network_error():
    base = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(NetworkError) as exc:
        update.run(index_url=base + "/whl", package_index=base + "/simple", timeout=2)
    assert exc.value.exit_code == 5
    assert exc.value.message.startswith(f"cannot reach {base}/simple/torch/: ")
    assert "\n" not in exc.value.message


def test_pip_index_url_follows_pip(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.example/simple\n", encoding="utf-8")
    assert update.pip_index_url({"PIP_INDEX_URL": "https://env.example/simple"}) == "https://env.example/simple"
    assert update.pip_index_url({"PIP_CONFIG_FILE": str(conf), "HOME": str(tmp_path)}) == "https://mirror.example/simple"
    conf.write_text("[global]\nindex-url = https://a/simple\n[install]\nindex-url = https://b/simple\n", encoding="utf-8")
    assert update.pip_index_url({"PIP_CONFIG_FILE": str(conf), "HOME": str(tmp_path)}) == "https://b/simple"
    assert update.pip_index_url({"PIP_CONFIG_FILE": os.devnull, "HOME": str(tmp_path)}) == update.SIMPLE_URL
    (tmp_path / ".config" / "pip").mkdir(parents=True)
    (tmp_path / ".config" / "pip" / "pip.conf").write_text("[global]\nindex-url = https://user/simple\n")
    assert update.pip_index_url({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}) in (
        "https://user/simple",  # unless a site pip.conf beside this interpreter says otherwise
        update.pip_index_url({"HOME": str(tmp_path / "none")}) if (Path(sys.prefix) / "pip.conf").is_file() else None)


# ------------------------------------------------------------------------------- the real CLI


def test_cli_json_envelope_and_check(cli, tmp_path):
    env = {"ENVCHECK_DATA_DIR": str(tmp_path / "cli-user")}
    r = cli("matrix", "update", "--from", str(DRIFT), "--json", env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("matrix update", "ok", 0)
    assert doc["data"]["new_releases"] == ["2.16.0"] and doc["data"]["changed_releases"] == ["2.14.1", "2.15.0"]
    assert doc["data_info"]["origin"] == "shipped" and doc["errors"] == []

    r = cli("matrix", "update", "--from", str(DRIFT), "--check", "--json", env=env)
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and (doc["status"], doc["exit_code"]) == ("problems", 1)

    r = cli("matrix", "update", "--from", str(SYNC), "--check", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "in sync" in r.stdout
    assert not (tmp_path / "cli-user").exists()


def test_cli_write_then_version_reports_refreshed_data(cli, tmp_path):
    env = {"ENVCHECK_DATA_DIR": str(tmp_path / "cli-user")}
    r = cli("matrix", "update", "--from", str(DRIFT), "--write", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:len(DRIFT_LINES)] == DRIFT_LINES
    assert "wrote releases.json, cuda.json, wheel_archs.json to" in r.stdout
    r = cli("--version", env=env)
    assert r.returncode == 0
    assert "data: refreshed" in r.stdout and "newest torch 2.16.0" in r.stdout


def test_cli_offline_is_one_line_exit_5(cli, tmp_path):
    port = _closed_port()
    env = {
        "ENVCHECK_DATA_DIR": str(tmp_path / "cli-user"),
        "ENVCHECK_INDEX_URL": f"http://127.0.0.1:{port}/whl",
        "PIP_INDEX_URL": f"http://127.0.0.1:{port}/simple",
    }
    r = cli("matrix", "update", "--timeout", "2", env=env)
    assert r.returncode == 5 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("envcheck: error: cannot reach http://127.0.0.1:")
    r = cli("matrix", "update", "--timeout", "2", "--json", env=env)
    doc = json.loads(r.stdout)
    assert r.returncode == 5 and doc["status"] == "error" and doc["errors"][0]["kind"] == "network"


def test_cli_index_url_option_and_unreachable_pytorch_index(cli, tmp_path, server):
    """--index-url names the package index (as pip's option does); PyTorch's index out of reach
    is one warning, and --check still fails on the release the data lacks, naming it."""
    _srv, base = server(DRIFT)
    env = {"ENVCHECK_DATA_DIR": str(tmp_path / "cli-user"),
           "ENVCHECK_INDEX_URL": f"http://127.0.0.1:{_closed_port()}/whl", "PIP_CONFIG_FILE": os.devnull}
    r = cli("matrix", "update", "--check", "--timeout", "3", "--index-url", base + "/simple", env=env)
    assert r.returncode == 1, r.stderr
    assert ("! torch 2.16.0: on the package index; not added, since PyTorch's index (its builds) could not "
            "be read") in r.stdout
    assert f"from {base}/simple and http://127.0.0.1:" in r.stdout
    assert r.stderr.count("builds not compared with PyTorch's index, package index only") == 1


def test_cli_matrix_shows_what_the_index_settled(cli):
    r = cli("matrix", "--torch", "2.15.0")
    assert r.returncode == 0, r.stderr
    assert "package index https://pypi.org/simple/torch/" in r.stdout
    assert "Requires-Python >=3.11" in r.stdout and "nvidia-cudnn-cu13==9.26.0.51" in r.stdout
    assert "torchvision 0.29.2 was uploaded with torch 2.15.0 (2026-10-28) and requires torch>=2.14.0" in r.stdout
    doc = json.loads(cli("matrix", "--torch", "2.15.0", "--json").stdout)
    index = doc["data"]["releases"][0]["package_index"]
    assert index["settled"] == ["default_variant", "python", "torchaudio", "torchvision"]
    assert index["wheels"]["linux"] == "torch-2.15.0-cp315-cp315-manylinux_2_28_x86_64.whl"


def test_pep658_metadata_file_is_used_where_offered(tmp_path, server, dataset):
    """An index that serves FILE.metadata (PEP 658/714) is asked for it, not for the wheel."""
    root = tmp_path / "idx"
    shutil.copytree(DRIFT, root)
    page = root / "simple" / "torchvision" / "index.json"
    doc = json.loads(page.read_text(encoding="utf-8"))
    name = "torchvision-0.31.0-cp315-cp315-manylinux_2_28_x86_64.whl"
    for f in doc["files"]:
        if f["filename"] == name:
            f["core-metadata"] = {"sha256": "00" * 32}
    page.write_text(json.dumps(doc), encoding="utf-8")
    (root / "files" / f"{name}.metadata").write_text(
        "Metadata-Version: 2.1\nName: torchvision\nVersion: 0.31.0\nRequires-Dist: torch (==2.16.0)\n\n", encoding="utf-8")
    (root / "files" / name).unlink()  # were the wheel read, this would fail
    srv, base = server(root)
    result = update.run(output=dataset, timeout=5, now=NOW, index_url=base + "/whl", package_index=base + "/simple")
    assert result.new[0].row["torchvision"] == "0.31.0"
    assert (f"/files/{name}.metadata", None, srv.seen[0][2]) in [(p, None, ua) for p, _a, ua in srv.seen]
    assert not any(n == name for n, _s, _e in srv.ranged)
    assert any(r.url.endswith(".metadata") and r.requests == 1 for r in result.reads)


def test_check_names_the_newest_release_lacking_its_official_fields(dataset):
    """Data from before the package index was read: --check fails and says what it would settle."""
    doc = json.loads((dataset / "releases.json").read_text(encoding="utf-8"))
    row = doc["releases"][-1]
    assert row["torch"] == "2.15.0"
    del row["package_index"]
    row.update(confidence="unknown", torchaudio=None, python=["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"],
               partners_note="no torchaudio for 2.15 was known", uncertain=sorted(row["uncertain"] + ["python"]))
    (dataset / "releases.json").write_text(store.dump_json(doc), encoding="utf-8")
    result = update.run(output=dataset, source=SYNC, check=True, now=NOW)
    assert result.exit_code == 1
    assert diff_lines(result) == [
        "~ torch 2.15.0: python 3.10-3.15 (+3.14t 3.15t) -> 3.11-3.15 (+3.14t 3.15t) (package index)",
        "~ torch 2.15.0: torchaudio none -> 2.11.1 (package index)",
        "~ torch 2.15.0: confidence unknown -> inferred (Pythons, default build and partners settled) (package index)",
    ]
    # Its wheels were read again by ranges (the data recorded none of their hashes any more).
    assert [r.url.rsplit("/", 1)[-1] for r in result.reads][:2] == [
        "torch-2.15.0-cp315-cp315-manylinux_2_28_x86_64.whl", "torch-2.15.0-cp315-cp315-win_amd64.whl"]


def test_check_fails_when_the_newest_release_cannot_be_read(dataset, tmp_path):
    root = tmp_path / "idx"
    shutil.copytree(SYNC, root)
    page = root / "simple" / "torch" / "index.json"
    doc = json.loads(page.read_text(encoding="utf-8"))
    doc["files"] = [f for f in doc["files"] if not (f["filename"].startswith("torch-2.15.0-")
                                                    and "manylinux" in f["filename"])]
    page.write_text(json.dumps(doc), encoding="utf-8")
    result = update.run(output=dataset, source=root, check=True, now=NOW)
    assert result.exit_code == 1
    assert diff_lines(result) == ["! torch 2.15.0: the newest release on the package index lacks its official "
                                  "fields: its wheels' metadata could not be read (see the warnings)"]
    assert any("torch 2.15.0: no Linux x86_64 wheel on" in w for w in result.warnings)
