"""`envcheck diagnose` and `facts` on this machine, as a user runs them: child processes, real probes,
a venv without torch, files written atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from envcheck.facts import load_facts
from unit.cli.test_diagnose import HAVE_TORCH, HERE, envelope, no_traceback  # shared with the unit twin


# ------------------------------------------------------------------------ diagnose --facts


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory):
    """A virtual environment without torch (and without pip)."""
    path = tmp_path_factory.mktemp("venv") / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return str(path / "bin" / "python")


@pytest.mark.parametrize("python", ["/nonexistent/python", "/etc/hostname", "/bin/true"])
def test_python_that_is_not_an_interpreter_is_exit_3(cli, python):
    res = cli("diagnose", "--quick", "--python", python)
    assert res.returncode == 3, (res.stdout, res.stderr)
    no_traceback(res)
    assert res.stderr.startswith("envcheck: error:") and python in res.stderr


def test_facts_writes_atomically_and_refuses_to_overwrite(cli, tmp_path):
    out = tmp_path / "facts.json"
    res = cli("facts", "--quick", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "wrote" in res.stderr and res.stdout == ""  # the file is the product
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # like any file the user makes
    facts = load_facts(str(out))
    assert facts.quick and facts.redacted and facts.torch_runtime is None
    assert facts.host.hostname in (None, "redacted-host")
    again = cli("facts", "--quick", "-o", str(out))
    assert again.returncode == 2 and "--force" in again.stderr
    assert cli("facts", "--quick", "-o", str(out), "--force", "--no-redact").returncode == 0
    assert load_facts(str(out)).redacted is False
    assert [p.name for p in tmp_path.iterdir()] == ["facts.json"]  # no temporary file left


def test_diagnose_quick_on_this_machine(cli):
    res = cli("diagnose", "--quick", "--json")
    assert res.returncode in (0, 1), res.stderr
    doc = envelope(res)
    data = doc["data"]
    assert data["facts"]["quick"] is True and data["facts"]["torch_runtime"] is None
    codes = {f["code"] for f in data["diagnosis"]["findings"]}
    if data["facts"]["driver"]["version"] is None and data["facts"]["torch"]["variant"] == "cpu":
        assert "EC202" in codes and res.returncode == 0


@pytest.mark.parametrize("quick", [True, False])
def test_diagnose_without_torch(cli, bare_venv, quick):
    args = ["diagnose", "--python", bare_venv, "--json"] + (["--quick"] if quick else [])
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    findings = envelope(res)["data"]["diagnosis"]["findings"]
    missing = [f for f in findings if f["code"] == "EC002"]
    assert len(missing) == 1 and missing[0]["severity"] == "warning"
    # The fix installs into the interpreter that was inspected, not whatever `pip` is on PATH.
    assert missing[0]["command"].startswith(f"{bare_venv} -m pip install torch==")
    assert "EC003" not in {f["code"] for f in findings}
    text = cli("diagnose", "--python", bare_venv, "--quick")
    assert "torch: not installed" in text.stdout and "EC002 torch-not-installed" in text.stdout
    assert text.stdout.rstrip().endswith(missing[0]["command"])


def test_importing_cli_diagnose_costs_only_click():
    code = (
        "import sys, envcheck.cli.diagnose, envcheck.cli\n"
        "heavy = ('psutil', 'pynvml', 'torch', 'packaging', 'envcheck.probes', 'envcheck.rules',"
        " 'envcheck.matrix.store', 'envcheck.facts')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print(sorted(n for n in ('diagnose', 'facts', 'explain') if n in envcheck.cli.cli.lazy))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(HERE))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["[]", "['diagnose', 'explain', 'facts']"]


def test_facts_json_is_the_snapshot_that_others_read(cli, tmp_path):
    res = cli("facts", "--quick", "--json")
    assert res.returncode == 0 and res.stderr == ""
    assert json.loads(res.stdout)["schema"] == "envcheck.facts/1"
    path = tmp_path / "me.json"
    path.write_text(res.stdout)
    diag = cli("diagnose", "--facts", str(path), "--json")
    assert envelope(diag)["data"]["source"] == "facts {}".format(path)
    install = cli("install-command", "--facts", str(path), "-q")
    assert install.returncode == 0 and install.stdout.startswith("pip install torch==")


@pytest.mark.torch
@pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed in this interpreter")
def test_diagnose_with_torch_on_this_machine(cli):
    """With a CPU torch and no NVIDIA driver: consistent, exit 0 (this development machine)."""
    res = cli("diagnose", "--json", timeout=120)
    doc = envelope(res)
    facts = doc["data"]["facts"]
    codes = {f["code"]: f["severity"] for f in doc["data"]["diagnosis"]["findings"]}
    assert facts["torch"]["status"] == "ok" and facts["torch_runtime"]["status"] == "ok", facts["torch_runtime"]
    if facts["driver"]["version"] is None and facts["torch"]["variant"] == "cpu":
        assert res.returncode == 0
        assert codes.get("EC202") == "info" and "EC001" in codes
        if facts["nvcc"]["status"] == "ok":
            assert codes.get("EC109") == "info"
        text = cli("diagnose").stdout
        assert "CPU build" in text and "no NVIDIA driver" in text and "consistent" in text
        if facts["nvcc"]["status"] == "ok":
            release = next(t["release"] for t in facts["nvcc"]["toolkits"] if t["release"])
            assert "nvcc    " + release in text
