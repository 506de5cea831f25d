"""Repairs start from an installed wrong build (recorded snapshots) and keep the user's release.

Each row: the snapshot and what is changed in it, the finding, the release and build the fix
installs, whether it keeps the installed release, the alternative's release (or None), and the
reasoning, worked out by hand from NVIDIA's driver tables and the wheels' GPU code (see
tests/unit/install/test_policy.py for the figures).
"""

from __future__ import annotations

import dataclasses

import re

import pytest

from helpers.facts import change, load
from helpers.findings import one

LAPTOP = "laptop-rtx3060-cpu-torch"  # torch 2.13.0+cpu, driver 550.120 (12.4), RTX 3060 (8.6), Python 3.12
H100 = "h100x8-torch2.11-cu130-driver580"  # torch 2.11.0+cu130, driver 580.82.07 (13.0), H100 (9.0)
UNREAD = {"driver.version": None, "driver.cuda_max": None, "driver.cuda_max_raw": None,
          "driver.status": "failed", "driver.error_code": "unknown", "torch_runtime": None, "quick": True}


def _with(name, changes, dists=()):
    facts = load(name)
    extra = {"torch.{}".format(field): dataclasses.replace(getattr(facts.torch, field), version=version)
             for field, version in dists}
    return change(facts, dict(changes, **extra))


ROWS = [
    ("cpu-build-550", LAPTOP, {}, (), "EC201", ("2.13.0", "cu126"), True, "2.15.0",
     "2.13.0's cu13x builds need >= 580; cu126 runs on 550.120 in compatibility mode (560.28.03 for full): "
     "keep 2.13.0; the newest release for this machine is 2.15.0 (cu126)"),
    ("cpu-build-580", LAPTOP, {"driver.version": "580.65.06", "driver.cuda_max": "13.0", "driver.cuda_max_raw": 13000},
     (), "EC201", ("2.13.0", "cu130"), True, "2.15.0",
     "580.65.06 fully supports 13.0: 2.13.0 cu130 (cu132 would be compat)"),
    ("cpu-build-driver-unread", LAPTOP, dict(UNREAD, **{"torch.version": "2.12.0+cpu", "torch.version_py_version": "2.12.0+cpu"}),
     (("torchvision", "0.27.0+cpu"),), "EC201", ("2.12.0", "cu126"), True, "2.15.0",
     "driver unknown, GPU sm_86 known: 2.12.0's lowest CUDA with sm_86 code, cu126 (any driver >= 525.60.13); "
     "never the CPU build"),
    ("cu130-on-535", "driver535-torch2.11-cu130", {}, (), "EC101", ("2.11.0", "cu126"), True, "2.15.0",
     "2.11.0 on 535.216.01 (12.2): cu130 cannot run, cu128 and cu126 run in compat mode; cu126 is closer to 12.2"),
    ("gtx1080-cu128", "gtx1080-torch2.8-cu128", {}, (), "EC203", ("2.8.0", "cu126"), True, "2.15.0",
     "sm_61: 2.8's cu128/cu129 start at sm_70; cu126 carries sm_60 and 570.144 fully supports it"),
    ("rtx5090-cu124", "rtx5090-torch2.6-cu124", {}, (), "EC203", ("2.13.0", "cu129"), False, "2.11.0",
     "no 2.6 build carries sm_120, so the release cannot be kept: the newest release with sm_120 code that "
     "570.133.20 runs is 2.13.0, in its off-selector cu129 build (compat: 12.9 wants 575.51.03); 2.11.0 cu128 "
     "is fully supported (570.26): the alternative"),
    ("v100-cu130", "v100-torch2.11-cu130-quick", {}, (), "EC203", ("2.11.0", "cu126"), True, "2.15.0",
     "sm_70: 2.11's cu130 and cu128 start at sm_75; cu126 has sm_70, full on 580.82.07"),
    ("python-3.12-on-2.1", "torch2.1-source-build-python3.12", {}, (), "EC308", ("2.15.0", "cu126"), False, None,
     "2.1.2 has no Python 3.12 wheels: the newest release, cu126 in compat mode on 535.183.01"),
    ("torchvision-other-build-unread", LAPTOP,
     dict(UNREAD, **{"torch.version": "2.4.0+cu121", "torch.version_py_version": "2.4.0+cu121", "torch.variant": "cu121",
                     "torch.cuda_build": "12.1", "torch.python_version": "3.11.9", "host.python.version": "3.11.9"}),
     (("torchvision", "0.20.1+cu124"), ("torchaudio", "2.4.0+cu121")), "EC301", ("2.4.0", "cu121"), True, None,
     "repair the partner on the installed build: 2.4.0+cu121 with torchvision 0.19.0 and the user's torchaudio"),
    ("torchaudio-newer-unread", LAPTOP,
     dict(UNREAD, **{"torch.version": "2.10.0+cu130", "torch.version_py_version": "2.10.0+cu130", "torch.variant": "cu130",
                     "torch.cuda_build": "13.0"}),
     (("torchvision", "0.25.0+cu130"), ("torchaudio", "2.11.0+cu130")), "EC302", ("2.10.0", "cu130"), True, None,
     "keep 2.10.0+cu130 and its torchaudio 2.10.0, which the era's command would leave out"),
]


