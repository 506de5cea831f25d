"""The machine around torch: OS, Python, WSL, containers, memory, /dev/shm, device nodes, and
the environment variables that change what CUDA and torch do.

Everything here reads files and the environment (no subprocess). The environment is a
parameter (default ``os.environ``) and every fixed path is taken under ``root`` (default ``/``),
so tests pass both in. Parsers (:func:`parse_os_release`, :func:`parse_glibc_version`,
:func:`parse_meminfo`) are pure.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from typing import Dict, List, Mapping, Optional, Tuple

from envcheck.facts.model import CPU_FLAGS, ContainerFacts, CpuFacts, DiskFacts, EnvFacts, HostFacts, LibPathEntry, OsRelease, PythonFacts, RocmFacts, WslFacts

__all__ = [
    "CUDA_LIB_PREFIXES",
    "parse_os_release",
    "parse_glibc_version",
    "parse_meminfo",
    "parse_cuda_env",
    "parse_cpuinfo",
    "probe_host",
]

CUDA_LIB_PREFIXES = ("libcudnn", "libnccl", "libnvJitLink", "libcudart", "libcublas", "libcuda.so")
_MAX_LD_ENTRIES = 64  # LD_LIBRARY_PATH entries listed, at most
_MAX_DIR_SCAN = 4096  # directory entries looked at per directory, at most
_MAX_LIBS_KEPT = 32
_CGROUP_HINTS = (
    ("kubepods", "kubernetes"),
    ("docker", "docker"),
    ("containerd", "containerd"),
    ("libpod", "podman"),
    ("lxc", "lxc"),
    ("garden", "garden"),
)


# ---------------------------------------------------------------------------------------------
# Facts


# ---------------------------------------------------------------------------------------------
# Pure parsers


def parse_os_release(text: str) -> OsRelease:
    """``/etc/os-release`` (shell-style ``KEY=value`` lines, values maybe quoted)."""
    values: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            value = re.sub(r"\\(.)", r"\1", value)
        values[key.strip()] = value
    return OsRelease(
        id=values.get("ID") or None,
        version_id=values.get("VERSION_ID") or None,
        name=values.get("NAME") or None,
        pretty_name=values.get("PRETTY_NAME") or None,
        id_like=tuple(values.get("ID_LIKE", "").split()),
        codename=values.get("VERSION_CODENAME") or None,
    )


def parse_glibc_version(text: Optional[str]) -> Optional[str]:
    """``os.confstr("CS_GNU_LIBC_VERSION")`` text ("glibc 2.36") -> "2.36"."""
    if not text:
        return None
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
    return m.group(1) if m else None


def parse_meminfo(text: str) -> Tuple[Optional[int], Optional[int]]:
    """``/proc/meminfo`` -> (total bytes, available bytes)."""
    found: Dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^(MemTotal|MemAvailable):\s+(\d+)\s*kB", line)
        if m:
            found[m.group(1)] = int(m.group(2)) * 1024
    return found.get("MemTotal"), found.get("MemAvailable")


# ---------------------------------------------------------------------------------------------
# Capture


def _path(root: str, *parts: str) -> str:
    return os.path.join(root, *parts)


def _read(path: str, limit: int = 65536) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return None


def _listdir(path: str, limit: int = _MAX_DIR_SCAN) -> Optional[List[str]]:
    names: List[str] = []
    try:
        with os.scandir(path) as it:
            for i, entry in enumerate(it):
                if i >= limit:
                    break
                names.append(entry.name)
    except OSError:
        return None
    return sorted(names)


def _lib_entry(path: str) -> LibPathEntry:
    compat = "compat" in path.replace("\\", "/").split("/")
    if not path:
        return LibPathEntry(path="", exists=False)
    names = _listdir(path)
    if names is None:
        return LibPathEntry(path=path, exists=False, compat=compat)
    libs = [n for n in names if n.startswith(CUDA_LIB_PREFIXES)][:_MAX_LIBS_KEPT]
    return LibPathEntry(path=path, exists=True, cuda_libs=tuple(libs), compat=compat)


def parse_cuda_env(environ: Mapping[str, str]) -> EnvFacts:
    """The variables that matter, with LD_LIBRARY_PATH entries listed (bounded)."""
    ld = environ.get("LD_LIBRARY_PATH")
    entries: List[str] = ld.split(os.pathsep) if ld else []
    other_names = (
        "CUDA_LAUNCH_BLOCKING",
        "CUDA_MODULE_LOADING",
        "CUDA_CACHE_PATH",
        "CUDA_MPS_PIPE_DIRECTORY",
        "LD_PRELOAD",
        "PYTHONPATH",
        "PYTHONNOUSERSITE",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "CONDA_DEFAULT_ENV",
        "NVIDIA_VISIBLE_DEVICES",
        "NVIDIA_DRIVER_CAPABILITIES",
        "HIP_VISIBLE_DEVICES",
        "ROCR_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "CUBLAS_WORKSPACE_CONFIG",
    )
    return EnvFacts(
        cuda_visible_devices=environ.get("CUDA_VISIBLE_DEVICES"),
        cuda_device_order=environ.get("CUDA_DEVICE_ORDER"),
        cuda_home=environ.get("CUDA_HOME"),
        cuda_path=environ.get("CUDA_PATH"),
        ld_library_path=tuple(_lib_entry(p) for p in entries[:_MAX_LD_ENTRIES]),
        ld_library_path_truncated=len(entries) > _MAX_LD_ENTRIES,
        pytorch={k: environ[k] for k in sorted(environ) if k.startswith("PYTORCH_")},
        nccl={k: environ[k] for k in sorted(environ) if k.startswith("NCCL_")},
        torch={k: environ[k] for k in sorted(environ) if k.startswith("TORCH_")},
        other={k: environ[k] for k in other_names if k in environ},
    )


def _os_release(root: str, system: str) -> OsRelease:
    for rel in (("etc", "os-release"), ("usr", "lib", "os-release")):
        text = _read(_path(root, *rel))
        if text is not None:
            return parse_os_release(text)
    if system == "Darwin":
        return OsRelease(id="macos", version_id=platform.mac_ver()[0] or None, name="macOS")
    if system == "Windows":
        return OsRelease(id="windows", version_id=platform.version() or None, name="Windows")
    return OsRelease()


def _python(environ: Mapping[str, str]) -> PythonFacts:
    base = getattr(sys, "base_prefix", sys.prefix)
    return PythonFacts(
        version=platform.python_version(),
        implementation=platform.python_implementation(),
        executable=sys.executable,
        prefix=sys.prefix,
        base_prefix=base,
        venv=sys.prefix != base,
        conda=os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        conda_prefix=environ.get("CONDA_PREFIX") or None,
        conda_env_name=environ.get("CONDA_DEFAULT_ENV") or None,
    )


def _wsl(root: str) -> WslFacts:
    text = _read(_path(root, "proc", "version"), 4096) or ""
    detected = "microsoft" in text.lower()
    version: Optional[int] = None
    if detected:
        version = 2 if ("WSL2" in text or "microsoft-standard" in text) else 1
    lib_dir = _path(root, "usr", "lib", "wsl", "lib")
    names = _listdir(lib_dir, 256)
    return WslFacts(
        detected=detected or names is not None,
        version=version,
        lib_dir=lib_dir if names is not None else None,
        lib_files=tuple(names or ()),
    )


def _container(root: str, environ: Mapping[str, str]) -> ContainerFacts:
    hints: List[str] = []
    kind: Optional[str] = None
    if os.path.exists(_path(root, ".dockerenv")):
        hints.append("/.dockerenv")
        kind = "docker"
    if os.path.exists(_path(root, "run", ".containerenv")):
        hints.append("/run/.containerenv")
        kind = kind or "podman"
    if environ.get("container"):
        hints.append("container={}".format(environ["container"]))
        kind = kind or environ["container"]
    if environ.get("KUBERNETES_SERVICE_HOST"):
        hints.append("KUBERNETES_SERVICE_HOST")
        kind = "kubernetes"
    for rel in (("proc", "1", "cgroup"), ("proc", "self", "cgroup")):
        text = _read(_path(root, *rel), 16384) or ""
        for needle, name in _CGROUP_HINTS:
            if needle in text:
                hints.append("cgroup:{}".format(needle))
                if kind is None or (name == "kubernetes" and kind != "kubernetes"):
                    kind = name
                break
    unique = tuple(dict.fromkeys(hints))
    return ContainerFacts(detected=bool(unique), kind=kind, hints=unique)


def _disk(path: str) -> DiskFacts:
    try:
        import psutil  # type: ignore[import-untyped]

        usage = psutil.disk_usage(path)
    except ImportError:
        import shutil

        try:
            usage = shutil.disk_usage(path)
        except OSError:
            return DiskFacts(path=path, exists=os.path.exists(path))
    except OSError:
        return DiskFacts(path=path, exists=os.path.exists(path))
    return DiskFacts(
        path=path, exists=True, total_bytes=int(usage.total), free_bytes=int(usage.free)
    )


def _memory(root: str, errors: List[str]) -> Tuple[Optional[int], Optional[int]]:
    try:
        import psutil  # type: ignore[import-untyped]

        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    except ImportError:
        text = _read(_path(root, "proc", "meminfo"))
        return parse_meminfo(text) if text else (None, None)
    except Exception as exc:  # noqa: BLE001 - psutil on an odd platform
        errors.append("memory: {}".format(exc))
        return None, None


def _glibc() -> Optional[str]:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        text = None
    if text:
        return parse_glibc_version(text)
    lib, version = platform.libc_ver()
    return version or None if lib == "glibc" else None


def _nofile() -> Tuple[Optional[int], Optional[int]]:
    try:
        import resource
    except ImportError:  # Windows
        return None, None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None, None
    inf = resource.RLIM_INFINITY

    def norm(v: int) -> int:
        return -1 if v == inf else int(v)

    return norm(soft), norm(hard)


def _rocm(root: str) -> RocmFacts:
    path = _path(root, "opt", "rocm")
    have = os.path.isdir(path)
    version = None
    if have:
        text = _read(_path(path, ".info", "version"), 256)
        version = text.strip().splitlines()[0] if text and text.strip() else None
    return RocmFacts(
        path=path if have else None, version=version, kfd=os.path.exists(_path(root, "dev", "kfd"))
    )


_CPU_KEYS = {"model name": "model", "vendor_id": "vendor", "CPU implementer": "vendor",
             "flags": "flags", "Features": "flags", "cpu model": "model", "Model": "model"}


def parse_cpuinfo(text: str) -> CpuFacts:
    """The first processor of ``/proc/cpuinfo`` (x86: model name, vendor_id, flags; ARM:
    CPU implementer, Features), keeping only the flags in :data:`CPU_FLAGS`."""
    found: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if "flags" in found:
                break  # the first processor's block is enough
            continue
        key, sep, value = line.partition(":")
        field = _CPU_KEYS.get(key.strip())
        if sep and field and field not in found:
            found[field] = value.strip()
    flags = set((found.get("flags") or "").split())
    return CpuFacts(
        model=found.get("model") or None,
        vendor=found.get("vendor") or None,
        flags=tuple(f for f in CPU_FLAGS if f in flags),
        flags_read="flags" in found,
    )


def _cpu(root: str, system: str) -> CpuFacts:
    if system == "Linux":
        text = _read(_path(root, "proc", "cpuinfo"), 16384)  # the first processor's block
        if text:
            return parse_cpuinfo(text)
    # platform.processor() runs `uname -p` (no timeout) everywhere but Windows, where it reads the
    # environment: a Linux without /proc/cpuinfo (or a macOS) leaves the model unknown instead.
    model = (platform.processor() or None) if system == "Windows" else None
    return CpuFacts(model=model)


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the current directory was deleted
        return "."


def _nvidia_pci_gpus(root: str) -> Tuple[str, ...]:
    """PCI addresses of NVIDIA GPUs from sysfs, with or without a driver: vendor 0x10de and class
    0x0300 (VGA) or 0x0302 (3D controller); not their audio or USB functions, nor NVSwitches."""
    base = _path(root, "sys", "bus", "pci", "devices")
    found = []
    for name in sorted(_listdir(base) or []):
        vendor = (_read(os.path.join(base, name, "vendor"), 64) or "").strip().lower()
        if vendor != "0x10de":
            continue
        cls = (_read(os.path.join(base, name, "class"), 64) or "").strip().lower()
        if cls.startswith(("0x0300", "0x0302")):
            found.append(name)
    return tuple(found)


def probe_host(
    environ: Optional[Mapping[str, str]] = None,
    *,
    root: str = "/",
    cwd: Optional[str] = None,
) -> HostFacts:
    """Facts about this machine. Never raises: a part that fails is noted in ``errors``."""
    env = os.environ if environ is None else environ
    errors: List[str] = []
    system = platform.system()
    kernel = platform.release()
    machine = platform.machine()
    cpu_usable: Optional[int] = None
    if hasattr(os, "sched_getaffinity"):
        try:
            cpu_usable = len(os.sched_getaffinity(0))
        except OSError:
            cpu_usable = None
    total, available = _memory(root, errors)
    dev_names = _listdir(_path(root, "dev")) or []
    nodes = tuple("/dev/" + n for n in dev_names if n.startswith("nvidia"))
    shm_path = _path(root, "dev", "shm")
    soft, hard = _nofile()
    facts = HostFacts(
        status="ok",
        system=system,
        os=_os_release(root, system),
        kernel=kernel,
        arch=machine,
        hostname=platform.node() or None,
        python=_python(env),
        wsl=_wsl(root),
        container=_container(root, env),
        cpu_count=os.cpu_count(),
        cpu_usable=cpu_usable,
        memory_total_bytes=total,
        memory_available_bytes=available,
        disk=_disk(cwd or _cwd()),
        shm=_disk(shm_path) if system != "Windows" else None,
        glibc=_glibc() if system == "Linux" else None,
        open_files_soft=soft,
        open_files_hard=hard,
        nvidia_device_nodes=nodes,
        nvidia_pci_gpus=_nvidia_pci_gpus(root) if system == "Linux" else (),
        env=parse_cuda_env(env),
        rocm=_rocm(root),
        apple_mps=system == "Darwin" and machine == "arm64",
        cpu=_cpu(root, system),
        errors=tuple(errors),
    )
    from dataclasses import replace

    osname = facts.os.pretty_name or facts.os.name or system
    detail = "{} {} on {}, Python {}".format(osname, kernel, machine, platform.python_version())
    return replace(facts, detail=detail)
