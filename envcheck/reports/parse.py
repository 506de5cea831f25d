"""Read a pasted report line by line: which blocks it holds and what each states.

:func:`scan` turns free text (a GitHub issue body, a forum post) into a :class:`Scan`: the
recognised blocks, one :class:`Statement` per fact a block states (a fact path such as
``driver.version``, the value, and the line it came from), the package rows of ``pip list`` /
``pip freeze`` / ``conda list`` / collect_env's package list, and the error lines of
:mod:`envcheck.reports.errors`. It recognises anywhere in the text, in any order:

* ``python -m torch.utils.collect_env`` of every era (torch 1.0's "Is CUDA available: Yes" and
  ``[pip] torch (1.0.0)`` rows to 2.x's ``[pip3] torch==2.8.0`` rows);
* ``nvidia-smi``'s table (the pre-530 and the current layout, Linux and Windows), ``nvidia-smi
  -q`` and ``nvidia-smi -L``; ``nvcc -V``; ``python --version``;
* ``pip list``, ``pip freeze`` (``==`` and ``@ URL`` forms) and ``conda list`` rows of the
  packages envcheck reasons about (torch, its partners, triton, CUDA wheels, conda's CUDA
  packages);
* prints of ``torch.__version__``, ``torch.version.cuda``, ``torch.cuda.is_available()`` and
  their kin, in a REPL (``>>>``), after ``print(...)`` or written ``name: value``.

It only reads: nothing in the text is run, imported or fetched. Lines are cut to
:data:`MAX_LINE` characters before any pattern sees them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from envcheck.facts.model import ReportBlock, ReportedError
from envcheck.reports.errors import PATTERNS

__all__ = ["Statement", "Package", "Scan", "scan", "clean_lines", "MAX_LINE"]

MAX_LINE = 2000

COLLECT_ENV = "collect_env"
SMI = "nvidia-smi"
SMI_Q = "nvidia-smi -q"
SMI_L = "nvidia-smi -L"
NVCC = "nvcc -V"
PIP_LIST = "pip list"
PIP_FREEZE = "pip freeze"
CONDA_LIST = "conda list"
TORCH_PRINT = "torch print"
PYTHON = "python --version"
ERROR = "error line"
PROC = "/proc/driver/nvidia/version"
WSL_TEXT = "WSL mention"
TYPED = "versions typed in the text"


@dataclass(frozen=True)
class Statement:
    path: str  # "driver.version"
    value: Any
    kind: str  # the block kind that states it
    line: int  # 1-based

    @property
    def where(self) -> str:
        return "{}, line {}".format(self.kind, self.line)


@dataclass(frozen=True)
class Package:
    name: str  # canonical: "torch", "nvidia-cudnn-cu12", "pytorch"
    version: str
    kind: str  # pip list | pip freeze | conda list | collect_env
    line: int
    installer: Optional[str] = None  # pip | conda (conda list: by channel)
    build: Optional[str] = None  # conda's build string
    channel: Optional[str] = None
    wheel: Optional[str] = None  # the wheel file of a `name @ URL` line


@dataclass
class Scan:
    lines: int = 0
    statements: List[Statement] = field(default_factory=list)
    packages: List[Package] = field(default_factory=list)
    errors: List[ReportedError] = field(default_factory=list)
    spans: Dict[str, List[int]] = field(default_factory=dict)  # block kind -> line numbers
    notes: Dict[str, str] = field(default_factory=dict)

    def state(self, path: str, value: Any, kind: str, line: int) -> None:
        if value is None or value == "":
            return
        self.statements.append(Statement(path, value, kind, line))
        self.spans.setdefault(kind, []).append(line)

    def blocks(self) -> Tuple[ReportBlock, ...]:
        """One block per kind and run of nearby lines (a gap of over 40 lines starts another)."""
        out = []
        for kind, lines in self.spans.items():
            lines = sorted(set(lines))
            start = prev = lines[0]
            for n in lines[1:] + [None]:
                if n is None or n - prev > 40:
                    out.append(ReportBlock(kind, start, prev, self.notes.get(kind, "")))
                    if n is not None:
                        start = n
                if n is not None:
                    prev = n
        return tuple(sorted(out, key=lambda b: (b.first_line, b.kind)))


# ------------------------------------------------------------------------------ the lines

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_QUOTE = re.compile(r"^(?:\s*>(?!>>))+ ?")  # Markdown quoting, not a ">>>" prompt
# A log line's prefix: journald/syslog ("Oct 04 13:19:39 host unit[394]: "), or an ISO timestamp
# (docker logs, kubectl logs, Python logging).
_LOG_PREFIX = re.compile(
    r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S{1,64} [\w.@/-]{1,64}(?:\[\d{1,10}\])?: "
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)? )")


def clean_lines(text: str) -> List[str]:
    """The text's lines: CR/LF unified, colour codes, Markdown quoting and log prefixes (journald,
    timestamps) removed, code fences blanked, each cut to MAX_LINE characters."""
    out = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw[:MAX_LINE]
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        line = _LOG_PREFIX.sub("", _QUOTE.sub("", line)).rstrip()
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            rest = stripped[3:].strip()
            line = rest if " " in rest else ""  # "```NVIDIA GeForce ..." keeps its text; "```bash" is a fence
        out.append(line.replace("`", "").replace("\t", "    ").replace("\uff1a", ": "))
    return out


# ----------------------------------------------------------------------------- collect_env

_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _/().-]{1,48}?)\s*:\s?(.*)$")
_UNSTATED = ("", "n/a", "could not collect", "no cuda", "none", "not available", "unknown")
_COLLECT_KEYS = {
    "pytorch version", "is debug build", "cuda used to build pytorch", "rocm used to build pytorch",
    "os", "gcc version", "clang version", "cmake version", "libc version", "python version",
    "python platform", "is cuda available", "cuda runtime version", "cuda_module_loading set to",
    "gpu models and configuration", "nvidia driver version", "cudnn version", "hip runtime version",
    "miopen runtime version", "is xnnpack available", "versions of relevant libraries",
    "is xpu available", "xpu used to build pytorch", "caching allocator config",
    "model name", "flags", "vendor id",  # the lscpu block of collect_env's "CPU:" section
}
_CPU_PATHS = {"model name": "host.cpu.model", "vendor id": "host.cpu.vendor", "flags": "host.cpu.flags"}
_GPU_LINE = re.compile(r"^\s*GPU (\d{1,3}): (.+?)\s*(?:\(UUID: (GPU-[0-9a-fA-F-]+)\))?\s*$")
_LIB_ROW = re.compile(r"^\s*\[(pip\d?|conda)\]\s+(.+)$")
_VERSION = re.compile(r"^\d+(?:\.\d+)+(?:[a-z]+\d*)?(?:\.post\d+|\.dev\d+)?(?:\+[\w.]+)?$")


def _truthy(value: str) -> Optional[bool]:
    low = value.strip().lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    return None


def _collect_env(s: Scan, n: int, key: str, value: str) -> None:
    k = key.lower()
    v = value.strip()
    low = v.lower()
    s.spans.setdefault(COLLECT_ENV, []).append(n)
    if k == "pytorch version":
        if _VERSION.match(v):
            s.state("torch.version", v, COLLECT_ENV, n)
    elif k == "cuda used to build pytorch":
        # collect_env prints torch.version.cuda, "Could not collect" (older: "None") when it is None:
        # a CPU build (or ROCm, which its own line says); "N/A" when torch did not import.
        if low in ("none", "n/a", "could not collect"):
            s.state("torch.cuda_build", "none", COLLECT_ENV, n)
        elif re.match(r"^\d+\.\d+", v):
            s.state("torch.cuda_build", ".".join(v.split(".")[:2]), COLLECT_ENV, n)
    elif k == "rocm used to build pytorch":
        m = re.match(r"^(\d+\.\d+)", v)
        if m:
            s.state("torch.hip", m.group(1), COLLECT_ENV, n)
    elif k == "os":
        if low not in _UNSTATED:
            s.state("host.os", v, COLLECT_ENV, n)
    elif k in ("gcc version", "clang version", "cmake version"):
        if low not in _UNSTATED and low != "could not collect":
            from envcheck.probes.tools import parse_tool_version

            version = parse_tool_version(v)[0]
            if version:
                s.state("build_tools.{}".format(k.split()[0]), version, COLLECT_ENV, n)
    elif k in _CPU_PATHS:
        s.state(_CPU_PATHS[k], v, COLLECT_ENV, n)  # an empty value states nothing
    elif k == "libc version":
        m = re.match(r"^glibc-(\d+\.\d+)", v)
        if m:
            s.state("host.glibc", m.group(1), COLLECT_ENV, n)
    elif k == "python version":
        m = re.match(r"^(\d+\.\d+(?:\.\d+)?)", v)
        if m:
            s.state("torch.python_version", m.group(1), COLLECT_ENV, n)
        if "32-bit" in v:
            s.state("host.python_bits", 32, COLLECT_ENV, n)
    elif k == "python platform":
        _platform(s, v, COLLECT_ENV, n)
    elif k == "is cuda available":
        b = _truthy(v)
        if b is not None:
            s.state("torch_runtime.is_available", b, COLLECT_ENV, n)
    elif k == "cuda runtime version":
        m = re.match(r"^(\d+\.\d+)(?:\.(\d+))?", v)
        if m:
            s.state("nvcc.release", m.group(1), COLLECT_ENV, n)
    elif k == "nvidia driver version":
        m = re.match(r"^(\d+\.\d+(?:\.\d+)?)$", v)
        if m:
            s.state("driver.version", m.group(1), COLLECT_ENV, n)
    elif k == "gpu models and configuration":
        g = _GPU_LINE.match(v)
        if g:
            _gpu_name(s, int(g.group(1)), g.group(2), g.group(3), COLLECT_ENV, n)


def _platform(s: Scan, v: str, kind: str, n: int) -> None:
    """``Linux-5.15.0-1049-aws-x86_64-with-glibc2.35``, ``Windows-10-10.0.22631-SP0``,
    ``macOS-14.4-arm64-arm-64bit``."""
    low = v.lower()
    if low.startswith("linux-"):
        s.state("host.system", "Linux", kind, n)
        if "microsoft" in low or "wsl" in low:
            s.state("host.wsl", True, kind, n)
        m = re.search(r"-(x86_64|aarch64|ppc64le|s390x)-", low)
        if m:
            s.state("host.arch", m.group(1), kind, n)
    elif low.startswith("windows-"):
        s.state("host.system", "Windows", kind, n)
    elif low.startswith(("macos-", "darwin-")):
        s.state("host.system", "Darwin", kind, n)
        if "arm64" in low:
            s.state("host.arch", "arm64", kind, n)


def _os_line(value: str) -> Optional[str]:
    low = value.lower()
    if "windows" in low:
        return "Windows"
    if low.startswith(("macos", "mac os", "mac osx", "darwin")):
        return "Darwin"
    if any(w in low for w in ("ubuntu", "debian", "linux", "centos", "red hat", "rhel", "fedora", "rocky",
                              "alma", "suse", "arch", "amazon", "mint", "manjaro", "pop!_os")):
        return "Linux"
    return None


def _gpu_name(s: Scan, index: int, name: str, uuid: Optional[str], kind: str, n: int) -> None:
    name = name.strip()
    if not name or name.lower() in _UNSTATED:
        return
    s.state("driver.gpus[{}].name".format(index), name, kind, n)
    if uuid:
        s.state("driver.gpus[{}].uuid".format(index), uuid, kind, n)


# ------------------------------------------------------------------------------ nvidia-smi

_SMI_HEAD = re.compile(
    r"NVIDIA-SMI\s+(\S+)\s+Driver Version:\s*(\d+\.\d+(?:\.\d+)?)\s+CUDA Version:\s*(\d+\.\d+|N/A)",
    re.IGNORECASE,
)
_SMI_ROW = re.compile(
    r"^\|\s+(\d{1,3})\s+(\S.*?)\s+(On|Off|WDDM|TCC)\s+\|\s+([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d)\s"
)
_SMI_MEM = re.compile(r"\|\s*(\d+)\s*MiB\s*/\s*(\d+)\s*MiB\s*\|")
_Q_FIELD = re.compile(r"^(\s*)(Driver Version|CUDA Version|Product Name|GPU UUID|Attached GPUs|Total)\s*:\s*(.+?)\s*$")
_Q_GPU = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d)\s*$")


class _SmiState:
    def __init__(self) -> None:
        self.table_gpu: Optional[Tuple[int, int]] = None  # (index, line) of the last table row
        self.q_index = -1
        self.q_section = ""


def _smi(s: Scan, st: _SmiState, n: int, line: str) -> bool:
    head = _SMI_HEAD.search(line)
    if head:
        s.state("driver.version", head.group(2), SMI, n)
        if head.group(3).upper() != "N/A":
            s.state("driver.cuda_max", head.group(3), SMI, n)
        st.table_gpu = None
        return True
    row = _SMI_ROW.match(line)
    if row:
        index = int(row.group(1))
        name = row.group(2).strip()
        s.state("driver.gpus[{}].name".format(index), name, SMI, n)
        s.state("driver.gpus[{}].pci_bus_id".format(index), row.group(4), SMI, n)
        st.table_gpu = (index, n)
        return True
    if st.table_gpu is not None and n - st.table_gpu[1] <= 2:
        mem = _SMI_MEM.search(line)
        if mem:
            index = st.table_gpu[0]
            s.state("driver.gpus[{}].memory_used_mib".format(index), int(mem.group(1)), SMI, n)
            s.state("driver.gpus[{}].memory_total_mib".format(index), int(mem.group(2)), SMI, n)
            st.table_gpu = None
            return True
    if line.strip().startswith("==============NVSMI LOG"):
        s.spans.setdefault(SMI_Q, []).append(n)
        st.q_index = -1
        return True
    gq = _Q_GPU.match(line)
    if gq and SMI_Q in s.spans:
        st.q_index += 1
        s.state("driver.gpus[{}].pci_bus_id".format(st.q_index), gq.group(1), SMI_Q, n)
        return True
    q = _Q_FIELD.match(line)
    if q and SMI_Q in s.spans and n - max(s.spans[SMI_Q]) <= 60:
        name, value = q.group(2), q.group(3)
        if name == "Driver Version" and re.match(r"^\d+\.\d+", value):
            s.state("driver.version", value, SMI_Q, n)
        elif name == "CUDA Version" and re.match(r"^\d+\.\d+$", value):
            s.state("driver.cuda_max", value, SMI_Q, n)
        elif name == "Product Name" and st.q_index >= 0:
            s.state("driver.gpus[{}].name".format(st.q_index), value, SMI_Q, n)
        elif name == "GPU UUID" and st.q_index >= 0:
            s.state("driver.gpus[{}].uuid".format(st.q_index), value, SMI_Q, n)
        elif name == "Total" and st.q_index >= 0 and st.q_section == "FB Memory Usage":
            m = re.match(r"^(\d+)\s*MiB", value)
            if m:
                s.state("driver.gpus[{}].memory_total_mib".format(st.q_index), int(m.group(1)), SMI_Q, n)
        else:
            s.spans[SMI_Q].append(n)
        return True
    if SMI_Q in s.spans and re.match(r"^\s{4}\S.*\S$", line) and ":" not in line:
        st.q_section = line.strip()
    return False


# ------------------------------------------------------------------------------ packages

_PKG_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}"
_BULLET = r"^\s*(?:[-*\u2022]\s+)?"
_FREEZE = re.compile(_BULLET + r"(" + _PKG_NAME + r")\s*==\s*(\S+)\s*$")
_FREEZE_URL = re.compile(r"^\s*(" + _PKG_NAME + r")\s*@\s*(\S+)\s*$")
_OLD_PIP = re.compile(r"^\s*(" + _PKG_NAME + r")\s+\((\S+?)\)\s*$")  # pip list (legacy), torch 1.0's [pip]
_COLUMNS = re.compile(r"^\s*(" + _PKG_NAME + r")\s+(\d\S*)(?:\s+(\S+))?(?:\s+(\S+))?\s*$")
_TYPED = re.compile(r"^\s*[-*\u2022]?\s*(" + _PKG_NAME + r")\s*(?::|==)?\s+v?(\d\S*)\s*$")
_WHEEL_VERSION = re.compile(r"/(?:torch|torchvision|torchaudio)-([^-/]+)-cp", re.IGNORECASE)
_KEEP = re.compile(
    r"^(torch|torchvision|torchaudio|triton|pytorch-triton(?:-rocm)?|pytorch|pytorch-cuda|pytorch-gpu|pytorch-cpu|"
    r"libtorch|cpuonly|cudatoolkit|cuda-version|cuda-runtime|cuda-toolkit|cudnn|nccl|numpy|"
    r"nvidia-[a-z0-9-]+)$"
)


def ecosystem(name: str) -> bool:
    from envcheck.probes.torch_static import ECOSYSTEM

    return name in ECOSYSTEM or (name.startswith("torch") and name != "torch")
_NOT_CUDA = ("nvidia-ml-py", "nvidia-ml-py3", "nvidia-pyindex")


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package(s: Scan, n: int, line: str, kind: Optional[str]) -> bool:
    """A package row; ``kind`` is set for collect_env's ``[pip3]``/``[conda]`` rows."""
    src = COLLECT_ENV if kind else None
    m = _FREEZE.match(line)
    if m:
        return _keep(s, Package(canon(m.group(1)), m.group(2), src or PIP_FREEZE, n, "pip"))
    m = _FREEZE_URL.match(line)
    if m:
        url = m.group(2).replace("%2B", "+").replace("%2b", "+")
        w = _WHEEL_VERSION.search(url)
        if w:
            return _keep(s, Package(canon(m.group(1)), w.group(1), src or PIP_FREEZE, n, "pip"))
        wheel = url.split("?", 1)[0].rsplit("/", 1)[-1]
        parts = wheel.split("-")
        if wheel.endswith(".whl") and len(parts) >= 5 and _VERSION.match(parts[1]):
            return _keep(s, Package(canon(m.group(1)), parts[1], src or PIP_FREEZE, n, "pip", wheel=wheel))
        return False
    m = _OLD_PIP.match(line)
    if m:
        return _keep(s, Package(canon(m.group(1)), m.group(2), src or PIP_LIST, n, "pip"))
    m = _COLUMNS.match(line)
    if not m or not _VERSION.match(m.group(2)):
        typed = _TYPED.match(line) if kind is None else None
        if typed and _VERSION.match(typed.group(2)):  # "- torch    2.1.2", "PyTorch: 2.3.1+cu121"
            return _keep(s, Package(canon(typed.group(1)), typed.group(2), TYPED, n, None))
        return False
    name, version, third, fourth = canon(m.group(1)), m.group(2), m.group(3), m.group(4)
    conda = kind == "[conda]" or (third is not None and (fourth is not None or "_" in third or third.startswith(("py", "h"))))
    if conda:
        channel = fourth or ("pypi" if third == "pypi_0" else None)
        installer = "pip" if channel == "pypi" or (third or "").startswith("pypi") else "conda"
        return _keep(s, Package(name, version, src or CONDA_LIST, n, installer, third, channel))
    if third is not None and not third.startswith(("/", "\\", "~")) and ":" not in third:
        return False  # not a pip list row (its third column is an editable project's path)
    return _keep(s, Package(name, version, src or PIP_LIST, n, "pip"))


