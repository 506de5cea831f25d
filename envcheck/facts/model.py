"""The model: every observed-state type envcheck records about a machine, and nothing else.

Probes (``envcheck.probes``) fill these types, ``envcheck.facts.codec`` turns them into JSON and
back, ``envcheck.facts.machine`` derives the values the rest of envcheck reads, and rules,
renderers, the installer, verify and preflight read them. This module imports nothing from
envcheck and does no I/O, so any layer can import it and a recorded snapshot means the same as a
live one: every value here is what was observed, never looked up again.

Each dataclass is frozen. ``status`` fields take one of the values in :data:`STATUSES`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

__all__ = [
    "SCHEMA", "STATUSES", "Facts",
    # host
    "OsRelease", "PythonFacts", "WslFacts", "ContainerFacts", "DiskFacts", "LibPathEntry", "EnvFacts",
    "RocmFacts", "CpuFacts", "HostFacts", "BuildTool",
    # NVIDIA driver and GPUs
    "FieldError", "GpuFacts", "KernelModuleFacts", "SmiGpu", "SmiFacts", "DriverFacts",
    # CUDA toolkits
    "Toolkit", "NvccFacts",
    # torch as installed (read without importing it)
    "Dist", "Package", "CudaPackage", "CudaPin", "TorchStaticFacts",
    # torch as imported (the runtime child)
    "TorchDevice", "LoadedLibrary", "TorchvisionCheck", "TorchRuntimeFacts", "ModuleShadow",
    # a pasted report read instead of a machine
    "ReportBlock", "ReportedError", "ReportConflict", "ReportFacts",
]

SCHEMA = "envcheck.facts/1"

# Allowed values of each ``status`` field, by type name (checked when a snapshot is read).
# "unknown": a pasted report (``Facts.report``) does not state this part of the machine.
STATUSES: Dict[str, Tuple[str, ...]] = {
    "HostFacts": ("ok", "failed", "timed-out", "unknown"),
    "DriverFacts": ("ok", "missing", "failed", "timed-out", "unknown"),
    "GpuFacts": ("ok", "lost", "failed"),
    "KernelModuleFacts": ("ok", "missing", "failed", "unknown"),
    "SmiFacts": ("ok", "missing", "failed", "timed-out"),
    "NvccFacts": ("ok", "missing", "failed", "timed-out", "unknown"),
    "Toolkit": ("ok", "missing", "failed", "timed-out"),
    "TorchStaticFacts": ("ok", "missing", "failed", "timed-out", "unknown"),
    "TorchRuntimeFacts": ("ok", "import-failed", "crashed", "timed-out", "bad-output", "failed"),
    "TorchvisionCheck": ("ok", "missing", "import-failed", "nms-failed", "wrong-result"),
    "BuildTool": ("ok", "missing", "failed", "timed-out"),
}


# ---------------------------------------------------------------------------------------------
# Host: OS, Python, containers, WSL, resources, environment


@dataclass(frozen=True)
class OsRelease:
    id: Optional[str] = None  # "ubuntu", "debian", "rhel", "macos", "windows"
    version_id: Optional[str] = None
    name: Optional[str] = None
    pretty_name: Optional[str] = None
    id_like: tuple[str, ...] = ()
    codename: Optional[str] = None


@dataclass(frozen=True)
class PythonFacts:
    version: str
    implementation: str
    executable: str
    prefix: str
    base_prefix: str
    venv: bool
    conda: bool  # sys.prefix holds conda-meta
    conda_prefix: Optional[str] = None  # CONDA_PREFIX
    conda_env_name: Optional[str] = None  # CONDA_DEFAULT_ENV


@dataclass(frozen=True)
class WslFacts:
    detected: bool = False
    version: Optional[int] = None  # 2 for "microsoft-standard-WSL2" kernels, 1 for "Microsoft"
    lib_dir: Optional[str] = None  # /usr/lib/wsl/lib when present
    lib_files: tuple[str, ...] = ()  # its contents (libcuda.so.1, libnvidia-ml.so.1, ...)


@dataclass(frozen=True)
class ContainerFacts:
    detected: bool = False
    kind: Optional[str] = None  # docker | podman | kubernetes | containerd | lxc | ...
    hints: tuple[str, ...] = ()  # what gave it away


@dataclass(frozen=True)
class DiskFacts:
    path: str
    exists: bool = False
    total_bytes: Optional[int] = None
    free_bytes: Optional[int] = None


@dataclass(frozen=True)
class LibPathEntry:
    path: str  # "" is an empty entry, which the loader reads as the current directory
    exists: bool = False
    cuda_libs: tuple[str, ...] = ()  # libcudnn*, libnccl*, ... found there (bounded)
    compat: bool = False  # a CUDA forward-compatibility directory (".../compat")


@dataclass(frozen=True)
class EnvFacts:
    cuda_visible_devices: Optional[str] = None  # None: unset; "": set and empty (no GPU)
    cuda_device_order: Optional[str] = None
    cuda_home: Optional[str] = None
    cuda_path: Optional[str] = None
    ld_library_path: tuple[LibPathEntry, ...] = ()
    ld_library_path_truncated: bool = False
    pytorch: Dict[str, str] = field(default_factory=dict)  # every PYTORCH_*
    nccl: Dict[str, str] = field(default_factory=dict)  # every NCCL_*
    torch: Dict[str, str] = field(default_factory=dict)  # every TORCH_* (TORCH_CUDA_ARCH_LIST...)
    other: Dict[str, str] = field(default_factory=dict)  # LD_PRELOAD, CUDA_LAUNCH_BLOCKING, ...


@dataclass(frozen=True)
class RocmFacts:
    path: Optional[str] = None  # /opt/rocm when present
    version: Optional[str] = None  # from /opt/rocm/.info/version
    kfd: bool = False  # /dev/kfd (the AMD GPU compute device node)


@dataclass(frozen=True)
class CpuFacts:
    """The CPU as ``/proc/cpuinfo`` (or the platform) names it."""

    model: Optional[str] = None  # "AMD EPYC 7763 64-Core Processor"
    vendor: Optional[str] = None  # GenuineIntel | AuthenticAMD | an ARM implementer
    flags: tuple[str, ...] = ()  # the instruction-set flags torch's kernels care about (CPU_FLAGS)
    flags_read: bool = False  # False: the flags could not be read (not "none of them")


# The /proc/cpuinfo flags kept in CpuFacts.flags: the instruction sets torch dispatches on (x86:
# AVX2 / AVX-512 / AMX kernels; ARM: SVE, BF16, I8MM). Everything else is left out.
CPU_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
    "asimd", "asimdhp", "sve", "sve2", "bf16", "i8mm",
)


@dataclass(frozen=True)
class BuildTool:
    """A compiler or build tool a source build of an extension (or torch.compile) would use."""

    name: str  # gcc | g++ | clang | cmake | ninja
    status: str = "missing"  # ok | missing | failed | timed-out
    path: Optional[str] = None
    version: Optional[str] = None  # "12.2.0"
    detail: str = ""  # the first line of --version, or why there is none


@dataclass(frozen=True)
class HostFacts:
    status: str = "ok"  # ok | failed | timed-out (parts that failed are in errors)
    detail: str = ""
    system: Optional[str] = None  # Linux | Windows | Darwin
    os: OsRelease = OsRelease()
    kernel: Optional[str] = None
    arch: Optional[str] = None
    hostname: Optional[str] = None
    python: Optional[PythonFacts] = None
    wsl: WslFacts = WslFacts()
    container: ContainerFacts = ContainerFacts()
    cpu_count: Optional[int] = None
    cpu_usable: Optional[int] = None  # sched_getaffinity (cgroup/cpuset limits)
    memory_total_bytes: Optional[int] = None
    memory_available_bytes: Optional[int] = None
    disk: Optional[DiskFacts] = None  # the current directory
    shm: Optional[DiskFacts] = None  # /dev/shm (Docker's default is 64 MiB)
    glibc: Optional[str] = None  # "2.36"
    open_files_soft: Optional[int] = None  # -1: unlimited
    open_files_hard: Optional[int] = None
    nvidia_device_nodes: tuple[str, ...] = ()  # /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm ...
    # NVIDIA GPUs on the PCI bus (Linux sysfs: vendor 0x10de, a display or 3D controller), driver or
    # not: "0000:3b:00.0". The hardware's word, for telling "no GPU" from "a GPU without a driver".
    nvidia_pci_gpus: tuple[str, ...] = ()
    env: EnvFacts = EnvFacts()
    rocm: RocmFacts = RocmFacts()
    apple_mps: bool = False  # macOS on arm64: torch's MPS backend can exist
    cpu: CpuFacts = CpuFacts()
    errors: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# NVIDIA driver and GPUs (NVML, with nvidia-smi and the kernel module as fallbacks)


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str  # one of ERROR_CODES
    message: str


@dataclass(frozen=True)
class GpuFacts:
    index: int
    status: str = "ok"  # ok | lost (GPU_IS_LOST) | failed (no handle)
    source: str = "nvml"  # nvml | nvidia-smi (fallback: only the smi columns are filled) | torch (Machine.gpus only)
    name: Optional[str] = None
    uuid: Optional[str] = None
    serial: Optional[str] = None
    pci_bus_id: Optional[str] = None
    compute_capability: Optional[str] = None  # "9.0"
    memory_total_mib: Optional[int] = None
    memory_used_mib: Optional[int] = None
    mig_enabled: Optional[bool] = None
    mig_enabled_after_reset: Optional[bool] = None
    compute_mode: Optional[str] = (
        None  # default | exclusive-thread | prohibited | exclusive-process
    )
    persistence_mode: Optional[bool] = None
    ecc_enabled: Optional[bool] = None
    ecc_enabled_after_reboot: Optional[bool] = None
    ecc_uncorrected_volatile: Optional[int] = None
    ecc_uncorrected_aggregate: Optional[int] = None
    retired_pages_sbe: Optional[int] = None  # pre-Ampere page retirement
    retired_pages_dbe: Optional[int] = None
    retired_pages_pending: Optional[bool] = None
    remapped_rows_correctable: Optional[int] = None  # Ampere+ row remapping
    remapped_rows_uncorrectable: Optional[int] = None
    remap_pending: Optional[bool] = None
    remap_failed: Optional[bool] = None
    temperature_c: Optional[int] = None
    power_draw_w: Optional[float] = None
    power_limit_w: Optional[float] = None
    clock_sm_mhz: Optional[int] = None
    clock_sm_max_mhz: Optional[int] = None
    clock_mem_mhz: Optional[int] = None
    clock_mem_max_mhz: Optional[int] = None
    throttle_reasons: tuple[str, ...] = ()
    # The current link trains down at idle: compare the max values, not current vs max.
    pcie_gen_current: Optional[int] = None
    pcie_gen_max: Optional[int] = None
    pcie_width_current: Optional[int] = None
    pcie_width_max: Optional[int] = None
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class KernelModuleFacts:
    """``/proc/driver/nvidia/version``: the kernel module actually loaded."""

    status: str = "missing"  # ok | missing | failed | unknown (a report that does not say)
    detail: str = ""
    version: Optional[str] = None  # "535.104.05"
    flavor: Optional[str] = None  # open | proprietary
    arch: Optional[str] = None  # x86_64 | aarch64 | ppc64le
    gcc: Optional[str] = None


@dataclass(frozen=True)
class SmiGpu:
    index: int
    name: Optional[str] = None
    uuid: Optional[str] = None
    pci_bus_id: Optional[str] = None
    driver_version: Optional[str] = None
    memory_total_mib: Optional[int] = None
    compute_capability: Optional[str] = None


@dataclass(frozen=True)
class SmiFacts:
    status: str = "missing"  # ok | missing | failed | timed-out
    detail: str = ""  # how it ended and the line it said: "exit status 9: NVIDIA-SMI has failed because ..."
    gpus: tuple[SmiGpu, ...] = ()
    error_code: Optional[str] = None  # what its message means, in NVML's codes (probes.nvml.smi_error)


@dataclass(frozen=True)
class DriverFacts:
    status: str = "missing"  # ok | missing | failed | timed-out (of NVML)
    detail: str = ""
    error_code: Optional[str] = None  # one of ERROR_CODES when NVML failed
    version: Optional[str] = None  # user-space driver version "580.82.07"
    version_source: Optional[str] = None  # nvml | nvidia-smi | kernel-module
    cuda_max: Optional[str] = None  # the driver's highest CUDA, "12.8"
    cuda_max_raw: Optional[int] = None  # 12080
    nvml_version: Optional[str] = None
    gpu_count: Optional[int] = None
    gpus: tuple[GpuFacts, ...] = ()
    kernel_module: KernelModuleFacts = KernelModuleFacts()
    smi: Optional[SmiFacts] = None  # only run when NVML failed


# ---------------------------------------------------------------------------------------------
# CUDA toolkits (nvcc)


@dataclass(frozen=True)
class Toolkit:
    root: str  # the CUDA_HOME this toolkit is known by (first source)
    nvcc: Optional[str] = None  # path of its nvcc, None when the root has none
    nvcc_realpath: Optional[str] = None
    sources: tuple[
        str, ...
    ] = ()  # PATH, CUDA_HOME, CUDA_PATH, CUDA_PATH_V12_8, /usr/local/cuda ...
    aliases: tuple[str, ...] = ()  # other roots that lead to the same nvcc
    status: str = "missing"  # ok | missing (no nvcc under root) | failed | timed-out
    detail: str = ""
    release: Optional[str] = None
    build: Optional[str] = None
    build_tag: Optional[str] = None


@dataclass(frozen=True)
class NvccFacts:
    status: str = "missing"  # ok (at least one nvcc answered) | missing | failed | timed-out
    detail: str = ""
    toolkits: tuple[Toolkit, ...] = ()
    cpp_extension_home: Optional[str] = None  # the CUDA_HOME torch.utils.cpp_extension would use
    cpp_extension_source: Optional[str] = None  # CUDA_HOME | CUDA_PATH | PATH | default

    @property
    def selected(self) -> Optional[Toolkit]:
        """The toolkit ``cpp_extension`` would use, if it is one of those found."""
        home = self.cpp_extension_home
        if not home:
            return None
        want = _norm(home)
        for tk in self.toolkits:
            if want in (_norm(r) for r in (tk.root,) + tk.aliases):
                return tk
        return None

    @property
    def release(self) -> Optional[str]:
        tk = self.selected
        return tk.release if tk else None


def _norm(path: str) -> str:
    """A path compared as text (the probe records every root that leads to the same nvcc)."""
    return os.path.normcase(os.path.normpath(path)) if path else path


# ---------------------------------------------------------------------------------------------
# torch as installed, read without importing it


@dataclass(frozen=True)
class Dist:
    """One installed distribution."""

    name: str
    version: str
    location: Optional[str] = None  # the sys.path entry holding it
    installer: Optional[str] = None  # INSTALLER file: pip, uv, conda, ...


@dataclass(frozen=True)
class Package:
    """An installed library of the torch ecosystem (numpy, xformers, flash-attn, vllm ...), read
    from its metadata: never imported."""

    name: str
    version: str
    location: Optional[str] = None
    installer: Optional[str] = None
    # Its Requires-Dist on torch, its partners, triton, xformers and numpy that apply to this
    # interpreter (markers evaluated, extras left out): "torch==2.6.0".
    requires: tuple[str, ...] = ()
    wheel: Optional[str] = None  # the wheel file it was installed from, when pip recorded a URL


@dataclass(frozen=True)
class CudaPackage:
    """An installed CUDA wheel (``nvidia-*`` or ``cuda-*``)."""

    name: str
    version: str
    cuda_major: Optional[int] = None  # from a -cu12/-cu13 suffix, or a CUDA-versioned name
    location: Optional[str] = None


@dataclass(frozen=True)
class CudaPin:
    """One of torch's ``Requires-Dist`` lines on a CUDA wheel, checked against what is installed."""

    name: str
    specifier: str  # "==12.8.93"
    marker: Optional[str] = None
    via: Optional[str] = None  # "cuda-toolkit[cublas,...]" when pinned through the metapackage
    installed: Optional[str] = None
    satisfied: Optional[bool] = None  # None: cannot tell (unparsable version)


