"""``envcheck fix`` for real: a fresh venv, real pip, a local index of stand-in wheels built here.

Each test starts from a copy of one template venv, installs a broken state from the local index,
runs ``python -m envcheck fix --python VENV/bin/python`` as a user would, and checks the
environment afterwards with pip's own ``pip list``. pip reads no configuration of this machine
and never the network (``_standins.pip_env``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import standins as s


pytestmark: list = []


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Wheels, the index (PyTorch's layout: cpu/, cu124/; plain/ for unlabelled releases) and a
    template venv with pip."""
    root = tmp_path_factory.mktemp("fix")
    w = root / "wheels"
    cpu = [s.torch_wheel(w / "cpu", "2.6.0+cpu"), s.partner_wheel(w / "cpu", "torchvision", "0.21.0+cpu", "2.6.0"),
           s.partner_wheel(w / "cpu", "torchaudio", "2.6.0+cpu", "2.6.0")]
    cu124 = [s.torch_wheel(w / "cu124", "2.6.0+cu124", cuda="12.4"),
             s.partner_wheel(w / "cu124", "torchvision", "0.21.0+cu124", "2.6.0")]
    plain = [s.partner_wheel(w / "plain", "torchvision", "0.20.0", "2.5.0")]
    idx = s.make_index(root / "idx", {"cpu": cpu, "cu124": cu124, "plain": plain})
    # an index where the partner is missing: pip fails to resolve
    s.make_index(root / "broken", {"cpu": cpu[:1]})
    python = s.make_venv(root / "template")
    return {"root": root, "idx": idx, "template": root / "template", "python": python}


def _venv(world, dest: Path, *requirements: str, index: str = "cpu") -> Path:
    shutil.copytree(world["template"], dest, symlinks=True)
    python = dest / "bin" / "python"
    if requirements:
        s.pip_install(python, ["--no-deps", *requirements, "--index-url", (world["idx"] / index).as_uri()],
                      s.pip_env())
    return python


def _fix(python: Path, *args: str, torch_index: str, input_text=None, env=None, timeout=300):
    cmd = [sys.executable, "-m", "envcheck", "fix", "--python", str(python), "--torch-index", torch_index, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input_text,
                          env=env or s.pip_env(), stdin=None if input_text is not None else subprocess.DEVNULL)


def _no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def test_fix_replaces_a_cuda_partner_beside_a_cpu_torch_and_the_restore_command_puts_it_back(world, tmp_path):
    python = _venv(world, tmp_path / "v")
    s.pip_install(python, ["--no-deps", "torch==2.6.0+cpu", "--index-url", (world["idx"] / "cpu").as_uri()], s.pip_env())
    s.pip_install(python, ["--no-deps", "torchvision==0.21.0+cu124", "--index-url", (world["idx"] / "cu124").as_uri()],
                  s.pip_env())
    broken = s.installed(python, s.pip_env())
    assert broken["torchvision"] == "0.21.0+cu124"

    proc = _fix(python, "--yes", "--json", "--quick", "--no-verify", torch_index=world["idx"].as_uri())
    _no_traceback(proc)
    doc = json.loads(proc.stdout)
    data = doc["data"]
    assert proc.returncode == 0, (data["outcome"], proc.stderr)
    assert "EC301" in [f["code"] for f in data["before"]["findings"]]
    assert "EC301" not in [f["code"] for f in data["after"]["findings"]]
    assert data["after"]["healthy"] is True
    step = data["plan"]["steps"][0]
    assert step["fixes"] == ["EC301"]
    # the installed build of the same release is replaced only because the pins name the build
    assert "torchvision==0.21.0+cpu" in step["argv"]
    assert step["indexes"] == [(world["idx"] / "cpu").as_uri()]
    touched = {t["name"]: t for t in data["plan"]["touches"]}
    assert touched["torchvision"]["installed"]["version"] == "0.21.0+cu124"
    assert [st["status"] for st in data["steps"]] == ["ok"]

    now = s.installed(python, s.pip_env())
    assert now["torchvision"] == "0.21.0+cpu" and now["torch"] == "2.6.0+cpu"
    changes = {c["name"]: c for c in data["changes"]}
    assert changes["torchvision"]["before"]["version"] == "0.21.0+cu124"
    assert changes["torchaudio"]["change"] == "added"  # the era's command pairs torchaudio
    assert set(changes) == {name for name, v in now.items() if broken.get(name) != v}

    # the restore command, run as printed, puts the old state back exactly
    mirror = world["idx"].as_uri()
    for command in data["restore"]:
        argv = shlex.split(command.replace("https://download.pytorch.org/whl", mirror))
        subprocess.run(argv, check=True, timeout=300, env=s.pip_env(), capture_output=True)
    assert s.installed(python, s.pip_env()) == broken


