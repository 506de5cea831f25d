"""A scanned report becomes facts in envcheck's model, with where each fact came from.

:func:`to_facts` resolves each fact path from the statements of every block (the block nearest
the running torch wins: a torch print over collect_env over ``pip list``; ``nvidia-smi`` over
collect_env for the driver), records a :class:`~envcheck.facts.model.ReportConflict` where two
blocks disagree, and fills the model. What no block states stays unknown: its part of the model
has status ``unknown`` and its path is absent from ``ReportFacts.stated``, so no rule may rest a
finding on it (:func:`envcheck.rules.diagnose` enforces this).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from envcheck.facts.model import (
    CPU_FLAGS, BuildTool, CpuFacts, CudaPackage, Dist, Package, DriverFacts, Facts, GpuFacts, HostFacts, KernelModuleFacts, NvccFacts, OsRelease, ReportConflict,
    ReportFacts, SmiFacts, Toolkit, TorchDevice, TorchRuntimeFacts, TorchStaticFacts, TorchvisionCheck,
    WslFacts,
)
from envcheck.reports import parse as P
from envcheck.reports.errors import CONTAINER_KINDS

__all__ = ["to_facts", "REPORT_ROOT"]

REPORT_ROOT = "(from the report)"

# Which block settles a fact first when several state it.
_ORDER = (P.TORCH_PRINT, P.SMI, P.SMI_Q, P.SMI_L, P.NVCC, P.COLLECT_ENV, P.PIP_FREEZE, P.PIP_LIST,
          P.CONDA_LIST, P.PYTHON, P.ERROR)
_DRIVER_FAILED = ("driver.status", "driver.error_code", "driver.detail", "driver.smi.status", "driver.smi.detail")
_CUDA_LIBS = re.compile(r"^lib(cudnn|cublas|cublaslt|cudart|nccl|cusparse|cusparselt|cufft|curand|cusolver|nvrtc|"
                        r"nvjitlink|cupti|nvtoolsext|torch|c10|caffe2|shm|gomp|nvtx|cufile)", re.IGNORECASE)


def _rank(kind: str) -> int:
    return _ORDER.index(kind) if kind in _ORDER else len(_ORDER)


def _same(path: str, a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        if a.lower() == b.lower():
            return True
        if path.endswith(("version", "torchvision")) and "name" not in path:
            pa, pb = a.split("+")[0], b.split("+")[0]
            return pa == pb and ("+" not in a or "+" not in b)  # a missing label is no conflict
        if path.endswith(".name"):  # nvidia-smi's table cuts long names: "NVIDIA GeForce RTX 4090 ..."
            x, y = a.rstrip(". "), b.rstrip(". ")
            return x.lower().startswith(y.lower()) or y.lower().startswith(x.lower())
    return False


class _Resolved:
    """The chosen statement per path, the conflicts, and ``stated`` (path -> where)."""

    def __init__(self, scan: "P.Scan") -> None:
        by_path: Dict[str, List["P.Statement"]] = {}
        for st in scan.statements:
            by_path.setdefault(st.path, []).append(st)
        self.values: Dict[str, Any] = {}
        self.stated: Dict[str, str] = {}
        self.conflicts: List[ReportConflict] = []
        for path, sts in by_path.items():
            sts = sorted(sts, key=lambda s: (_rank(s.kind), s.line))
            best = sts[0]
            # a richer value (a version with its build label) from a later block is kept
            for s in sts[1:]:
                if _same(path, best.value, s.value) and isinstance(s.value, str) and "+" in s.value \
                        and "+" not in str(best.value):
                    best = s
            self.values[path] = best.value
            self.stated[path] = best.where
            distinct: List["P.Statement"] = []
            for s in sts:
                if not any(_same(path, s.value, d.value) for d in distinct):
                    distinct.append(s)
            if len(distinct) > 1:
                self.conflicts.append(ReportConflict(path, tuple(
                    "{} ({})".format(_shown(d.value), d.where) for d in distinct)))

    def get(self, path: str) -> Any:
        return self.values.get(path)

    def has(self, path: str) -> bool:
        return path in self.values

    def where(self, path: str) -> str:
        return self.stated.get(path, "derived")

    def derive(self, path: str, value: Any, where: str) -> None:
        """A value worked out from stated ones (a build label from a version), and its source."""
        if value is None or path in self.values:
            return
        self.values[path] = value
        self.stated[path] = where

    def mark(self, paths: Tuple[str, ...], where: str) -> None:
        """Facts the model fills itself (a driver status from an error line) count as stated."""
        for path in paths:
            self.stated.setdefault(path, where)


def _shown(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return str(value)


# ---------------------------------------------------------------------------------- packages

def _package_statements(scan: "P.Scan") -> None:
    """Package rows as statements about torch and its partners."""
    for p in scan.packages:
        if p.name in ("torch", "pytorch"):
            scan.statements.append(P.Statement("torch.version", p.version, p.kind, p.line))
            if p.installer:
                scan.statements.append(P.Statement("torch.installer", p.installer, p.kind, p.line))
            label = _conda_label(p.build) if p.installer == "conda" else None
            if label:
                scan.statements.append(P.Statement("torch.variant", label, p.kind, p.line))
        elif p.name in ("torchvision", "torchaudio", "triton", "pytorch-triton"):
            field = "triton" if "triton" in p.name else p.name
            scan.statements.append(P.Statement("torch." + field, p.version, p.kind, p.line))
            if p.installer:
                scan.statements.append(P.Statement("torch.{}.installer".format(field), p.installer, p.kind, p.line))


def _conda_label(build: Optional[str]) -> Optional[str]:
    """conda's build string: ``py3.10_cuda11.8_cudnn8.7.0_0`` -> cu118, ``py3.9_cpu_0`` -> cpu,
    conda-forge's ``cuda120_py311h...`` -> cu120, ``cpu_generic_py311...`` -> cpu."""
    if not build:
        return None
    m = re.search(r"cuda_?(\d+)\.?(\d)", build)
    if m:
        return "cu{}{}".format(m.group(1), m.group(2))
    if re.search(r"(?:^|_)cpu(?:_|$)", build):
        return "cpu"
    return None


