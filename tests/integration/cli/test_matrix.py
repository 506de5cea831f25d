"""The real CLI, run as a user would: stdout is the product, one-line errors, documented exits."""

from __future__ import annotations

import json



def envelope(result):
    doc = json.loads(result.stdout)
    assert doc["envcheck_result_version"] == 1
    assert doc["exit_code"] == result.returncode
    return doc


def test_broken_pipe_is_quiet(tmp_path):
    import subprocess
    import sys

    p = subprocess.run(
        f'"{sys.executable}" -m envcheck matrix | head -1', shell=True, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in p.stderr