def _keep(s: Scan, p: Package) -> bool:
    if (not _KEEP.match(p.name) and not ecosystem(p.name)) or p.name in _NOT_CUDA:
        return False
    s.packages.append(p)
    s.spans.setdefault(p.kind, []).append(p.line)
    return True


# ------------------------------------------------------------------------------ torch prints

_EXPRS = (
    ("torch.__version__", "torch.version"),
    ("torch.version.cuda", "torch.cuda_build"),
    ("torch.version.hip", "torch.hip"),
    ("torch.cuda.is_available()", "torch_runtime.is_available"),
    ("torch.cuda.device_count()", "torch_runtime.device_count"),
    ("torch.backends.cudnn.version()", "torch_runtime.cudnn_version"),
    ("torch.cuda.get_arch_list()", "torch_runtime.arch_list"),
    ("torchvision.__version__", "torch.torchvision"),
)
_EXPR_ANY = re.compile(r"torch(?:vision)?\.(?:__version__|version\.(?:cuda|hip)|cuda\.(?:is_available|device_count|"
                       r"get_arch_list|get_device_name|get_device_capability)\([^)]{0,20}\)|backends\.cudnn\.version\(\))")
_INLINE = re.compile(r"^\s*(?P<expr>torch(?:vision)?\.[\w.]+(?:\([^)]{0,20}\))?)\s*(?:=|:|->)\s*(?P<value>\S.*?)\s*$")


