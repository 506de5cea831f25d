"""Regenerate the machine snapshots in this folder (a maintainer's tool, not a test).

    python tests/data/snapshots/make_snapshots.py          # rewrite every *.json here
    python tests/data/snapshots/make_snapshots.py NAME ... # only these

Each snapshot is built the way tests/data/probes/make_fixtures.py builds its own: the real probes
run against recorded inputs (NVML readings replayed by tests/helpers/fakes.FakeNvml, fake
site-packages with torch's METADATA and version.py in the published format, fake nvcc and
nvidia-smi scripts printing recorded output, a fake file tree used as "/"), the torch child's
recorded output goes through the real parser, and then the host values such a machine has
(Python, memory, /dev/shm) are set. No GPU was at hand: readings are written from known values
of those GPUs, drivers and wheels. The expected finding codes of each snapshot are the table in
tests/unit/rules/test_snapshots.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PROBES = REPO / "tests" / "data" / "probes"
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # helpers.fakes

LINUX = 'platform_system == "Linux" and platform_machine == "x86_64"'
NS = {"error": "NOT_SUPPORTED"}
GIB = 1 << 30


# ------------------------------------------------------------------------------------ recordings


def _uuid(seed: str) -> str:
    return "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_URL, "envcheck/" + seed))


def gpu(name: str, cc: Tuple[int, int], mem_mib: int, *, seed: str, bus: str = "00000000:01:00.0",
        used_mib: int = 1, ecc: Optional[Tuple[int, int]] = None, unc: int = 0, remap=None,
        retired=None, retired_pending=None, mig=None, compute_mode: int = 0, power_limit_mw: int = 300000,
        gen: Tuple[int, int] = (4, 4), width: Tuple[int, int] = (16, 16), datacenter: bool = False) -> Dict:
    """One device of an NVML recording (the layout of tests/data/probes/nvml/*.json)."""
    d = {
        "nvmlDeviceGetName": name,
        "nvmlDeviceGetUUID": _uuid(seed),
        "nvmlDeviceGetSerial": "1{:012d}".format(uuid.uuid5(uuid.NAMESPACE_URL, seed).int % 10 ** 12) if datacenter else NS,
        "nvmlDeviceGetPciInfo": {"busId": bus},
        "nvmlDeviceGetCudaComputeCapability": list(cc),
        "nvmlDeviceGetMemoryInfo": {"total": mem_mib << 20, "used": used_mib << 20,
                                    "free": (mem_mib - used_mib) << 20},
        "nvmlDeviceGetMigMode": list(mig) if mig is not None else NS,
        "nvmlDeviceGetComputeMode": compute_mode,
        "nvmlDeviceGetPersistenceMode": 1 if datacenter else 0,
        "nvmlDeviceGetEccMode": list(ecc) if ecc is not None else NS,
        "nvmlDeviceGetTotalEccErrors": {"UNCORRECTED/VOLATILE": unc, "UNCORRECTED/AGGREGATE": unc}
        if ecc is not None else NS,
        "nvmlDeviceGetRetiredPages": retired if retired is not None else NS,
        "nvmlDeviceGetRetiredPagesPendingStatus": retired_pending if retired_pending is not None else NS,
        "nvmlDeviceGetRemappedRows": list(remap) if remap is not None else NS,
        "nvmlDeviceGetTemperature": {"GPU": 38},
        "nvmlDeviceGetPowerUsage": 30000,
        "nvmlDeviceGetPowerManagementLimit": power_limit_mw,
        "nvmlDeviceGetClockInfo": {"SM": 210, "MEM": 405},
        "nvmlDeviceGetMaxClockInfo": {"SM": 2100, "MEM": 7000},
        "nvmlDeviceGetCurrentClocksEventReasons": 0x1,
        "nvmlDeviceGetCurrPcieLinkGeneration": gen[0],
        "nvmlDeviceGetMaxPcieLinkGeneration": gen[1],
        "nvmlDeviceGetCurrPcieLinkWidth": width[0],
        "nvmlDeviceGetMaxPcieLinkWidth": width[1],
    }
    return d


def recording(driver: str, cuda_raw: int, devices: List[Dict]) -> Dict:
    return {
        "system": {
            "nvmlSystemGetDriverVersion": driver,
            "nvmlSystemGetCudaDriverVersion_v2": cuda_raw,
            "nvmlSystemGetNVMLVersion": "{}.{}".format(cuda_raw // 1000, driver),
        },
        "devices": devices,
    }


def proc_version(driver: str, open_module: bool = False) -> str:
    kind = "Open Kernel Module for x86_64" if open_module else "x86_64 Kernel Module"
    return ("NVRM version: NVIDIA UNIX {}  {}  Release Build  (dvs-builder@U16-I3-B03-4-3)  "
            "Thu Mar 13 16:10:12 UTC 2025\nGCC version:  gcc version 12.3.0 (Ubuntu "
            "12.3.0-1ubuntu1~22.04) \n").format(kind, driver)


# --------------------------------------------------------------------------------- torch installs


def version_py(version: str, cuda: Optional[str], git: str = "0" * 40) -> str:
    return (
        "from typing import Optional\n\n"
        "__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'xpu']\n"
        "__version__ = '{}'\n"
        "debug = False\n"
        "cuda: Optional[str] = {}\n"
        "git_version = '{}'\n"
        "hip: Optional[str] = None\n"
        "xpu: Optional[str] = None\n"
    ).format(version, repr(cuda) if cuda else "None", git)


def metadata(version: str, pins: List[Tuple[str, str]], python: str = ">=3.9.0") -> str:
    lines = ["Metadata-Version: 2.4", "Name: torch", "Version: " + version,
             "Requires-Python: " + python, "Requires-Dist: filelock",
             "Requires-Dist: typing-extensions>=4.10.0", "Requires-Dist: sympy>=1.13.3",
             "Requires-Dist: networkx", "Requires-Dist: jinja2", "Requires-Dist: fsspec"]
    lines += ["Requires-Dist: {}=={}; {}".format(n, v, LINUX) for n, v in pins]
    return "\n".join(lines) + "\n"


# The CUDA wheels that torch's published metadata pins (Linux x86_64), per build.
PINS = {
    "2.4.1+cu121": [("nvidia-cuda-nvrtc-cu12", "12.1.105"), ("nvidia-cuda-runtime-cu12", "12.1.105"),
                    ("nvidia-cuda-cupti-cu12", "12.1.105"), ("nvidia-cudnn-cu12", "9.1.0.70"),
                    ("nvidia-cublas-cu12", "12.1.3.1"), ("nvidia-cufft-cu12", "11.0.2.54"),
                    ("nvidia-curand-cu12", "10.3.2.106"), ("nvidia-cusolver-cu12", "11.4.5.107"),
                    ("nvidia-cusparse-cu12", "12.1.0.106"), ("nvidia-nccl-cu12", "2.20.5"),
                    ("nvidia-nvtx-cu12", "12.1.105"), ("triton", "3.0.0")],
    "2.5.1+cu121": [("nvidia-cuda-nvrtc-cu12", "12.1.105"), ("nvidia-cuda-runtime-cu12", "12.1.105"),
                    ("nvidia-cuda-cupti-cu12", "12.1.105"), ("nvidia-cudnn-cu12", "9.1.0.70"),
                    ("nvidia-cublas-cu12", "12.1.3.1"), ("nvidia-cufft-cu12", "11.0.2.54"),
                    ("nvidia-curand-cu12", "10.3.2.106"), ("nvidia-cusolver-cu12", "11.4.5.107"),
                    ("nvidia-cusparse-cu12", "12.1.0.106"), ("nvidia-nccl-cu12", "2.21.5"),
                    ("nvidia-nvtx-cu12", "12.1.105"), ("triton", "3.1.0")],
    "2.5.1+cu124": [("nvidia-cuda-nvrtc-cu12", "12.4.127"), ("nvidia-cuda-runtime-cu12", "12.4.127"),
                    ("nvidia-cuda-cupti-cu12", "12.4.127"), ("nvidia-cudnn-cu12", "9.1.0.70"),
                    ("nvidia-cublas-cu12", "12.4.5.8"), ("nvidia-cufft-cu12", "11.2.1.3"),
                    ("nvidia-curand-cu12", "10.3.5.147"), ("nvidia-cusolver-cu12", "11.6.1.9"),
                    ("nvidia-cusparse-cu12", "12.3.1.170"), ("nvidia-nccl-cu12", "2.21.5"),
                    ("nvidia-nvtx-cu12", "12.4.127"), ("nvidia-nvjitlink-cu12", "12.4.127"),
                    ("triton", "3.1.0")],
    "2.6.0+cu124": [("nvidia-cuda-nvrtc-cu12", "12.4.127"), ("nvidia-cuda-runtime-cu12", "12.4.127"),
                    ("nvidia-cuda-cupti-cu12", "12.4.127"), ("nvidia-cudnn-cu12", "9.1.0.70"),
                    ("nvidia-cublas-cu12", "12.4.5.8"), ("nvidia-cufft-cu12", "11.2.1.3"),
                    ("nvidia-curand-cu12", "10.3.5.147"), ("nvidia-cusolver-cu12", "11.6.1.9"),
                    ("nvidia-cusparse-cu12", "12.3.1.170"), ("nvidia-cusparselt-cu12", "0.6.2"),
                    ("nvidia-nccl-cu12", "2.21.5"), ("nvidia-nvtx-cu12", "12.4.127"),
                    ("nvidia-nvjitlink-cu12", "12.4.127"), ("triton", "3.2.0")],
    "2.7.1+cu126": [("nvidia-cuda-nvrtc-cu12", "12.6.77"), ("nvidia-cuda-runtime-cu12", "12.6.77"),
                    ("nvidia-cuda-cupti-cu12", "12.6.80"), ("nvidia-cudnn-cu12", "9.5.1.17"),
                    ("nvidia-cublas-cu12", "12.6.4.1"), ("nvidia-cufft-cu12", "11.3.0.4"),
                    ("nvidia-curand-cu12", "10.3.7.77"), ("nvidia-cusolver-cu12", "11.7.1.2"),
                    ("nvidia-cusparse-cu12", "12.5.4.2"), ("nvidia-cusparselt-cu12", "0.6.3"),
                    ("nvidia-nccl-cu12", "2.26.2"), ("nvidia-nvtx-cu12", "12.6.77"),
                    ("nvidia-nvjitlink-cu12", "12.6.85"), ("nvidia-cufile-cu12", "1.11.1.6"),
                    ("triton", "3.3.1")],
    "2.7.1+cu128": [("nvidia-cuda-nvrtc-cu12", "12.8.61"), ("nvidia-cuda-runtime-cu12", "12.8.57"),
                    ("nvidia-cuda-cupti-cu12", "12.8.57"), ("nvidia-cudnn-cu12", "9.7.1.26"),
                    ("nvidia-cublas-cu12", "12.8.3.14"), ("nvidia-cufft-cu12", "11.3.3.41"),
                    ("nvidia-curand-cu12", "10.3.9.55"), ("nvidia-cusolver-cu12", "11.7.2.55"),
                    ("nvidia-cusparse-cu12", "12.5.7.53"), ("nvidia-cusparselt-cu12", "0.6.3"),
                    ("nvidia-nccl-cu12", "2.26.2"), ("nvidia-nvtx-cu12", "12.8.55"),
                    ("nvidia-nvjitlink-cu12", "12.8.61"), ("nvidia-cufile-cu12", "1.13.0.11"),
                    ("triton", "3.3.1")],
}
CU130_WHEELS = [
    ("nvidia-cublas", "13.1.1.3"), ("nvidia-cuda-runtime", "13.0.96"), ("nvidia-cuda-nvrtc", "13.0.88"),
    ("nvidia-cuda-cupti", "13.0.85"), ("nvidia-cufft", "12.0.0.61"), ("nvidia-cufile", "1.15.1.6"),
    ("nvidia-curand", "10.4.0.35"), ("nvidia-cusolver", "12.0.4.66"), ("nvidia-cusparse", "12.6.3.3"),
    ("nvidia-nvtx", "13.0.85"), ("nvidia-nvjitlink", "13.0.88"), ("nvidia-cudnn-cu13", "9.24.0.43"),
    ("nvidia-cusparselt-cu13", "0.8.1"), ("nvidia-nccl-cu13", "2.30.7"), ("nvidia-nvshmem-cu13", "3.4.5"),
    ("cuda-bindings", "13.0.3"),
]
PARTNERS = {"2.4.1": ("0.19.1", "2.4.1"), "2.5.1": ("0.20.1", "2.5.1"), "2.6.0": ("0.21.0", "2.6.0"),
            "2.7.1": ("0.22.1", "2.7.1"), "2.8.0": ("0.23.0", "2.8.0"), "2.10.0": ("0.25.0", "2.10.0"),
            "2.11.0": ("0.26.0", "2.11.0"), "2.13.0": ("0.28.0", None)}


def install_torch(site: Path, version: str, *, torchvision="partner", torchaudio="partner",
                  pins_override: Optional[Dict[str, str]] = None, extra: List[Tuple[str, str]] = (),
                  installer: str = "pip", cuda: Optional[str] = "derive") -> None:
    """torch, its CUDA wheels (as pinned) and partners into a fake site-packages."""
    from helpers.fakes import _install_text, add_dist

    base, _, label = version.partition("+")
    if cuda == "derive":
        cuda = "{}.{}".format(label[2:-1], label[-1]) if label.startswith("cu") else None
    if label == "cu130" or (not label and base in ("2.10.0", "2.11.0")):
        meta = _install_text("METADATA-2.14.1+cu130.txt").replace("Version: 2.14.1", "Version: " + version)
        add_dist(site, "torch", version, metadata=meta, installer=installer)
        add_dist(site, "cuda-toolkit", "13.0.3.0", metadata=_install_text("METADATA-cuda-toolkit-13.0.3.0.txt"))
        wheels = list(CU130_WHEELS) + [("triton", "3.6.0")]
        cuda = "13.0"
    elif version == "2.8.0+cu128":
        meta = _install_text("METADATA-2.8.0+cu128.txt")
        add_dist(site, "torch", version, metadata=meta, installer=installer)
        wheels = [(line.split(":", 1)[1].strip().split("==")[0], line.split("==")[1].split(";")[0])
                  for line in meta.splitlines() if line.startswith("Requires-Dist: nvidia-")
                  or line.startswith("Requires-Dist: triton")]
    else:
        pins = PINS.get(version, [])
        add_dist(site, "torch", version, metadata=metadata(version, pins), installer=installer)
        wheels = list(pins)
    over = pins_override or {}
    for name, ver in wheels:
        add_dist(site, name, over.get(name, ver), installer=installer)
    for name, ver in extra:
        add_dist(site, name, ver, installer=installer)
    (site / "torch").mkdir()
    (site / "torch" / "version.py").write_text(version_py(version if label else version, cuda))
    tv, ta = PARTNERS.get(base, (None, None))
    suffix = "+" + label if label else ""
    if torchvision == "partner" and tv:
        add_dist(site, "torchvision", tv + suffix, installer=installer)
    elif torchvision not in ("partner", None):
        add_dist(site, "torchvision", torchvision[0], installer=torchvision[1])
    if torchaudio == "partner" and ta:
        add_dist(site, "torchaudio", ta + suffix, installer=installer)


# ------------------------------------------------------------------------------------ the child


def runtime(version: str, *, python: str, cuda: Optional[str], available: bool = True, devices=(),
            arch_list=(), cudnn: Optional[int] = None, nccl: Optional[str] = None, warnings=(),
            libs=(), torchvision=None, seconds: float = 3.2, site: str = ""):
    """The torch child's recorded output, through the real parser."""
    from envcheck.proc import ProcResult
    from envcheck.children.events import line as event_line
    from envcheck.probes.torch_child import parse_child_output

    payload = {
        "status": "ok", "python": python, "python_version": python_version_of(python),
        "version": version, "cuda_build": cuda, "hip": None,
        "torch_file": site + "/torch/__init__.py", "import_warnings": [],
        "is_available": available, "available_warnings": list(warnings),
        "device_count": len(devices), "arch_list": list(arch_list), "cudnn_version": cudnn,
        "nccl_version": nccl,
        "devices": [{"index": i, "name": n, "capability": c, "total_memory_mib": m}
                    for i, (n, c, m) in enumerate(devices)],
        "loaded_libraries": list(libs),
        "torchvision": torchvision or {"status": "missing", "detail": "torchvision is not installed"},
        "errors": {},
    }
    out = (event_line("stage", name="import torch") + event_line("stage", name="import torchvision")
           + event_line("result", **payload))
    return parse_child_output(ProcResult((python, "-c", "..."), 0, out, "", seconds), interpreter=python)


_PYTHONS: Dict[str, str] = {}


def python_version_of(executable: str) -> str:
    return _PYTHONS.get(executable, "3.12.3")


# ---------------------------------------------------------------------------------- the builder


def _script(path: Path, text: str, rc: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = path.parent / (path.name + ".out")
    data.write_text(text)
    path.write_text('#!/bin/sh\ncat "{}"\nexit {}\n'.format(data, rc))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def build(base: Path, spec: Dict[str, Any]):
    """Facts for one machine spec (see MACHINES)."""
    from helpers.fakes import FakeNvml, load_recording

    from envcheck.facts import Facts
    from envcheck.probes.host import ContainerFacts, DiskFacts, PythonFacts, probe_host
    from envcheck.probes.nvcc import probe_nvcc
    from envcheck.probes.nvml import probe_nvml
    from envcheck.probes.torch_static import probe_torch_static

    root = base / "root"
    files = {"etc/os-release": (PROBES / "os_release" / spec.get("os", "ubuntu-22.04")).read_text(),
             "proc/version": spec.get("proc_version",
                                      "Linux version {} (buildd@lcy02-amd64-075) #129-Ubuntu SMP\n".format(
                                          spec.get("kernel", "5.15.0-119-generic"))),
             "dev/shm": None}
    for node in spec.get("nodes", ()):
        files["dev/" + node] = ""
    if spec.get("docker"):
        files[".dockerenv"] = ""
    if spec.get("driver_text"):
        files["proc/driver/nvidia/version"] = spec["driver_text"]
    for rel, content in spec.get("files", {}).items():
        files[rel] = content
    for rel, content in files.items():
        p = root / rel
        if content is None:
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
    for rel, fixture in spec.get("toolkits", ()):
        _script(root / rel / "bin" / "nvcc", (PROBES / "nvcc" / fixture).read_text())
    for link, target in spec.get("links", {}).items():
        os.symlink(str(root / target), str(root / link))

    prefix = spec.get("prefix", "/home/user/.venv")
    py = spec.get("python", "3.12.3")
    executable = prefix + "/bin/python"
    _PYTHONS[executable] = py
    pyver = ".".join(py.split(".")[:2])
    site_rel = prefix.lstrip("/") + "/lib/python{}/site-packages".format(pyver)
    site = root / site_rel
    site.mkdir(parents=True)
    spec["install"](site)

    env = {k: v.replace("{root}", str(root)) for k, v in spec.get("env", {}).items()}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    host = probe_host(env, root=str(root), cwd=str(root))
    conda = bool(spec.get("conda_records"))
    container = host.container
    if not spec.get("docker"):
        container = ContainerFacts()
    host = dataclasses.replace(
        host,
        system="Linux", kernel=spec.get("kernel", "5.15.0-119-generic"), arch="x86_64",
        hostname=spec.get("hostname", "ws-" + spec["name"][:12]),
        detail="{} {} on x86_64, Python {}".format(
            host.os.pretty_name, spec.get("kernel", "5.15.0-119-generic"), py),
        python=PythonFacts(py, "CPython", executable, prefix, "/usr" if not conda else prefix,
                           not conda, conda, prefix if conda else None,
                           os.path.basename(prefix) if conda else None),
        container=container,
        cpu_count=spec.get("cpus", 32), cpu_usable=spec.get("cpus", 32),
        memory_total_bytes=spec.get("memory", 128 * GIB),
        memory_available_bytes=int(spec.get("memory", 128 * GIB) * 0.8),
        disk=DiskFacts("/home/user", True, 2000 * GIB, 900 * GIB),
        shm=DiskFacts("/dev/shm", True, spec.get("shm", 64 * GIB), spec.get("shm", 64 * GIB) - (1 << 20)),
        glibc=spec.get("glibc", "2.35"), open_files_soft=1048576, open_files_hard=1048576,
    )
    rec = spec.get("nvml")
    smi = None
    if spec.get("smi") is not None:
        smi = root / "usr/bin/nvidia-smi"
        _script(smi, spec["smi"][0], spec["smi"][1])
    if isinstance(rec, str):
        rec = load_recording(rec)
    if rec is None:
        driver = probe_nvml(importer=lambda: (None, None), root=str(root),
                            smi=str(smi) if smi else None, nvml_timeout=None)
        from envcheck.facts.model import DriverFacts

        driver = dataclasses.replace(
            driver, status="missing", error_code="library-not-found",
            detail="nvmlInit: NVML Shared Library Not Found")
        if smi is None:
            from envcheck.facts.model import SmiFacts

            driver = dataclasses.replace(driver, smi=SmiFacts(status="missing", detail="nvidia-smi: not found"))
        assert isinstance(driver, DriverFacts)
    else:
        driver = probe_nvml(FakeNvml(rec), root=str(root), smi=str(smi) if smi else None, nvml_timeout=None)
    nvcc_env = {"PATH": str(root / "usr/local/bin")}
    nvcc_env.update({k: v.replace("{root}", str(root)) for k, v in spec.get("nvcc_env", {}).items()})
    nvcc = probe_nvcc(
        nvcc_env,
        search_dirs=[str(root / rel) for rel, _ in spec.get("toolkits", ())] + [str(root / "usr/local/cuda")],
        default_home=str(root / "usr/local/cuda"),
    )
    torch = probe_torch_static(path=[str(site)])
    torch = dataclasses.replace(torch, interpreter=executable, python_version=py)
    if conda:
        torch = dataclasses.replace(torch, conda_env=True, conda_records=tuple(spec["conda_records"]))
    rt = spec.get("runtime")
    runtime_facts = rt(executable, "/" + site_rel) if rt else None
    facts = Facts(
        collected_at=spec.get("collected_at", "2026-11-20T10:00:00+00:00"),
        comment="synthesized: " + spec["comment"],
        quick=runtime_facts is None,
        host=host, driver=driver, nvcc=nvcc, torch=torch, torch_runtime=runtime_facts,
        timings={"host": 0.02, "nvcc": 0.1, "driver": 0.4, "torch": 0.03,
                 **({"torch_runtime": runtime_facts.seconds} if runtime_facts else {})},
    )
    text = json.dumps(facts.to_dict()).replace(str(root), "")
    facts = from_dict(json.loads(text), source=spec["name"])
    return facts


# ----------------------------------------------------------------------------------- machines

NODES_1 = ("nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
ARCH_CU12_OLD = ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
ARCH_CU128 = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120")
ARCH_CU128_28 = ("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")
TV_OK = {"status": "ok", "version": "", "detail": "nms kept [0, 2]"}


def _tv(version: str) -> Dict:
    return dict(TV_OK, version=version)


def _libs(site: str, cuda_major: int, driver: str) -> List[str]:
    lib = site + "/nvidia"
    return [site + "/torch/lib/libtorch_cuda.so", lib + "/cuda_runtime/lib/libcudart.so.{}".format(cuda_major),
            lib + "/cublas/lib/libcublas.so.{}".format(cuda_major), lib + "/cudnn/lib/libcudnn.so.9",
            lib + "/nccl/lib/libnccl.so.2", "/usr/lib/x86_64-linux-gnu/libcuda.so." + driver]


def m_a100_ecc():
    def rt(py, site):
        return runtime("2.5.1+cu121", python=py, cuda="12.1", devices=[("NVIDIA A100-SXM4-80GB", "8.0", 81050)],
                       arch_list=ARCH_CU12_OLD, cudnn=90100, nccl="2.21.5", site=site,
                       libs=_libs(site, 12, "535.104.05"), torchvision=_tv("0.20.1+cu121"))
    return dict(name="a100-ecc-remap-pending", comment="A100-SXM4-80GB with 2 uncorrectable ECC errors and a "
                "row remap pending, driver 535.104.05, torch 2.5.1+cu121", nvml="a100-ecc-remap-pending",
                driver_text=proc_version("535.104.05"), nodes=NODES_1, python="3.11.9",
                install=lambda s: install_torch(s, "2.5.1+cu121"), runtime=rt)


def m_mismatch():
    def rt(py, site):
        return runtime("2.4.1+cu121", python=py, cuda="12.1", available=False, arch_list=ARCH_CU12_OLD,
                       cudnn=90100, site=site, warnings=[
                           "CUDA initialization: CUDA driver initialization failed, you might not have a "
                           "CUDA gpu. (Triggered internally at ../c10/cuda/CUDAFunctions.cpp:108.)"],
                       torchvision=_tv("0.19.1+cu121"))
    return dict(name="driver-library-mismatch", comment="unattended upgrade replaced the 535 libraries "
                "(535.183.01) under kernel module 535.104.05; torch 2.4.1+cu121",
                nvml="driver-library-mismatch", driver_text=proc_version("535.104.05"), nodes=NODES_1,
                smi=("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183\n", 18),
                python="3.10.12", install=lambda s: install_torch(s, "2.4.1+cu121"), runtime=rt)


def m_rtx5090():
    rec = recording("570.133.20", 12080, [gpu("NVIDIA GeForce RTX 5090", (12, 0), 32607, seed="5090",
                                              gen=(1, 5), power_limit_mw=575000)])
    warning = ("\nNVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current "
               "PyTorch installation.\nThe current PyTorch install supports CUDA capabilities sm_50 sm_60 "
               "sm_70 sm_75 sm_80 sm_86 sm_90.\nIf you want to use the NVIDIA GeForce RTX 5090 GPU with "
               "PyTorch, please check the instructions at https://pytorch.org/get-started/locally/\n")

    def rt(py, site):
        return runtime("2.6.0+cu124", python=py, cuda="12.4", devices=[("NVIDIA GeForce RTX 5090", "12.0", 32120)],
                       arch_list=ARCH_CU12_OLD, cudnn=90100, warnings=[warning], site=site,
                       torchvision=_tv("0.21.0+cu124"))
    return dict(name="rtx5090-torch2.6-cu124", comment="GeForce RTX 5090 (sm_120), driver 570.133.20, "
                "torch 2.6.0+cu124 which has no sm_120 code", nvml=rec, driver_text=proc_version("570.133.20", True),
                nodes=NODES_1, os="ubuntu-24.04", kernel="6.8.0-57-generic",
                install=lambda s: install_torch(s, "2.6.0+cu124"), runtime=rt)


def m_v100():
    rec = recording("580.82.07", 13000, [gpu("Tesla V100-SXM2-32GB", (7, 0), 32768, seed="v100-%d" % i,
                                             bus="00000000:{:02X}:00.0".format(0x1B + i), ecc=(1, 1),
                                             retired={"MULTIPLE_SINGLE_BIT": [], "DOUBLE_BIT": []},
                                             retired_pending=0, gen=(3, 3), datacenter=True)
                                         for i in range(4)])
    return dict(name="v100-torch2.11-cu130-quick", comment="4x Tesla V100-SXM2-32GB, driver 580.82.07 "
                "(CUDA 13.0), torch 2.11.0 from PyPI (cu130 dropped Volta); collected with --quick",
                nvml=rec, driver_text=proc_version("580.82.07"),
                nodes=("nvidia0", "nvidia1", "nvidia2", "nvidia3", "nvidiactl", "nvidia-uvm"),
                env={"CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
                install=lambda s: install_torch(s, "2.11.0"), runtime=None)


def m_gtx1080():
    rec = recording("570.144", 12080, [gpu("NVIDIA GeForce GTX 1080", (6, 1), 8192, seed="1080", gen=(1, 3))])
    warning = ("\nNVIDIA GeForce GTX 1080 with CUDA capability sm_61 is not compatible with the current "
               "PyTorch installation.\nThe current PyTorch install supports CUDA capabilities sm_70 sm_75 "
               "sm_80 sm_86 sm_90 sm_100 sm_120.\n")

    def rt(py, site):
        return runtime("2.8.0+cu128", python=py, cuda="12.8", devices=[("NVIDIA GeForce GTX 1080", "6.1", 8110)],
                       arch_list=ARCH_CU128_28, cudnn=91002, warnings=[warning], site=site,
                       torchvision=_tv("0.23.0+cu128"))
    return dict(name="gtx1080-torch2.8-cu128", comment="GeForce GTX 1080 (Pascal, sm_61), driver 570.144, "
                "torch 2.8.0+cu128 (cu128 builds dropped Pascal)", nvml=rec, driver_text=proc_version("570.144"),
                nodes=NODES_1, install=lambda s: install_torch(s, "2.8.0+cu128"), runtime=rt)


def m_driver535_cu130():
    rec = recording("535.216.01", 12020, [gpu("NVIDIA A10G", (8, 6), 23028, seed="a10g", ecc=(1, 1),
                                              datacenter=True, bus="00000000:00:1E.0")])
    warning = ("CUDA initialization: The NVIDIA driver on your system is too old (found version 12020). "
               "Please update your GPU driver by downloading and installing a new version from the URL: "
               "http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to "
               "install a PyTorch version that has been compiled with your version of the CUDA driver. "
               "(Triggered internally at /pytorch/c10/cuda/CUDAFunctions.cpp:119.)")

    def rt(py, site):
        return runtime("2.11.0+cu130", python=py, cuda="13.0", available=False, arch_list=(),
                       cudnn=92400, warnings=[warning], site=site, torchvision=_tv("0.26.0"))
    return dict(name="driver535-torch2.11-cu130", comment="AWS g5 (A10G), driver 535.216.01 (CUDA 12.2), "
                "plain `pip install torch` gave 2.11.0 built for CUDA 13.0 (F1)", nvml=rec,
                driver_text=proc_version("535.216.01"), nodes=NODES_1, kernel="6.8.0-1021-aws",
                install=lambda s: install_torch(s, "2.11.0"), runtime=rt)


WSL_KERNEL = "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP\n"


def m_wsl_linux_driver():
    def rt(py, site):
        return runtime("2.7.1+cu126", python=py, cuda="12.6", available=False, arch_list=(), site=site,
                       warnings=["CUDA initialization: Found no NVIDIA driver on your system. Please check that "
                                 "you have an NVIDIA GPU and installed a driver from "
                                 "http://www.nvidia.com/Download/index.aspx"],
                       torchvision=_tv("0.22.1+cu126"))
    wsl_lib = {"usr/lib/wsl/lib/" + n: "" for n in (
        "libcuda.so", "libcuda.so.1", "libcuda.so.1.1", "libd3d12.so", "libd3d12core.so", "libdxcore.so",
        "libnvidia-ml.so.1", "nvidia-smi")}
    return dict(name="wsl2-linux-driver", comment="WSL2 (Ubuntu 22.04) with nvidia-driver-550 installed "
                "inside WSL: its libnvidia-ml shadows the Windows driver's; torch 2.7.1+cu126",
                proc_version=WSL_KERNEL, kernel="5.15.167.4-microsoft-standard-WSL2", files=wsl_lib,
                nvml="driver-not-loaded",
                smi=("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
                     "that the latest NVIDIA driver is installed and running.\n\n", 9),
                install=lambda s: install_torch(s, "2.7.1+cu126"), runtime=rt)


def m_wsl_libcuda():
    rec = recording("566.36", 12070, [gpu("NVIDIA GeForce RTX 4070 Laptop GPU", (8, 9), 8188, seed="4070l")])

    def rt(py, site):
        return runtime("2.7.1+cu128", python=py, cuda="12.8",
                       devices=[("NVIDIA GeForce RTX 4070 Laptop GPU", "8.9", 8187)], arch_list=ARCH_CU128,
                       cudnn=90701, site=site, torchvision=_tv("0.22.1+cu128"),
                       libs=[site + "/torch/lib/libtorch_cuda.so", "/usr/lib/wsl/drivers/nvmii.inf_amd64_1/libcuda.so.1.1"])
    wsl_lib = {"usr/lib/wsl/lib/" + n: "" for n in ("libcuda.so.1", "libd3d12.so", "libdxcore.so",
                                                     "libnvidia-ml.so.1", "nvidia-smi")}
    return dict(name="wsl2-libcuda-so1-only", comment="WSL2 on a laptop (RTX 4070 Laptop GPU, Windows driver "
                "566.36): /usr/lib/wsl/lib has libcuda.so.1 only; torch 2.7.1+cu128 with triton",
                proc_version=WSL_KERNEL, kernel="5.15.167.4-microsoft-standard-WSL2", files=wsl_lib, nvml=rec,
                install=lambda s: install_torch(s, "2.7.1+cu128"), runtime=rt)


def m_docker_shm():
    rec = recording("550.127.05", 12040, [gpu("NVIDIA A10G", (8, 6), 23028, seed="a10g-docker", ecc=(1, 1),
                                              datacenter=True, bus="00000000:00:1E.0")])

    def rt(py, site):
        return runtime("2.5.1+cu124", python=py, cuda="12.4", devices=[("NVIDIA A10G", "8.6", 22502)],
                       arch_list=ARCH_CU12_OLD, cudnn=90100, nccl="2.21.5", site=site,
                       libs=_libs(site, 12, "550.127.05"), torchvision=_tv("0.20.1+cu124"))
    return dict(name="docker-shm-64m", comment="Docker container started with --gpus all but without "
                "--ipc=host/--shm-size: /dev/shm is 64 MB; A10G, driver 550.127.05, torch 2.5.1+cu124",
                docker=True, shm=64 << 20, nvml=rec, driver_text=proc_version("550.127.05"), nodes=NODES_1,
                prefix="/opt/venv", python="3.11.10", hostname="3f2a9c1d7e4b",
                install=lambda s: install_torch(s, "2.5.1+cu124"), runtime=rt)


def _two_4090s(seed: str):
    return recording("570.133.20", 12080, [
        gpu("NVIDIA GeForce RTX 4090", (8, 9), 24564, seed=seed + "0", bus="00000000:01:00.0"),
        gpu("NVIDIA GeForce RTX 4090", (8, 9), 24564, seed=seed + "1", bus="00000000:41:00.0")])


def m_cvd_empty():
    def rt(py, site):
        return runtime("2.7.1+cu128", python=py, cuda="12.8", available=False, arch_list=ARCH_CU128,
                       cudnn=90701, site=site, torchvision=_tv("0.22.1+cu128"))
    return dict(name="cuda-visible-devices-empty", comment="2x RTX 4090 workstation, a job script exported "
                "CUDA_VISIBLE_DEVICES= (empty); torch 2.7.1+cu128 sees no GPU", nvml=_two_4090s("cvd"),
                driver_text=proc_version("570.133.20", True),
                nodes=("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"),
                env={"CUDA_VISIBLE_DEVICES": "", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
                install=lambda s: install_torch(s, "2.7.1+cu128"), runtime=rt)


def m_torchvision_other():
    rec = recording("570.133.20", 12080, [gpu("NVIDIA GeForce RTX 4090", (8, 9), 24564, seed="tv4090")])

    def rt(py, site):
        return runtime("2.7.1+cu128", python=py, cuda="12.8", devices=[("NVIDIA GeForce RTX 4090", "8.9", 24080)],
                       arch_list=ARCH_CU128, cudnn=90701, site=site, torchvision={
                           "status": "nms-failed", "version": "0.22.0+cu126",
                           "detail": "RuntimeError: operator torchvision::nms does not exist"})
    return dict(name="torchvision-other-build", comment="RTX 4090, torch 2.7.1+cu128 upgraded alone; "
                "torchvision 0.22.0+cu126 left from an earlier install (F5)", nvml=rec,
                driver_text=proc_version("570.133.20", True), nodes=NODES_1,
                install=lambda s: install_torch(s, "2.7.1+cu128", torchvision=("0.22.0+cu126", "pip"),
                                                torchaudio=None),
                runtime=rt)


def m_cu12_cu13():
    rec = recording("580.82.07", 13000, [gpu("NVIDIA H100 PCIe", (9, 0), 81559, seed="h100pcie", ecc=(1, 1),
                                             remap=(0, 0, 0, 0), datacenter=True, gen=(5, 5))])
    return dict(name="cu12-and-cu13-wheels", comment="H100 PCIe, driver 580.82.07; torch 2.10.0+cu130 installed "
                "over a 2.9 cu128 venv: nvidia-*-cu12 wheels left beside the CUDA 13 ones; --quick",
                nvml=rec, driver_text=proc_version("580.82.07"), nodes=NODES_1, python="3.12.8",
                install=lambda s: install_torch(s, "2.10.0+cu130", extra=[
                    ("nvidia-cudnn-cu12", "9.10.2.21"), ("nvidia-nccl-cu12", "2.27.3"),
                    ("nvidia-cublas-cu12", "12.8.4.1"), ("nvidia-cuda-runtime-cu12", "12.8.90")]),
                runtime=None)


def m_ld_shadow():
    rec = recording("550.90.07", 12040, [gpu("NVIDIA L4", (8, 9), 23034, seed="l4", ecc=(1, 1),
                                             datacenter=True, bus="00000000:00:03.0")])
    cuda_libs = {"usr/local/cuda-12.1/lib64/" + n: "" for n in (
        "libcublas.so.12", "libcublasLt.so.12", "libcudart.so.12", "libnvJitLink.so.12")}
    cuda_libs.update({"opt/cudnn-8.9/lib/" + n: "" for n in ("libcudnn.so.8", "libcudnn_ops_infer.so.8")})

    def rt(py, site):
        libs = [site + "/torch/lib/libtorch_cuda.so", "/usr/local/cuda-12.1/lib64/libcublas.so.12",
                "/usr/local/cuda-12.1/lib64/libcublasLt.so.12", site + "/nvidia/cudnn/lib/libcudnn.so.9",
                site + "/nvidia/cuda_runtime/lib/libcudart.so.12", "/usr/lib/x86_64-linux-gnu/libcuda.so.550.90.07"]
        return runtime("2.8.0+cu128", python=py, cuda="12.8", devices=[("NVIDIA L4", "8.9", 22491)],
                       arch_list=ARCH_CU128_28, cudnn=91002, site=site, libs=libs, torchvision=_tv("0.23.0+cu128"))
    return dict(name="ld-library-path-shadowing", comment="GCP g2 (L4), driver 550.90.07; ~/.bashrc puts "
                "/usr/local/cuda-12.1/lib64 and a cuDNN 8.9 tarball on LD_LIBRARY_PATH; torch 2.8.0+cu128 loads "
                "cuBLAS 12.1 from there", nvml=rec, driver_text=proc_version("550.90.07"), nodes=NODES_1,
                files=cuda_libs, toolkits=[("usr/local/cuda-12.1", "12.1.txt")],
                env={"LD_LIBRARY_PATH": "{root}/usr/local/cuda-12.1/lib64:{root}/opt/cudnn-8.9/lib",
                     "CUDA_HOME": "{root}/usr/local/cuda-12.1"},
                nvcc_env={"CUDA_HOME": "{root}/usr/local/cuda-12.1"},
                install=lambda s: install_torch(s, "2.8.0+cu128"), runtime=rt)


def m_this_machine_cpu():
    def rt(py, site):
        return runtime("2.13.0+cpu", python=py, cuda=None, available=False, site=site, seconds=2.6)
    return dict(name="devbox-no-driver-nvcc13-torch-cpu", comment="the envcheck development container with "
                "torch 2.13.0+cpu installed: no NVIDIA driver, CUDA 13.0 toolkit", os="debian-12",
                kernel="6.18.44-fc-v669", docker=True, nvml=None, python="3.11.7",
                prefix="/root/.pyenv/versions/3.11.7", glibc="2.36", cpus=2, memory=24 * GIB, shm=24 * GIB,
                toolkits=[("usr/local/cuda-13.0", "13.0.txt")], links={"usr/local/cuda": "usr/local/cuda-13.0"},
                install=lambda s: install_torch(s, "2.13.0+cpu", torchvision=None, torchaudio=None), runtime=rt)


def m_exclusive():
    devs = [gpu("NVIDIA A100-SXM4-40GB", (8, 0), 40960, seed="excl%d" % i, ecc=(1, 1), remap=(0, 0, 0, 0),
                datacenter=True, bus="00000000:{:02X}:00.0".format(0x07 + 8 * i),
                compute_mode=3 if i == 2 else 0, used_mib=30112 if i == 2 else 4)
            for i in range(4)]

    def rt(py, site):
        return runtime("2.5.1+cu124", python=py, cuda="12.4",
                       devices=[("NVIDIA A100-SXM4-40GB", "8.0", 40326)] * 3, arch_list=ARCH_CU12_OLD,
                       cudnn=90100, nccl="2.21.5", site=site, torchvision=_tv("0.20.1+cu124"))
    return dict(name="exclusive-process-mode", comment="4x A100-SXM4-40GB, driver 550.54.15; GPU 2 set to "
                "EXCLUSIVE_PROCESS by a scheduler and busy; torch 2.5.1+cu124", nvml=recording(
                    "550.54.15", 12040, devs), driver_text=proc_version("550.54.15"),
                nodes=("nvidia0", "nvidia1", "nvidia2", "nvidia3", "nvidiactl", "nvidia-uvm"),
                env={"CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
                install=lambda s: install_torch(s, "2.5.1+cu124"), runtime=rt)


def m_nvcc118():
    rec = recording("570.133.20", 12080, [gpu("NVIDIA GeForce RTX 4090", (8, 9), 24564, seed="nvcc4090")])
    return dict(name="nvcc11.8-torch2.7-cu128", comment="RTX 4090, driver 570.133.20, torch 2.7.1+cu128; "
                "CUDA_HOME points at an old CUDA 11.8 toolkit (flash-attn build fails); --quick", nvml=rec,
                driver_text=proc_version("570.133.20", True), nodes=NODES_1,
                toolkits=[("usr/local/cuda-11.8", "11.8.txt"), ("usr/local/cuda-12.8", "12.8.txt")],
                links={"usr/local/cuda": "usr/local/cuda-12.8"},
                env={"CUDA_HOME": "{root}/usr/local/cuda-11.8"}, nvcc_env={"CUDA_HOME": "{root}/usr/local/cuda-11.8"},
                install=lambda s: install_torch(s, "2.7.1+cu128"), runtime=None)


def m_gpu_lost():
    return dict(name="dgx-a100-gpu-lost", comment="DGX A100 40GB after Xid 79: GPU 3 fell off the bus, GPU 6 "
                "lost mid-query; driver 535.104.05, torch 2.5.1+cu124; --quick", nvml="gpu-lost",
                driver_text=proc_version("535.104.05"),
                nodes=tuple("nvidia%d" % i for i in range(8)) + ("nvidiactl", "nvidia-uvm"),
                env={"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, install=lambda s: install_torch(s, "2.5.1+cu124"),
                runtime=None)


def m_conda_pip():
    rec = recording("550.120", 12040, [gpu("NVIDIA GeForce RTX 3090", (8, 6), 24576, seed="3090conda")])
    return dict(name="conda-env-pip-torch", comment="conda env made with `conda install pytorch "
                "pytorch-cuda=12.1 -c pytorch -c nvidia`, then `pip install torch` put 2.5.1+cu124 on top; "
                "conda's torchvision 0.19.1 stays; --quick", nvml=rec, driver_text=proc_version("550.120"),
                nodes=NODES_1, prefix="/home/user/miniconda3/envs/ml", python="3.11.9",
                conda_records=["cudatoolkit-12.1.0-h4ba93d1_0", "pytorch-2.4.1-py3.11_cuda12.1_cudnn9.1.0_0",
                               "pytorch-cuda-12.1-ha16c6d3_6", "torchvision-0.19.1-py311_cu121"],
                install=lambda s: install_torch(s, "2.5.1+cu124", torchvision=("0.19.1", "conda"),
                                                torchaudio=None),
                runtime=None)


def m_python312_source():
    rec = recording("535.183.01", 12020, [gpu("NVIDIA GeForce RTX 3090", (8, 6), 24576, seed="3090src")])

    def install(site):
        from helpers.fakes import add_dist

        add_dist(site, "torch", "2.1.2", metadata=metadata("2.1.2", [], ">=3.8.0"), installer="pip")
        (site / "torch").mkdir()
        (site / "torch" / "version.py").write_text(version_py("2.1.2", "12.1", "a8e7c98cb95ff97bb30a728c6b2a1ce6bff946eb"))
    return dict(name="torch2.1-source-build-python3.12", comment="torch 2.1.2 built from source for Python "
                "3.12 (no official wheels), CUDA 12.1, RTX 3090, driver 535.183.01; --quick", nvml=rec,
                driver_text=proc_version("535.183.01"), nodes=NODES_1, python="3.12.3",
                install=install, runtime=None)


def m_container_no_gpu():
    def rt(py, site):
        return runtime("2.6.0+cu124", python=py, cuda="12.4", available=False, arch_list=(), site=site,
                       warnings=["CUDA initialization: Found no NVIDIA driver on your system."],
                       torchvision=_tv("0.21.0+cu124"))
    return dict(name="container-without-gpus", comment="`docker run pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime` "
                "without --gpus: no /dev/nvidia*, no libnvidia-ml", docker=True, nvml=None,
                prefix="/opt/conda", python="3.11.10", hostname="0b1e4d9a2c77",
                install=lambda s: install_torch(s, "2.6.0+cu124"), runtime=rt)


def m_not_loaded():
    return dict(name="driver-not-loaded-after-kernel-upgrade", comment="Ubuntu 24.04 after a kernel upgrade "
                "without DKMS: libnvidia-ml 570 present, module not loaded; torch 2.7.1+cu126; --quick",
                os="ubuntu-24.04", kernel="6.8.0-60-generic", nvml="driver-not-loaded",
                smi=("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
                     "that the latest NVIDIA driver is installed and running.\n\n", 9),
                install=lambda s: install_torch(s, "2.7.1+cu126"), runtime=None)


def m_cvd_cut():
    rec = recording("570.133.20", 12080, [
        gpu("NVIDIA GeForce RTX 4090", (8, 9), 24564, seed="mix0", bus="00000000:01:00.0"),
        gpu("NVIDIA GeForce RTX 3090", (8, 6), 24576, seed="mix1", bus="00000000:21:00.0")])

    def rt(py, site):
        return runtime("2.7.1+cu128", python=py, cuda="12.8", devices=[("NVIDIA GeForce RTX 3090", "8.6", 24135)],
                       arch_list=ARCH_CU128, cudnn=90701, site=site, torchvision=_tv("0.22.1+cu128"))
    return dict(name="mixed-gpus-cuda-visible-devices-cut", comment="RTX 4090 + RTX 3090 workstation; "
                "CUDA_VISIBLE_DEVICES=1,3 (a 4-GPU habit), CUDA_DEVICE_ORDER unset; torch 2.7.1+cu128",
                nvml=rec, driver_text=proc_version("570.133.20", True),
                nodes=("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"), env={"CUDA_VISIBLE_DEVICES": "1,3"},
                install=lambda s: install_torch(s, "2.7.1+cu128"), runtime=rt)


def m_cudnn_pascal():
    rec = recording("550.144.03", 12040, [gpu("Tesla P100-PCIE-16GB", (6, 0), 16384, seed="p100", ecc=(1, 1),
                                              retired={"MULTIPLE_SINGLE_BIT": [], "DOUBLE_BIT": []},
                                              retired_pending=0, datacenter=True, gen=(3, 3))])

    def rt(py, site):
        return runtime("2.7.1+cu126", python=py, cuda="12.6", devices=[("Tesla P100-PCIE-16GB", "6.0", 16269)],
                       arch_list=ARCH_CU12_OLD, cudnn=91300, site=site, torchvision=_tv("0.22.1+cu126"))
    return dict(name="p100-cudnn9.13-upgraded", comment="Tesla P100, driver 550.144.03, torch 2.7.1+cu126; "
                "`pip install -U nvidia-cudnn-cu12` pulled cuDNN 9.13 (no Pascal support)", nvml=rec,
                driver_text=proc_version("550.144.03"), nodes=NODES_1,
                install=lambda s: install_torch(s, "2.7.1+cu126", pins_override={"nvidia-cudnn-cu12": "9.13.0.50"}),
                runtime=rt)


MACHINES = [
    m_a100_ecc, m_mismatch, m_rtx5090, m_v100, m_gtx1080, m_driver535_cu130, m_wsl_linux_driver,
    m_wsl_libcuda, m_docker_shm, m_cvd_empty, m_torchvision_other, m_cu12_cu13, m_ld_shadow,
    m_this_machine_cpu, m_exclusive, m_nvcc118, m_gpu_lost, m_conda_pip, m_python312_source,
    m_container_no_gpu, m_not_loaded, m_cvd_cut, m_cudnn_pascal,
]


def main(argv: List[str]) -> int:
    wanted = set(argv)
    for make in MACHINES:
        spec = make()
        if wanted and spec["name"] not in wanted:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            facts = build(Path(tmp), spec)
        (HERE / (spec["name"] + ".json")).write_text(to_json(facts))
        print("wrote", spec["name"] + ".json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