def test_fix_replaces_a_partner_pinned_to_another_torch(world, tmp_path):
    python = _venv(world, tmp_path / "v", "torch==2.6.0+cpu")
    s.pip_install(python, ["--no-deps", "torchvision==0.20.0", "--index-url", (world["idx"] / "plain").as_uri()],
                  s.pip_env())
    proc = _fix(python, "--yes", "--quick", "--no-verify", torch_index=world["idx"].as_uri())
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    now = s.installed(python, s.pip_env())
    assert now["torchvision"].startswith("0.21.0") and now["torch"] == "2.6.0+cpu"
    # before | after, side by side, and the exact way back
    assert "Changed (2):" in proc.stdout and "torchvision" in proc.stdout
    assert "0.20.0 -> 0.21.0+cpu" in proc.stdout
    assert "--no-deps --force-reinstall torchvision==0.20.0" in proc.stdout
    assert "gone" in proc.stdout


@pytest.mark.parametrize("how", ["dry-run", "declined", "no-answer"])
def test_nothing_changes_without_consent(world, tmp_path, how):
    python = _venv(world, tmp_path / "v", "torch==2.6.0+cpu")
    s.pip_install(python, ["--no-deps", "torchvision==0.21.0+cu124", "--index-url", (world["idx"] / "cu124").as_uri()],
                  s.pip_env())
    before = s.installed(python, s.pip_env())
    args = {"dry-run": ("--dry-run",), "declined": (), "no-answer": ()}[how]
    text = {"dry-run": None, "declined": "n\n", "no-answer": ""}[how]
    proc = _fix(python, "--quick", *args, torch_index=world["idx"].as_uri(), input_text=text)
    _no_traceback(proc)
    assert proc.returncode == 1
    assert "Plan:" in proc.stdout and "torchvision==0.21.0+cpu" in proc.stdout
    assert ("dry run: nothing was changed" if how == "dry-run" else "declined: nothing was changed") in proc.stdout
    if how != "dry-run":
        assert "Install (1 step)?" in proc.stderr
    assert s.installed(python, s.pip_env()) == before


@pytest.mark.parametrize("case", ["resolution-fails", "no-network"])
def test_a_failing_install_leaves_the_environment_and_says_so(world, tmp_path, case):
    python = _venv(world, tmp_path / "v", "torch==2.6.0+cpu")
    s.pip_install(python, ["--no-deps", "torchvision==0.21.0+cu124", "--index-url", (world["idx"] / "cu124").as_uri()],
                  s.pip_env())
    before = s.installed(python, s.pip_env())
    index = (world["root"] / "broken").as_uri() if case == "resolution-fails" else "http://127.0.0.1:9/whl"
    proc = _fix(python, "--yes", "--json", "--quick", torch_index=index)
    _no_traceback(proc)
    data = json.loads(proc.stdout)["data"]
    assert proc.returncode == 1
    assert data["steps"][0]["status"] == "failed" and data["steps"][0]["exit_code"] not in (0, None)
    assert data["steps"][0]["tail"], "pip's last lines are kept for the user"
    assert data["changes"] == [] and data["restore"] == []
    assert data["outcome"].startswith("the install failed") and data["outcome"].endswith("nothing was changed")
    assert data["after"] is None
    assert s.installed(python, s.pip_env()) == before


def _hanging_server():
    """A server that accepts connections and never answers: a download that stalls."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held = []

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return sock, held


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a process is POSIX")
def test_ctrl_c_during_the_install_stops_it_and_reports_what_changed(world, tmp_path):
    python = _venv(world, tmp_path / "v", "torch==2.6.0+cpu")
    s.pip_install(python, ["--no-deps", "torchvision==0.21.0+cu124", "--index-url", (world["idx"] / "cu124").as_uri()],
                  s.pip_env())
    before = s.installed(python, s.pip_env())
    sock, held = _hanging_server()
    env = s.pip_env()
    env["PIP_DEFAULT_TIMEOUT"] = "60"
    cmd = [sys.executable, "-m", "envcheck", "fix", "--python", str(python), "--yes", "--quick",
           "--torch-index", "http://127.0.0.1:{}/whl".format(sock.getsockname()[1])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not held and time.monotonic() < deadline:  # pip is waiting on the index
            time.sleep(0.1)
        assert held, "pip never reached the index"
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
        for conn in held:
            conn.close()
    assert proc.returncode == 130, out + err
    assert took < 30
    assert "Traceback" not in err and "Traceback" not in out
    assert "interrupted" in out and "nothing was changed" in out
    assert s.installed(python, s.pip_env()) == before


def _read_only(site: Path, cmd):
    """``cmd`` run where ``site`` cannot be written: a read-only bind mount in a private mount
    namespace as root (root ignores file modes), file modes otherwise; None when neither works."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if shutil.which("unshare") is None:
            return None
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
        probe = subprocess.run(["unshare", "-m", "sh", "-c", script + " true", str(site)],
                               capture_output=True, timeout=30)
        if probe.returncode != 0:
            return None
        return ["unshare", "-m", "sh", "-c", script, str(site), *cmd]
    for folder in [site, *[p for p in site.rglob("*") if p.is_dir()]]:
        folder.chmod(0o555)
    return list(cmd)