def _norm_expr(expr: str) -> str:
    return re.sub(r"\(\s*\d*\s*\)$", "()", expr.replace(" ", ""))


def _print_value(s: Scan, expr: str, value: str, n: int) -> bool:
    expr = _norm_expr(expr)
    v = value.strip().strip("'\"")
    if not v:
        return False
    if expr.startswith("torch.cuda.get_device_name"):
        s.state("torch_runtime.devices[0].name", v, TORCH_PRINT, n)
        return True
    if expr.startswith("torch.cuda.get_device_capability"):
        m = re.match(r"^\(?\s*(\d+)\s*,\s*(\d+)\s*\)?$", v)
        if m:
            s.state("torch_runtime.devices[0].capability", "{}.{}".format(m.group(1), m.group(2)), TORCH_PRINT, n)
            return True
        return False
    for text, path in _EXPRS:
        if expr != text:
            continue
        if path.endswith("is_available"):
            b = _truthy(v)
            if b is None:
                return False
            s.state(path, b, TORCH_PRINT, n)
        elif path.endswith(("version", "torchvision")) and not path.endswith("cudnn_version"):
            if not _VERSION.match(v):
                return False
            s.state(path, v, TORCH_PRINT, n)
        elif path.endswith(("cuda_build", "hip")):
            if v.lower() == "none":
                s.state(path, "none", TORCH_PRINT, n)
            elif re.match(r"^\d+\.\d+", v):
                s.state(path, ".".join(v.split(".")[:2]), TORCH_PRINT, n)
            else:
                return False
        elif path.endswith(("device_count", "cudnn_version")):
            if not v.isdigit():
                return False
            s.state(path, int(v), TORCH_PRINT, n)
        elif path.endswith("arch_list"):
            archs = re.findall(r"(?:sm|compute)_\d+[af]?", v)
            if not archs and v not in ("[]",):
                return False
            s.state(path, tuple(archs), TORCH_PRINT, n)
        return True
    return False


