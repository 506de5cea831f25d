"""The machine derived once (facts/machine.py) and the one repair path (install/fix.py).

* ``Machine.from_facts`` is what every consumer reads: OS, driver OS (WSL), Python, interpreter,
  torch build, NVIDIA or not; recorded snapshots and hand-made facts pin each derivation.
* ``install_fix`` is the one "command that repairs this machine": diagnose's rules (View.install),
  verify's classifier and ``install-command`` agree on the same machine.
* ``install-command --facts``/``requirements --facts`` read the same two forms as
  ``diagnose --facts``; flags beat the environment, which beats detection.
* The conda channel's end comes from the data.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from envcheck.facts import from_dict, load_facts, to_json
from envcheck.facts.machine import Machine, os_of_platform
from envcheck.facts.model import (
    DriverFacts,
    Facts,
    GpuFacts,
    HostFacts,
    TorchRuntimeFacts,
    TorchStaticFacts,
)
from envcheck.install import commands
from envcheck.install.fix import install_fix
from envcheck.install.target import from_machine
from envcheck.rules.view import View

from helpers.facts import load, snapshot_path

# ---- the machine --------------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("Linux", "linux"), ("Windows", "windows"), ("Darwin", "macos"),
    ("linux", "linux"), ("win32", "windows"), ("darwin", "macos"), ("cygwin", "windows"),
    (None, "linux"), ("", "linux"),
])
def test_os_of_platform(name, expected):
    assert os_of_platform(name) == expected


def test_wsl_runs_on_linux_with_the_windows_driver():
    m = Machine.from_facts(load("wsl2-linux-driver"))
    assert (m.os, m.wsl, m.driver_os) == ("linux", True, "windows")


def test_a_plain_linux_machine():
    m = Machine.from_facts(load("gtx1080-torch2.8-cu128"))
    assert (m.os, m.wsl, m.driver_os) == ("linux", False, "linux")
    assert (m.torch_version, m.torch_base, m.torch_label, m.variant_label) == ("2.8.0+cu128", "2.8.0", "cu128", "cu128")
    assert m.is_cuda_build and m.cuda_build == "12.8" and m.nvidia_machine and m.gpu_build_wanted
    assert m.python == ".".join(m.python_version.split(".")[:2])
    assert m.pip == ("pip",)


def test_the_os_comes_from_the_interpreter_when_the_host_probe_failed():
    facts = Facts(host=HostFacts(status="failed"), torch=TorchStaticFacts(status="ok", version="2.7.1",
                                                                          sys_platform="win32"))
    m = Machine.from_facts(facts)
    assert (m.os, m.driver_os) == ("windows", "windows")


def test_python_and_build_from_the_child_when_torch_metadata_is_missing():
    """A torch the child imported but whose metadata was not found (a source tree on sys.path)."""
    rt = TorchRuntimeFacts(status="ok", version="2.9.0a0+git1234", cuda_build="12.6", python_version="3.12.4",
                           interpreter="/opt/py/bin/python")
    m = Machine.from_facts(Facts(host=HostFacts(python=None), torch_runtime=rt))
    assert (m.python, m.interpreter) == ("3.12", "/opt/py/bin/python")
    assert (m.torch_installed, m.torch_known, m.torch_version) == (False, True, "2.9.0a0+git1234")
    assert (m.variant_label, m.cuda_build) == ("cu126", "12.6")


def test_another_interpreter_is_installed_into():
    m = Machine.from_facts(dataclasses.replace(load("gtx1080-torch2.8-cu128"), python="/venv/bin/python"))
    assert m.pip == ("/venv/bin/python", "-m", "pip")
    assert m.foreign_interpreter == "/venv/bin/python"


@pytest.mark.parametrize("driver, variant, wanted", [
    (DriverFacts(status="failed", error_code="unknown"), "cu128", True),  # unread driver + CUDA build
    (DriverFacts(status="failed", error_code="unknown"), "cpu", False),
    (DriverFacts(status="missing", error_code="library-not-found"), "cu128", False),  # no driver at all
    (DriverFacts(status="failed", error_code="driver-library-mismatch"), "cpu", True),  # broken, not absent
    (DriverFacts(status="ok", version="580.65.06", gpus=(GpuFacts(index=0),)), "cpu", True),
])
def test_gpu_build_wanted(driver, variant, wanted):
    torch = TorchStaticFacts(status="ok", version="2.8.0+" + variant, variant=variant)
    assert Machine.from_facts(Facts(driver=driver, torch=torch)).gpu_build_wanted is wanted


def test_the_view_reads_the_machine_and_derives_nothing(matrix):
    facts = load("rtx5090-torch2.6-cu124")
    v = View(facts, matrix)
    m = Machine.from_facts(facts)
    for name in ("os", "wsl", "driver_os", "python", "interpreter", "torch_version", "torch_base", "variant_label",
                 "cuda_build", "driver_cuda", "nvidia_machine", "gpu_build_wanted", "is_cuda_build"):
        assert getattr(v, name) == getattr(m, name), name
    assert v.release is not None and v.release.torch == "2.6.0"
    with pytest.raises(AttributeError):
        v.no_such_value  # noqa: B018 - a typo in a rule is an error, not None


# ---- the one repair path ------------------------------------------------------------------------

REPAIRED = ["rtx5090-torch2.6-cu124", "gtx1080-torch2.8-cu128", "driver535-torch2.11-cu130",
            "laptop-rtx3060-cpu-torch", "wsl2-linux-driver", "devbox-no-driver-nvcc13-torch-cpu"]


@pytest.mark.parametrize("name", REPAIRED)
def test_rules_and_install_fix_give_one_command(matrix, name):
    facts = load(name)
    fix = install_fix(matrix, Machine.from_facts(facts))
    assert fix is not None and fix.command.startswith("pip install torch==")
    assert View(facts, matrix).install() == fix


@pytest.mark.parametrize("name", ["rtx5090-torch2.6-cu124", "gtx1080-torch2.8-cu128", "driver535-torch2.11-cu130"])
def test_verify_classifier_repairs_through_the_same_path(matrix, name):
    """verify knows only NVML's driver view, the verified interpreter and its torch; for the same
    machine it prints the command diagnose prints."""
    from envcheck.verify import classify

    facts = load(name)
    machine = Machine.from_facts(facts)
    expected = install_fix(matrix, machine)
    got = classify.install_command(driver_facts=facts.driver, keep=facts.torch.version,
                                   python_version=machine.python_version)
    # the classifier does not know which partners were installed: compare release, build and index
    assert got is not None and expected is not None
    assert got.split()[:3] == expected.command.split()[:3] and got.split()[-1] == expected.command.split()[-1]


def test_a_gpu_machine_is_never_sent_to_the_cpu_build_by_verify():
    """No build in the data runs on a GPU of compute capability 3.0 with driver 390: no command."""
    from envcheck.verify import classify

    driver = DriverFacts(status="ok", version="390.157", cuda_max="9.1",
                         gpus=(GpuFacts(index=0, name="GeForce GTX 680", compute_capability="3.0"),))
    assert classify.install_command(driver_facts=driver) is None


def test_the_target_of_a_machine(matrix):
    m = Machine.from_facts(load("driver535-torch2.11-cu130"))
    t = from_machine(m, source="facts x.json")
    assert (t.os, t.python, t.driver, t.driver_cuda, t.source) == (m.os, m.python, "535.216.01", (12, 2), "facts x.json")
    assert [str(c) for c in t.gpus] == ["8.6"] and t.nvidia_present
    flagged = t.with_flags(cpu=True, python="3.10")
    assert (flagged.want.label, flagged.python, flagged.driver) == ("cpu", "3.10", "535.216.01")
    other = t.with_flags(driver="580.65.06")  # a driver given describes another machine
    assert (other.driver, other.gpus, other.source) == ("580.65.06", (), "given on the command line")


# ---- conda policy from the data -----------------------------------------------------------------


def test_the_conda_channel_end_comes_from_the_data(matrix):
    rel = matrix.get("2.15.0")
    cuda = next(v for v in rel.variants_for_os("linux") if v.kind == "cuda")
    route = commands.conda_route(matrix.releases, rel, cuda, "linux")
    assert route.command is None and "(the pytorch channel ended with 2.5.1)" in route.notes[0]
    assert route.forge and route.forge.startswith("conda install -c conda-forge pytorch=2.15.0")
    # Were 2.5.x without conda packages in the data, the channel would have ended with 2.4.1.
    none = dataclasses.replace(matrix.get("2.6.0").conda)
    releases = [dataclasses.replace(r, conda=none) if r.torch.startswith("2.5.") else r for r in matrix.releases]
    assert "(the pytorch channel ended with 2.4.1)" in commands.conda_route(releases, rel, cuda, "linux").notes[0]


def test_a_conda_release_without_the_build_asked_for(matrix):
    rel = matrix.get("1.10.1")  # pip has cu111, conda had cu102 and cu113
    published = {v.label for v in rel.conda.variants}
    other = next(v for v in rel.variants_for_os("linux") if v.kind == "cuda" and v.label not in published)
    route = commands.conda_route(matrix.releases, rel, other, "linux")
    assert route.command is None and f"with the {other.label} build" in route.notes[0]
    shipped = next(v for v in rel.conda.variants if v.kind == "cuda")
    assert commands.conda_route(matrix.releases, rel, shipped, "linux").command.startswith("conda install pytorch==1.10.1")


# ---- the CLI: one loader for --facts, one precedence ------------------------------------------


def _envelope(tmp_path, name):
    """What a user saves with `envcheck diagnose --json > saved.json`, and the bare snapshot."""
    facts = load(name)
    bare = tmp_path / "bare.json"
    bare.write_text(to_json(facts, redact=False))
    env = tmp_path / "diagnose.json"
    env.write_text(json.dumps({"envcheck_result_version": 1, "command": "diagnose", "exit_code": 1,
                               "data": {"findings": [], "facts": json.loads(bare.read_text())}}))
    return str(bare), str(env)


@pytest.mark.parametrize("command", [("install-command", "-q"), ("requirements", "-q")])
def test_install_commands_take_a_diagnose_envelope(cli, tmp_path, command):
    bare, env = _envelope(tmp_path, "driver535-torch2.11-cu130")
    a = cli(*command, "--facts", bare)
    b = cli(*command, "--facts", env)
    assert a.returncode == b.returncode == 0, b.stderr
    assert a.stdout.replace(bare, "F") == b.stdout.replace(env, "F") and "torch==" in a.stdout


def test_a_real_diagnose_json_file_is_a_facts_file(cli, tmp_path):
    """The real CLI round trip: diagnose --json saved, then read by install-command --facts."""
    saved = tmp_path / "saved.json"
    r = cli("diagnose", "--facts", snapshot_path("gtx1080-torch2.8-cu128"), "--json")
    saved.write_text(r.stdout)
    out = cli("install-command", "--facts", str(saved), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["data"]
    assert data["target"]["source"] == f"facts {saved}" and data["target"]["driver"] == "570.144"
    assert data["target"]["gpus"] == ["6.1"]


def test_flags_then_environment_then_detection(cli, tmp_path):
    bare, _ = _envelope(tmp_path, "driver535-torch2.11-cu130")
    env = {"ENVCHECK_DRIVER_VERSION": "580.65.06", "ENVCHECK_COMPUTE_CAPABILITY": "9.0 8.0"}
    # detection alone: the snapshot's driver
    detected = json.loads(cli("install-command", "--facts", bare, "--json").stdout)["data"]["target"]
    assert detected["driver"] == "535.216.01"
    # the environment describes the machine instead
    r = cli("install-command", "--facts", bare, "--json", env=env)
    target = json.loads(r.stdout)["data"]["target"]
    assert (target["driver"], target["gpus"]) == ("580.65.06", ["9.0", "8.0"])
    # a flag beats the environment
    r = cli("install-command", "--facts", bare, "--json", "--driver", "570.124.06", env=env)
    target = json.loads(r.stdout)["data"]["target"]
    assert (target["driver"], target["gpus"]) == ("570.124.06", ["9.0", "8.0"])


def test_a_facts_file_that_is_no_snapshot_is_one_line_and_exit_2(cli, tmp_path):
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps({"envcheck_result_version": 1, "command": "matrix", "data": {"releases": []}}))
    for command in ("install-command", "requirements", "diagnose"):
        r = cli(command, "--facts", str(path))
        assert r.returncode == 2
        assert "not an envcheck facts snapshot (no 'schema' field)" in r.stderr
        assert "Traceback" not in r.stderr


def test_decode_of_a_diagnose_envelope_in_process():
    text = to_json(load("gtx1080-torch2.8-cu128"), redact=False)
    assert from_dict(json.loads(text)) == load_facts(snapshot_path("gtx1080-torch2.8-cu128"))


@pytest.mark.parametrize("var, value, words", [
    ("ENVCHECK_DRIVER_VERSION", "abc", "ENVCHECK_DRIVER_VERSION: Invalid driver version: 'abc'"),
    ("ENVCHECK_COMPUTE_CAPABILITY", "8.6 x", "ENVCHECK_COMPUTE_CAPABILITY: Invalid compute capability: 'x'"),
])
def test_a_bad_value_from_the_environment_names_its_variable(cli, var, value, words):
    for command in ("install-command", "requirements"):
        r = cli(command, "-q", env={var: value})
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # the flag beats the variable, so a bad variable under a good flag is not read
    flag = "--driver" if var == "ENVCHECK_DRIVER_VERSION" else "--cc"
    good = "570.124.06" if flag == "--driver" else "9.0"
    assert cli("install-command", "-q", flag, good, env={var: value}).returncode == 0
