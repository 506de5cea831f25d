"""`envcheck diagnose`, `facts` and `explain` from recorded facts, in-process (CliRunner): exit codes,
stdout the product and stderr the logs, one JSON envelope with --json."""

from __future__ import annotations

from helpers import paths
import importlib.util
import json
import os

import pytest

from envcheck.rules.catalog import CATALOG

HERE = str(paths.TESTS)
SNAP = os.path.join(HERE, "data", "snapshots")
PROBE_SNAP = os.path.join(HERE, "data", "probes", "snapshots")
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def snap(name):
    path = os.path.join(SNAP, name + ".json")
    return path if os.path.exists(path) else os.path.join(PROBE_SNAP, name + ".json")


def no_traceback(res):
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout


def envelope(res):
    doc = json.loads(res.stdout)
    assert doc["envcheck_result_version"] == 1
    return doc


# ------------------------------------------------------------------------ diagnose --facts


@pytest.mark.parametrize("name, code", [
    ("h100x8-torch2.11-cu130-driver580", 0),
    ("devbox-no-driver-nvcc13-torch-cpu", 0),
    ("docker-shm-64m", 0),  # a warning only
    ("this-machine", 0),  # torch not installed: a warning
    ("laptop-rtx3060-cpu-torch", 1),
    ("driver535-torch2.11-cu130", 1),
    ("wsl2-linux-driver", 1),
])
def test_diagnose_facts_exit_codes(cli, name, code):
    res = cli("diagnose", "--facts", snap(name))
    assert res.returncode == code, res.stderr
    assert res.stderr == ""
    assert res.stdout.startswith("envcheck diagnose: ")


def test_fail_on_warning(cli):
    assert cli("diagnose", "--facts", snap("docker-shm-64m"), "--fail-on", "warning").returncode == 1
    assert cli("diagnose", "--facts", snap("devbox-no-driver-nvcc13-torch-cpu"),
               "--fail-on", "warning").returncode == 0


def test_diagnose_json_is_one_envelope(cli):
    res = cli("diagnose", "--facts", snap("driver535-torch2.11-cu130"), "--json")
    assert res.returncode == 1 and res.stderr == ""
    doc = envelope(res)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("diagnose", "problems", 1)
    data = doc["data"]
    codes = [f["code"] for f in data["diagnosis"]["findings"]]
    assert codes == ["EC101"]
    f = data["diagnosis"]["findings"][0]
    assert set(f) == {"code", "name", "severity", "title", "evidence", "cause", "fix", "command", "alternative", "refs"}
    assert f["refs"] == ["F1"] and f["command"] == data["diagnosis"]["fix"]["command"]
    # The fix keeps the installed 2.11.0; the newest release for the machine is the alternative.
    assert "torch==2.11.0" in f["command"]
    assert "torch==2.11.0" not in f["alternative"]["command"] and "newest release" in f["alternative"]["why"]
    assert data["machine"]["cuda"]["driver"]["version"] == "12.2"
    assert data["machine"]["cuda"]["torch"]["version"] == "13.0"
    assert data["facts"]["schema"] == "envcheck.facts/1" and data["facts"]["redacted"] is True
    assert doc["data_info"]["newest_release"]


def test_diagnose_markdown(cli):
    res = cli("diagnose", "--facts", snap("rtx5090-torch2.6-cu124"), "--markdown")
    assert res.returncode == 1
    assert res.stdout.startswith("## envcheck diagnose: 1 error")
    assert "<details><summary>facts" in res.stdout and res.stdout.rstrip().endswith("</details>")


@pytest.mark.parametrize("args", [
    ("diagnose", "--markdown", "--json"),
    ("diagnose", "--quick", "--facts", "x.json"),
    ("diagnose", "--fail-on", "never"),
    ("diagnose", "--facts", "/nonexistent/facts.json"),
    ("explain", "EC999"),
])
def test_bad_input_is_exit_2_in_one_line(cli, args):
    res = cli(*args)
    assert res.returncode == 2, res.stderr
    no_traceback(res)
    if "--json" in args:
        assert envelope(res)["errors"][0]["kind"] == "input" and res.stderr == ""
    else:
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("envcheck: error:")


def test_bad_input_with_json_is_an_envelope(cli):
    res = cli("diagnose", "--facts", "/nonexistent/facts.json", "--json")
    assert res.returncode == 2
    doc = envelope(res)
    assert doc["status"] == "error" and doc["errors"][0]["kind"] == "input"


# ------------------------------------------------------------------------------------ explain


def test_explain_a_code_by_code_or_name(cli):
    res = cli("explain", "EC101")
    assert res.returncode == 0
    assert res.stdout.startswith("EC101 driver-too-old (error)")
    for part in ("What it means:", "How it is detected:", "How to fix:", "Failure modes: F1"):
        assert part in res.stdout
    assert cli("explain", "driver-too-old").stdout == res.stdout


def test_explain_lists_every_code(cli):
    res = cli("explain")
    assert res.returncode == 0
    for d in CATALOG:
        assert d.code in res.stdout
    doc = envelope(cli("explain", "--json", "ec203"))
    assert doc["data"]["name"] == "gpu-arch-not-in-wheel" and doc["data"]["refs"] == ["F3"]


# -------------------------------------------------------------------------------------- facts


def test_diagnose_reads_a_snapshot_inside_a_json_envelope(cli, tmp_path):
    res = cli("diagnose", "--facts", snap("docker-shm-64m"), "--json")
    path = tmp_path / "envelope.json"
    path.write_text(res.stdout)
    again = cli("diagnose", "--facts", str(path), "--json")
    assert [f["code"] for f in envelope(again)["data"]["diagnosis"]["findings"]] == ["EC408"]


# ----------------------------------------------------------------------------- this machine


