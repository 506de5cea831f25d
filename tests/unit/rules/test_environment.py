"""Environment and host rules (EC401-EC408), and torch's CUDA_VISIBLE_DEVICES parsing."""

from __future__ import annotations

import pytest

from envcheck.facts.model import DiskFacts, LibPathEntry
from envcheck.rules.environment import Visible, parse_visible_devices

from helpers.facts import change, load
from helpers.findings import codes, one

U = ["GPU-1b2c3d4e-0000-1111-2222-333344445555", "GPU-1b2c9999-aaaa-bbbb-cccc-ddddeeeeffff",
     "GPU-77aa0000-1234-5678-9abc-def012345678"]


@pytest.mark.parametrize("value, count, expected", [
    ("", 4, Visible((), "empty", "", "index")),
    ("   ", 4, Visible((), "empty", "   ", "index")),
    ("0,1", 4, Visible((0, 1), None, None, "index")),
    ("1", 4, Visible((1,), None, None, "index")),
    (" 2 , 0", 4, Visible((2, 0), None, None, "index")),
    ("0,0", 4, Visible((), "repeated", "0", "index")),
    ("1,0,1", 4, Visible((), "repeated", "1", "index")),
    ("0,x,1", 4, Visible((0,), "invalid", "x", "index")),
    ("abc", 4, Visible((), "invalid", "abc", "index")),
    ("-1", 4, Visible((), "invalid", "-1", "index")),
    ("0,-1,1", 4, Visible((0,), "invalid", "-1", "index")),
    ("2a,1", 4, Visible((2, 1), None, None, "index")),  # _strtoul reads the leading digits
    ("1,3", 2, Visible((1,), "out-of-range", "3", "index")),
    ("5,0", 2, Visible((), "out-of-range", "5", "index")),
    ("0,1,", 4, Visible((0, 1), "invalid", "", "index")),
])
def test_parse_visible_devices_by_index(value, count, expected):
    assert parse_visible_devices(value, [None] * count, count) == expected


@pytest.mark.parametrize("value, expected", [
    ("GPU-1b2c3d4e", Visible((0,), None, None, "uuid")),
    ("GPU-77aa,GPU-1b2c3d4e-0000-1111-2222-333344445555", Visible((2, 0), None, None, "uuid")),
    ("GPU-1b2c", Visible((), "ambiguous", "GPU-1b2c", "uuid")),
    ("GPU-ffff", Visible((), "no-match", "GPU-ffff", "uuid")),
    ("GPU-77aa,GPU-ffff,GPU-1b2c3d4e", Visible((2,), "no-match", "GPU-ffff", "uuid")),
    ("GPU-77aa,GPU-77aa", Visible((), "repeated", "GPU-77aa", "uuid")),
    ("GPU-77aa,GPU-77aa0000", Visible((), "repeated", "GPU-77aa0000", "uuid")),
    ("GPU-77aa,0", Visible((2,), "invalid", "0", "uuid")),
    ("MIG-3f2a1b7c-0000-1111-2222-333344445555", Visible(None, None, None, "mig")),
])
def test_parse_visible_devices_by_uuid(value, expected):
    assert parse_visible_devices(value, U, 3) == expected


def test_redacted_uuids_cannot_be_matched():
    assert parse_visible_devices("GPU-1b2c", ["GPU-redacted-0"], 1).ordinals is None


H100 = "h100x8-torch2.11-cu130-driver580"