# ---------------------------------------------------------------------------------- the model

def _label(version: Optional[str]) -> Optional[str]:
    if version and "+" in version:
        return version.split("+", 1)[1]
    return None


def _variant(r: _Resolved) -> Optional[str]:
    version = r.get("torch.version")
    label = _label(version)
    if label and re.fullmatch(r"cpu|cu\d{2,3}|rocm\d+(?:\.\d+){0,2}|xpu", label):
        return label
    if r.has("torch.variant"):
        return r.get("torch.variant")
    cuda = r.get("torch.cuda_build")
    hip = r.get("torch.hip")
    if hip and hip != "none":
        return "rocm" + hip
    if cuda and cuda != "none":
        m = re.match(r"^(\d+)\.(\d+)", cuda)
        return "cu{}{}".format(m.group(1), m.group(2)) if m else None
    if cuda == "none":
        return "cpu"
    return None


def _cuda_build(r: _Resolved, variant: Optional[str]) -> Optional[str]:
    cuda = r.get("torch.cuda_build")
    if cuda and cuda != "none":
        return cuda
    m = re.fullmatch(r"cu(\d+)(\d)", variant or "")
    return "{}.{}".format(m.group(1), m.group(2)) if m else None


def _torch(r: _Resolved, scan: "P.Scan", missing: bool) -> TorchStaticFacts:
    variant = _variant(r)
    if variant:
        r.derive("torch.variant", variant, r.where("torch.version" if _label(r.get("torch.version")) else "torch.cuda_build"))
    cuda = _cuda_build(r, variant)
    if cuda:
        r.derive("torch.cuda_build", cuda, r.where("torch.variant"))
    known = r.has("torch.version") or variant is not None
    if not known:
        return TorchStaticFacts(status="missing" if missing else "unknown",
                                detail="" if missing else "the report does not say")
    if r.has("torch.version"):
        r.mark(("torch.status",), r.where("torch.version"))

    def dist(name: str) -> Optional[Dist]:
        version = r.get("torch." + name)
        return Dist(name, version, None, r.get("torch.{}.installer".format(name))) if version else None

    cuda_packages = []
    for p in scan.packages:
        if p.name.startswith("nvidia-") or p.name == "cuda-toolkit":
            m = re.search(r"-cu(\d+)$", p.name)
            cuda_packages.append(CudaPackage(p.name, p.version, int(m.group(1)) if m else None))
    if cuda_packages:
        r.stated.setdefault("torch.cuda_packages", "{}, line {}".format(scan.packages[0].kind, scan.packages[0].line))
    conda = tuple(sorted({"{}-{}-{}".format(p.name, p.version, p.build or "0") for p in scan.packages
                          if p.installer == "conda" and p.kind in (P.CONDA_LIST, P.COLLECT_ENV)}))
    if conda:
        r.stated.setdefault("torch.conda_records", next(
            "{}, line {}".format(p.kind, p.line) for p in scan.packages if p.installer == "conda"))
    version = r.get("torch.version")
    return TorchStaticFacts(
        status="ok",
        detail="read from the report",
        python_version=r.get("torch.python_version"),
        sys_platform={"Linux": "linux", "Windows": "win32", "Darwin": "darwin"}.get(r.get("host.system") or ""),
        version=version,
        local_label=_label(version),
        variant=variant,
        cuda_build=cuda,
        hip=r.get("torch.hip") if r.get("torch.hip") != "none" else None,
        installer=r.get("torch.installer"),
        conda_env=bool(conda),
        conda_records=conda,
        torchvision=dist("torchvision"),
        torchaudio=dist("torchaudio"),
        triton=dist("triton"),
        cuda_packages=tuple(cuda_packages),
        packages=_ecosystem_packages(r, scan),
    )


