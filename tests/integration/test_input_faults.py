"""Bad input, unwritable places, closed pipes and interrupts, with the real CLI in a real process.

Each row is a fault a user or a script can cause without any GPU: it must end with one clear
line (never a traceback, never "internal error"), the documented exit code and, where the input
is endless (a FIFO with no writer, /dev/zero), promptly and in bounded memory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers.cli import NO_USER_DATA
from helpers.paths import ROOT


def _env(extra=None):
    env = dict(os.environ)
    env.setdefault("ENVCHECK_DATA_DIR", NO_USER_DATA)
    env.update(extra or {})
    return env


def _run(args, *, cwd=None, timeout=60, **kw):
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(), cwd=cwd or str(ROOT), **kw)


def _one_line(res, code, words):
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == code, (res.returncode, res.stderr[-500:])
    assert len(lines) == 1 and lines[0].startswith("envcheck: error: "), res.stderr[-500:]
    assert words in lines[0], lines[0]
    assert "internal error" not in lines[0] and "Traceback" not in res.stderr
    assert len(lines[0]) < 1000  # an echo of bad input is clipped


@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this OS")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("args", [
    ["diagnose", "--facts", "{fifo}"],
    ["install-command", "--facts", "{fifo}"],
    ["requirements", "--check", "{fifo}"],
    ["preflight", "--config", "{fifo}"],
    ["diagnose", "--report", "{fifo}"],
], ids=lambda a: " ".join(a[:2]))
def test_a_fifo_with_no_writer_is_refused_not_waited_on(fifo, args):
    res = _run([a.format(fifo=fifo) for a in args], timeout=30)  # it used to wait forever
    _one_line(res, 2, "a FIFO (named pipe), not a")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_as_facts_is_refused():
    _one_line(_run(["diagnose", "--facts", "/dev/zero"], timeout=30), 2, "a character device, not a facts file")


def test_a_two_gigabyte_facts_file_is_refused_by_its_size(tmp_path):
    big = tmp_path / "zeros.json"
    with open(big, "wb") as fh:  # sparse: no disk is used
        fh.truncate(2 * 1024 ** 3)
    _one_line(_run(["diagnose", "--facts", str(big)], timeout=30), 2, "facts file larger than 32 MiB")


def test_facts_nested_a_hundred_thousand_deep(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    _one_line(_run(["diagnose", "--facts", str(deep)]), 2, "nested too deeply")
    config = tmp_path / "deep-config.json"
    config.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    _one_line(_run(["preflight", "--config", str(config)]), 2, "nested too deeply")


def test_facts_from_standard_input(tmp_path):
    snap = _run(["facts", "--json", "--quick"]).stdout
    res = subprocess.run([sys.executable, "-m", "envcheck", "diagnose", "--facts", "-", "--json"], input=snap,
                         capture_output=True, text=True, timeout=60, env=_env(), cwd=str(ROOT))
    assert res.returncode in (0, 1) and json.loads(res.stdout)["command"] == "diagnose"


def test_a_hundred_thousand_digit_version_is_one_short_line():
    _one_line(_run(["install-command", "--torch", "1" * 100_000]), 2, "characters in all")


@pytest.mark.parametrize("args", [
    ["install-command", "--cuda", ""],
    ["install-command", "--cuda", "12.8", "--driver", ""],
    ["requirements", "--rocm", " "],
    ["matrix", "--torch", ""],
], ids=lambda a: " ".join(repr(x) for x in a))
def test_an_empty_value_is_bad_input(args):
    _one_line(_run(args), 2, "an empty value")


def _unwritable_folder(tmp_path):
    """A folder this user cannot write: chmod works for a normal user; root needs a read-only mount."""
    if os.name == "posix" and os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return str(folder)
    for candidate in ("/sys", "/proc/self"):
        if os.path.isdir(candidate) and not os.access(os.path.join(candidate, "x"), os.W_OK):
            probe = os.path.join(candidate, ".envcheck-probe")
            try:
                open(probe, "w").close()
            except OSError:
                return candidate
    pytest.skip("no folder this user cannot write to")


@pytest.mark.parametrize("args", [
    ["requirements", "--cuda", "12.8", "-o", "req.txt"],
    ["facts", "--quick", "-o", "snap.json"],
], ids=lambda a: a[0])
def test_output_into_a_read_only_working_directory(tmp_path, args):
    folder = _unwritable_folder(tmp_path)
    _one_line(_run(args, cwd=folder), 2, "cannot write")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_stdout_on_a_full_disk_is_exit_3():
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "envcheck", "matrix", "--torch", "2.7"], stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=60, env=_env(), cwd=str(ROOT))
    assert res.returncode == 3 and res.stderr.strip() == \
        "envcheck: error: could not write the output: No space left on device"


@pytest.mark.parametrize("args, code", [
    (["matrix", "--json"], 0),
    (["matrix"], 0),
    (["requirements", "--cuda", "12.8"], 0),
    (["diagnose", "--facts", "{snap}"], "own"),
], ids=lambda a: " ".join(a) if isinstance(a, list) else str(a))
def test_a_reader_that_stops_reading_ends_quietly(tmp_path, args, code):
    snap = tmp_path / "snap.json"
    snap.write_text(_run(["facts", "--json", "--quick"]).stdout)
    argv = [a.format(snap=snap) for a in args]
    if code == "own":
        code = _run(argv).returncode  # the same command read whole
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(), cwd=str(ROOT))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # `| head -c 10`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == code
    assert not any(w in err for w in ("Traceback", "Exception ignored", "BrokenPipe", "envcheck: error")), err


def test_closed_stderr_keeps_the_exit_code():
    res = subprocess.run(["sh", "-c", '"$0" -m envcheck matrix --torch 9.9 2>&-', sys.executable],
                         capture_output=True, text=True, timeout=60, env=_env(), cwd=str(ROOT))
    assert res.returncode == 2 and res.stdout == ""


# ------------------------------------------------------------------------------- interrupts


def _ignore_sigint():  # what a non-interactive shell does to a background job (`envcheck verify &`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig, inherited_ignore", [
    (signal.SIGINT, False),
    (signal.SIGINT, True),
    (signal.SIGTERM, False),
], ids=["ctrl-c", "sigint-to-a-background-job", "sigterm"])
def test_an_interrupt_in_verify_is_130_and_claims_nothing(sig, inherited_ignore):
    pytest.importorskip("torch")
    mark = "verify-{}-{}".format(os.getpid(), time.monotonic_ns())
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "verify", "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env({"ENVCHECK_TEST_MARK": mark}), cwd=str(ROOT),
                            preexec_fn=_ignore_sigint if inherited_ignore else None)
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    for line in proc.stderr:  # wait for the first check to pass: the run is under way
        seen.append(line)
        if " passed (" in line or time.monotonic() > deadline:
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, out[-300:], err[-300:])
    assert err.strip().splitlines()[-1] == "envcheck: interrupted"
    assert "verify passed" not in out and "passed" not in out  # no claim of success on stdout
    # no check process is left behind: its children were killed with it
    time.sleep(0.5)
    assert _left_behind(mark) == []


def _left_behind(mark):
    """Live processes (not zombies) started with ENVCHECK_TEST_MARK=mark: this test's own only,
    whatever else runs on the machine."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc to find the children")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if _env_of(int(pid)).get("ENVCHECK_TEST_MARK") == mark and not _zombie(int(pid)):
            found.append(int(pid))
    return found


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_an_interrupt_during_diagnose_kills_the_hanging_torch_child(tmp_path):
    from helpers.faultbox import FaultBox

    box = FaultBox(tmp_path)
    box.module("torch.__init__", "import time\ntime.sleep(600)\n")  # an `import torch` that hangs
    mark = "diagnose-{}-{}".format(os.getpid(), time.monotonic_ns())
    env = _env(box.env({"ENVCHECK_TEST_MARK": mark}))
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "diagnose", "--timeout", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    children = []
    deadline = time.monotonic() + 30
    while not children and time.monotonic() < deadline:  # wait until the torch child is running
        children = [p for p in _left_behind(mark) if p != proc.pid and "torch_runtime" in _cmdline(p)]
        time.sleep(0.1)
    assert children, "the torch child never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "envcheck: interrupted" and out == ""
    time.sleep(0.3)
    assert _left_behind(mark) == [], "the torch child outlived envcheck"


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _env_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            items = fh.read().split(b"\0")
    except OSError:
        return {}
    return dict(i.decode("utf-8", "replace").split("=", 1) for i in items if b"=" in i)


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_logs_that_cannot_be_written_do_not_change_the_result():
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "envcheck", "requirements", "--cuda", "12.8"], stdout=subprocess.PIPE,
                             stderr=full, text=True, timeout=60, env=_env(), cwd=str(ROOT))
    assert res.returncode == 0 and res.stdout.startswith("# ")


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_an_interrupt_with_json_still_prints_its_one_envelope():
    pytest.importorskip("torch")
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "verify", "--device", "cpu", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=str(ROOT))
    assert proc.stderr is not None
    for line in proc.stderr:
        if " passed (" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    doc = json.loads(out)
    assert proc.returncode == 130 == doc["exit_code"] and doc["status"] == "error" and doc["data"] is None
    assert doc["errors"] == [{"kind": "interrupted", "message": "interrupted before the command finished"}]