def _torch_print(s: Scan, lines: List[str], i: int) -> bool:
    """A line that evaluates or prints torch expressions; its value is on the same line
    (``name: value``) or on the next non-empty line."""
    line = lines[i]
    n = i + 1
    m = _INLINE.match(line.replace(">>>", "", 1))
    if m and _print_value(s, m.group("expr"), m.group("value"), n):
        return True
    exprs = _EXPR_ANY.findall(line)
    if not exprs or not (">>>" in line or "print(" in line or line.strip() in exprs):
        return False
    j = i + 1
    while j < len(lines) and j <= i + 3 and not lines[j].strip():
        j += 1
    if j >= len(lines) or j > i + 3:
        return False
    out = lines[j].split(" #", 1)[0].strip()
    if out.startswith((">>>", "$", "#")) or _EXPR_ANY.search(out):
        return False
    if len(exprs) == 1:
        return _print_value(s, exprs[0], out, j + 1)
    # print(a, b, c): one value each, split on blanks (a tuple such as "(8, 6)" is kept whole)
    parts = re.findall(r"\([^)]*\)|\[[^\]]*\]|\S+", out)
    if len(parts) != len(exprs):
        return False
    return any([_print_value(s, e, p, j + 1) for e, p in zip(exprs, parts)])


# ------------------------------------------------------------------------------ errors

