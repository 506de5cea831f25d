"""Fault injection with real processes: a broken nvcc, torch and NVML,.

Every case must end in a clear finding or a one-line error, with the documented exit code, no
traceback, and within diagnose's time budget (about 13 s when everything hangs with the real
bounds; here every bound is cut to 0.5 s through ENVCHECK_FAULT, and the test checks a generous
30 s: speed is measured by bench/bench.py, not by tests). Malformed snapshots and recorded NVML
readings need no process: tests/unit/cli/test_malformed_facts.py.

Injection points: programs first on PATH (nvcc, nvidia-smi), packages first on PYTHONPATH
(torch for the torch child; pynvml, which the NVML probe imports in envcheck's own process),
and recorded NVML readings given to ``probe_nvml`` (the probe's ``nvml`` parameter).
"""

from __future__ import annotations

import importlib.util

from helpers import paths
from helpers.faultbox import FAKE_PYNVML, FaultBox
import json
import stat
import time

import pytest


pytestmark: list = []

HERE = str(paths.TESTS)

FAKE_TORCH = {
    "raise": 'raise RuntimeError("injected failure: this torch is broken")\n',
    "abort": "import os\nos.abort()\n",
    "sleep": "import time\ntime.sleep(600)\n",
}
FAKE_NVCC = {
    "hang": "#!/bin/sh\nsleep 600\n",
    "garbage": "#!/bin/sh\necho 'zsh: segmentation fault (core dumped)'\necho '@@@@'\n",
    "exit1": "#!/bin/sh\necho 'nvcc fatal   : injected failure' >&2\nexit 1\n",
}


SHORT = "timeout.*=0.5"
WARNING = "envcheck: warning: ENVCHECK_FAULT is set: results include injected faults (timeout.*=0.5)"


def _exe(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)


def _env(tmp_path, *, nvcc=None, smi=None, torch=None, nvml=None):
    """The faults, injected through the one seam (helpers.faultbox.FaultBox)."""
    box = FaultBox(tmp_path / "faults")
    if nvcc:
        box.program("nvcc", FAKE_NVCC[nvcc].split("\n", 1)[1])
    if smi:
        box.program("nvidia-smi", "sleep 600")
    if torch:
        box.module("torch.__init__", FAKE_TORCH[torch])
    if nvml:
        box.module("pynvml", FAKE_PYNVML, FAKE_NVML=nvml)
    extra = {}
    if "hang" in (nvcc, nvml) or smi or torch == "sleep":
        extra["ENVCHECK_FAULT"] = SHORT  # every bound cut to half a second: no test waits out a real one
    return box.env(extra)


# The fake torch these tests put first on PYTHONPATH shadows a real one where one is installed:
# diagnose then says so (EC315, an error), and that is the only error the faults add.
SHADOW_ERRORS = {"EC315"} if importlib.util.find_spec("torch") is not None else set()


def _errors(found):
    return {code for code, f in found.items() if f["severity"] == "error"}


def _diagnose(cli, env, *args, timeout=90):
    start = time.monotonic()
    res = cli("diagnose", "--json", *args, env=env, timeout=timeout)
    seconds = time.monotonic() - start
    assert "Traceback" not in res.stderr + res.stdout
    doc = json.loads(res.stdout)
    findings = {f["code"]: f for f in doc["data"]["diagnosis"]["findings"]}
    assert doc["exit_code"] == res.returncode
    return res, findings, seconds


# ------------------------------------------------------------------------------------ nvcc


@pytest.mark.parametrize("mode, words", [
    ("hang", "no answer within"),
    ("garbage", "no release line"),
    ("exit1", "exit status 1"),
])
def test_broken_nvcc_first_on_path(cli, tmp_path, mode, words):
    res, found, seconds = _diagnose(cli, _env(tmp_path, nvcc=mode), "--quick")
    f = found["EC503"]
    assert f["severity"] == "warning" and words in "\n".join(f["evidence"])
    assert str(tmp_path) in "\n".join(f["evidence"])
    assert "cpp_extension would use it" in f["cause"]  # it is first on PATH
    assert res.returncode == (1 if any(x["severity"] == "error" for x in found.values()) else 0)
    assert seconds < 30


# ----------------------------------------------------------------------------------- torch


@pytest.mark.parametrize("mode, code, severity, words", [
    ("raise", "EC003", "error", "RuntimeError: injected failure"),
    ("abort", "EC004", "error", "SIGABRT"),
])
def test_broken_torch_first_on_pythonpath(cli, tmp_path, mode, code, severity, words):
    res, found, seconds = _diagnose(cli, _env(tmp_path, torch=mode))
    f = found[code]
    assert f["severity"] == severity and words in f["title"] + "\n".join(f["evidence"])
    assert "EC002" not in found  # something named torch exists: not "not installed"
    assert res.returncode == 1 and seconds < 30


def test_hanging_torch_is_cut_at_the_timeout(cli, tmp_path):
    env = _env(tmp_path, torch="sleep")
    res, found, seconds = _diagnose(cli, env, "--timeout", "2")
    f = found["EC005"]
    assert f["severity"] == "warning" and "import torch" in f["title"]
    assert f["command"] == "envcheck diagnose --timeout 60"
    assert _errors(found) == SHADOW_ERRORS and res.returncode == len(SHADOW_ERRORS) and seconds < 30
    strict = _diagnose(cli, env, "--timeout", "2", "--fail-on", "warning")[0]
    assert strict.returncode == 1


# ------------------------------------------------------------------------------------ NVML


@pytest.mark.parametrize("mode, code, exit_code", [
    ("mismatch", "EC105", 1),
    ("not-loaded", "EC104", 1),
    ("permission", "EC106", None),
    ("unknown", "EC106", None),
    ("lost", "EC601", 1),
])
def test_nvml_errors(cli, tmp_path, mode, code, exit_code):
    res, found, seconds = _diagnose(cli, _env(tmp_path, nvml=mode), "--quick")
    assert code in found, sorted(found)
    if exit_code is not None:
        assert res.returncode == exit_code
    assert seconds < 30


def test_nvml_hang_is_bounded(cli, tmp_path):
    res, found, seconds = _diagnose(cli, _env(tmp_path, nvml="hang"), "--quick")
    f = found["EC110"]  # a hung NVML is a wedged driver: an error, never "no GPU"
    assert f["severity"] == "error" and "NVML hung" in f["title"] and "nvmlInit" in f["title"] and seconds < 30


# ------------------------------------------------------------------------------- all at once


def test_everything_hangs_and_diagnose_still_finishes(cli, tmp_path):
    env = _env(tmp_path, nvcc="hang", smi=True, torch="sleep", nvml="hang")
    res, found, seconds = _diagnose(cli, env, timeout=120)
    assert {"EC503", "EC110", "EC005"} <= set(found), sorted(found)
    assert _errors(found) == SHADOW_ERRORS | {"EC110"} and res.returncode == 1
    assert res.stderr.splitlines() == [WARNING]
    assert seconds < 30, seconds  # ~13 s with the real bounds; bench/bench.py measures speed


# ------------------------------------------------------------------------ malformed --facts


def test_python_that_hangs_is_exit_3(cli, tmp_path):
    fake = tmp_path / "python"
    _exe(fake, "#!/bin/sh\nsleep 600\n")
    start = time.monotonic()
    res = cli("diagnose", "--quick", "--python", str(fake), env={"ENVCHECK_FAULT": SHORT}, timeout=120)
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert "could not inspect" in res.stderr and time.monotonic() - start < 30
