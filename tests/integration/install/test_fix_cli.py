"""``envcheck fix`` against real interpreters: bad input and an interpreter that does not run,
and the inventory reader against importlib.metadata in a real child."""

from __future__ import annotations

import importlib.metadata
import os
import sys

import pytest

from envcheck.errors import CannotRunError
from envcheck.install import inventory


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
    (["--torch-index", ""], 2, "an empty value"),
    (["--torch-index", "ftp://x"], 2, "not an index URL"),
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