_ARCHS = re.compile(r"current PyTorch install supports CUDA capabilities\s+((?:(?:sm|compute)_\d+[af]?\s*)+)")
# the loaded kernel module (/proc/driver/nvidia/version), and nvidia-smi's line after a mismatch
_NVRM = re.compile(r"NVRM version: NVIDIA [^\n]{0,60}?Kernel Module(?: for [\w]+)?\s+(\d+\.\d+(?:\.\d+)?)\b")
_NVML_LIB = re.compile(r"NVML library version:\s*(\d+\.\d+(?:\.\d+)?)\b")


_OOM = re.compile(r"CUDA out of memory\. Tried to allocate")


def _error(s: Scan, n: int, line: str) -> bool:
    hit = False
    for p in PATTERNS:
        m = p.regex.search(line)
        if not m:
            continue
        groups = m.groupdict()
        detail = groups.get("detail")
        if p.kind == "not-compiled-with-cuda":
            s.state("torch.cuda_build", "none", ERROR, n)
        if p.kind == "nvcc-mismatch" and groups.get("torch"):
            s.state("nvcc.release", ".".join(detail.split(".")[:2]), ERROR, n)
            s.state("torch.cuda_build", ".".join(groups["torch"].split(".")[:2]), ERROR, n)
        s.errors.append(ReportedError(p.kind, n, re.sub(_BULLET, "", line).strip()[:300], detail))
        if p.kind == "arch-not-compatible" and groups.get("name"):
            name = re.sub(r"^.*?(?:UserWarning|Warning):\s*", "", groups["name"])
            name = re.sub(r"^[^A-Za-z0-9]+", "", name).strip()
            if name:
                s.state("torch_runtime.devices[0].name", name, ERROR, n)
            s.state("torch_runtime.devices[0].capability", _cc_of_sm(detail), ERROR, n)
        hit = True
        break  # one kind per line: the patterns are ordered most specific first
    if not hit and _OOM.search(line):  # CUDA ran and allocated memory: torch's CUDA works
        s.state("torch_runtime.is_available", True, ERROR, n)
        s.errors.append(ReportedError("cuda-oom", n, re.sub(_BULLET, "", line).strip()[:300]))
        hit = True
    archs = _ARCHS.search(line)
    if archs:
        s.state("torch_runtime.arch_list", tuple(archs.group(1).split()), ERROR, n)
        hit = True
    for regex, path, kind in ((_NVRM, "driver.kernel_module.version", PROC),
                              (_NVML_LIB, "driver.nvml_library_version", SMI)):
        m = regex.search(line)
        if m:
            s.state(path, m.group(1), kind, n)
            hit = True
    return hit


