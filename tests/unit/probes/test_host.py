from __future__ import annotations

import os
import platform
import sys

import pytest

from envcheck.probes.host import (
    LibPathEntry,
    OsRelease,
    parse_cuda_env,
    parse_glibc_version,
    parse_meminfo,
    parse_os_release,
    probe_host,
)

from helpers.fakes import DATA


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "debian-12",
            OsRelease(
                "debian", "12", "Debian GNU/Linux", "Debian GNU/Linux 12 (bookworm)", (), "bookworm"
            ),
        ),
        (
            "ubuntu-22.04",
            OsRelease("ubuntu", "22.04", "Ubuntu", "Ubuntu 22.04.4 LTS", ("debian",), "jammy"),
        ),
        (
            "ubuntu-24.04",
            OsRelease("ubuntu", "24.04", "Ubuntu", "Ubuntu 24.04.1 LTS", ("debian",), "noble"),
        ),
        (
            "rocky-9.4",
            OsRelease(
                "rocky",
                "9.4",
                "Rocky Linux",
                "Rocky Linux 9.4 (Blue Onyx)",
                ("rhel", "centos", "fedora"),
                None,
            ),
        ),
        (
            "amzn-2023",
            OsRelease(
                "amzn", "2023", "Amazon Linux", "Amazon Linux 2023.5.20240805", ("fedora",), None
            ),
        ),
        (
            "alpine-3.19",
            OsRelease("alpine", "3.19.1", "Alpine Linux", "Alpine Linux v3.19", (), None),
        ),
    ],
)
def test_parse_os_release(name, expected):
    assert parse_os_release(_data("os_release", name)) == expected


def test_parse_os_release_quoting():
    text = 'NAME="A \\"quoted\\" name"\n# comment\nID=\'single\'\nbroken line\nVERSION_ID=\n'
    assert parse_os_release(text) == OsRelease(id="single", name='A "quoted" name')


@pytest.mark.parametrize(
    "text, version",
    [
        ("glibc 2.36", "2.36"),
        ("glibc 2.17", "2.17"),
        ("glibc 2.39.9000", "2.39.9000"),
        ("", None),
        (None, None),
        ("musl", None),
    ],
)
def test_parse_glibc_version(text, version):
    assert parse_glibc_version(text) == version


def test_parse_meminfo():
    text = "MemTotal:       65842316 kB\nMemFree:  1000 kB\nMemAvailable:   60123456 kB\n"
    assert parse_meminfo(text) == (65842316 * 1024, 60123456 * 1024)
    assert parse_meminfo("") == (None, None)


def _data(*parts: str) -> str:
    with open(os.path.join(DATA, *parts)) as fh:
        return fh.read()


def _tree(tmp_path, files: dict) -> str:
    root = tmp_path / "root"
    root.mkdir()
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    return str(root)


WSL2 = (
    "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 12.2.0, "
    "GNU ld (GNU Binutils) 2.40) #1 SMP Fri Mar 29 23:14:13 UTC 2024\n"
)
WSL1 = "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft\n"
NATIVE = "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0) #45-Ubuntu SMP\n"


@pytest.mark.parametrize(
    "files, detected, version, lib_files",
    [
        (
            {
                "proc/version": WSL2,
                "usr/lib/wsl/lib/libcuda.so.1": "",
                "usr/lib/wsl/lib/libnvidia-ml.so.1": "",
                "usr/lib/wsl/lib/libd3d12.so": "",
            },
            True,
            2,
            ("libcuda.so.1", "libd3d12.so", "libnvidia-ml.so.1"),
        ),
        ({"proc/version": WSL1}, True, 1, ()),
        ({"proc/version": NATIVE}, False, None, ()),
    ],
)
def test_wsl(tmp_path, files, detected, version, lib_files):
    facts = probe_host({}, root=_tree(tmp_path, files), cwd=str(tmp_path))
    assert (facts.wsl.detected, facts.wsl.version, facts.wsl.lib_files) == (
        detected,
        version,
        lib_files,
    )


@pytest.mark.parametrize(
    "files, env, kind, hints",
    [
        ({".dockerenv": ""}, {}, "docker", ("/.dockerenv",)),
        (
            {"run/.containerenv": ""},
            {"container": "podman"},
            "podman",
            ("/run/.containerenv", "container=podman"),
        ),
        (
            {"proc/1/cgroup": "0::/kubepods/burstable/pod1234/abcd\n"},
            {"KUBERNETES_SERVICE_HOST": "10.0.0.1"},
            "kubernetes",
            ("KUBERNETES_SERVICE_HOST", "cgroup:kubepods"),
        ),
        ({"proc/1/cgroup": "12:devices:/docker/0123456789ab\n"}, {}, "docker", ("cgroup:docker",)),
        ({"proc/1/cgroup": "0::/init.scope\n"}, {}, None, ()),
    ],
)
def test_container(tmp_path, files, env, kind, hints):
    facts = probe_host(env, root=_tree(tmp_path, files), cwd=str(tmp_path))
    assert (facts.container.detected, facts.container.kind, facts.container.hints) == (
        bool(hints),
        kind,
        hints,
    )


