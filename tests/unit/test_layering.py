"""The test layers themselves: the unit guard refuses processes, the CLI runs in-process, markers come from folders."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envcheck import proc


def test_the_guard_refuses_every_way_to_start_a_process(no_processes):
    attempts = [
        lambda: subprocess.run(["true"]),
        lambda: proc.run([sys.executable, "-c", "pass"], timeout=5),
        lambda: os.system("true"),
    ]
    for attempt in attempts:
        with pytest.raises(BaseException, match="a unit test started a process"):
            attempt()
    assert len(no_processes) == 3
    no_processes.clear()  # seen: the teardown would fail the test otherwise


def test_the_guard_is_not_an_exception_the_product_can_swallow(no_processes):
    try:
        subprocess.run(["true"])
    except Exception:  # noqa: BLE001 - what product code does
        pytest.fail("the guard's error was caught as an Exception")
    except BaseException:
        pass
    no_processes.clear()


def test_the_cli_runs_in_this_process(cli):
    res = cli("matrix", "--torch", "2.6.0", "--json")
    assert res.returncode == 0 and res.stdout.startswith("{")
    assert cli("matrix", "--torch", "9.9.9").returncode == 2


def test_markers_come_from_the_folder(request):
    names = {m.name for m in request.node.iter_markers()}
    assert "unit" in names and "integration" not in names
