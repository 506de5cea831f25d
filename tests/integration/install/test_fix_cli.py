"""The plan of ``envcheck fix`` as a pure function (recorded snapshots in, plan out), the restore
commands, where installing is refused, the exit codes, and the inventory reader against the real
interpreter."""

from __future__ import annotations

import importlib.metadata
import os
import sys

import pytest

from envcheck.errors import CannotRunError
from envcheck.install import inventory, repair
from envcheck.install.inventory import Installed, Inventory
from envcheck.rules import diagnose
from helpers.facts import load

VENV = Inventory(executable="/home/u/.venv/bin/python", version="3.12.3", prefix="/home/u/.venv", venv=True,
                 uv_venv=False, conda=False, conda_base=False, externally_managed=False,
                 site_packages="/home/u/.venv/lib/python3.12/site-packages", writable=True, pip=True,
                 dists=(Installed("torch", "2.7.1+cu128"), Installed("torchvision", "0.22.0+cu126"),
                        Installed("numpy", "2.1.3")))
PIP = repair.Manager("pip", VENV.executable)


def _plan(matrix, name, inv=VENV, **kw):
    diag = diagnose(load(name) if isinstance(name, str) else name, matrix)
    return diag, repair.plan_fix(diag, inv, kw.pop("manager", PIP), **kw)


# -- reading the findings' commands ------------------------------------------------------------


def test_the_inventory_of_this_interpreter_matches_importlib_metadata():
    inv = inventory.probe_inventory(sys.executable)
    assert inv.executable and inv.prefix == sys.prefix and inv.venv == (sys.prefix != sys.base_prefix)
    assert inv.pip
    ours = {d.canon: d.version for d in inv.dists}
    for name in ("click", "packaging", "pytest"):
        assert ours[name] == importlib.metadata.version(name)
    assert inv.get("PyTest") is not None


def test_an_interpreter_that_does_not_run_is_one_clear_error(tmp_path):
    bad = tmp_path / "python"
    bad.write_text("#!/bin/sh\nexit 3\n")
    bad.chmod(0o755)
    with pytest.raises(CannotRunError, match="could not list what"):
        inventory.probe_inventory(str(bad))


@pytest.mark.parametrize("args, code, words", [
    (["--torch-index", ""], 2, "not an index URL"),
    (["--yes", "--dry-run"], 2, "only one of --yes and --dry-run"),
    (["--python", "/nonexistent/python"], 3, "not an executable file"),
    (["--python", "/bin/true", "--quick"], 3, "it printed nothing"),
])
def test_bad_input_is_one_line_and_a_documented_exit_code(args, code, words):
    import subprocess

    if not os.path.exists("/bin/true") and "/bin/true" in args:
        pytest.skip("no /bin/true")
    proc = subprocess.run([sys.executable, "-m", "envcheck", "fix", *args], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == code
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("envcheck: error:")]
    assert len(errors) == 1 and words in errors[0] and "Traceback" not in proc.stderr