def _ecosystem_packages(r: "_Resolved", scan: "P.Scan") -> Tuple[Package, ...]:
    """The libraries around torch that the report lists (their requirements are not in a report:
    the rules take them from the index's recorded metadata)."""
    seen: Dict[str, Package] = {}
    for p in scan.packages:
        if P.ecosystem(p.name) and p.name not in seen:
            seen[p.name] = Package(p.name, p.version, None, p.installer, (), p.wheel)
            r.stated.setdefault("torch.packages", "{}, line {}".format(p.kind, p.line))
    return tuple(seen[n] for n in sorted(seen))


def _build_tools(r: "_Resolved") -> Tuple[BuildTool, ...]:
    out = []
    for name in ("gcc", "clang", "cmake"):
        version = r.get("build_tools." + name)
        if version:
            out.append(BuildTool(name=name, status="ok", version=version, detail="from the report"))
    return tuple(out)


def _cpu(r: "_Resolved") -> CpuFacts:
    flags = r.get("host.cpu.flags")
    have = set(str(flags).split()) if flags else set()
    return CpuFacts(model=r.get("host.cpu.model"), vendor=r.get("host.cpu.vendor"),
                    flags=tuple(f for f in CPU_FLAGS if f in have), flags_read=bool(flags))


def _gpus(r: _Resolved, table: Any) -> Tuple[GpuFacts, ...]:
    indices = sorted({int(m.group(1)) for p in r.values for m in [re.match(r"^driver\.gpus\[(\d+)\]\.", p)] if m})
    gpus = []
    for i in indices:
        name = r.get("driver.gpus[{}].name".format(i))
        cc = _cc(table, name)
        if cc:
            r.mark(("driver.gpus[{}].compute_capability".format(i),), r.where("driver.gpus[{}].name".format(i)))
        gpus.append(GpuFacts(
            index=i,
            source="nvidia-smi",
            name=name,
            uuid=r.get("driver.gpus[{}].uuid".format(i)),
            pci_bus_id=r.get("driver.gpus[{}].pci_bus_id".format(i)),
            compute_capability=cc,
            memory_total_mib=r.get("driver.gpus[{}].memory_total_mib".format(i)),
            memory_used_mib=r.get("driver.gpus[{}].memory_used_mib".format(i)),
        ))
    return tuple(gpus)


def _cc(table: Any, name: Optional[str]) -> Optional[str]:
    """The compute capability of a GPU named in the report; a name that nvidia-smi's table cut
    short ("NVIDIA GeForce RTX 4090 ...") counts when every row it could be agrees."""
    if not name or table is None:
        return None
    from envcheck.matrix import gpus as G

    hit = G.match(table, name)
    if hit.row is not None:
        return hit.row.cc
    if not name.rstrip().endswith("..."):
        return None
    stem = G.normalize_name(name.rstrip(". "))
    ccs = {row.cc for row in table.rows for pat in row.nvml if G.normalize_name(pat).startswith(stem)}
    return ccs.pop() if len(ccs) == 1 else None


