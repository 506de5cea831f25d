"""Every finding code envcheck can report, documented once, as data.

``envcheck/rules/findings.md`` is rendered from :data:`CATALOG` by :func:`render_markdown` (a test checks
that the file matches byte for byte), and ``envcheck explain CODE`` prints :func:`envcheck.render.explain_text.explain_lines`.
A finding's severity, name and failure-mode references come from here, so a rule cannot
contradict its documentation.

Codes are stable: ``EC`` and three digits, the hundreds naming the area (0 inspection, 1 driver,
2 torch build and GPU code, 3 packages, 4 environment, 5 toolkit, 6 GPU health), plus a short
name. Never renumber or reuse a code; retire it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from envcheck.outcome import SEVERITIES

__all__ = ["Doc", "CATALOG", "SEVERITIES", "AREAS", "lookup", "render_markdown"]

AREAS = (
    ("0", "Inspection and overall state"),
    ("1", "NVIDIA driver"),
    ("2", "torch's build and the GPUs' code"),
    ("3", "Installed packages"),
    ("4", "Environment and host"),
    ("5", "CUDA toolkit (nvcc)"),
    ("6", "GPU health"),
)


@dataclass(frozen=True)
class Doc:
    code: str  # "EC101"
    name: str  # "driver-too-old"
    severity: str  # error | warning | info
    title: str  # one line, general (a finding's own title names this machine's values)
    refs: Tuple[str, ...]  # failure modes (F1..F11) of rules/failure-modes.md
    meaning: str
    detection: str
    fix: str

    @property
    def label(self) -> str:
        return "{} {}".format(self.code, self.name)


def _d(code, name, severity, title, refs, meaning, detection, fix) -> Doc:
    return Doc(code, name, severity, title, tuple(refs), meaning, detection, fix)


CATALOG: Tuple[Doc, ...] = (
    # -- 0: inspection and overall state ------------------------------------------------------
    _d(
        "EC001", "healthy", "info", "Nothing to fix", (),
        "No error and no warning: torch, its partners, the driver, the GPUs and the environment "
        "agree with each other. Other info findings may stand beside it.",
        "Reported when no rule produced an error or a warning.",
        "Nothing to do.",
    ),
    _d(
        "EC002", "torch-not-installed", "warning", "torch is not installed", (),
        "The inspected interpreter has no torch distribution. This is a warning, not an error, so "
        "`envcheck diagnose` still exits 0 (1 with `--fail-on warning`): a machine without torch "
        "is not broken, it is unfinished.",
        "No `torch` distribution in `importlib.metadata` on the interpreter's `sys.path`, and the "
        "torch child (when it ran) failed with `No module named 'torch'`.",
        "Run the install command shown: it comes from the same generator as `envcheck "
        "install-command` and fits the driver and GPUs found (the CPU build when there is no GPU).",
    ),
    _d(
        "EC003", "torch-import-failed", "error", "`import torch` fails", ("F6",),
        "torch is installed but cannot be imported: usually a missing or mismatched CUDA library "
        "(`libcudnn.so.9: cannot open shared object file`, `undefined symbol`), a broken or "
        "partial install, or a package on PYTHONPATH that shadows torch.",
        "The torch child process (`import torch` in a separate interpreter, never in envcheck's "
        "own) reported the exception; its first line is the evidence.",
        "Remove what shadows torch's libraries (see EC404/EC405 if reported), then reinstall "
        "torch, torchvision and torchaudio with the one command shown.",
    ),
    _d(
        "EC004", "torch-crashed", "error", "The torch child process crashed", ("F6",),
        "Importing or querying torch killed the process (a signal such as SIGSEGV or SIGABRT) or "
        "it exited without a result. The stage says which step: `import torch`, "
        "`torch.cuda.is_available`, a device query or the torchvision check.",
        "The child's exit status and signal, the last stage it announced and the tail of its "
        "stderr.",
        "A crash in `import torch` points at the install or its libraries: reinstall with the "
        "command shown. A crash in a CUDA step points at the driver: check `nvidia-smi` and "
        "`sudo dmesg` for Xid errors.",
    ),
    _d(
        "EC005", "torch-timed-out", "warning", "The torch child did not finish in time", (),
        "`import torch` plus the CUDA queries took longer than the time allowed (default 10 s). A "
        "cold import from a network filesystem can be that slow; a hang in "
        "`torch.cuda.is_available` usually means a wedged driver or GPU.",
        "The child was killed at `--timeout` seconds; the last stage it announced is the "
        "evidence.",
        "Rerun with more time (`envcheck diagnose --timeout 60`). If it hangs again at a CUDA "
        "stage, check `nvidia-smi`, `sudo dmesg` for Xid errors, and reset or reboot.",
    ),
    _d(
        "EC006", "inspection-incomplete", "warning", "Part of the machine could not be inspected",
        (),
        "A probe failed or ran out of time, so rules that need its facts were skipped and the "
        "diagnosis may miss problems.",
        "The probe's status in the facts is `failed` or `timed-out` (host facts, torch's "
        "metadata, or the torch child that could not start).",
        "Rerun; if it persists, run `envcheck facts --json` and look at the failing part's "
        "`detail`.",
    ),
    _d(
        "EC007", "reported-error", "error", "The report shows an error no other finding explains",
        (),
        "A pasted report (`envcheck diagnose --report`) holds an error line that names a cause "
        "(no kernel image for the GPU, a library that cannot be loaded, an undefined symbol, "
        "pip finding no torch, ...), and the facts the report states do not settle it "
        "through another finding.",
        "The error line matched one of the patterns envcheck knows (see `envcheck.reports."
        "errors`); findings that explain the same error (for example EC203 for \"no kernel "
        "image\") take its place when the report states enough.",
        "Follow the fix in the finding; where the report cannot settle the cause, paste what "
        "the finding asks for next (usually `python -m torch.utils.collect_env` and "
        "`nvidia-smi`).",
    ),
    _d(
        "EC008", "cuda-check-raised", "error", "torch.cuda.is_available() raised instead of answering",
        ("F2",),
        "torch imported, but asking it whether CUDA works raised an exception (\"CUDA-capable "
        "device(s) is/are busy or unavailable\", \"unknown error\"...) instead of returning True or "
        "False: CUDA initialisation fails, so every program that uses the GPU fails the same way.",
        "The torch child recorded an exception for `torch.cuda.is_available()` or "
        "`torch.cuda.device_count()` (`torch_runtime.errors`).",
        "Check `nvidia-smi` (compute mode, processes holding the GPU) and `sudo dmesg` for Xid "
        "errors; stop the holders, reset the GPU or reboot; then `envcheck verify`.",
    ),
    # -- 1: driver -----------------------------------------------------------------------------
    _d(
        "EC101", "driver-too-old", "error", "The NVIDIA driver is too old for torch's CUDA",
        ("F1",),
        "CUDA minor-version compatibility holds only within a major: a CUDA 13.x torch needs a "
        "driver >= 580, a 12.x one >= 525.60.13 (Windows 528.33). torch then says `The NVIDIA "
        "driver on your system is too old` and `torch.cuda.is_available()` is False. Since torch "
        "2.11 a plain `pip install torch` on Linux gives a CUDA 13.0 build.",
        "NVML's `nvmlSystemGetCudaDriverVersion_v2` (the driver's highest CUDA, what nvidia-smi "
        "shows as `CUDA Version`) and the driver version, against torch's CUDA build read from "
        "`torch/version.py` or the `+cuXYZ` label, using NVIDIA's driver tables in the data.",
        "Install the build for a CUDA the driver supports (the command shown: the installed "
        "release when one of its builds fits, the newest build the driver fully supports, with "
        "the newest release as the alternative), or upgrade the driver to at least the version "
        "named.",
    ),
    _d(
        "EC102", "driver-compat-mode", "info", "torch runs in CUDA minor-version compatibility mode",
        ("F1",),
        "The driver is older than the one torch's CUDA toolkit shipped with, but of the same "
        "major: torch works, but the driver cannot JIT-compile PTX made by the newer toolkit, so "
        "torch.compile/Triton kernels can fail with `the provided PTX was compiled with an "
        "unsupported toolchain`, and CUDA features newer than the driver are missing.",
        "The driver against NVIDIA's Table 3 (full support) and Table 2 (minor-version "
        "compatibility) for torch's CUDA version.",
        "For full support, reinstall the installed release in a build the driver fully supports "
        "(the command shown), or upgrade the driver to the version named.",
    ),
    _d(
        "EC103", "cuda-build-without-driver", "warning", "A CUDA build of torch, but no NVIDIA driver",
        ("F2",),
        "torch was built for CUDA but no NVIDIA driver answers: torch will run on the CPU only. "
        "In a container this usually means it was started without the NVIDIA runtime; in WSL, "
        "that the Windows driver is missing.",
        "NVML cannot be loaded (library not found), no kernel module in "
        "`/proc/driver/nvidia/version`, nvidia-smi absent or failing, and torch's variant is "
        "`cuXYZ`.",
        "On a GPU machine install the NVIDIA driver; in a container start it with `--gpus all` "
        "(and the NVIDIA container toolkit); on a machine without an NVIDIA GPU install the CPU "
        "build (the command shown) to save gigabytes.",
    ),
    _d(
        "EC104", "driver-not-loaded", "error", "The NVIDIA kernel module is not loaded", ("F2",),
        "The driver's libraries are installed but its kernel module is not running: after a "
        "kernel upgrade without DKMS, with nouveau loaded, or with Secure Boot refusing the "
        "unsigned module.",
        "NVML's init fails with `DRIVER_NOT_LOADED`; `/proc/driver/nvidia/version` is missing.",
        "`sudo modprobe nvidia`; if that fails, reinstall the driver for the running kernel (DKMS) "
        "or sign the module for Secure Boot, and blacklist nouveau.",
    ),
    _d(
        "EC105", "driver-library-mismatch", "error", "Driver/library version mismatch", ("F4",),
        "The driver's user-space libraries were upgraded (often by unattended upgrades) while the "
        "old kernel module is still loaded: `Failed to initialize NVML: Driver/library version "
        "mismatch`, and CUDA fails too.",
        "NVML returns `LIB_RM_VERSION_MISMATCH`, or the NVML driver version differs from the "
        "kernel module's in `/proc/driver/nvidia/version`.",
        "Reboot (or unload and reload the nvidia modules), then hold the driver packages so that "
        "unattended upgrades cannot repeat it (`sudo apt-mark hold` the nvidia driver packages).",
    ),
    _d(
        "EC106", "nvml-unusable", "warning", "NVML failed: the driver could not be fully inspected",
        ("F2",),
        "NVML answered with an error other than a missing driver (no permission to the device "
        "files, a timeout, an unknown error), so the GPUs may be listed only from nvidia-smi or "
        "not at all.",
        "NVML's error code in `driver.error_code`, nvidia-smi's fallback status.",
        "Run `nvidia-smi`; for `no-permission` add the user to the group owning /dev/nvidia* or "
        "give the container the devices; for a timeout check `sudo dmesg` for Xid errors.",
    ),
    _d(
        "EC107", "device-nodes-missing", "error", "NVIDIA device files are missing", ("F2",),
        "The driver sees the GPUs but `/dev/nvidiactl` or `/dev/nvidia-uvm` is absent: CUDA "
        "cannot start. `nvidia_uvm` often disappears after a suspend/resume; containers may get "
        "only some device files.",
        "The driver answered with GPUs while the host's `/dev/nvidia*` listing lacks "
        "`/dev/nvidiactl` or `/dev/nvidia-uvm` (Linux, not WSL).",
        "`sudo modprobe nvidia_uvm` (or `sudo nvidia-modprobe -u -c=0`), or reboot; in a "
        "container pass all NVIDIA devices (`--gpus all`).",
    ),
    _d(
        "EC108", "wrong-libcuda", "error", "The wrong libcuda is first on the loader path", ("F2",),
        "A `libcuda.so` other than the running driver's is loaded first, typically a CUDA "
        "forward-compatibility `compat` directory on LD_LIBRARY_PATH on a GPU that does not "
        "support it: CUDA error 803 (`system has unsupported display driver / cuda driver "
        "combination`).",
        "A `compat` directory holding `libcuda.so*` on LD_LIBRARY_PATH, or the `libcuda.so.X` "
        "that the torch child loaded having another version than the kernel module.",
        "Remove that directory from LD_LIBRARY_PATH (forward compatibility works only on "
        "data-centre GPUs with a supported driver branch).",
    ),
    _d(
        "EC109", "toolkit-without-driver", "info", "A CUDA toolkit but no NVIDIA driver", ("F10",),
        "nvcc (the CUDA compiler) is installed but there is no driver: the toolkit compiles CUDA "
        "code, it cannot run it. With a CPU build of torch (or none) this is consistent, not a "
        "problem.",
        "nvcc answered `--version`, NVML found no driver.",
        "Nothing, unless this machine has an NVIDIA GPU: then install the driver.",
    ),
    _d(
        "EC110", "driver-unresponsive", "error", "NVML or nvidia-smi hung or crashed", ("F2",),
        "Asking the driver about its GPUs did not finish (NVML or nvidia-smi gave no answer within "
        "its bound) or crashed (killed by a signal, a segfault inside the driver's library): the "
        "driver or a GPU is wedged, and CUDA programs will hang or fail too.",
        "`driver.status` is `timed-out`, or `driver.error_code` is `timeout` or `crashed`, from NVML "
        "(run in a child process) or from nvidia-smi.",
        "Read `sudo dmesg | grep -i -E 'xid|nvrm'`; stop the GPU's processes and reset it (`sudo "
        "nvidia-smi -r`) or reboot; if it recurs, drain the node and reinstall the driver.",
    ),
    _d(
        "EC111", "gpu-without-driver", "error", "An NVIDIA GPU is installed but no driver answers",
        ("F2",),
        "The PCI bus lists an NVIDIA GPU, but no NVIDIA driver is loaded (no NVML library or kernel "
        "module answers): never installed, removed, built for another kernel, refused by Secure "
        "Boot, or, in a container, the container was started without its GPUs. Such a machine is "
        "not a CPU machine, and a CPU build of torch is not its fix.",
        "Linux sysfs (`/sys/bus/pci/devices/*/vendor` 0x10de with class 0x0300 or 0x0302) lists "
        "GPUs while the driver's status is `missing`.",
        "`lspci -k -d 10de:` shows the module in use; install or load the NVIDIA driver for the "
        "running kernel (DKMS, Secure Boot signing) and reboot; in a container start it with "
        "`--gpus all`.",
    ),
    # -- 2: torch build and GPU code -----------------------------------------------------------
    _d(
        "EC201", "torch-build-without-cuda", "error", "torch cannot use the NVIDIA GPU: not a CUDA build",
        ("F2",),
        "torch is a CPU-only (or ROCm/XPU) build on a machine with a working NVIDIA driver and "
        "GPUs: `torch.cuda.is_available()` is False. A plain `pip install torch` on Windows or "
        "macOS, or an index URL for `cpu`, gives such a build.",
        "torch's variant (`+cpu` label, or `torch.version.cuda` is None in `torch/version.py`) "
        "while NVML lists GPUs.",
        "Install the CUDA build the command shown names: the installed release, in the build "
        "chosen for this driver and these GPUs (when the driver is unknown, the build the widest "
        "range of drivers runs, with the driver it needs); the newest release is the alternative.",
    ),
    _d(
        "EC202", "cpu-build-no-gpu", "info", "CPU build of torch, and no NVIDIA GPU: consistent",
        ("F2",),
        "torch is a CPU build and there is no NVIDIA driver or GPU. That is the right build for "
        "this machine, not an error.",
        "torch's variant is `cpu` and no driver or GPU was found.",
        "Nothing to do.",
    ),
    _d(
        "EC203", "gpu-arch-not-in-wheel", "error", "torch has no code for this GPU", ("F3",),
        "The wheel carries no SASS or PTX the GPU can run: `sm_XX is not compatible with the "
        "current PyTorch installation`, then `no kernel image is available for execution on the "
        "device`. RTX 50xx (sm_120) needs torch >= 2.7 with cu128 or later; cu128 builds dropped "
        "Maxwell and Pascal (sm_50/60/61), cu130 builds dropped Volta (sm_70).",
        "Each GPU's compute capability from NVML against the wheel's architectures: "
        "`torch.cuda.get_arch_list()` from the torch child when it ran, else the data's table for "
        "torch's release and variant. SASS sm_XY runs on the same major with a minor >= Y; PTX "
        "compute_XY JIT-compiles on any newer GPU.",
        "Install the release and variant the command shown names: its architecture list covers "
        "every GPU here.",
    ),
    _d(
        "EC204", "gpu-arch-ptx-only", "warning", "The GPU runs torch only through PTX JIT", ("F3",),
        "The wheel has no SASS for the GPU, only PTX: the driver JIT-compiles every kernel on "
        "first use (minutes of start-up, a large cache), and this fails in CUDA minor-version "
        "compatibility mode.",
        "The architecture check of EC203 finds only a `compute_XY` target usable.",
        "Install a build with native code for the GPU (the command shown).",
    ),
    _d(
        "EC205", "gpu-arch-unknown", "info", "Cannot confirm torch has code for the GPU", ("F3",),
        "Neither the torch child nor the data tells which architectures this torch carries (a "
        "release newer than the data, a nightly, a source build or quick mode).",
        "No arch list from the child, and no row for torch's release and variant in the data.",
        "Run `envcheck diagnose` without `--quick`, or refresh the data with `envcheck matrix "
        "update`.",
    ),
    _d(
        "EC206", "cudnn-drops-gpu", "error", "cuDNN >= 9.11 does not support GPUs below sm_75",
        ("F11",),
        "cuDNN 9.11 dropped Maxwell, Pascal and Volta: convolutions and other cuDNN operations "
        "fail on those GPUs while the rest of torch works.",
        "cuDNN's version (`torch.backends.cudnn.version()` from the child, else the installed "
        "`nvidia-cudnn-cu*` wheel) against each GPU's compute capability.",
        "Reinstall torch's pinned cuDNN (the command shown reinstalls the set), or set "
        "`torch.backends.cudnn.enabled = False` for those GPUs.",
    ),
    _d(
        "EC207", "torch-cuda-unavailable", "error", "torch.cuda.is_available() is False", ("F2",),
        "A CUDA build of torch and a working driver with GPUs, yet torch sees no GPU, and no "
        "other finding explains why.",
        "The torch child reported `is_available() == False` (its warnings are the evidence) while "
        "NVML lists GPUs and torch's variant is `cuXYZ`.",
        "Read the warning in the evidence; check `nvidia-smi`, CUDA_VISIBLE_DEVICES, and "
        "`/dev/nvidia*`; reinstall with the command shown.",
    ),
    # -- 3: packages ---------------------------------------------------------------------------
    _d(
        "EC301", "torchvision-mismatch", "error", "torchvision does not match torch", ("F5",),
        "torchvision was built for another torch or another CUDA: `operator torchvision::nms "
        "does not exist`, or import errors. For torch 2.x the partner is torchvision 0.(minor+15); "
        "the local labels (`+cu128`) must agree.",
        "The installed versions against the data's partners, the local labels (a missing label "
        "means the PyPI default build of that release), and the torch child's "
        "`torchvision.ops.nms` check.",
        "Reinstall the pair from one index in one pinned command (the command shown).",
    ),
    _d(
        "EC302", "torchaudio-mismatch", "error", "torchaudio does not match torch", ("F5",),
        "torchaudio was built for another torch or another CUDA; it fails to load its "
        "extension. torchaudio 2.x pairs with the torch of the same version; there is none after "
        "2.11.",
        "The installed versions against the data's partners and the local labels.",
        "Reinstall from one index in one pinned command (the command shown), or uninstall "
        "torchaudio if torch has no partner for it.",
    ),
    _d(
        "EC303", "cuda-wheels-two-majors", "warning", "CUDA wheels of two CUDA majors installed",
        ("F6",),
        "`nvidia-*-cu12` and `nvidia-*-cu13` (or CUDA-versioned wheels of both majors) sit side "
        "by side, usually left over from an earlier torch: the wrong cuDNN or NCCL can be loaded "
        "(`undefined symbol`, `cannot open shared object`).",
        "The installed `nvidia-*` / `cuda-*` distributions grouped by the CUDA major in their name "
        "or version.",
        "Uninstall the packages of the major torch does not use (the command shown), then "
        "reinstall torch if anything is missing.",
    ),
    _d(
        "EC304", "cuda-wheel-pins-unmet", "warning", "torch's pinned CUDA wheels are not what is installed",
        ("F6",),
        "torch's metadata pins exact versions of its CUDA libraries (cuDNN, NCCL, cuBLAS...). A "
        "later `pip install -U` of one of them, or another package's requirement, replaced it: "
        "symbol errors or subtle failures follow.",
        "torch's `Requires-Dist` lines on `nvidia-*`/`cuda-*` wheels (through the cuda-toolkit "
        "metapackage for newer releases) against the installed versions.",
        "Reinstall torch with its own pins (the command shown); do not upgrade the `nvidia-*` "
        "wheels on their own.",
    ),
    _d(
        "EC305", "pip-conda-mixed", "warning", "pip and conda both manage torch here", ("F6",),
        "torch (or its partners) were installed by pip into a conda environment that also holds "
        "conda's pytorch / pytorch-cuda packages, or the family was installed by different "
        "installers: two copies of CUDA libraries and a solver that no longer knows the truth.",
        "`conda-meta` records of pytorch/pytorch-cuda/cudatoolkit against the INSTALLER of the "
        "torch, torchvision and torchaudio distributions.",
        "Remove conda's copies (`conda remove pytorch pytorch-cuda torchvision torchaudio`), "
        "then install with one tool (PyTorch's conda channel ended with 2.5: pip is the "
        "official route, the command shown).",
    ),
    _d(
        "EC306", "torch-installed-twice", "warning", "A torch package is installed twice", ("F6",),
        "The same distribution appears twice on `sys.path` (user site and venv, or a PYTHONPATH "
        "entry): `import` takes the first, pip may upgrade the other.",
        "Distributions listed again later on `sys.path` (`torch.shadowed` in the facts).",
        "Uninstall the extra copy (`pip uninstall` once more, or remove the PYTHONPATH entry).",
    ),
    _d(
        "EC307", "torch-install-inconsistent", "error", "torch's files disagree with its metadata",
        (),
        "`torch/version.py` is missing or names another version than the installed "
        "distribution, or the torch the child imported is not the one installed: a partial "
        "upgrade, files copied over an install, or a shadowing copy on PYTHONPATH.",
        "The distribution version against `torch/version.py`'s `__version__` and the version the "
        "torch child imported.",
        "Reinstall torch (the command shown) after `pip uninstall -y torch` (run it until it "
        "finds nothing), and check PYTHONPATH.",
    ),
    _d(
        "EC308", "python-unsupported", "warning", "torch has no wheels for this Python", (),
        "The installed torch release publishes no wheels for the interpreter's Python version: "
        "it was built from source or comes from an unofficial channel, and upgrades of it will "
        "fail to resolve.",
        "The interpreter's Python against the data's Python list for torch's release.",
        "Use a supported Python, or install a release that supports this one (the command "
        "shown).",
    ),
    _d(
        "EC309", "torch-release-unknown", "info", "torch's release is not in envcheck's data", (),
        "The installed torch (a release newer than the data, a nightly or a source build) has no "
        "row in the data, so partners, Pythons and GPU code could not be checked against it.",
        "torch's version without its local label is not a release in the data.",
        "Refresh the data: `envcheck matrix update --write`.",
    ),
    # -- 4: environment and host ---------------------------------------------------------------
    _d(
        "EC310", "package-requires-other-torch", "error", "A library requires another torch", ("F5",),
        "A library around torch (xformers, vllm, ...) pins a torch (or torchvision, xformers) other "
        "than the installed one: its compiled operators were built against that torch's C++ API, "
        "and the next `pip install` may replace torch to satisfy it.",
        "Each package's Requires-Dist (its installed metadata; for a pasted report, the index's "
        "metadata recorded in matrices/ecosystem.json) against the installed versions.",
        "Install the package's release built for the installed torch (named from the index's "
        "metadata), or the torch it requires.",
    ),
    _d(
        "EC311", "package-cuda-tag-mismatch", "error", "A library is built for another CUDA than torch", ("F5",),
        "A package's local version tag (`+cu118`, `+cpu`) names another CUDA major, or a CPU/ROCm "
        "build, than torch's: its kernels need another CUDA runtime than the one torch loads.",
        "The package's installed version against torch's build label.",
        "Reinstall the same release from torch's index (the command shown).",
    ),
    _d(
        "EC312", "extension-built-for-other-torch", "error", "An extension wheel was built for another torch",
        ("F5",),
        "A wheel whose build tag (flash-attn's `+cu12torch2.6cxx11abiFALSE`, PyG's `+pt25cu124`) "
        "names another torch minor, CUDA major or C++ ABI than the installed torch: `undefined "
        "symbol` on import.",
        "The tag in the installed version or in the wheel a URL install came from (PEP 610 "
        "direct_url.json), against torch's version, build and C++ ABI (the torch child's "
        "`_GLIBCXX_USE_CXX11_ABI`, else the release's recorded ABI).",
        "Install the wheel whose tag matches this torch, or build the extension here with "
        "`--no-build-isolation`.",
    ),
    _d(
        "EC313", "triton-mismatch", "warning", "triton is not the version torch pins", ("F5",),
        "torch pins one triton release; another one (or none) breaks torch.compile and Inductor "
        "while eager mode keeps working.",
        "torch's Requires-Dist on triton (markers evaluated for this interpreter) against the "
        "installed triton.",
        "Install the triton torch pins (the command shown).",
    ),
    _d(
        "EC314", "numpy2-with-numpy1-build", "error", "NumPy 2 beside code built against NumPy 1", ("F5",),
        "torch releases before 2.3 (2.4.1 on Windows), and packages that require numpy<2, were "
        "built against NumPy 1: `A module that was compiled using NumPy 1.x cannot be run in NumPy 2`.",
        "The installed numpy against torch's release (matrices/ecosystem.json) and each package's "
        "numpy requirement.",
        "`pip install 'numpy<2'`, or upgrade torch.",
    ),
    _d(
        "EC315", "module-shadowed", "error", "A local torch, torchvision or numpy shadows the installed one",
        ("F6",),
        "A folder or file named `torch`, `torchvision` or `numpy` in the working directory (Python "
        "puts a script's folder, or the working directory, first on `sys.path`) or on PYTHONPATH "
        "is imported instead of the installed package: `import torch` gives a module without "
        "`__version__` or `cuda`, a partial import, or another build than pip reports.",
        "Each envcheck child (the static reader and the torch child) reports the `sys.path` it "
        "ran with and, for a program started in the working directory, where `import NAME` would "
        "come from against where the distribution is installed (`torch.shadows`, "
        "`torch_runtime.shadows`; both paths in the evidence). envcheck's own children leave the "
        "working directory off their path, as `python -P` does, so they see the installed torch.",
        "Rename or move the local folder or file (the command shown), or start Python from "
        "another folder; for a PYTHONPATH entry, remove it from PYTHONPATH.",
    ),
    _d(
        "EC401", "cuda-visible-devices-hides-all", "error", "CUDA_VISIBLE_DEVICES hides every GPU",
        ("F7",),
        "With CUDA_VISIBLE_DEVICES empty, repeating an id, starting with an invalid or "
        "out-of-range id, or naming UUIDs that match no GPU, CUDA sees no GPU: `No CUDA GPUs are "
        "available`.",
        "torch's own parsing of the variable (`\"\"` means none; a repeated id means none; the "
        "first invalid or out-of-range id cuts the list; `GPU-`/`MIG-` UUID prefixes) applied to "
        "NVML's GPU list.",
        "Unset it (`unset CUDA_VISIBLE_DEVICES`) or list valid ids (`export "
        "CUDA_VISIBLE_DEVICES=0,1`).",
    ),
    _d(
        "EC402", "cuda-visible-devices-cut", "warning", "CUDA_VISIBLE_DEVICES drops some listed GPUs",
        ("F7",),
        "An invalid or out-of-range entry in CUDA_VISIBLE_DEVICES cuts the list there: the GPUs "
        "after it are silently not used (`invalid device ordinal` when code asks for them).",
        "The same parsing as EC401; some entries survive.",
        "Fix the entry named in the evidence.",
    ),
    _d(
        "EC403", "cuda-device-order", "warning", "CUDA's GPU numbering differs from nvidia-smi's",
        ("F7",),
        "Without `CUDA_DEVICE_ORDER=PCI_BUS_ID` CUDA numbers GPUs fastest first, nvidia-smi by "
        "PCI bus: on a machine with different GPUs, `cuda:0` and nvidia-smi's GPU 0 are not the "
        "same card, and CUDA_VISIBLE_DEVICES picks the wrong one.",
        "Several GPUs of different models (or CUDA_VISIBLE_DEVICES given by index on several "
        "GPUs) while CUDA_DEVICE_ORDER is not `PCI_BUS_ID`.",
        "`export CUDA_DEVICE_ORDER=PCI_BUS_ID` (in the shell profile or the job script).",
    ),
    _d(
        "EC404", "ld-library-path-cuda-libs", "warning", "LD_LIBRARY_PATH holds CUDA libraries that can shadow torch's",
        ("F6",),
        "Directories on LD_LIBRARY_PATH hold cuDNN, NCCL, cuBLAS, cudart or nvJitLink; the loader "
        "searches them before the libraries pip installed for torch, so another version can be "
        "loaded (`undefined symbol`, cuDNN version errors).",
        "LD_LIBRARY_PATH entries scanned for `libcudnn*`, `libnccl*`, `libnvJitLink*`, "
        "`libcublas*`, `libcudart*`, while torch is a pip-installed CUDA build. Not reported "
        "when the torch child shows it loaded none of them.",
        "Remove those entries from LD_LIBRARY_PATH for Python work (keep them for the programs "
        "that need them).",
    ),
    _d(
        "EC405", "cuda-libs-shadowed", "error", "torch loaded CUDA libraries from LD_LIBRARY_PATH",
        ("F6",),
        "The torch child loaded a CUDA library (cuDNN, cuBLAS, NCCL...) from a directory on "
        "LD_LIBRARY_PATH instead of the copy installed for torch: torch runs against a version it "
        "was not built with.",
        "The paths of the CUDA libraries mapped into the torch child (`/proc/self/maps`) against "
        "the LD_LIBRARY_PATH entries.",
        "Remove those directories from LD_LIBRARY_PATH (for example `unset LD_LIBRARY_PATH` in "
        "the Python environment's activation).",
    ),
    _d(
        "EC406", "wsl-linux-driver", "error", "A Linux NVIDIA driver is installed inside WSL", ("F8",),
        "In WSL2 the Windows driver provides CUDA through `/usr/lib/wsl/lib`; a Linux driver "
        "installed inside WSL overrides those libraries and breaks CUDA (NVML: `driver not "
        "loaded`, or a version mismatch).",
        "WSL detected (`microsoft` in `/proc/version`, `/usr/lib/wsl/lib`), and NVML failing "
        "with `DRIVER_NOT_LOADED`/`LIB_RM_VERSION_MISMATCH`, a Linux kernel module version or "
        "`/dev/nvidia*` nodes.",
        "Remove the Linux driver packages inside WSL (`sudo apt-get remove --purge "
        "'^nvidia-driver-.*' '^libnvidia-.*'`), keep only the Windows driver, then `wsl "
        "--shutdown` from Windows.",
    ),
    _d(
        "EC407", "wsl-libcuda-so-missing", "warning", "WSL has libcuda.so.1 but no libcuda.so", ("F8",),
        "`/usr/lib/wsl/lib` holds only `libcuda.so.1`; libraries that `dlopen(\"libcuda.so\")` "
        "(Triton, some JIT compilers) fail while torch itself works.",
        "The listing of `/usr/lib/wsl/lib`, with a CUDA build of torch installed.",
        "Let the loader find it: `sudo ldconfig /usr/lib/wsl/lib`, or `export "
        "LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH`.",
    ),
    _d(
        "EC408", "shm-small", "warning", "/dev/shm is small", ("F9",),
        "DataLoader workers and NCCL pass data through `/dev/shm`; Docker's default is 64 MB: "
        "`DataLoader worker ... killed by signal: Bus error`, NCCL shared-memory errors.",
        "The size of `/dev/shm` (statvfs) below 1 GiB.",
        "Run the container with `--ipc=host` or `--shm-size=8g` (Kubernetes: an `emptyDir` with "
        "`medium: Memory` mounted at /dev/shm).",
    ),
    # -- 5: toolkit ----------------------------------------------------------------------------
    _d(
        "EC501", "nvcc-major-mismatch", "warning", "nvcc's CUDA major differs from torch's", ("F10",),
        "Building a CUDA extension (`pip install` of flash-attn, apex, a `setup.py` with "
        "CUDAExtension) uses the toolkit torch's `cpp_extension` finds; with another major, torch "
        "refuses: `The detected CUDA version (11.8) mismatches the version that was used to "
        "compile PyTorch (12.8)`. Running torch is not affected.",
        "The toolkit `cpp_extension` would use (CUDA_HOME, CUDA_PATH, nvcc on PATH, "
        "/usr/local/cuda, in that order) against torch's CUDA build.",
        "Point CUDA_HOME at a toolkit of torch's major (install it if needed), e.g. `export "
        "CUDA_HOME=/usr/local/cuda-12.8`, or install torch for the toolkit's CUDA.",
    ),
    _d(
        "EC502", "nvcc-minor-mismatch", "info", "nvcc's CUDA minor differs from torch's", ("F10",),
        "Extension builds work across minors of one major; torch prints a warning. Not a problem "
        "for running torch.",
        "As EC501, same major, another minor.",
        "Nothing required; for exact matches point CUDA_HOME at the toolkit of torch's version.",
    ),
    _d(
        "EC503", "nvcc-unusable", "warning", "An nvcc was found but does not work", ("F10",),
        "`nvcc --version` hung, failed or printed something unrecognisable: a broken toolkit or a "
        "wrapper script. Extension builds that find it will fail.",
        "Each toolkit's `nvcc --version` (run with a time limit): its status and output.",
        "Fix or remove that nvcc (or take it off PATH / CUDA_HOME).",
    ),
    # -- 6: GPU health -------------------------------------------------------------------------
    _d(
        "EC601", "gpu-lost", "error", "A GPU has fallen off the bus", ("F11",),
        "NVML reports the GPU lost (`GPU_IS_LOST`, Xid 79): it stopped answering on PCIe. Jobs "
        "on it crash; the node usually needs a reboot and, if it repeats, hardware service.",
        "NVML's `GPU_IS_LOST` for a device handle or a query.",
        "Drain the node and reboot; check `sudo dmesg | grep -i xid`; if it comes back, report "
        "the GPU for service (power, thermals, riser).",
    ),
    _d(
        "EC602", "ecc-uncorrectable", "error", "Uncorrectable ECC errors since the last reboot",
        ("F11",),
        "The GPU memory had uncorrectable (double-bit) errors since the driver was loaded: "
        "results may be corrupt and CUDA contexts on it are killed.",
        "NVML's volatile uncorrected ECC counter is above zero.",
        "Drain the GPU, reset it (`sudo nvidia-smi -r -i N`) or reboot to apply the retirement "
        "or row remap, then run `dcgmi diag -r 3`; repeated errors need hardware service.",
    ),
    _d(
        "EC603", "memory-repair-pending", "error", "GPU memory repair pending or failed", ("F11",),
        "A page retirement or row remap is pending (it takes effect at the next GPU reset), a "
        "remap failed, or 63 or more pages are retired (DCGM's limit).",
        "NVML's retired-pages pending status, remapped rows (pending, failed) and retired page "
        "counts.",
        "Reset the GPU (`sudo nvidia-smi -r -i N`) or reboot; a failed remap or too many retired "
        "pages needs hardware service.",
    ),
    _d(
        "EC604", "compute-mode-exclusive", "warning", "A GPU is in exclusive compute mode", ("F11",),
        "In exclusive-process mode a second process cannot use the GPU: `all CUDA-capable devices "
        "are busy or unavailable` (DataLoader workers touching CUDA, a second job, a notebook).",
        "NVML's compute mode.",
        "If not intended: `sudo nvidia-smi -i N -c DEFAULT`.",
    ),
    _d(
        "EC605", "compute-mode-prohibited", "error", "A GPU is in prohibited compute mode", ("F11",),
        "No process may create a CUDA context on the GPU.",
        "NVML's compute mode is `prohibited`.",
        "`sudo nvidia-smi -i N -c DEFAULT`.",
    ),
    _d(
        "EC606", "mig-enabled", "info", "MIG is enabled on a GPU", ("F7",),
        "The GPU is split into MIG instances: a process sees one instance, chosen with "
        "CUDA_VISIBLE_DEVICES=MIG-<uuid>; the GPU itself cannot be used as a whole.",
        "NVML's MIG mode.",
        "Nothing, if intended; list instances with `nvidia-smi -L`.",
    ),
)

_BY_CODE: Dict[str, Doc] = {d.code: d for d in CATALOG}
_BY_NAME: Dict[str, Doc] = {d.name: d for d in CATALOG}

# F11's "initialising CUDA in a parent process before forking workers" is a property of a
# program, not of a machine: no snapshot shows it. It is documented in envcheck/rules/findings.md.
UNOBSERVABLE = (
    (
        "F11",
        "Initialising CUDA in a parent process before forking workers (`Cannot re-initialize CUDA "
        "in forked subprocess`) is a property of a program, not of a machine, so no snapshot "
        "shows it. Use the `spawn` start method for workers that touch CUDA, and "
        "`PYTORCH_NVML_BASED_CUDA_CHECK=1` when the parent only needs `is_available()`.",
    ),
)


def lookup(text: str) -> Optional[Doc]:
    """A code (``EC101``, ``ec101``), a name (``driver-too-old``) or both (``EC101-driver-too-old``)."""
    t = text.strip()
    if not t:
        return None
    up = t.upper()
    if up in _BY_CODE:
        return _BY_CODE[up]
    low = t.lower()
    if low in _BY_NAME:
        return _BY_NAME[low]
    head, _, tail = t.partition("-")
    doc = _BY_CODE.get(head.upper())
    if doc is not None and (not tail or tail.lower() == doc.name):
        return doc
    head, _, tail = t.partition(" ")
    doc = _BY_CODE.get(head.upper())
    if doc is not None and tail.strip().lower() == doc.name:
        return doc
    return None


def render_markdown() -> str:
    """envcheck/rules/findings.md, generated from :data:`CATALOG` (a test keeps the two identical)."""
    out = [
        "# Findings",
        "",
        "Every code `envcheck diagnose` can report. `envcheck explain CODE` prints one entry.",
        "This file is generated from `envcheck/rules/catalog.py`; `tests/unit/rules/test_catalog.py`",
        "fails when they differ. Regenerate it with",
        "`python -c \"import envcheck.rules.catalog as c; print(c.render_markdown(), end='')\" > envcheck/rules/findings.md`.",
        "",
        "Severities: **error** (something is broken: `diagnose` exits 1), **warning** (likely to",
        "bite: exit 1 only with `--fail-on warning`), **info** (worth knowing; never changes the",
        "exit code). `diagnose` exits 3 when it could not inspect at all (for example `--python`",
        "names no interpreter). A machine without torch gives EC002, a warning: exit 0.",
        "",
        "Codes are stable: `EC` and three digits (hundreds: the area) plus a name; `explain`",
        "accepts either. Failure modes F1-F11 refer to [`failure-modes.md`](failure-modes.md), beside this file.",
        "",
        "| code | name | severity | failure modes |",
        "|---|---|---|---|",
    ]
    for d in CATALOG:
        out.append("| {} | {} | {} | {} |".format(d.code, d.name, d.severity, ", ".join(d.refs) or "-"))
    for digit, area in AREAS:
        docs = [d for d in CATALOG if d.code[2] == digit]
        if not docs:
            continue
        out += ["", "## {}".format(area)]
        for d in docs:
            out += [
                "",
                "### {} {}".format(d.code, d.name),
                "",
                "**{}** ({}). Failure modes: {}.".format(
                    d.title, d.severity, ", ".join(d.refs) or "none"
                ),
                "",
                "- What it means: " + d.meaning,
                "- How it is detected: " + d.detection,
                "- How to fix: " + d.fix,
            ]
    out += ["", "## Not observable in a snapshot", ""]
    for ref, text in UNOBSERVABLE:
        out.append("- {}: {}".format(ref, text))
    return "\n".join(out) + "\n"

