"""Commands that run no other program do not even import the machinery for it: ``subprocess``
(and ``envcheck.proc``) cost start-up time on every call, so only the paths that start a child
import them. One fresh interpreter per command, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers.paths import DATA, ROOT

CODE = (
    "import json, sys\n"
    "from envcheck.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "sys.stderr.write(json.dumps(sorted(m for m in ('subprocess', 'envcheck.proc', 'psutil', 'pynvml') "
    "if m in sys.modules)) + '\\n')\n"
)


@pytest.mark.parametrize("args", [
    ["--version"],
    ["matrix", "--torch", "2.7", "--json"],
    ["install-command", "--cuda", "12.8"],
    ["install-command", "--driver", "550.54.14", "--cc", "8.6", "--python-version", "3.11"],
    ["requirements", "--cuda", "12.8"],
    ["explain", "EC101"],
], ids=lambda a: " ".join(a))
def test_no_subprocess_machinery_where_no_program_runs(args):
    env = {"ENVCHECK_DATA_DIR": str(DATA / "no-user-data"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", CODE, *args], capture_output=True, text=True, cwd=str(ROOT),
                          env=env, timeout=60)
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert proc.stdout, proc.stderr  # the command ran and answered
    assert loaded == [], f"envcheck {' '.join(args)} imports {loaded}"