def test_a_read_only_site_packages_is_refused_before_anything_runs(world, tmp_path):
    python = _venv(world, tmp_path / "v", "torch==2.6.0+cpu")
    s.pip_install(python, ["--no-deps", "torchvision==0.21.0+cu124", "--index-url", (world["idx"] / "cu124").as_uri()],
                  s.pip_env())
    before = s.installed(python, s.pip_env())
    site = next((tmp_path / "v" / "lib").glob("python*/site-packages"))
    cmd = _read_only(site, [sys.executable, "-m", "envcheck", "fix", "--python", str(python), "--yes", "--quick",
                            "--torch-index", world["idx"].as_uri()])
    if cmd is None:
        pytest.skip("root without a private mount namespace (unshare -m): no way to make site-packages read-only")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=s.pip_env(),
                              stdin=subprocess.DEVNULL)
    finally:
        for folder in [site, *[p for p in site.rglob("*") if p.is_dir()]]:
            folder.chmod(0o755)
    _no_traceback(proc)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "is not writable: nothing was changed" in proc.stdout
    assert "Steps:" not in proc.stdout and "Plan:" in proc.stdout
    assert s.installed(python, s.pip_env()) == before


def _torch_wheel_file():
    """The torch 2.13.0 CPU wheel this machine holds (a PIP_FIND_LINKS folder, or
    ENVCHECK_TEST_TORCH_WHEEL): the real thing, never downloaded by the suite."""
    named = os.environ.get("ENVCHECK_TEST_TORCH_WHEEL")
    if named and Path(named).is_file():
        return Path(named)
    for folder in os.environ.get("PIP_FIND_LINKS", "").split():
        for wheel in sorted(Path(folder).glob("torch-2.13.0+cpu-cp{}{}-*.whl".format(*sys.version_info[:2]))):
            return wheel
    return None


def test_real_torch_cpu_wheel_partner_repaired_and_proven_by_verify(world, tmp_path):
    wheel = _torch_wheel_file()
    if wheel is None:
        pytest.skip("no torch 2.13.0 CPU wheel for this Python in PIP_FIND_LINKS or ENVCHECK_TEST_TORCH_WHEEL")
    python = _venv(world, tmp_path / "v")
    # the real torch, its dependencies from this machine's own package configuration
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    old = s.partner_wheel(tmp_path / "w", "torchvision", "0.27.0", "2.12.0", nms=True)
    s.pip_install(python, ["--no-deps", str(old)], s.pip_env())
    index = s.make_index(tmp_path / "idx", {"cpu": [wheel, s.partner_wheel(tmp_path / "w", "torchvision",
                                                                            "0.28.0+cpu", "2.13.0", nms=True)]})
    before = s.installed(python, s.pip_env())

    proc = _fix(python, "--yes", "--json", torch_index=index.as_uri(), timeout=600)
    _no_traceback(proc)
    data = json.loads(proc.stdout)["data"]
    assert proc.returncode == 0, (data["outcome"], proc.stderr[-3000:])
    codes = [f["code"] for f in data["before"]["findings"] if f["severity"] in ("error", "warning")]
    assert codes and set(codes) <= set(data["plan"]["steps"][0]["fixes"])
    assert data["after"]["healthy"] is True
    # the torch child imported the real torch again after the install, and verify ran on the CPU
    assert data["verify"]["summary"]["verdict"] == "passed"
    assert data["verify"]["summary"]["devices"] == ["cpu"]
    assert data["verify"]["summary"]["passed"] >= 3
    now = s.installed(python, s.pip_env())
    assert now["torch"] == before["torch"] == "2.13.0+cpu"  # never replaced: it was right
    assert now["torchvision"] == "0.28.0+cpu"
    assert [c["name"] for c in data["changes"]] == ["torchvision"]
