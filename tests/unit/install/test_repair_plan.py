"""The plan of ``envcheck fix`` as a pure function (recorded snapshots in, plan out), the restore
commands, where installing is refused, the exit codes, and the inventory reader against the real
interpreter."""

from __future__ import annotations

import dataclasses
import shlex

import pytest

from envcheck.errors import CannotRunError
from envcheck.install import apply, repair
from envcheck.install.inventory import Installed, Inventory
from envcheck.rules import diagnose
from helpers.facts import change, load

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


@pytest.mark.parametrize("command, args", [
    ("pip install torch==2.7.1 --index-url https://download.pytorch.org/whl/cu128",
     ("torch==2.7.1", "--index-url", "https://download.pytorch.org/whl/cu128")),
    ("/opt/venv/bin/python -m pip install 'xformers==0.0.29.post3'", ("xformers==0.0.29.post3",)),
    ("pip install 'numpy<2'", ("numpy<2",)),
    ("pip uninstall -y nvidia-cublas-cu12", None),
    ("sudo reboot", None),
    ("pip install torch && rm -rf /", None),
    ("unset CUDA_VISIBLE_DEVICES", None),
    ("pip install", None),
    ("pip install 'unterminated", None),
    (None, None),
])
def test_install_args_reads_back_only_pip_installs(command, args):
    assert repair.install_args(command) == args


def test_requirement_names_skip_options_and_their_values():
    args = ("torch==2.7.1+cu128", "torchvision==0.22.1", "--index-url", "https://x/whl/cu128", "--no-deps",
            "numpy<2", "-f", "https://x/torch_stable.html",
            "https://download.pytorch.org/whl/cu90/torch-1.0.0-cp36-cp36m-linux_x86_64.whl")
    assert [n for n, _ in repair.requirement_names(args)] == ["torch", "torchvision", "numpy", "torch"]


def test_a_mirror_replaces_pytorchs_index_only():
    args = ("torch==2.7.1", "--index-url", "https://download.pytorch.org/whl/cu128", "--extra-index-url",
            "https://pypi.org/simple")
    assert repair.mirror(args, "https://mirror.corp/pytorch/") == (
        "torch==2.7.1", "--index-url", "https://mirror.corp/pytorch/cu128", "--extra-index-url", "https://pypi.org/simple")
    assert repair.mirror(args, repair.PYTORCH_INDEX) == args


# -- plans from recorded machines --------------------------------------------------------------


def test_plan_for_a_partner_of_another_build_touches_what_the_command_names(matrix):
    diag, plan = _plan(matrix, "torchvision-other-build")
    assert [s.fixes for s in plan.steps] == [("EC301",)]
    step = plan.steps[0]
    assert step.indexes == ("https://download.pytorch.org/whl/cu128",)
    touched = {t.name: t for t in step.touches}
    assert touched["torchvision"].installed.version == "0.22.0+cu126"
    assert touched["torchaudio"].installed is None
    # the restore command names the versions recorded before, each from its build's index
    assert plan.restore == (
        "/home/u/.venv/bin/python -m pip install --no-deps --force-reinstall torch==2.7.1+cu128 --index-url "
        "https://download.pytorch.org/whl/cu128",
        "/home/u/.venv/bin/python -m pip install --no-deps --force-reinstall torchvision==0.22.0+cu126 "
        "--index-url https://download.pytorch.org/whl/cu126")
    assert plan.refusal is None


def test_what_no_install_repairs_is_left_to_the_user_with_exit_6(matrix):
    diag, plan = _plan(matrix, "driver-library-mismatch")
    assert plan.steps == ()
    assert [(m.code, m.command) for m in plan.manual] == [("EC105", "sudo reboot")]
    report = apply.FixReport("/p", VENV.environment_dict(), diag, plan, decision="manual-only")
    assert report.exit_code == 6
    assert "needs you" in report.outcome


def test_an_uninstall_is_never_run_by_fix(matrix):
    diag, plan = _plan(matrix, "cu12-and-cu13-wheels")
    assert all("uninstall" not in " ".join(s.args) for s in plan.steps)
    assert "EC303" in [m.code for m in plan.manual]


def test_a_driver_too_old_for_the_build_is_repaired_with_a_build_it_runs(matrix):
    diag, plan = _plan(matrix, "driver535-torch2.11-cu130")
    assert plan.steps and plan.steps[0].fixes[0] == "EC101"
    assert "torch==2.11.0+cu126" in plan.steps[0].args  # keeps the release, a build the driver runs


def test_a_repair_that_keeps_the_release_names_the_build(matrix):
    """pip takes torchvision==0.21.0 as satisfied by 0.21.0+cu124: the pins carry the label."""
    facts = change(load("torchvision-other-build"), {"torch.torchvision.version": "0.22.1+cu126"})
    diag = diagnose(facts, matrix)
    ec301 = next(f for f in diag.findings if f.code == "EC301")
    assert "torchvision==0.22.1+cu128" in ec301.command.split()


# -- where installing is refused ---------------------------------------------------------------