def _cc_of_sm(sm: Optional[str]) -> Optional[str]:
    m = re.match(r"^sm_(\d+)(\d)([a-z]?)$", sm or "")
    return "{}.{}{}".format(m.group(1), m.group(2), m.group(3)) if m else None


# ------------------------------------------------------------------------------ the scan

_NVCC = re.compile(r"Cuda compilation tools, release (\d+\.\d+), (V\d+(?:\.\d+)+)")
_PYTHON = re.compile(r"^\s*Python (\d+\.\d+\.\d+)\s*$")
_LIST_HEAD = re.compile(r"^\s*Package\s+Version(?:\s+(?:Editable project location|Location))?\s*$")
_CONDA_HEAD = re.compile(r"^#\s*(?:packages in environment at|Name\s+Version\s+Build)")


_WSL = re.compile(r"\bWSL ?2\b|\bWSL (?:Ubuntu|Debian|distro)|Windows Subsystem for Linux|/usr/lib/wsl/lib|"
                  r"microsoft-standard-WSL", re.IGNORECASE)
_FRAME = re.compile(r"""^\s*File "(?P<path>[^"]{1,300})", line \d+""")
_SHADOWABLE = ("module-attr-missing", "partially-initialized", "torch-c-missing")


def _shadow(s: Scan, frames: List[Tuple[int, str, str]]) -> None:
    """A traceback that fails on ``module 'M'`` after a frame of a local ``M.py`` (or
    ``M/__init__.py``) outside site-packages and the standard library: that file shadows M.
    One pass over the frames, one look-up per error (a hostile paste stays linear)."""
    local: Dict[str, Tuple[int, str, str]] = {}
    for n, path, line in frames:
        p = path.replace("\\", "/")
        if re.search(r"(?:site|dist)-packages/|/lib/python\d|Python\.framework/|/lib/Python\d", p):
            continue  # installed or the standard library
        parts = p.rsplit("/", 2)
        name = parts[-2] if parts[-1] == "__init__.py" and len(parts) > 1 else parts[-1][:-3] if p.endswith(".py") else ""
        if name:
            local.setdefault(name, (n, path, line))
    for e in list(s.errors):
        module = (e.detail or "torch").split(".")[0]
        if e.kind in _SHADOWABLE and module in local:
            n, path, line = local[module]
            s.errors.append(ReportedError("shadowed-module", n, line.strip()[:300], "{}: {}".format(module, path)))
            return


