"""The unit layer: no test starts a process. An autouse guard makes every way of starting one raise
(and fails the test even where the product code would catch it); the CLI runs in-process."""

from __future__ import annotations

import os
import subprocess

import pytest

from helpers.cli import invoke


class ProcessStarted(BaseException):
    """Not an Exception: the product's own `except Exception` must not swallow it."""


@pytest.fixture(autouse=True)
def no_processes(monkeypatch):
    tried = []

    def refuse(what):
        def start(*args, **kwargs):
            tried.append("{} {}".format(what, str(args[0] if args else kwargs.get("args", ""))[:200]))
            raise ProcessStarted("a unit test started a process ({}): inject the result, or move the test "
                                 "to tests/integration/".format(tried[-1]))
        return start

    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    for name in ("fork", "forkpty", "system", "posix_spawn", "posix_spawnp", "execv", "execve", "execvp", "execvpe"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse("os." + name))
    yield tried
    assert not tried, "a unit test started a process: {}".format("; ".join(tried))


@pytest.fixture
def cli():
    """``envcheck ARGS`` in this process, through click's CliRunner."""
    return invoke