@dataclass(frozen=True)
class ModuleShadow:
    """``import NAME`` in a program started in the working directory takes ``shadow`` instead of
    the installed distribution at ``installed`` (None: not installed at all)."""

    name: str  # torch | torchvision | numpy
    shadow: str  # the file (or namespace folder) import would take
    via: str  # working directory | PYTHONPATH | sys.path
    installed: Optional[str] = None


@dataclass(frozen=True)
class TorchStaticFacts:
    status: str = "missing"  # ok | missing | failed | timed-out
    detail: str = ""
    interpreter: Optional[str] = None
    python_version: Optional[str] = None
    sys_platform: Optional[str] = None
    machine: Optional[str] = None
    version: Optional[str] = None  # distribution version, e.g. "2.8.0+cu128" or "2.14.1"
    local_label: Optional[str] = None  # "cu128" from the dist version, else from version.py
    variant: Optional[str] = None  # cu128 | cpu | rocm6.2 | xpu: the label, else derived
    cuda_build: Optional[str] = None  # torch.version.cuda as written in torch/version.py
    hip: Optional[str] = None
    xpu: Optional[str] = None
    git_version: Optional[str] = None
    debug: Optional[bool] = None
    version_py: Optional[str] = None  # path of torch/version.py, None when absent
    version_py_version: Optional[str] = None  # its __version__ (differs on a broken install)
    installer: Optional[str] = None
    location: Optional[str] = None
    conda_env: bool = False  # sys.prefix holds conda-meta
    conda_records: tuple[str, ...] = ()  # conda-meta records of pytorch, cudatoolkit, ...
    torchvision: Optional[Dist] = None
    torchaudio: Optional[Dist] = None
    triton: Optional[Dist] = None
    cuda_packages: tuple[CudaPackage, ...] = ()
    cuda_pins: tuple[CudaPin, ...] = ()
    triton_pin: Optional[CudaPin] = None  # torch's Requires-Dist on triton where it applies
    packages: tuple[Package, ...] = ()  # the ecosystem around torch, by name
    shadowed: tuple[Dist, ...] = ()  # same name again later on sys.path (import ignores it)
    sys_path: tuple[str, ...] = ()  # the path it read (the children's policy: no script folder)
    shadows: tuple[ModuleShadow, ...] = ()  # torch/torchvision/numpy not from their install


