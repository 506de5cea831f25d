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
    context: bool = False  # says where the error happened (a `docker run` line), never a finding alone
    wsl: Optional[Tuple[str, str]] = None  # (cause, fix) when the report shows WSL


_FAMILIES = {"arch-not-compatible": "gpu-code", "no-kernel-image": "gpu-code",
             "driver-too-old": "driver", "driver-insufficient": "driver",
             "nvml-mismatch": "nvml", "torchvision-nms": "torchvision", "torchvision-cuda-major": "torchvision",
             "torchaudio-cuda-major": "torchaudio", "partially-initialized": "shadow", "torch-c-missing": "shadow",
             "shadowed-module": "shadow", "container-no-driver": "container", "container-toolkit-missing": "container",
             "container-cli-error": "container", "container-without-gpus": "container"}

# Lines that show torch (or nvidia-smi) found no GPU at all: inside a container started without
# GPUs, the container is the cause, not the host's driver.
NO_GPU_KINDS = ("smi-no-driver", "no-driver", "no-cuda-gpus", "libcuda-missing")
# Lines that say the container itself has no GPU (its toolkit failed, or its image found no driver).
CONTAINER_KINDS = ("container-no-driver", "container-toolkit-missing", "container-cli-error")


def _p(kind, regex, summary, cause, fix, paste_next, explained_by=(), command=None, context=False,
       wsl=None) -> Pattern:
    return Pattern(kind, re.compile(regex, re.IGNORECASE), summary, cause, fix, paste_next,
                   tuple(explained_by), command, _FAMILIES.get(kind, kind), context, wsl)


_SMI = "the output of `nvidia-smi`"
_ENV = "the output of `python -m torch.utils.collect_env`"