def test_fake_machine(tmp_path):
    libs = tmp_path / "cudnn8"
    libs.mkdir()
    for name in ("libcudnn.so.8", "libcudnn_ops_infer.so.8", "libnccl.so.2", "libz.so.1"):
        (libs / name).write_text("")
    compat = tmp_path / "cuda-12.8" / "compat"
    compat.mkdir(parents=True)
    (compat / "libcuda.so.570.124.06").write_text("")
    env = {
        "CUDA_VISIBLE_DEVICES": "",
        "CUDA_DEVICE_ORDER": "FASTEST_FIRST",
        "CUDA_HOME": "/usr/local/cuda-11.8",
        "LD_LIBRARY_PATH": os.pathsep.join([str(libs), "", str(compat), "/nonexistent"]),
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "NCCL_DEBUG": "INFO",
        "NCCL_P2P_DISABLE": "1",
        "TORCH_CUDA_ARCH_LIST": "8.0;9.0",
        "LD_PRELOAD": "/usr/lib/libjemalloc.so",
        "UNRELATED": "x",
    }
    files = {
        "etc/os-release": _data("os_release", "ubuntu-22.04"),
        "dev/nvidia0": "",
        "dev/nvidiactl": "",
        "dev/nvidia-uvm": "",
        "dev/null": "",
        "dev/kfd": "",
        "dev/shm": None,
        "opt/rocm/.info/version": "6.2.0-66\n",
    }
    facts = probe_host(env, root=_tree(tmp_path, files), cwd=str(tmp_path))
    assert facts.status == "ok"
    assert facts.os.id == "ubuntu" and facts.detail.startswith("Ubuntu 22.04.4 LTS ")
    assert facts.nvidia_device_nodes == ("/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl")
    assert (facts.rocm.version, facts.rocm.kfd) == ("6.2.0-66", True)
    assert facts.shm.exists and facts.shm.total_bytes > 0
    assert facts.disk.path == str(tmp_path) and facts.disk.free_bytes > 0
    e = facts.env
    assert (e.cuda_visible_devices, e.cuda_device_order, e.cuda_home, e.cuda_path) == (
        "",
        "FASTEST_FIRST",
        "/usr/local/cuda-11.8",
        None,
    )
    assert e.ld_library_path == (
        LibPathEntry(str(libs), True, ("libcudnn.so.8", "libcudnn_ops_infer.so.8", "libnccl.so.2")),
        LibPathEntry("", False),
        LibPathEntry(str(compat), True, ("libcuda.so.570.124.06",), compat=True),
        LibPathEntry("/nonexistent", False),
    )
    assert e.pytorch == {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}
    assert e.nccl == {"NCCL_DEBUG": "INFO", "NCCL_P2P_DISABLE": "1"}
    assert e.torch == {"TORCH_CUDA_ARCH_LIST": "8.0;9.0"}
    assert e.other == {"LD_PRELOAD": "/usr/lib/libjemalloc.so"}


def test_unset_visible_devices_differs_from_empty():
    assert parse_cuda_env({}).cuda_visible_devices is None
    assert parse_cuda_env({"CUDA_VISIBLE_DEVICES": ""}).cuda_visible_devices == ""


def test_ld_library_path_is_bounded(tmp_path):
    env = {"LD_LIBRARY_PATH": os.pathsep.join(str(tmp_path / str(i)) for i in range(70))}
    facts = parse_cuda_env(env)
    assert len(facts.ld_library_path) == 64 and facts.ld_library_path_truncated


def test_empty_root(tmp_path):
    facts = probe_host({}, root=str(tmp_path), cwd=str(tmp_path))
    assert facts.status == "ok"
    assert facts.nvidia_device_nodes == () and facts.rocm.path is None
    assert not facts.container.detected and not facts.wsl.detected
    assert facts.shm is None or not facts.shm.exists


def test_real_machine():
    facts = probe_host()
    assert facts.status == "ok" and facts.errors == ()
    assert facts.python.version == platform.python_version()
    assert facts.python.executable == sys.executable
    assert facts.python.venv == (sys.prefix != sys.base_prefix)
    assert facts.cpu_count and facts.cpu_count >= 1
    assert facts.memory_total_bytes >= facts.memory_available_bytes > 0
    assert facts.arch == platform.machine()
    if sys.platform.startswith("linux"):
        assert facts.glibc is None or facts.glibc.count(".") >= 1
        assert facts.open_files_soft is not None
        assert facts.os.id is not None


@pytest.mark.skipif(platform.system() != "Linux", reason="sysfs is Linux's")
def test_nvidia_gpus_on_the_pci_bus_are_read_from_sysfs(tmp_path):
    dev = "sys/bus/pci/devices/"
    files = {
        dev + "0000:3b:00.0/vendor": "0x10de\n", dev + "0000:3b:00.0/class": "0x030200\n",  # H100: 3D controller
        dev + "0000:3b:00.1/vendor": "0x10de\n", dev + "0000:3b:00.1/class": "0x040300\n",  # its audio function
        dev + "0000:01:00.0/vendor": "0x10de\n", dev + "0000:01:00.0/class": "0x030000\n",  # a VGA GeForce
        dev + "0000:c1:00.0/vendor": "0x10de\n", dev + "0000:c1:00.0/class": "0x068000\n",  # an NVSwitch
        dev + "0000:00:02.0/vendor": "0x8086\n", dev + "0000:00:02.0/class": "0x030000\n",  # Intel graphics
    }
    facts = probe_host({}, root=_tree(tmp_path, files), cwd=str(tmp_path))
    assert facts.nvidia_pci_gpus == ("0000:01:00.0", "0000:3b:00.0")
    assert probe_host({}, root=str(tmp_path / "empty"), cwd=str(tmp_path)).nvidia_pci_gpus == ()