@pytest.mark.parametrize("changes, problems", [
    ({"host.env.cuda_visible_devices": ""}, {"EC401"}),
    ({"host.env.cuda_visible_devices": "3,3"}, {"EC401"}),
    ({"host.env.cuda_visible_devices": "8"}, {"EC401"}),
    ({"host.env.cuda_visible_devices": "MIG-3f2a1b7c-0000-1111-2222-333344445555"}, {"EC401"}),
    ({"host.env.cuda_visible_devices": "0,1,9,2"}, {"EC402"}),
    ({"host.env.cuda_visible_devices": "0,1"}, set()),
    ({"host.env.cuda_visible_devices": "GPU-redacted-3"}, set()),
    # device order: same GPUs and no indices -> nothing; indices without PCI_BUS_ID -> warning
    ({"host.env.cuda_device_order": None}, set()),
    ({"host.env.cuda_device_order": None, "host.env.cuda_visible_devices": "0,1"}, {"EC403"}),
    ({"host.env.cuda_device_order": "FASTEST_FIRST", "driver.gpus[7].name": "NVIDIA H200"}, {"EC403"}),
    # /dev/shm
    ({"host.shm": DiskFacts("/dev/shm", True, 512 << 20, 500 << 20)}, {"EC408"}),
    ({"host.shm": DiskFacts("/dev/shm", True, 2 << 30, 2 << 30)}, set()),
])
def test_environment_rules(matrix, changes, problems):
    assert codes(change(load(H100), changes), matrix)[0] == problems


def test_empty_cuda_visible_devices_says_why_and_how(matrix):
    f = one(load("cuda-visible-devices-empty"), matrix, "EC401")
    assert "empty" in f.cause and f.command == "unset CUDA_VISIBLE_DEVICES"
    assert "host.env.cuda_visible_devices = ''" in f.evidence


def test_shm_fix_depends_on_where(matrix):
    docker = one(load("docker-shm-64m"), matrix, "EC408")
    assert "--ipc=host" in docker.fix and docker.command is None
    kube = change(load("docker-shm-64m"), {"host.container.kind": "kubernetes"})
    assert "emptyDir" in one(kube, matrix, "EC408").fix
    bare = change(load(H100), {"host.shm": DiskFacts("/dev/shm", True, 256 << 20, 256 << 20)})
    assert one(bare, matrix, "EC408").command.startswith("sudo mount -o remount")


QUICK = {"torch_runtime": None, "quick": True}


def _ld(*entries):
    return {"host.env.ld_library_path": tuple(entries)}


@pytest.mark.parametrize("changes, problems", [
    # the toolkit of torch's own CUDA on LD_LIBRARY_PATH: harmless
    (dict(QUICK), set()),
    # cuDNN from a tarball: can shadow
    (dict(QUICK, **_ld(LibPathEntry("/opt/cudnn/lib", True, ("libcudnn.so.9",)))), {"EC404"}),
    # another CUDA major
    (dict(QUICK, **_ld(LibPathEntry("/opt/x/lib", True, ("libcublas.so.12",)))), {"EC404"}),
    # libraries inside torch's own site-packages (the nvidia/*/lib folders) are torch's
    (dict(QUICK, **_ld(LibPathEntry("/home/alice/venvs/train/lib/python3.12/site-packages/nvidia/cudnn/lib",
                                    True, ("libcudnn.so.9",)))), set()),
    # conda's torch uses the environment's libraries by design
    (dict(QUICK, **{"torch.installer": "conda", "torch.torchvision": None, "torch.torchaudio": None}, **_ld(LibPathEntry("/opt/cudnn/lib", True, ("libcudnn.so.9",)))),
     set()),
    # the child ran and loaded nothing from there: proven harmless
    (_ld(LibPathEntry("/opt/cudnn/lib", True, ("libcudnn.so.9",))), set()),
])
def test_ld_library_path(matrix, changes, problems):
    assert codes(change(load(H100), changes), matrix)[0] == problems


def test_ld_library_path_shadowing_proven_by_the_child(matrix):
    f = one(load("ld-library-path-shadowing"), matrix, "EC405")
    assert any("/usr/local/cuda-12.1/lib64/libcublas.so.12" in e for e in f.evidence)


def test_wsl_with_a_loaded_linux_kernel_module(matrix):
    from envcheck.facts.model import KernelModuleFacts

    facts = change(load("wsl2-libcuda-so1-only"), {
        "driver.kernel_module": KernelModuleFacts(status="ok", version="550.120")})
    assert "EC406" in codes(facts, matrix)[0]
