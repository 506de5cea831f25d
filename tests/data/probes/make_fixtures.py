"""Regenerate the synthesized fixtures in this folder (a maintainer's tool, not a test).

    python tests/data/probes/make_fixtures.py                  # nvml/*.json, snapshots/ (synthesized)
    python tests/data/probes/make_fixtures.py --this-machine   # also snapshots/this-machine.json

No GPU was at hand: the NVML readings are written from known values of those GPUs and drivers.
The synthesized snapshots are built by running the real probes against those readings, fake
site-packages (recorded torch METADATA and version.py) and a fake file tree used as "/", then
setting the host values such a machine has. ``snapshots/this-machine.json`` is a real
``collect()`` of the machine that runs this script.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import stat
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # helpers.fakes
OUT = str(HERE / "nvml")

FORMAT = (
    "Recorded NVML readings replayed by tests/helpers/fakes.py: 'init_error' (an NVML "
    "error name raised by nvmlInit), 'system' and per-device 'devices' map pynvml function "
    "names to return values; {'error': NAME} raises pynvml's NVMLError for NVML_ERROR_NAME; "
    "functions taking an enum argument map its name (SM, MEM, GPU, UNCORRECTED/VOLATILE, "
    "DOUBLE_BIT, ...) to a value; absent functions do not exist in that binding."
)
NS = {"error": "NOT_SUPPORTED"}
rnd = random.Random(20251116)


def gpu_uuid():
    return "GPU-" + str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def serial():
    return "1{:012d}".format(rnd.getrandbits(36) % 10**12)


def device(
    name,
    bus,
    cc,
    mem_mib,
    used_mib,
    power_limit_mw,
    power_mw,
    temp,
    sm,
    sm_max,
    mclk,
    mclk_max,
    gen,
    gen_max,
    width=16,
    width_max=16,
    ecc=(1, 1),
    unc_vol=0,
    unc_agg=0,
    remap=(0, 0, 0, 0),
    retired=None,
    retired_pending=None,
    mig=(0, 0),
    persistence=1,
    compute_mode=0,
    reasons=0x1,
    serial_value=True,
    events_fn=True,
):
    d = {
        "nvmlDeviceGetName": name,
        "nvmlDeviceGetUUID": gpu_uuid(),
        "nvmlDeviceGetSerial": serial() if serial_value else NS,
        "nvmlDeviceGetPciInfo": {"busId": bus},
        "nvmlDeviceGetCudaComputeCapability": list(cc),
        "nvmlDeviceGetMemoryInfo": {
            "total": mem_mib << 20,
            "used": used_mib << 20,
            "free": (mem_mib - used_mib) << 20,
        },
        "nvmlDeviceGetMigMode": list(mig) if mig is not None else NS,
        "nvmlDeviceGetComputeMode": compute_mode,
        "nvmlDeviceGetPersistenceMode": persistence,
        "nvmlDeviceGetEccMode": list(ecc) if ecc is not None else NS,
        "nvmlDeviceGetTotalEccErrors": (
            {"UNCORRECTED/VOLATILE": unc_vol, "UNCORRECTED/AGGREGATE": unc_agg}
            if ecc is not None
            else NS
        ),
        "nvmlDeviceGetRetiredPages": retired if retired is not None else NS,
        "nvmlDeviceGetRetiredPagesPendingStatus": retired_pending
        if retired_pending is not None
        else NS,
        "nvmlDeviceGetRemappedRows": list(remap) if remap is not None else NS,
        "nvmlDeviceGetTemperature": {"GPU": temp},
        "nvmlDeviceGetPowerUsage": power_mw,
        "nvmlDeviceGetPowerManagementLimit": power_limit_mw,
        "nvmlDeviceGetClockInfo": {"SM": sm, "MEM": mclk},
        "nvmlDeviceGetMaxClockInfo": {"SM": sm_max, "MEM": mclk_max},
        (
            "nvmlDeviceGetCurrentClocksEventReasons"
            if events_fn
            else "nvmlDeviceGetCurrentClocksThrottleReasons"
        ): reasons,
        "nvmlDeviceGetCurrPcieLinkGeneration": gen,
        "nvmlDeviceGetMaxPcieLinkGeneration": gen_max,
        "nvmlDeviceGetCurrPcieLinkWidth": width,
        "nvmlDeviceGetMaxPcieLinkWidth": width_max,
    }
    return d


def write(name, rec):
    """One NVML recording."""
    rec = dict({"format": FORMAT}, **rec)
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(rec, fh, indent=1)
        fh.write("\n")


def nvml_recordings():
    H100_BUSES = [
        "00000000:18:00.0",
        "00000000:2A:00.0",
        "00000000:3A:00.0",
        "00000000:5D:00.0",
        "00000000:9A:00.0",
        "00000000:AB:00.0",
        "00000000:BA:00.0",
        "00000000:DB:00.0",
    ]
    write(
        "h100x8-healthy",
        {
            "description": "HGX H100 80GB SXM5 node, driver 580.82.07 (CUDA 13.0), idle, persistence on, healthy",
            "proc_driver_version": "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.82.07  Release Build  (dvs-builder@U22-I3-AF03-09-1)  Fri Aug 29 00:06:03 UTC 2025\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n",
            "system": {
                "nvmlSystemGetDriverVersion": "580.82.07",
                "nvmlSystemGetCudaDriverVersion_v2": 13000,
                "nvmlSystemGetNVMLVersion": "13.580.82.07",
            },
            "devices": [
                device(
                    "NVIDIA H100 80GB HBM3",
                    b,
                    (9, 0),
                    81559,
                    1,
                    700000,
                    69000 + 1000 * i,
                    30 + i % 4,
                    345,
                    1980,
                    2619,
                    2619,
                    5,
                    5,
                )
                for i, b in enumerate(H100_BUSES)
            ],
        },
    )
    write(
        "a100-ecc-remap-pending",
        {
            "description": "A100-SXM4-80GB with 2 uncorrectable ECC errors and a row remap pending (reset needed), driver 535.104.05 (CUDA 12.2)",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04) \n",
            "system": {
                "nvmlSystemGetDriverVersion": "535.104.05",
                "nvmlSystemGetCudaDriverVersion_v2": 12020,
                "nvmlSystemGetNVMLVersion": "12.535.104.05",
            },
            "devices": [
                device(
                    "NVIDIA A100-SXM4-80GB",
                    "00000000:07:00.0",
                    (8, 0),
                    81920,
                    4,
                    400000,
                    61234,
                    33,
                    210,
                    1410,
                    1593,
                    1593,
                    4,
                    4,
                    unc_vol=2,
                    unc_agg=2,
                    remap=(0, 1, 1, 0),
                )
            ],
        },
    )
    write(
        "driver-library-mismatch",
        {
            "description": "Unattended upgrade replaced the 535 user-space libraries (535.183.01) while kernel module 535.104.05 stays loaded (F4)",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04) \n",
            "init_error": "LIB_RM_VERSION_MISMATCH",
            "nvidia_smi": {
                "stdout": "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183\n",
                "returncode": 18,
            },
        },
    )
    lost = [
        device(
            "NVIDIA A100-SXM4-40GB",
            b,
            (8, 0),
            40960,
            0,
            400000,
            55000 + 700 * i,
            29 + i % 3,
            210,
            1410,
            1215,
            1215,
            4,
            4,
        )
        for i, b in enumerate(
            [
                "00000000:07:00.0",
                "00000000:0F:00.0",
                "00000000:47:00.0",
                "00000000:4E:00.0",
                "00000000:87:00.0",
                "00000000:90:00.0",
                "00000000:B7:00.0",
                "00000000:BD:00.0",
            ]
        )
    ]
    lost[3] = {"nvmlDeviceGetHandleByIndex": {"error": "GPU_IS_LOST"}}
    lost[6]["nvmlDeviceGetTemperature"] = {"error": "GPU_IS_LOST"}
    write(
        "gpu-lost",
        {
            "description": "DGX A100 40GB after Xid 79: GPU 3 has fallen off the bus (no handle), GPU 6 is lost mid-query",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04) \n",
            "system": {
                "nvmlSystemGetDriverVersion": "535.104.05",
                "nvmlSystemGetCudaDriverVersion_v2": 12020,
                "nvmlSystemGetNVMLVersion": "12.535.104.05",
            },
            "devices": lost,
        },
    )
    write(
        "rtx4090",
        {
            "description": "Desktop GeForce RTX 4090 (consumer: no ECC, no MIG, no serial, no remapping), driver 550.120 (CUDA 12.4), link at idle Gen1",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.120  Fri Sep 13 10:10:01 UTC 2024\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n",
            "system": {
                "nvmlSystemGetDriverVersion": "550.120",
                "nvmlSystemGetCudaDriverVersion_v2": 12040,
                "nvmlSystemGetNVMLVersion": "12.550.120",
            },
            "devices": [
                device(
                    "NVIDIA GeForce RTX 4090",
                    "00000000:01:00.0",
                    (8, 9),
                    24564,
                    612,
                    450000,
                    28470,
                    41,
                    210,
                    3120,
                    405,
                    10501,
                    1,
                    4,
                    ecc=None,
                    remap=None,
                    mig=None,
                    persistence=0,
                    reasons=0x1,
                    serial_value=False,
                )
            ],
        },
    )
    write(
        "v100",
        {
            "description": "Tesla V100-SXM2-16GB on driver 470.199.02 (CUDA 11.4): page retirement (pre-Ampere), older binding without ClocksEventReasons",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.199.02  Thu May 11 11:46:56 UTC 2023\nGCC version:  gcc version 9.4.0 (Ubuntu 9.4.0-1ubuntu1~20.04.1) \n",
            "system": {
                "nvmlSystemGetDriverVersion": "470.199.02",
                "nvmlSystemGetCudaDriverVersion_v2": 11040,
                "nvmlSystemGetNVMLVersion": "11.470.199.02",
            },
            "devices": [
                device(
                    "Tesla V100-SXM2-16GB",
                    "00000000:00:1E.0",
                    (7, 0),
                    16160,
                    0,
                    300000,
                    24871,
                    36,
                    135,
                    1530,
                    877,
                    877,
                    3,
                    3,
                    remap=None,
                    mig=None,
                    retired={"MULTIPLE_SINGLE_BIT": [], "DOUBLE_BIT": [81920]},
                    retired_pending=0,
                    unc_vol=0,
                    unc_agg=1,
                    reasons=0x1,
                    events_fn=False,
                )
            ],
        },
    )
    write(
        "driver-not-loaded",
        {
            "description": "libnvidia-ml is installed but the kernel module is not loaded (nouveau, or after a kernel upgrade without DKMS)",
            "init_error": "DRIVER_NOT_LOADED",
            "nvidia_smi": {
                "stdout": "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n",
                "returncode": 9,
            },
        },
    )
    write(
        "no-permission",
        {
            "description": "Container user without access to /dev/nvidiactl",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n",
            "init_error": "NO_PERMISSION",
            "nvidia_smi": {
                "stdout": "0, NVIDIA L4, GPU-2b3f1b9e-6f1c-4f7e-9f1d-3c0e1b7f9a21, 00000000:00:03.0, 550.54.15, 23034, 8.9\n",
                "returncode": 0,
            },
        },
    )
    write(
        "rtx3060-laptop",
        {
            "description": "Laptop GeForce RTX 3060 Laptop GPU (hybrid graphics, 6 GB), driver 550.120 (CUDA 12.4), on battery: power capped",
            "proc_driver_version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.120  Fri Sep 13 10:10:01 UTC 2024\nGCC version:  gcc version 13.2.0 (Ubuntu 13.2.0-23ubuntu4) \n",
            "system": {
                "nvmlSystemGetDriverVersion": "550.120",
                "nvmlSystemGetCudaDriverVersion_v2": 12040,
                "nvmlSystemGetNVMLVersion": "12.550.120",
            },
            "devices": [
                device(
                    "NVIDIA GeForce RTX 3060 Laptop GPU",
                    "00000000:01:00.0",
                    (8, 6),
                    6144,
                    9,
                    80000,
                    11230,
                    47,
                    210,
                    2100,
                    405,
                    7001,
                    1,
                    4,
                    width=8,
                    width_max=16,
                    ecc=None,
                    remap=None,
                    mig=None,
                    persistence=0,
                    reasons=0x1 | 0x4,
                    serial_value=False,
                )
            ],
        },
    )


# ---------------------------------------------------------------------------------------------
# Snapshots


def _fake_root(base: Path, files: dict) -> None:
    for rel, content in files.items():
        path = base / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)


def _toolkit(base: Path, rel: str, fixture: str) -> None:
    bindir = base / rel / "bin"
    bindir.mkdir(parents=True)
    nvcc = bindir / "nvcc"
    nvcc.write_text('#!/bin/sh\ncat "{}"\n'.format(HERE / "nvcc" / fixture))
    nvcc.chmod(nvcc.stat().st_mode | stat.S_IEXEC)


def _runtime(payload: dict, seconds: float, interpreter: str):
    from envcheck.proc import ProcResult
    from envcheck.children.events import line as event_line
    from envcheck.probes.torch_child import parse_child_output

    out = (event_line("stage", name="import torch") + event_line("stage", name="import torchvision")
           + event_line("result", **payload))
    return parse_child_output(
        ProcResult((interpreter, "-c", "..."), 0, out, "", seconds), interpreter=interpreter
    )


def _finish(facts, base: Path, name: str) -> None:
    from envcheck.facts import Facts

    text = json.dumps(facts.to_dict()).replace(str(base), "")
    facts = from_dict(json.loads(text), source=name)
    (HERE / "snapshots" / name).write_text(to_json(facts))


def h100_node(base: Path) -> None:
    from helpers.fakes import FakeNvml, _install_text, add_dist, load_recording

    from envcheck.facts import Facts
    from envcheck.probes.host import DiskFacts, PythonFacts, probe_host
    from envcheck.probes.nvcc import probe_nvcc
    from envcheck.probes.nvml import probe_nvml
    from envcheck.probes.torch_static import probe_torch_static

    files = {
        "etc/os-release": (HERE / "os_release" / "ubuntu-22.04").read_text(),
        "proc/version": "Linux version 5.15.0-119-generic (buildd@lcy02-amd64-075) #129-Ubuntu SMP\n",
        "dev/nvidiactl": "",
        "dev/nvidia-uvm": "",
        "dev/nvidia-uvm-tools": "",
        "dev/nvidia-caps": None,
        "dev/shm": None,
        "home/alice/train": None,
    }
    files.update({"dev/nvidia{}".format(i): "" for i in range(8)})
    for lib in ("libcudart.so.13", "libcudart.so.13.0.96", "libcublas.so.13", "libnvJitLink.so.13"):
        files["usr/local/cuda-13.0/lib64/" + lib] = ""
    _fake_root(base, files)
    _toolkit(base, "usr/local/cuda-13.0", "13.0.txt")
    _toolkit(base, "usr/local/cuda-12.8", "12.8.txt")
    os.symlink(str(base / "usr/local/cuda-13.0"), str(base / "usr/local/cuda"))
    site = base / "home/alice/venvs/train/lib/python3.12/site-packages"
    site.mkdir(parents=True)
    meta = _install_text("METADATA-2.14.1+cu130.txt").replace("Version: 2.14.1", "Version: 2.11.0")
    add_dist(site, "torch", "2.11.0", metadata=meta)
    (site / "torch").mkdir()
    (site / "torch" / "version.py").write_text(
        _install_text("2.14.1+cu130.py.txt")
        .replace("2.14.1+cu130", "2.11.0+cu130")
        .replace(
            "5c4886908584029761b579af026dcfb627c84070", "70d99e998b4955e0049d2a2a0e4a7f25c1a0a1a6"
        )
    )
    add_dist(
        site,
        "cuda-toolkit",
        "13.0.3.0",
        metadata=_install_text("METADATA-cuda-toolkit-13.0.3.0.txt"),
    )
    for name, version in [
        ("nvidia-cublas", "13.1.1.3"),
        ("nvidia-cuda-runtime", "13.0.96"),
        ("nvidia-cuda-nvrtc", "13.0.88"),
        ("nvidia-cuda-cupti", "13.0.85"),
        ("nvidia-cufft", "12.0.0.61"),
        ("nvidia-cufile", "1.15.1.6"),
        ("nvidia-curand", "10.4.0.35"),
        ("nvidia-cusolver", "12.0.4.66"),
        ("nvidia-cusparse", "12.6.3.3"),
        ("nvidia-nvtx", "13.0.85"),
        ("nvidia-nvjitlink", "13.0.88"),
        ("nvidia-cudnn-cu13", "9.24.0.43"),
        ("nvidia-cusparselt-cu13", "0.8.1"),
        ("nvidia-nccl-cu13", "2.30.7"),
        ("nvidia-nvshmem-cu13", "3.4.5"),
        ("cuda-bindings", "13.0.3"),
        ("triton", "3.6.0"),
        ("torchvision", "0.26.0"),
        ("torchaudio", "2.11.0"),
    ]:
        add_dist(site, name, version)

    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
        "LD_LIBRARY_PATH": str(base / "usr/local/cuda-13.0/lib64"),
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "NCCL_IB_HCA": "mlx5",
        "NCCL_SOCKET_IFNAME": "ens",
        "VIRTUAL_ENV": "/home/alice/venvs/train",
    }
    host = probe_host(env, root=str(base), cwd=str(base / "home/alice/train"))
    venv = "/home/alice/venvs/train"
    host = dataclasses.replace(
        host,
        system="Linux",
        kernel="5.15.0-119-generic",
        arch="x86_64",
        hostname="dgx-h100-017",
        detail="Ubuntu 22.04.4 LTS 5.15.0-119-generic on x86_64, Python 3.12.3",
        python=PythonFacts("3.12.3", "CPython", venv + "/bin/python", venv, "/usr", True, False),
        container=dataclasses.replace(host.container, detected=False, kind=None, hints=()),
        cpu_count=224,
        cpu_usable=224,
        memory_total_bytes=2164203835392,
        memory_available_bytes=2098446417920,
        disk=DiskFacts("/home/alice/train", True, 3840755982336, 2231418245120),
        shm=DiskFacts("/dev/shm", True, 1082101917696, 1082088153088),
        glibc="2.35",
        open_files_soft=1048576,
        open_files_hard=1048576,
    )
    driver = probe_nvml(
        FakeNvml(load_recording("h100x8-healthy")), root=str(base), smi=None, nvml_timeout=None
    )
    nvcc = probe_nvcc(
        {"PATH": str(base / "usr/local/bin")},
        search_dirs=[
            str(base / "usr/local/cuda"),
            str(base / "usr/local/cuda-12.8"),
            str(base / "usr/local/cuda-13.0"),
        ],
        default_home=str(base / "usr/local/cuda"),
    )
    torch = probe_torch_static(path=[str(site)])
    torch = dataclasses.replace(torch, interpreter=venv + "/bin/python", python_version="3.12.3")
    lib = venv + "/lib/python3.12/site-packages/nvidia/cu13/lib/"
    runtime = _runtime(
        {
            "status": "ok",
            "python": venv + "/bin/python",
            "python_version": "3.12.3",
            "version": "2.11.0+cu130",
            "cuda_build": "13.0",
            "hip": None,
            "torch_file": venv + "/lib/python3.12/site-packages/torch/__init__.py",
            "import_warnings": [],
            "is_available": True,
            "available_warnings": [],
            "device_count": 8,
            "arch_list": [
                "sm_75",
                "sm_80",
                "sm_86",
                "sm_90",
                "sm_100",
                "sm_110",
                "sm_120",
                "compute_120",
            ],
            "cudnn_version": 92400,
            "nccl_version": "2.30.7",
            "devices": [
                {
                    "index": i,
                    "name": "NVIDIA H100 80GB HBM3",
                    "capability": "9.0",
                    "total_memory_mib": 81090,
                }
                for i in range(8)
            ],
            "loaded_libraries": [
                venv + "/lib/python3.12/site-packages/torch/lib/libtorch_cuda.so",
                lib + "libcudart.so.13",
                lib + "libcublas.so.13",
                lib + "libcublasLt.so.13",
                venv + "/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9",
                venv + "/lib/python3.12/site-packages/nvidia/nccl/lib/libnccl.so.2",
                lib + "libnvJitLink.so.13",
                "/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07",
            ],
            "torchvision": {"status": "ok", "version": "0.26.0", "detail": "nms kept [0, 2]"},
            "errors": {},
        },
        6.412,
        venv + "/bin/python",
    )
    facts = Facts(
        collected_at="2025-11-16T09:30:12+00:00",
        comment="synthesized: HGX H100 node, Ubuntu 22.04, driver 580.82.07 (CUDA 13.0), "
        "torch 2.11.0 from PyPI (cu130; CUDA wheel pins modelled on torch 2.14.1's "
        "published metadata), CUDA 13.0 and 12.8 toolkits",
        host=host,
        driver=driver,
        nvcc=nvcc,
        torch=torch,
        torch_runtime=runtime,
        timings={
            "host": 0.021,
            "nvcc": 0.118,
            "driver": 0.912,
            "torch": 0.034,
            "torch_runtime": 6.412,
        },
    )
    _finish(facts, base, "h100x8-torch2.11-cu130-driver580.json")


def laptop(base: Path) -> None:
    from helpers.fakes import FakeNvml, add_dist, add_torch, load_recording

    from envcheck.facts import Facts
    from envcheck.probes.host import DiskFacts, PythonFacts, probe_host
    from envcheck.probes.nvcc import probe_nvcc
    from envcheck.probes.nvml import probe_nvml
    from envcheck.probes.torch_static import probe_torch_static

    files = {
        "etc/os-release": (HERE / "os_release" / "ubuntu-24.04").read_text(),
        "proc/version": "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) #45-Ubuntu SMP\n",
        "dev/nvidia0": "",
        "dev/nvidiactl": "",
        "dev/nvidia-modeset": "",
        "dev/nvidia-uvm": "",
        "dev/nvidia-uvm-tools": "",
        "dev/shm": None,
        "home/alice/proj": None,
    }
    _fake_root(base, files)
    venv = "/home/alice/proj/.venv"
    site = base / "home/alice/proj/.venv/lib/python3.12/site-packages"
    site.mkdir(parents=True)
    add_torch(site, "2.13.0+cpu.py.txt", "METADATA-2.13.0+cpu.txt")
    add_dist(site, "torchvision", "0.28.0+cpu")
    add_dist(site, "torchaudio", "2.13.0+cpu")
    env = {"PATH": "/home/alice/proj/.venv/bin:/usr/local/bin:/usr/bin:/bin", "VIRTUAL_ENV": venv}
    host = probe_host(env, root=str(base), cwd=str(base / "home/alice/proj"))
    host = dataclasses.replace(
        host,
        system="Linux",
        kernel="6.8.0-45-generic",
        arch="x86_64",
        hostname="alice-laptop",
        detail="Ubuntu 24.04.1 LTS 6.8.0-45-generic on x86_64, Python 3.12.3",
        python=PythonFacts("3.12.3", "CPython", venv + "/bin/python", venv, "/usr", True, False),
        container=dataclasses.replace(host.container, detected=False, kind=None, hints=()),
        cpu_count=20,
        cpu_usable=20,
        memory_total_bytes=16467435520,
        memory_available_bytes=9126805504,
        disk=DiskFacts("/home/alice/proj", True, 510770802688, 187318722560),
        shm=DiskFacts("/dev/shm", True, 8233717760, 8121303040),
        glibc="2.39",
        open_files_soft=1024,
        open_files_hard=1048576,
    )
    driver = probe_nvml(
        FakeNvml(load_recording("rtx3060-laptop")), root=str(base), smi=None, nvml_timeout=None
    )
    nvcc = probe_nvcc(
        {"PATH": str(base / "usr/bin")}, search_dirs=[], default_home=str(base / "usr/local/cuda")
    )
    torch = probe_torch_static(path=[str(site)])
    torch = dataclasses.replace(torch, interpreter=venv + "/bin/python", python_version="3.12.3")
    runtime = _runtime(
        {
            "status": "ok",
            "python": venv + "/bin/python",
            "python_version": "3.12.3",
            "version": "2.13.0+cpu",
            "cuda_build": None,
            "hip": None,
            "torch_file": venv + "/lib/python3.12/site-packages/torch/__init__.py",
            "import_warnings": [],
            "is_available": False,
            "available_warnings": [],
            "device_count": 0,
            "arch_list": [],
            "cudnn_version": None,
            "devices": [],
            "loaded_libraries": [],
            "torchvision": {"status": "ok", "version": "0.28.0+cpu", "detail": "nms kept [0, 2]"},
            "errors": {},
        },
        2.874,
        venv + "/bin/python",
    )
    facts = Facts(
        collected_at="2025-11-16T18:02:47+00:00",
        comment="synthesized: laptop with a GeForce RTX 3060 Laptop GPU, Ubuntu 24.04, "
        "driver 550.120 (CUDA 12.4), CPU-only torch 2.13.0+cpu in a venv, no toolkit",
        host=host,
        driver=driver,
        nvcc=nvcc,
        torch=torch,
        torch_runtime=runtime,
        timings={
            "host": 0.017,
            "nvcc": 0.001,
            "driver": 0.412,
            "torch": 0.021,
            "torch_runtime": 2.874,
        },
    )
    _finish(facts, base, "laptop-rtx3060-cpu-torch.json")


def this_machine() -> None:
    from envcheck.probes import collect

    facts = collect()
    facts = dataclasses.replace(
        facts,
        comment="collected with envcheck.probes.collect() on the envcheck development "
        "container: no NVIDIA driver, CUDA 13.0 toolkit, no torch",
    )
    (HERE / "snapshots" / "this-machine.json").write_text(to_json(facts))


def main(argv: list) -> int:
    nvml_recordings()
    for build in (h100_node, laptop):
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
    if "--this-machine" in argv:
        this_machine()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