def _driver(r: _Resolved, scan: "P.Scan", table: Any) -> DriverFacts:
    kinds = {e.kind for e in scan.errors}
    gpus = _gpus(r, table)
    if gpus:
        r.stated["driver.gpu_count"] = r.stated["driver.gpus[{}].name".format(gpus[0].index)] \
            if "driver.gpus[{}].name".format(gpus[0].index) in r.stated else "report"
    cuda_max = r.get("driver.cuda_max")
    too_old = next((e for e in scan.errors if e.kind == "driver-too-old" and e.detail), None)
    if cuda_max is None and too_old is not None:
        raw = int(too_old.detail)
        cuda_max = "{}.{}".format(raw // 1000, (raw % 1000) // 10)
        r.derive("driver.cuda_max", cuda_max, "{}, line {}".format(P.ERROR, too_old.line))
    where_error = {e.kind: "{}, line {}".format(P.ERROR, e.line) for e in scan.errors}
    module = KernelModuleFacts(status="unknown", detail="the report does not say")
    in_container = bool(kinds & {"docker-run-without-gpus", *CONTAINER_KINDS})
    if in_container and not gpus and not r.has("driver.version"):
        # nvidia-smi or torch ran in a container started without GPUs (or whose toolkit failed):
        # what they say is about the container, not the host's driver.
        return DriverFacts(status="unknown", detail="inside a container without GPUs: the host's driver is not in the report",
                           cuda_max=cuda_max, kernel_module=module)
    if r.has("driver.kernel_module.version"):
        r.mark(("driver.kernel_module.status",), r.where("driver.kernel_module.version"))
        module = KernelModuleFacts(status="ok", detail="read from the report",
                                   version=r.get("driver.kernel_module.version"))
    if "nvml-mismatch" in kinds:
        library = next((e.text for e in scan.errors if e.kind == "nvml-mismatch"), "")
        if r.has("driver.nvml_library_version"):
            library += "; NVML library version: {}".format(r.get("driver.nvml_library_version"))
        r.mark(_DRIVER_FAILED, where_error["nvml-mismatch"])
        return DriverFacts(status="failed", error_code="driver-library-mismatch", detail=library,
                           version=r.get("driver.version"), cuda_max=cuda_max, gpus=gpus,
                           kernel_module=module, smi=SmiFacts(status="failed", detail=library))
    if "smi-no-driver" in kinds and not gpus:
        r.mark(_DRIVER_FAILED, where_error["smi-no-driver"])
        return DriverFacts(status="failed", error_code="driver-not-loaded",
                           detail="nvidia-smi could not communicate with the NVIDIA driver", kernel_module=module,
                           smi=SmiFacts(status="failed", detail="couldn't communicate with the NVIDIA driver"))
    if r.has("driver.version") or gpus:
        r.mark(("driver.status",), r.where("driver.version" if r.has("driver.version") else "driver.gpu_count"))
        source = r.stated.get("driver.version", "")
        return DriverFacts(status="ok", version=r.get("driver.version"),
                           version_source="nvidia-smi" if "nvidia-smi" in source or "collect_env" in source else None,
                           cuda_max=cuda_max, gpu_count=len(gpus), gpus=gpus, kernel_module=module,
                           detail="read from the report")
    if "no-driver" in kinds or any(e.kind == "library-missing" and (e.detail or "").startswith("libcuda.so")
                                   for e in scan.errors):
        where = next(w for k, w in where_error.items() if k in ("no-driver", "library-missing"))
        r.mark(("driver.status", "driver.error_code", "driver.kernel_module.status"), where)
        return DriverFacts(status="missing", detail="torch found no NVIDIA driver", cuda_max=cuda_max)
    return DriverFacts(status="unknown", detail="the report does not say", cuda_max=cuda_max)


def _nvcc(r: _Resolved) -> NvccFacts:
    release = r.get("nvcc.release")
    if not release:
        return NvccFacts(status="unknown", detail="the report does not say")
    r.mark(("nvcc.status", "nvcc.root", "nvcc.cpp_extension_home", "nvcc.cpp_extension_source"), r.where("nvcc.release"))
    tk = Toolkit(root=REPORT_ROOT, nvcc="nvcc", status="ok", release=release, build=r.get("nvcc.build"),
                 sources=("report",))
    return NvccFacts(status="ok", toolkits=(tk,), cpp_extension_home=REPORT_ROOT, cpp_extension_source="report")


def _host(r: _Resolved) -> HostFacts:
    system = r.get("host.system")
    pretty = r.get("host.os")
    wsl = bool(r.get("host.wsl"))
    if pretty and "microsoft" in str(pretty).lower() and system == "Linux":
        wsl = True
    return HostFacts(
        status="unknown",
        detail="read from the report",
        system=system,
        os=OsRelease(pretty_name=pretty),
        arch=r.get("host.arch"),
        glibc=r.get("host.glibc"),
        wsl=WslFacts(detected=True, version=2) if wsl else WslFacts(),
        cpu=_cpu(r),
    )


def _runtime(r: _Resolved, scan: "P.Scan", torch: TorchStaticFacts) -> Optional[TorchRuntimeFacts]:
    kinds = {e.kind for e in scan.errors}
    import_error = None
    for e in scan.errors:
        lib = (e.detail or "")
        if e.kind == "library-missing" and _CUDA_LIBS.match(lib) and not lib.startswith("libcuda.so"):
            import_error = e
            break
        if e.kind == "undefined-symbol" and re.search(r"torch/lib/|libtorch|libc10|torch\\lib\\", e.text) \
                and "torchvision" not in e.text:
            import_error = e
            break
    where = {e.kind: "{}, line {}".format(P.ERROR, e.line) for e in scan.errors}
    if import_error is not None:
        r.mark(("torch_runtime.status", "torch_runtime.import_error", "torch_runtime.interpreter"),
               where[import_error.kind])
        return TorchRuntimeFacts(status="import-failed", detail=import_error.text[:200],
                                 import_error=import_error.text, version=torch.version)
    runtime_paths = [p for p in r.values if p.startswith("torch_runtime.")]
    vision = None
    for kind in ("torchvision-nms", "torchvision-cuda-major"):
        if kind in kinds:
            text = next(e.text for e in scan.errors if e.kind == kind)
            vision = TorchvisionCheck(status="import-failed", version=torch.torchvision.version
                                      if torch.torchvision else None, detail=text)
            r.mark(("torch_runtime.torchvision.status", "torch_runtime.torchvision.detail"), where[kind])
    if not runtime_paths and vision is None and not kinds & {"no-driver", "not-compiled-with-cuda"}:
        return None
    warned = ("no-driver", "cuda-init-unknown", "no-cuda-gpus", "arch-not-compatible")
    warnings = tuple(e.text for e in scan.errors if e.kind in warned)
    available = r.get("torch_runtime.is_available")
    if available is None and kinds & {"no-driver", "not-compiled-with-cuda", "no-cuda-gpus"}:
        available = False
        r.mark(("torch_runtime.is_available",), next(
            w for k, w in where.items() if k in ("no-driver", "not-compiled-with-cuda", "no-cuda-gpus")))
    if warnings:
        r.mark(("torch_runtime.available_warnings",), next(where[k] for k in warned if k in where))
    devices = []
    name = r.get("torch_runtime.devices[0].name")
    cap = r.get("torch_runtime.devices[0].capability")
    if name or cap:
        devices.append(TorchDevice(0, name or "", cap or ""))
    r.mark(("torch_runtime.status",), "implied by the torch output in the report")
    if torch.version:
        r.mark(("torch_runtime.version",), r.where("torch.version"))
    return TorchRuntimeFacts(
        status="ok",
        detail="from the report",
        version=torch.version,
        cuda_build=torch.cuda_build,
        hip=torch.hip,
        is_available=available,
        available_warnings=warnings,
        device_count=r.get("torch_runtime.device_count"),
        arch_list=tuple(r.get("torch_runtime.arch_list") or ()),
        cudnn_version=r.get("torch_runtime.cudnn_version"),
        devices=tuple(devices),
        torchvision=vision,
    )


def to_facts(scan: "P.Scan", source: str, *, gpu_table: Any = None, collected_at: str = "") -> Facts:
    """The facts the scanned report states (see the module docstring)."""
    _package_statements(scan)
    r = _Resolved(scan)
    missing = any(e.kind == "no-module-torch" for e in scan.errors)
    torch = _torch(r, scan, missing)
    if missing and torch.status == "missing":
        r.mark(("torch.status",), next("{}, line {}".format(P.ERROR, e.line)
                                                   for e in scan.errors if e.kind == "no-module-torch"))
    driver = _driver(r, scan, gpu_table)
    nvcc = _nvcc(r)
    host = _host(r)
    runtime = _runtime(r, scan, torch)
    report = ReportFacts(
        source=source,
        lines=scan.lines,
        blocks=scan.blocks(),
        stated=dict(sorted(r.stated.items())),
        errors=tuple(scan.errors),
        conflicts=tuple(r.conflicts),
    )
    return Facts(
        collected_at=collected_at,
        comment="read from a pasted report: {}".format(source),
        quick=False,
        host=host,
        driver=driver,
        nvcc=nvcc,
        build_tools=_build_tools(r),
        torch=torch,
        torch_runtime=runtime,
        report=report,
    )
