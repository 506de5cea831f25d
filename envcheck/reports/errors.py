"""Error lines that name a cause, as data: what each means, how to fix it, what to paste next.

Each :class:`Pattern` is one kind of line users paste (a traceback's last line, a warning, a pip
error). The reader (:mod:`envcheck.reports.parse`) records every match as a
:class:`~envcheck.facts.model.ReportedError`; where a line states a fact (the driver's CUDA in
"found version 11040", torch's arch list in the sm_XY warning) the reader also puts that fact
into the model, so the ordinary rules judge it. The rule ``reported_errors``
(:mod:`envcheck.rules.reported`) reports an error line that no other finding explains, with the
cause and fix written here.

The patterns are plain regular expressions without nested repetition, run on lines bounded in
length, so a hostile paste cannot make them slow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Pattern as RePattern, Tuple

__all__ = ["Pattern", "PATTERNS", "by_kind"]


@dataclass(frozen=True)
class Pattern:
    kind: str
    regex: RePattern[str]
    summary: str  # the error in a few words
    cause: str
    fix: str
    paste_next: str  # what settles it when the report cannot
    explained_by: Tuple[str, ...] = ()  # finding codes that already explain this line
    command: Optional[str] = None
    family: str = ""  # lines of one family are one finding ("no kernel image" after the sm_XY warning)


_FAMILIES = {"arch-not-compatible": "gpu-code", "no-kernel-image": "gpu-code",
             "driver-too-old": "driver", "driver-insufficient": "driver",
             "nvml-mismatch": "nvml", "torchvision-nms": "torchvision", "torchvision-cuda-major": "torchvision"}


def _p(kind, regex, summary, cause, fix, paste_next, explained_by=(), command=None) -> Pattern:
    return Pattern(kind, re.compile(regex, re.IGNORECASE), summary, cause, fix, paste_next,
                   tuple(explained_by), command, _FAMILIES.get(kind, kind))


_SMI = "the output of `nvidia-smi`"
_ENV = "the output of `python -m torch.utils.collect_env`"

PATTERNS: Tuple[Pattern, ...] = (
    _p("arch-not-compatible",
       r"(?:(?P<name>\S[^\n]{0,80}?) )?with CUDA capability (?P<detail>sm_\d+[a-z]?) is not compatible "
       r"with the current PyTorch installation",
       "the GPU is newer (or older) than any architecture this torch was built for",
       "This torch wheel carries no GPU code for the GPU's architecture, so every CUDA kernel "
       "fails.",
       "Install a torch build that includes this architecture (newer GPUs need a newer CUDA "
       "build, for example cu128 or later for sm_120).",
       _SMI + " and " + _ENV,
       explained_by=("EC203", "EC204", "EC201")),
    _p("no-kernel-image", r"no kernel image is available for execution on the device",
       "torch has no GPU code for this GPU",
       "The CUDA kernels in this torch (or in an extension) were not built for the GPU's compute "
       "capability.",
       "Install a torch build whose architecture list includes the GPU; rebuild extensions with "
       "TORCH_CUDA_ARCH_LIST set to the GPU's capability.",
       _SMI + " and " + _ENV,
       explained_by=("EC203", "EC204")),
    _p("not-compiled-with-cuda", r"Torch not compiled with CUDA enabled",
       "a CPU build of torch",
       "The installed torch is the CPU build: it has no CUDA code at all.",
       "Install a CUDA build of torch from PyTorch's index for the driver's CUDA.",
       _SMI + " (to choose the CUDA build) and " + _ENV,
       explained_by=("EC201",)),
    _p("no-driver", r"Found no NVIDIA driver on your system",
       "torch found no NVIDIA driver",
       "torch could not load the driver's libcuda: no NVIDIA driver is installed, or this "
       "container was started without GPUs.",
       "Install the NVIDIA driver (or start the container with `--gpus all`).",
       _SMI,
       explained_by=("EC103", "EC104", "EC107")),
    _p("driver-too-old", r"The NVIDIA driver on your system is too old\s*\(found version (?P<detail>\d+)\)",
       "the NVIDIA driver is too old for torch's CUDA",
       "torch's CUDA runtime needs a newer driver than the one installed.",
       "Update the NVIDIA driver, or install a torch built for an older CUDA that this driver "
       "supports.",
       _SMI + " and " + _ENV,
       explained_by=("EC101",)),
    _p("driver-insufficient", r"CUDA driver version is insufficient for CUDA runtime version",
       "the NVIDIA driver is too old for the CUDA runtime in use",
       "The CUDA runtime (torch's, or an extension's) needs a newer driver than the one "
       "installed.",
       "Update the NVIDIA driver, or install a torch built for an older CUDA.",
       _SMI + " and " + _ENV,
       explained_by=("EC101",)),
    _p("nvml-mismatch", r"Failed to initialize NVML: Driver/library version mismatch",
       "the loaded kernel module and the driver's libraries differ",
       "The driver was upgraded (or partly upgraded) while the old kernel module stayed loaded.",
       "Reboot (or unload and reload the nvidia kernel modules) so the kernel module matches "
       "the installed libraries.",
       "the output of `cat /proc/driver/nvidia/version` and `nvidia-smi`",
       explained_by=("EC105",)),
    _p("smi-no-driver", r"NVIDIA-SMI has failed because it couldn.t communicate with the NVIDIA driver",
       "nvidia-smi cannot reach the NVIDIA driver",
       "The NVIDIA kernel module is not loaded: the driver is missing, was built for another "
       "kernel, or Secure Boot blocked it.",
       "Reinstall the driver for the running kernel (or enrol its key for Secure Boot) and "
       "reboot.",
       "the output of `lsmod | grep nvidia` and `dmesg | grep -i nvidia`",
       explained_by=("EC104",)),
    _p("torchvision-nms", r"(?:operator )?torchvision::nms does not exist",
       "torchvision does not match torch",
       "torchvision's compiled operators were built for another torch (or another CUDA).",
       "Reinstall torch and torchvision together, from one index, as a matching pair.",
       "the output of `pip list` (torch, torchvision) or " + _ENV,
       explained_by=("EC301",)),
    _p("torchvision-cuda-major",
       r"PyTorch and torchvision were compiled with different CUDA (?:major )?versions",
       "torch and torchvision were built for different CUDA versions",
       "torch and torchvision come from different indexes (for example torch cu121 with a "
       "torchvision built for CUDA 11.8).",
       "Reinstall torch and torchvision together, from one index, as a matching pair.",
       "the output of `pip list` (torch, torchvision)",
       explained_by=("EC301",)),
    _p("undefined-symbol", r"undefined symbol: (?P<detail>[A-Za-z_][\w.@$]{0,200})",
       "a compiled library was built against other library versions",
       "A compiled module (torch itself, torchvision, or an extension such as flash-attn) was "
       "built against another torch or CUDA than the one installed.",
       "Reinstall the package named in the error for the installed torch (or rebuild it from "
       "source against it); keep torch and its extensions from one index.",
       "the output of `pip list` and " + _ENV,
       explained_by=("EC003", "EC301")),
    _p("library-missing",
       r"(?P<detail>lib[\w+.-]{1,80}?\.so(?:\.[\w.]+)?): cannot open shared object file",
       "a shared library torch needs is missing",
       "A library torch (or an extension) loads is not installed or not on the loader's path: "
       "usually a CUDA library of another CUDA version, or an `nvidia-*` wheel removed.",
       "Reinstall torch from PyTorch's index so its CUDA libraries come with it; remove "
       "LD_LIBRARY_PATH entries pointing at other CUDA versions.",
       "the output of `pip list` and " + _ENV,
       explained_by=("EC003", "EC103", "EC405")),
    _p("dll-load", r"(?:WinError 126|Error loading \"[^\"]{0,300}\.dll\"|DLL load failed)",
       "a Windows DLL torch needs could not be loaded",
       "A DLL that torch loads (c10.dll, fbgemm.dll, ...) or one of its dependencies is missing: "
       "most often the Microsoft Visual C++ Redistributable.",
       "Install the latest Microsoft Visual C++ Redistributable (x64), then reinstall torch.",
       _ENV,
       command="winget install Microsoft.VCRedist.2015+.x64"),
    _p("no-matching-distribution",
       r"(?:No matching distribution found for|Could not find a version that satisfies the requirement) "
       r"(?P<detail>torch[\w.=<>!~+-]{0,60})",
       "pip found no torch for this Python and platform",
       "The package index has no torch wheel for this Python version, platform or architecture "
       "(a too new Python, 32-bit Python, or a version pinned with a CUDA tag on the default "
       "index).",
       "Use a Python version that torch publishes wheels for (64-bit), and take CUDA builds "
       "from PyTorch's index (`--index-url https://download.pytorch.org/whl/cuXXX`).",
       "the output of `python -VV` and the full pip command",
       explained_by=("EC308",)),
    _p("cuda-error-803", r"Error 803|unsupported display driver\s*/\s*cuda driver combination",
       "CUDA forward-compatibility libraries do not fit this driver",
       "A CUDA compatibility package (cuda-compat) or a libcuda of another driver is loaded "
       "instead of the installed driver's own.",
       "Remove the cuda-compat directory from LD_LIBRARY_PATH (or the container image) so the "
       "driver's own libcuda is used.",
       "`echo $LD_LIBRARY_PATH` and " + _SMI,
       explained_by=("EC108",)),
    _p("cuda-init-unknown", r"CUDA unknown error - this may be due to an incorrectly set up environment",
       "CUDA failed to initialise",
       "The driver's unified-memory module (nvidia_uvm) is missing or stale: common after a "
       "suspend/resume or a driver update without reboot.",
       "Reload the nvidia_uvm module (`sudo modprobe -r nvidia_uvm && sudo modprobe "
       "nvidia_uvm`) or reboot.",
       _SMI + " and `ls -l /dev/nvidia*`",
       explained_by=("EC107", "EC207")),
    _p("no-cuda-gpus", r"No CUDA GPUs are available",
       "CUDA sees no GPU",
       "CUDA_VISIBLE_DEVICES hides every GPU, or the container was started without GPUs.",
       "Unset CUDA_VISIBLE_DEVICES (or set it to existing indices); start containers with "
       "`--gpus all`.",
       "`echo $CUDA_VISIBLE_DEVICES` and " + _SMI,
       explained_by=("EC401", "EC103")),
    _p("invalid-device-ordinal", r"invalid device ordinal",
       "a GPU index that does not exist",
       "The program asked for a GPU index that CUDA does not see (CUDA_VISIBLE_DEVICES leaves "
       "fewer GPUs than the program expects).",
       "Use indices below the number of visible GPUs, or widen CUDA_VISIBLE_DEVICES.",
       "`echo $CUDA_VISIBLE_DEVICES` and " + _SMI,
       explained_by=("EC401", "EC402")),
    _p("cuda-home-unset", r"CUDA_HOME environment variable is not set",
       "building a CUDA extension without a CUDA toolkit",
       "Building a CUDA extension needs nvcc; torch's wheel does not include it.",
       "Install a CUDA toolkit of torch's CUDA major version and set CUDA_HOME to it.",
       "the output of `nvcc -V` and " + _ENV),
    _p("nvcc-mismatch",
       r"detected CUDA version \((?P<detail>[\d.]+)\) mismatches the version that was used to compile"
       r"\s+PyTorch \((?P<torch>[\d.]+)\)",
       "nvcc and torch's CUDA differ",
       "torch.utils.cpp_extension refuses to build with an nvcc of another CUDA major than torch's.",
       "Install a CUDA toolkit of torch's CUDA version and point CUDA_HOME at it.",
       "the output of `nvcc -V` and " + _ENV,
       explained_by=("EC501",)),
    _p("glibcxx", r"version `(?P<detail>GLIBCXX_[\d.]+)' not found",
       "the C++ runtime is older than a library needs",
       "A library was built with a newer compiler than the libstdc++ that is loaded (often the "
       "system's older one, or a conda environment's).",
       "Update libstdc++ (`conda install -c conda-forge libstdcxx-ng` in conda) or use a newer "
       "OS image.",
       _ENV),
    _p("no-module-torch", r"No module named '?(?P<detail>torch)'?(?![\w.])",
       "torch is not installed in the Python that ran",
       "The interpreter that ran the code has no torch: it was installed into another Python "
       "or environment (pip of one Python, python of another).",
       "Install torch with the same interpreter that runs the code: `python -m pip install "
       "torch` (with the index for your CUDA).",
       "the output of `which python` (or `where python`) and `python -m pip list`",
       explained_by=("EC002",)),
    _p("partially-initialized", r"partially initialized module 'torch'",
       "a local file or folder named torch shadows the installed torch",
       "Python imported a `torch.py` or `torch/` from the working directory (or PYTHONPATH) "
       "instead of the installed torch.",
       "Rename the local `torch.py` or `torch/` folder (and remove its __pycache__).",
       "`python -c \"import torch; print(torch.__file__)\"`"),
)


def by_kind(kind: str) -> Optional[Pattern]:
    return next((p for p in PATTERNS if p.kind == kind), None)
