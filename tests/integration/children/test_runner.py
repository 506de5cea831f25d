"""The one launcher: real interpreters, real children, the sys.path policy and shadows."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import pytest

from envcheck import proc
from envcheck.children import events
from envcheck.probes.torch_child import probe_torch_child
from envcheck.probes.torch_static import probe_torch_static

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
OTHER_PYTHON = next((p for p in ("/usr/bin/python3", shutil.which("python3") or "")
                     if p and os.path.realpath(p) != os.path.realpath(sys.executable) and os.path.exists(p)), None)


def _local(folder, name="torch", body="raise SystemExit('the local copy was imported')\n"):
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(body)
    return str(folder / name / "__init__.py")


def test_an_unknown_child_is_refused():
    run = proc.run_child(sys.executable, "nope", timeout=20)
    assert run.result.returncode == 2 and "usage: __runner__.py" in run.result.stderr and run.events == ()


def test_the_child_drops_its_own_folder_and_the_working_directory(tmp_path):
    _local(tmp_path)
    run = proc.run_child(sys.executable, "torch_static", timeout=20, cwd=str(tmp_path))
    assert run.result.returncode == 0, run.result.stderr
    (static,) = [e for e in run.events if e["event"] == "static"]
    children = os.path.dirname(proc.RUNNER)
    assert not any(os.path.realpath(p or ".") in (children, str(tmp_path)) for p in static["sys_path"])
    assert static["cwd"] == str(tmp_path)
    assert [(s["name"], s["via"]) for s in static["shadows"]] == [("torch", "working directory")]


def test_envcheck_comes_from_this_checkout_even_when_another_is_first_on_the_path(tmp_path):
    """A target interpreter with another (or a broken) envcheck of its own still runs ours."""
    _local(tmp_path, "envcheck", "raise ImportError('the wrong envcheck')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    run = proc.run_child(sys.executable, "torch_static", timeout=20, env=env)
    assert run.result.returncode == 0, run.result.stderr
    assert [e["event"] for e in run.events] == ["static"]


@pytest.mark.skipif(OTHER_PYTHON is None, reason="no second Python on this machine")
def test_an_interpreter_without_envcheck_runs_every_stdlib_child():
    static = probe_torch_static(python=OTHER_PYTHON)
    assert static.status in ("ok", "missing") and static.interpreter == OTHER_PYTHON
    inv = proc.run_child(OTHER_PYTHON, "inventory", timeout=30)
    assert inv.result.returncode == 0 and inv.events[-1]["event"] == "inventory", inv.result.stderr


@needs_torch
@pytest.mark.torch
def test_a_torch_folder_where_envcheck_runs_is_reported_not_imported(tmp_path):
    shadow = _local(tmp_path)
    facts = probe_torch_child(timeout=120, cwd=str(tmp_path))
    assert facts.status == "ok", facts.detail + facts.stderr_tail
    assert facts.torch_file != shadow and "site-packages" in facts.torch_file
    assert [(s.name, s.shadow, s.via) for s in facts.shadows] == [("torch", shadow, "working directory")]
    assert facts.shadows[0].installed == facts.torch_file


@needs_torch
@pytest.mark.torch
def test_a_torch_on_pythonpath_is_imported_and_reported(tmp_path):
    shadow = _local(tmp_path / "pp", body="__version__ = '0.0.0+local'\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "pp"))
    facts = probe_torch_child(timeout=60, env=env, cwd=str(tmp_path))
    assert facts.torch_file == shadow and facts.version == "0.0.0+local"
    assert [(s.name, s.via) for s in facts.shadows] == [("torch", "PYTHONPATH")]
    assert "site-packages" in facts.shadows[0].installed  # the real torch it hides
    assert str(tmp_path / "pp") in facts.sys_path


def test_every_event_of_a_real_child_uses_the_one_framing(tmp_path):
    run = proc.run_child(sys.executable, "torch_static", timeout=20)
    lines = [ln for ln in run.result.stdout.splitlines() if ln.strip()]
    assert lines and all(ln.startswith(events.MARK) for ln in lines)
    assert run.unreadable == 0