def _pins(command, torch):
    """The command pins torch ``torch``, with or without a build label."""
    return re.search(r"torch=={}(\+\w+)? ".format(re.escape(torch)), command) is not None


@pytest.mark.parametrize("name, changes, dists, code, expected, kept, alternative, why",
                         [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_repair_keeps_the_release(matrix, name, changes, dists, code, expected, kept, alternative, why):
    facts = _with(name, changes, dists)
    f = one(facts, matrix, code)
    assert f.command is not None, why
    torch, build = expected
    assert _pins(f.command, torch) and f.command.endswith("/whl/" + build), (f.command, why)
    public, _, label = facts.torch.version.partition("+")
    if public == torch and label != build:  # pip takes torch==X as satisfied by X+<another build>
        assert "torch=={}+{} ".format(torch, build) in f.command, (f.command, why)
    assert ("keeps your release" in f.fix) == kept, (f.fix, why)
    if alternative is None:
        assert f.alternative is None or not _pins(f.alternative, torch), why
    else:
        assert f.alternative is not None and _pins(f.alternative, alternative), (f.alternative, why)
        assert f.to_dict()["alternative"]["command"] == f.alternative
    if facts.torch.torchaudio is not None and code in ("EC301", "EC302"):
        assert "torchaudio==" in f.command  # the user's partner is kept
    if facts.driver.version is None:
        assert "/whl/cpu" not in f.command and "nvidia-smi" in f.fix  # the driver it needs, said


def test_the_compat_fix_names_its_cost_and_the_fully_supported_release(matrix):
    f = one(load(LAPTOP), matrix, "EC201")
    assert "compatibility mode" in f.fix and "torch 2.7.1 (cu118)" in f.fix


def test_ec102_offers_a_fully_supported_build_of_the_same_release(matrix):
    facts = change(load(H100), {"torch.version": "2.13.0+cu132", "torch.version_py_version": "2.13.0+cu132",
                                "torch.variant": "cu132", "torch.cuda_build": "13.2", "torch_runtime": None,
                                "quick": True, "torch.torchvision": None, "torch.torchaudio": None})
    f = one(facts, matrix, "EC102")
    assert "the provided PTX was compiled with an unsupported toolchain" in f.cause
    assert f.command is not None and "torch==2.13.0+cu130 " in f.command and f.command.endswith("/whl/cu130")
    assert "reinstall torch 2.13.0 in its cu130 build" in f.fix and ">= 595.45.04" in f.fix


def test_a_fix_with_an_off_selector_build_says_so(matrix):
    """RTX 5090 on driver 570.133.20 with torch 2.6.0+cu124: the newest release with sm_120 code
    that this driver runs is 2.13.0, in its cu129 build, which pytorch.org does not offer."""
    f = one(load("rtx5090-torch2.6-cu124"), matrix, "EC203")
    assert f.command.endswith("/whl/cu129") and _pins(f.command, "2.13.0")
    assert "torch 2.13.0 (cu129, not on the install selector)" in f.fix
    assert _pins(f.alternative, "2.11.0") and "not on the install selector" not in f.alternative_why