PATTERNS: Tuple[Pattern, ...] = (
    _p("container-toolkit-missing",
       r'could not select device driver "[^"]{0,40}" with capabilities: \[\[gpu\]\]',
       "Docker cannot give the container GPUs",
       "`docker run --gpus` needs the NVIDIA Container Toolkit on the host; without it Docker "
       "has no device driver for the `gpu` capability.",
       "Install the NVIDIA Container Toolkit on the host, register it with Docker and restart "
       "Docker: `sudo apt-get install -y nvidia-container-toolkit && sudo nvidia-ctk runtime "
       "configure --runtime=docker && sudo systemctl restart docker`.",
       "the output of `nvidia-smi` and `nvidia-ctk --version` on the host",
       command="sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker"),
    _p("container-cli-error", r"nvidia-container-cli: (?P<detail>initialization error[^\\\n]{0,120})",
       "the NVIDIA Container Toolkit cannot reach the host's driver",
       "The container toolkit mounts the host's NVIDIA driver into the container; it failed to "
       "initialise, almost always because the host has no working NVIDIA driver (containers "
       "bring the CUDA libraries, never the driver).",
       "Install the NVIDIA driver on the host (not in the image) and check that `nvidia-smi` "
       "works there before starting the container again.",
       "the output of `nvidia-smi` on the host"),
    _p("container-no-driver", r"The NVIDIA Driver was not detected\.\s+GPU functionality will not be available",
       "the container was started without GPUs",
       "The CUDA image's start-up check found no NVIDIA driver inside the container: it was "
       "started without GPU access (plain `docker run`, no `--gpus`).",
       "Start the container with GPUs: `docker run --gpus all ...` (compose: `gpus: all` or a "
       "device reservation), with the NVIDIA Container Toolkit installed on the host.",
       "the full `docker run` (or compose) command",
       explained_by=("EC103",)),
    _p("container-without-gpus", r"(?!)",  # not a line: a no-GPU line after a `docker run` without --gpus
       "the container was started without GPUs",
       "The container was started without GPU access (`docker run` without `--gpus`), so "
       "inside it there is no NVIDIA driver and no GPU, whatever the host has.",
       "Start the container with GPUs: `docker run --gpus all ...` (older Docker: "
       "`nvidia-docker run` or `--runtime=nvidia`), with the NVIDIA Container Toolkit installed "
       "on the host.",
       "the output of `nvidia-smi` run on the host"),
    _p("docker-run-without-gpus",
       r"(?<![\w-])docker run\b(?![^\n]*--gpus)(?![^\n]*--runtime[= ]?nvidia)(?![^\n]*nvidia\.com/gpu)",
       "a container started without GPUs", "", "", "", context=True),
    _p("cuda-oom", r"(?!)",  # the scan records it: CUDA ran out of memory, so CUDA works
       "CUDA ran out of GPU memory", "", "", "", context=True),
    _p("cuda-visible-devices-set",
       r"CUDA_VISIBLE_DEVICES['\"]?\]?\s*=\s*['\"]?(?P<detail>[\w,-]{0,40})",
       "CUDA_VISIBLE_DEVICES is set", "", "", "", context=True),
    _p("shm-bus-error",
       r"(?:workers are out of shared|insufficient shared memory \(shm\)|killed by signal: Bus error|"
       r"out of shared memory)",
       "DataLoader workers ran out of shared memory",
       "DataLoader workers hand batches to the main process through /dev/shm; when it is full "
       "a worker dies with a bus error. Docker gives a container only 64 MB of /dev/shm unless "
       "told otherwise.",
       "In Docker start the container with `--ipc=host` or `--shm-size=8g` (Kubernetes: an "
       "`emptyDir` with `medium: Memory` at /dev/shm); outside containers enlarge it (`sudo "
       "mount -o remount,size=8G /dev/shm`), or lower `num_workers`.",
       "the output of `df -h /dev/shm` and how the container was started",
       explained_by=("EC408",)),
    _p("cudnn-sublib", r"Could not load library (?P<detail>libcudnn\w*\.so[\d.]*)",
       "cuDNN could not load one of its libraries",
       "cuDNN loads its sub-libraries at first use. When the error names libcuda.so, the loader "
       "cannot find the driver's libcuda.so (WSL's /usr/lib/wsl/lib holds only libcuda.so.1); "
       "otherwise the cuDNN libraries are missing or of another cuDNN version than torch's.",
       "Reinstall torch from PyTorch's index so its nvidia-cudnn wheel matches it and drop "
       "LD_LIBRARY_PATH entries that point at another cuDNN; on WSL put the driver's folder on "
       "the loader's path: `sudo ldconfig /usr/lib/wsl/lib`.",
       "the output of `pip list` and " + _ENV,
       explained_by=("EC407", "EC405"),
       wsl=("On WSL the driver's libraries live in /usr/lib/wsl/lib, which has libcuda.so.1 but "
            "no libcuda.so: cuDNN's sub-libraries ask for libcuda.so and do not find it.",
            "Put WSL's driver folder on the loader's path: `sudo ldconfig /usr/lib/wsl/lib` (or "
            "`export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH` in the shell that runs "
            "Python); do not copy or link driver libraries into site-packages.")),
    _p("libcuda-missing", r"(?P<detail>libcuda\.so(?:\.1)?): cannot open shared object file",
       "the NVIDIA driver's libcuda is not found",
       "libcuda belongs to the NVIDIA driver, not to torch or the CUDA toolkit: no driver is "
       "installed, the container was started without GPUs, or (for `libcuda.so` without `.1`) "
       "only the versioned file exists.",
       "Install the NVIDIA driver (containers: start them with `--gpus all`); if `libcuda.so.1` "
       "exists, register its folder with `sudo ldconfig`.",
       _SMI + " and `ldconfig -p | grep libcuda`",
       explained_by=("EC103", "EC104", "EC407"),
       wsl=("On WSL the Windows driver provides libcuda through /usr/lib/wsl/lib, which has "
            "libcuda.so.1 but no libcuda.so: code that loads `libcuda.so` does not find it.",
            "Put WSL's driver folder on the loader's path: `sudo ldconfig /usr/lib/wsl/lib` (or "
            "`export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH`); never install a Linux "
            "NVIDIA driver inside WSL.")),
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
       "torch could not load the NVIDIA driver's libcuda: the machine has no NVIDIA GPU, its "
       "driver is not installed, or this container was started without GPUs.",
       "With an NVIDIA GPU, install its driver (containers: start them with `--gpus all`). "
       "Without one (Intel or AMD graphics, a CPU-only server) the code must run on the CPU: no "
       "`.cuda()`, but `device = \"cuda\" if torch.cuda.is_available() else \"cpu\"`.",
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
       explained_by=("EC104", "EC406")),
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
    _p("torchaudio-cuda-major",
       r"PyTorch and TorchAudio were compiled with different CUDA (?:major )?versions",
       "torch and torchaudio were built for different CUDA versions",
       "torchaudio's own check: torch and torchaudio come from different indexes or releases "
       "(each torchaudio release is built for one torch release and its CUDA builds).",
       "Reinstall torch and torchaudio together, from one index, as a matching pair.",
       "the output of `pip list` (torch, torchaudio)",
       explained_by=("EC302",)),
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
    _p("torch-c-missing", r"No module named '?torch\._C'?",
       "Python imported a torch without its compiled core",
       "torch._C is the compiled part of the installed torch; a torch without it is a source "
       "checkout or a folder named `torch` that Python found first (the working directory comes "
       "first on sys.path).",
       "Start Python from another folder (not the PyTorch source tree) or rename the local "
       "`torch` folder, then import torch again.",
       "`python -c \"import torch; print(torch.__file__)\"` run from the same folder",
       explained_by=("EC315",)),
    _p("shadowed-module", r"(?!)",  # not a line: the scan pairs a traceback frame with the error
       "a local file is imported instead of a module",
       "A file or folder in the script's folder (or the working directory) has the name of a "
       "module Python or torch imports; Python puts that folder first on sys.path, so the local "
       "file is imported instead of the real module.",
       "Rename the local file or folder (and delete its __pycache__), or run from another "
       "folder.",
       "the full traceback and the folder's file list",
       explained_by=("EC315",)),
    _p("module-attr-missing", r"module '(?P<detail>[\w.]{1,80})' has no attribute",
       "a module lacks an attribute", "", "", "", context=True),
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