@pytest.mark.parametrize("changes, refused, words", [
    ({"conda": True, "conda_base": True, "venv": False}, True, "conda's base environment"),
    ({"venv": False, "prefix": "/usr", "externally_managed": True}, True, "EXTERNALLY-MANAGED"),
    ({"venv": False, "prefix": "/usr/local"}, True, "system's Python"),
    ({"writable": False}, True, "is not writable"),
    ({"pip": False}, True, "has no pip"),
    ({"venv": False, "prefix": "/home/u/.pyenv/versions/3.12.3"}, False, None),  # the user's own Python
    ({"conda": True, "venv": False, "prefix": "/opt/conda/envs/torch"}, False, None),
])
def test_refusals(matrix, changes, refused, words):
    inv = dataclasses.replace(VENV, **changes)
    _, plan = _plan(matrix, "torchvision-other-build", inv)
    assert (plan.refusal is not None) == refused
    if refused:
        assert words in plan.refusal and plan.refusal_hint
        report = apply.FixReport("/p", inv.environment_dict(), diagnose(load("torchvision-other-build"), matrix),
                                 plan, decision="refused")
        assert report.exit_code == 3


def test_the_users_explicit_choice_lifts_the_refusal(matrix):
    system = dataclasses.replace(VENV, venv=False, prefix="/usr", externally_managed=True)
    _, plan = _plan(matrix, "torchvision-other-build", system, break_system=True)
    assert plan.refusal is None and plan.extra_args == ("--break-system-packages",)
    base = dataclasses.replace(VENV, venv=False, conda=True, conda_base=True)
    assert _plan(matrix, "torchvision-other-build", base, allow_conda_base=True)[1].refusal is None


# -- restore and changes -----------------------------------------------------------------------


def test_restore_puts_back_each_package_from_where_it_came_and_removes_what_was_added():
    put_back = [Installed("torch", "2.6.0+cpu"), Installed("xformers", "0.0.29"),
                Installed("flash-attn", "2.7.4", url="https://github.com/x/flash_attn-2.7.4-cp312.whl"),
                Installed("mylib", "0.1", url="file:///src/mylib", editable=True)]
    out = repair.restore_commands(put_back, ["torchaudio"], PIP, "https://mirror/whl/")
    assert [shlex.split(c)[3:] for c in out] == [
        ["install", "--no-deps", "--force-reinstall", "torch==2.6.0+cpu", "--index-url", "https://mirror/whl/cpu"],
        ["install", "--no-deps", "--force-reinstall", "xformers==0.0.29"],
        ["install", "--no-deps", "--force-reinstall", "flash-attn @ https://github.com/x/flash_attn-2.7.4-cp312.whl"],
        ["install", "--no-deps", "-e", "/src/mylib"],
        ["uninstall", "-y", "torchaudio"],
    ]
    uv = repair.Manager("uv", "/p/bin/python", "/usr/bin/uv")
    assert repair.restore_commands([], ["x"], uv) == ["/usr/bin/uv pip uninstall --python /p/bin/python x"]


def test_changes_between_two_inventories():
    after = dataclasses.replace(VENV, dists=(Installed("torch", "2.7.1+cu128"), Installed("torchvision", "0.22.1+cu128"),
                                             Installed("torchaudio", "2.7.1+cu128")))
    changes = {c.name: c.kind for c in apply.changes_between(VENV, after)}
    assert changes == {"torchvision": "replaced", "torchaudio": "added", "numpy": "removed"}


def test_uv_for_a_uv_venv_and_only_when_uv_is_there():
    uv_venv = dataclasses.replace(VENV, uv_venv=True, pip=False)
    assert apply.choose_manager(uv_venv, which=lambda n: "/usr/bin/uv").kind == "uv"
    assert apply.choose_manager(uv_venv, which=lambda n: None).kind == "pip"  # then refused: no pip
    assert apply.choose_manager(VENV, which=lambda n: "/usr/bin/uv").kind == "pip"
    with pytest.raises(CannotRunError):
        apply.choose_manager(VENV, "uv", which=lambda n: None)
    m = repair.Manager("uv", "/p/bin/python", "uv")
    assert m.argv("install", ["torch==2.7.1"]) == ("uv", "pip", "install", "--python", "/p/bin/python", "torch==2.7.1")


# -- exit codes --------------------------------------------------------------------------------


def test_exit_codes_follow_what_became_of_the_machine(matrix):
    broken = diagnose(load("torchvision-other-build"), matrix)
    healthy = diagnose(load("devbox-no-driver-nvcc13-torch-cpu"), matrix)
    plan = repair.plan_fix(broken, VENV, PIP)

    def report(**kw):
        return apply.FixReport("/p", {}, broken, plan, **kw)

    assert report(decision="dry-run").exit_code == 1
    assert report(decision="declined").exit_code == 1
    ok = apply.StepResult("c", "ok")
    assert report(decision="installed", steps=[ok], after=healthy).exit_code == 0
    assert report(decision="installed", steps=[ok], after=broken).exit_code == 1
    assert report(decision="installed", steps=[apply.StepResult("c", "failed", 1)]).exit_code == 1
    assert report(decision="installed", steps=[ok], after=healthy, verify_error="torch import fails").exit_code == 1
    assert report(decision="installed", interrupted=True).exit_code == 130
    assert apply.FixReport("/p", {}, healthy, repair.plan_fix(healthy, VENV, PIP), "nothing-to-do").exit_code == 0


# -- the inventory reader ----------------------------------------------------------------------