def scan(text: str) -> Scan:
    """Everything the text states (see the module docstring)."""
    lines = clean_lines(text)
    s = Scan(lines=len(lines))
    smi = _SmiState()
    frames: List[Tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        n = i + 1
        if not line.strip():
            continue
        if _WSL.search(line):
            s.state("host.wsl", True, WSL_TEXT, n)
        frame = _FRAME.match(line)
        if frame:
            frames.append((n, frame.group("path"), line))
            continue
        if _error(s, n, line):
            continue
        if _smi(s, smi, n, line):
            continue
        lib = _LIB_ROW.match(line)
        if lib:
            _package(s, n, lib.group(2), "[conda]" if lib.group(1) == "conda" else "[pip3]")
            s.spans.setdefault(COLLECT_ENV, []).append(n)
            continue
        key = _KEY.match(line)
        if key and key.group(1).strip().lower() in _COLLECT_KEYS:
            _collect_env(s, n, key.group(1).strip(), key.group(2))
            continue
        g = _GPU_LINE.match(line)
        if g:
            kind = COLLECT_ENV if COLLECT_ENV in s.spans and n - max(s.spans[COLLECT_ENV]) <= 10 else SMI_L
            _gpu_name(s, int(g.group(1)), g.group(2), g.group(3), kind, n)
            continue
        nv = _NVCC.search(line)
        if nv:
            s.state("nvcc.release", nv.group(1), NVCC, n)
            s.state("nvcc.build", nv.group(2), NVCC, n)
            continue
        if _torch_print(s, lines, i):
            continue
        py = _PYTHON.match(line)
        if py:
            s.state("torch.python_version", py.group(1), PYTHON, n)
            continue
        if _LIST_HEAD.match(line) or _CONDA_HEAD.match(line):
            continue
        _package(s, n, line, None)
    _shadow(s, frames)
    if COLLECT_ENV in s.spans and not any(p.kind == COLLECT_ENV for p in s.packages):
        keys = [st for st in s.statements if st.kind == COLLECT_ENV]
        if keys and not any("relevant libraries" in lines[ln - 1].lower() for ln in s.spans[COLLECT_ENV]):
            s.notes[COLLECT_ENV] = "ends before its package list (cut short?)"
    for st in s.statements:
        if st.path == "host.os":
            system = _os_line(st.value)
            if system:
                s.statements.append(Statement("host.system", system, st.kind, st.line))
    return s
