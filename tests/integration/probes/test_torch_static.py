from __future__ import annotations

import os
import stat
import sys

import pytest

from envcheck.probes.torch_static import (
    probe_torch_static,
)

from helpers.fakes import add_torch, cu130_site


OTHER = "/root/.pyenv/versions/3.9.18/bin/python"

def _script(tmp_path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_child_reader_matches_in_process(tmp_path):
    cu130_site(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    child = probe_torch_static(python=sys.executable, env=env)
    here = probe_torch_static(path=[str(tmp_path)])
    assert child.status == "ok", child.detail
    assert child.interpreter == sys.executable
    for name in (
        "version",
        "local_label",
        "variant",
        "cuda_build",
        "installer",
        "location",
        "torchvision",
        "cuda_pins",
    ):
        assert getattr(child, name) == getattr(here, name), name


@pytest.mark.skipif(not os.path.exists(OTHER), reason="no second interpreter here")
def test_child_reader_in_another_python(tmp_path):
    add_torch(tmp_path, "2.13.0+cpu.py.txt", "METADATA-2.13.0+cpu.txt")
    facts = probe_torch_static(python=OTHER, env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert (facts.status, facts.python_version[:4], facts.version) == ("ok", "3.9.", "2.13.0+cpu")


@pytest.mark.skipif(os.name != "posix", reason="shell-script interpreters")
@pytest.mark.parametrize(
    "body, status, detail",
    [
        (None, "failed", "python: not found"),
        ("echo not json\n", "failed", "python: unreadable output"),
        (
            "echo 'SyntaxError: invalid syntax' >&2\nexit 1\n",
            "failed",
            "python: exit status 1: SyntaxError: invalid syntax",
        ),
        ("exec sleep 30\n", "timed-out", "python: no answer within"),
    ],
)
def test_child_reader_failures(tmp_path, body, status, detail):
    python = str(tmp_path / "python") if body is None else _script(tmp_path, body)
    facts = probe_torch_static(python=python, timeout=0.5)
    assert facts.status == status
    assert facts.detail.startswith(detail)
    assert facts.interpreter == python
