"""The CLI in-process (CliRunner): stdout is the product, one-line errors, documented exits."""

from __future__ import annotations

import json

import pytest


def envelope(result):
    doc = json.loads(result.stdout)
    assert doc["envcheck_result_version"] == 1
    assert doc["exit_code"] == result.returncode
    return doc


def test_version_names_data(cli):
    r = cli("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("envcheck 0.")
    assert "updated 2026-12-07" in r.stdout and "newest torch 2.15.0" in r.stdout and "shipped" in r.stdout


def test_python_dash_m_works(cli):
    assert cli("--help").returncode == 0


def test_release_text(cli):
    r = cli("matrix", "--torch", "2.7")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "torch 2.7.0" in out and "torch 2.7.1" in out
    assert "torchvision 0.22.1, torchaudio 2.7.1" in out
    assert "3.9 3.10 3.11 3.12 3.13" in out
    assert "cu128" in out and "sm_120" in out
    assert "data: shipped data of 2026-12-07" in out


def test_release_json(cli):
    r = cli("matrix", "--torch", "2.3.1", "--json")
    doc = envelope(r)
    assert doc["status"] == "ok" and doc["command"] == "matrix"
    (rel,) = doc["data"]["releases"]
    assert rel["torchvision"] == "0.18.1" and rel["torchaudio"] == "2.3.1"
    assert [v["variant"] for v in rel["pip"]["variants"]] == ["cpu", "cu118", "cu121", "rocm5.7", "rocm6.0"]
    # ROCm 5.7 is the previous ROCm, published beside 6.0 but not offered by the install selector.
    assert [v["variant"] for v in rel["pip"]["variants"] if not v["on_selector"]] == ["rocm5.7"]
    off = rel["pip"]["variants"][3]["off_selector"]
    assert off["os"] == ["linux"] and "test-infra" in off["source"] and off["confidence"] == "inferred"
    assert rel["conda"]["style"] == "pytorch-cuda"
    assert doc["data_info"]["newest_release"] == "2.15.0"


def test_cuda_query(cli):
    doc = envelope(cli("matrix", "--cuda", "12.1", "--json"))
    assert [r["torch"] for r in doc["data"]["releases"]][:1] == ["2.1.0"]
    assert doc["data"]["releases"][-1]["torch"] == "2.5.1"


@pytest.mark.parametrize("alias", ["12.1", "cu121", "12.1.1", "cuda12.1"])
def test_cuda_aliases(cli, alias):
    doc = envelope(cli("matrix", "--cuda", alias, "--json"))
    assert doc["data"]["variant"] == "cu121"


def test_conda_query(cli):
    doc = envelope(cli("matrix", "--cuda", "11.3", "--conda", "--json"))
    torches = [r["torch"] for r in doc["data"]["releases"]]
    assert "1.12.1" in torches and "1.8.1" in torches


def test_inferred_rows_warn(cli):
    r = cli("matrix", "--torch", "2.13.0")
    assert r.returncode == 0
    assert "[inferred]" in r.stdout
    assert "not settled by an official source" in r.stdout
    doc = envelope(cli("matrix", "--cuda", "13.2", "--json"))
    assert any("2.15.0" in w for w in doc["warnings"])


def test_gpu_query(cli):
    doc = envelope(cli("matrix", "--cc", "sm_70", "--torch", ">=2.11,<2.12", "--json"))
    (row,) = doc["data"]["releases"]
    assert [v["variant"] for v in row["runs"]] == ["cu126"]
    assert {v["variant"] for v in row["does_not_run"]} == {"cu128", "cu130"}


def test_overview(cli):
    r = cli("matrix")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[1].startswith("1.0.0") and any(line.startswith("2.15.0") for line in lines)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--torch", "9.9"], "no torch release 9.9"),
        (["--torch", "banana"], "Invalid torch version: 'banana'"),
        (["--cuda", "12.x"], "Invalid CUDA version: '12.x'"),
        (["--cuda", "12.7"], "no torch release has a cu127 build"),
        (["--rocm", "9.9"], "no torch release has a rocm9.9 build"),
        (["--cc", "banana"], "Invalid compute capability"),
        (["--cpu", "--cuda", "12.1"], "only one of"),
        (["--torch", "2.3.1", "--cuda", "10.2"], "cu118, cu121"),
        (["--os", "beos"], "beos"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_input_one_line_exit_2(cli, args, needle):
    r = cli("matrix", *args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("envcheck: error:") and needle in lines[0]
    j = cli("matrix", *args, "--json")
    doc = envelope(j)
    assert doc["status"] == "error" and needle in doc["errors"][0]["message"]


def test_no_color_respected(cli):
    r = cli("matrix", "--torch", "2.7.1", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert "\033[" not in r.stdout
    r = cli("matrix", "--torch", "2.7.1", env={"FORCE_COLOR": "1"})
    assert "\033[" in r.stdout


def test_debug_shows_traceback(cli):
    r = cli("--debug", "matrix", "--torch", "banana")
    assert r.returncode != 0 and "Traceback" in r.stderr