# ---------------------------------------------------------------------------------------------
# torch as imported, in a child process


@dataclass(frozen=True)
class TorchDevice:
    index: int
    name: str
    capability: str  # "9.0"
    total_memory_mib: Optional[int] = None


@dataclass(frozen=True)
class LoadedLibrary:
    name: str  # "libcudnn" (the family)
    path: str


@dataclass(frozen=True)
class TorchvisionCheck:
    status: str = "missing"  # ok | missing | import-failed | nms-failed | wrong-result
    version: Optional[str] = None
    detail: str = ""


@dataclass(frozen=True)
class TorchRuntimeFacts:
    status: str = "failed"  # ok | import-failed | crashed | timed-out | bad-output | failed
    detail: str = ""
    interpreter: Optional[str] = None
    python_version: Optional[str] = None
    seconds: Optional[float] = None
    stage: Optional[str] = None  # the last step the child announced
    returncode: Optional[int] = None
    signal: Optional[str] = None  # "SIGSEGV"
    import_error: Optional[str] = None  # "ImportError: libcudnn.so.9: cannot open shared ..."
    version: Optional[str] = None
    cuda_build: Optional[str] = None
    hip: Optional[str] = None
    torch_file: Optional[str] = None
    is_available: Optional[bool] = None
    available_warnings: tuple[str, ...] = ()
    import_warnings: tuple[str, ...] = ()
    device_count: Optional[int] = None
    arch_list: tuple[str, ...] = ()
    cxx11_abi: Optional[bool] = None  # torch._C._GLIBCXX_USE_CXX11_ABI
    cudnn_version: Optional[int] = None  # 91002
    nccl_version: Optional[str] = None  # "2.27.3"
    devices: tuple[TorchDevice, ...] = ()
    loaded_libraries: tuple[LoadedLibrary, ...] = ()
    torchvision: Optional[TorchvisionCheck] = None
    errors: Dict[str, str] = field(default_factory=dict)  # step -> "Type: message"
    stderr_tail: str = ""
    sys_path: tuple[str, ...] = ()  # the path the child ran with (the children's policy)
    shadows: tuple[ModuleShadow, ...] = ()  # torch/torchvision/numpy not from their install


