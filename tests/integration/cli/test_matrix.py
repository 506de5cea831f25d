"""The real CLI in a child process, where only a real process shows it: a closed pipe."""

from __future__ import annotations



def test_broken_pipe_is_quiet(tmp_path):
    import subprocess
    import sys

    p = subprocess.run(
        f'"{sys.executable}" -m envcheck matrix | head -1', shell=True, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in p.stderr
