"""The deployment examples of README.md, run as written where this machine can run them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import pytest
import yaml

from helpers.preflight import ROOT, child_env, quick_config

pytestmark: list = []

DOC = ROOT / "README.md"


def example(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- example: {} -->\s*```[a-z]*\n(.*?)```".format(re.escape(name)), text, re.DOTALL)
    assert m, "README.md has no example {!r}".format(name)
    return m.group(1)


def _env(envcheck_bin, tmp_path, **extra):
    env = child_env({k: str(v) for k, v in extra.items()})
    env["PATH"] = "{}{}{}".format(envcheck_bin, os.pathsep, env.get("PATH", ""))
    return env


@pytest.fixture
def prolog(tmp_path):
    path = tmp_path / "50-envcheck-preflight.sh"
    path.write_text(example("slurm-prolog"))
    return path


def _slurm(envcheck_bin, tmp_path, config, envcheck=None):
    logs = tmp_path / "logs"
    found = envcheck or (envcheck_bin / "envcheck")
    return _env(envcheck_bin, tmp_path, ENVCHECK=found, SLURM_JOB_ID=4242, SLURM_JOB_USER="alice", SLURM_JOB_NODELIST="gpu[01-02]",
                SLURM_JOB_GPUS="0,1", SLURM_CLUSTER_NAME="test", ENVCHECK_PREFLIGHT_CONFIG=config,
                ENVCHECK_PREFLIGHT_LOG_DIR=logs), logs / "preflight-4242.json"


def test_slurm_prolog_lets_a_fit_node_run(prolog, envcheck_bin, tmp_path):
    env, log = _slurm(envcheck_bin, tmp_path, quick_config(tmp_path))
    proc = subprocess.run(["bash", str(prolog)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(log.read_text())["exit_code"] == 0


def test_slurm_prolog_drains_an_unfit_node(prolog, envcheck_bin, tmp_path):
    env, log = _slurm(envcheck_bin, tmp_path, quick_config(tmp_path, min_shm="1PB"))
    proc = subprocess.run(["bash", str(prolog)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "envcheck preflight failed (exit 1)" in proc.stderr and "job 4242" in proc.stderr
    doc = json.loads(log.read_text())
    assert [c["id"] for c in doc["data"]["report"]["checks"] if c["status"] == "fail"] == ["host.shm"]


def test_slurm_prolog_does_not_drain_for_a_bad_config(prolog, envcheck_bin, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("min_gpu = 8\n")
    env, _ = _slurm(envcheck_bin, tmp_path, bad)
    proc = subprocess.run(["bash", str(prolog)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "bad config" in proc.stderr and "NOT checked" in proc.stderr


def test_slurm_prolog_does_not_drain_when_envcheck_is_missing(prolog, envcheck_bin, tmp_path):
    """A prolog's PATH is minimal and envcheck lives in a venv: a wrong path must not drain every node."""
    env, _ = _slurm(envcheck_bin, tmp_path, quick_config(tmp_path), envcheck=tmp_path / "no" / "envcheck")
    proc = subprocess.run(["bash", str(prolog)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "exit 127" in proc.stderr and "NOT checked" in proc.stderr


def test_docker_healthcheck_command(envcheck_bin, tmp_path):
    """The CMD part of the HEALTHCHECK line, run with sh -c as Docker does: 0 or 1, never 2 or 3."""
    text = example("docker-healthcheck").replace("\\\n", " ")
    m = re.search(r"\bCMD\s+(.*)$", text.strip(), re.MULTILINE)
    assert m and "--profile healthcheck" in m.group(1)
    cmd = m.group(1).replace("/tmp/envcheck-health.json", str(tmp_path / "health.json"))
    proc = subprocess.run(["sh", "-c", cmd], env=_env(envcheck_bin, tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode in (0, 1)
    out = (tmp_path / "health.json").read_text()
    doc = json.loads(out[out.index("{"):])
    # this machine has no GPU: the healthcheck profile wants one, so the container is unhealthy
    assert doc["exit_code"] == 1 and proc.returncode == 1
    ids = {c["id"] for c in doc["data"]["report"]["checks"]}
    assert "perf" not in ids and "verify" not in ids


def test_kubernetes_init_container_command(envcheck_bin, tmp_path):
    spec = yaml.safe_load(example("k8s-init"))
    assert spec["kind"] == "Pod" and spec["spec"]["restartPolicy"] == "Never"
    mounted = {v["name"] for v in spec["spec"]["volumes"]}
    container = spec["spec"]["initContainers"][0]
    assert {m["name"] for m in container["volumeMounts"]} <= mounted
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 8
    argv = [a.replace("/etc/envcheck/preflight.toml", str(quick_config(tmp_path))) for a in container["command"]]
    proc = subprocess.run(argv, env=_env(envcheck_bin, tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"
    assert shlex.join(container["command"][:2]) == "envcheck preflight"
