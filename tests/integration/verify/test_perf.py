"""Performance verdicts against the GPU table.

The numbers below are chosen to sit on either side of the thresholds; they are inputs to the
judge, not recorded measurements of any GPU.
"""

from __future__ import annotations

import os

import pytest



@pytest.mark.skipif(os.name != "posix", reason="flock is POSIX")
def test_the_host_link_lock_holds_off_a_sibling_child(tmp_path):
    """Children of one verify run take turns measuring host<->device bandwidth (GPUs behind one
    PCIe switch share its uplink): while one holds the lock, another cannot take it."""
    import subprocess
    import sys

    from envcheck.children import checks as _child

    lock = tmp_path / "host-link.lock"
    probe = ("import fcntl, sys; fh = open(sys.argv[1], 'a')\n"
             "try:\n fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError:\n print('held')\n")
    with _child.host_link_lock(str(lock)):
        held = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True, timeout=30)
    free = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True, timeout=30)
    assert (held.stdout.strip(), free.stdout.strip()) == ("held", "free")
    with _child.host_link_lock(None):  # no lock file: a no-op
        pass