# ---------------------------------------------------------------------------------------------
# A pasted report (``envcheck diagnose --report``): where each fact came from


@dataclass(frozen=True)
class ReportBlock:
    """One recognised block of the text (lines counted from 1)."""

    kind: str  # collect_env | nvidia-smi | nvidia-smi -q | nvcc | pip list | pip freeze | conda list | torch print
    first_line: int
    last_line: int
    note: str = ""  # "ends early (no package list)", "torch 1.x era field names"


@dataclass(frozen=True)
class ReportedError:
    """An error line that names a cause."""

    kind: str  # no-kernel-image | arch-not-compatible | no-driver | driver-too-old | ...
    line: int
    text: str  # the line as pasted (bounded)
    detail: Optional[str] = None  # what it names: "sm_120", "11040", "libcudnn.so.8", a symbol


@dataclass(frozen=True)
class ReportConflict:
    """Two blocks that state different values for one fact."""

    fact: str  # "driver.version"
    values: tuple[str, ...]  # "535.104.05 (nvidia-smi, line 3)"


@dataclass(frozen=True)
class ReportFacts:
    """What a pasted report states. A fact path not in ``stated`` is unknown: the rules never
    report a finding whose evidence rests on it."""

    source: str  # the file name, or "-" for standard input
    lines: int = 0
    blocks: tuple[ReportBlock, ...] = ()
    stated: Dict[str, str] = field(default_factory=dict)  # fact path -> "nvidia-smi, line 3"
    errors: tuple[ReportedError, ...] = ()
    conflicts: tuple[ReportConflict, ...] = ()


# ---------------------------------------------------------------------------------------------
# The snapshot


@dataclass(frozen=True)
class Facts:
    """Every probe's result, frozen. ``envcheck.facts.codec`` reads and writes its JSON form."""

    schema: str = SCHEMA
    envcheck_version: str = ""  # the envcheck that collected it (set by envcheck.probes.collect)
    collected_at: str = ""  # ISO 8601, UTC
    comment: Optional[str] = None  # free text, e.g. where a recorded snapshot came from
    quick: bool = False  # the torch child was skipped
    python: Optional[str] = None  # the interpreter inspected (--python), None: envcheck's own
    redacted: bool = False
    host: HostFacts = HostFacts()
    driver: DriverFacts = DriverFacts()
    nvcc: NvccFacts = NvccFacts()
    build_tools: tuple[BuildTool, ...] = ()  # gcc, g++, clang, cmake, ninja (a report: those it states)
    torch: TorchStaticFacts = TorchStaticFacts()
    torch_runtime: Optional[TorchRuntimeFacts] = None  # None when quick
    timings: Dict[str, float] = field(default_factory=dict)  # seconds per probe
    report: Optional[ReportFacts] = None  # set when the facts were read from a pasted report
