"""The NVIDIA driver: present, loaded, matching its libraries, new enough (EC101-EC109)."""

from __future__ import annotations

import os
import re
from typing import Iterator, List, Optional, Tuple

from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View, fix_fields

__all__ = [
    "driver_vs_torch",
    "no_driver",
    "driver_not_loaded",
    "driver_library_mismatch",
    "nvml_unusable",
    "failing_tool",
    "device_nodes",
    "wrong_libcuda",
    "RULES",
]

THREE_CUDAS = (
    "Three CUDA versions are in play: the driver's (its ceiling, what nvidia-smi calls `CUDA "
    "Version`), the toolkit's (nvcc, used only to compile extensions) and torch's (the CUDA it "
    "was built with and bundles, what it actually runs)."
)


def first_sentence(text: str) -> str:
    """The first line, up to its first full stop: torch's warnings run on for a paragraph."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    head, dot, _ = line.partition(". ")
    return head + "." if dot else line


def _judge(v: View):
    """judge_driver for torch's CUDA build, or None when it cannot be asked."""
    from envcheck.matrix.drivers import judge_driver

    d = v.facts.driver
    if not d.version or not v.is_cuda_build:
        return None
    try:
        return judge_driver(v.matrix, v.variant, d.version, v.driver_cuda, v.driver_os)
    except (ValueError, IndexError):  # a driver version the tables cannot parse
        return None


def driver_vs_torch(v: View) -> Iterator[Finding]:
    """EC101 (too old: other major, or below Table 2) and EC102 (minor-version compatibility)."""
    d = v.facts.driver
    # Without a version, the driver's CUDA ceiling alone (a report's "found version 11040")
    # still settles "too old"; compatibility mode needs the version's tables.
    if not v.is_cuda_build or not (d.version or v.driver_cuda):
        return
    cuda = v.variant.version[:2]
    verdict = _judge(v)
    status = verdict.status if verdict is not None else "unknown"
    if status == "unknown" and v.driver_cuda is not None:
        if v.driver_cuda[0] < cuda[0]:
            status = "too-old"
        elif v.driver_cuda < tuple(cuda):
            status = "compat"
    if status not in ("too-old", "compat") or (status == "compat" and not d.version):
        return
    evidence = [ev("driver.version", d.version)] if d.version else []
    evidence += [
        ev("driver.cuda_max", d.cuda_max),
        ev("torch.version", v.torch_version),
        ev("torch.cuda_build", v.cuda_build),
    ]
    rt = v.facts.torch_runtime
    if rt is not None:
        for w in rt.available_warnings:
            if "too old" in w.lower() or "insufficient" in w.lower():
                evidence.append(ev("torch_runtime.available_warnings", first_sentence(w)))
                break
    need = verdict.need if verdict is not None else None
    ceiling = "CUDA {}".format(d.cuda_max) if d.cuda_max else "an unknown CUDA"
    if status == "too-old":
        want = (need.compat or need.full) if need else None
        fix = v.install()
        if fix is not None and fix.cpu_fallback:
            fix = None  # no CUDA build runs on this driver: never the CPU build for a GPU machine
        if fix is not None:
            text = "Install a build for a CUDA this driver supports (the command below, {})".format(fix.described)
            if want:
                text += ", or upgrade the NVIDIA driver to >= {}".format(want)
        else:
            text = "No torch build in the data runs on this driver: upgrade the NVIDIA driver"
            if want:
                text += " to >= {}".format(want)
        if want and need is not None and need.full and need.full != want:
            text += " (>= {} for full support)".format(need.full)
        text += "."
        yield finding(
            "EC101",
            "{} ({}) is too old for {} (CUDA {}.{})".format(
                "driver " + d.version if d.version else "the NVIDIA driver", ceiling, v.torch_text(), cuda[0], cuda[1]
            ),
            evidence,
            cause="torch was built with CUDA {}.{}; this driver runs CUDA up to {} (what "
            "nvidia-smi shows as `CUDA Version`: the driver's ceiling, not what torch uses). CUDA "
            "minor-version compatibility only holds within one major{}, so torch cannot use the "
            "GPU (is_available() is False).".format(
                cuda[0], cuda[1], d.cuda_max or "an older version",
                ", from driver {} on".format(want) if want else "",
            ),
            fix=text,
            **fix_fields(fix),
        )
    else:
        from envcheck.install.choose import PTX_TOOLCHAIN

        full = need.full if need else None
        fix = v.full_support()
        text = ""
        if fix is not None:
            if fix.kept:
                text = "For full support, reinstall torch {} in its {} build (the command below), which " \
                       "driver {} fully supports".format(fix.torch, fix.variant, d.version)
            else:
                text = "For full support, install {} (the command below), the newest release driver {} " \
                       "fully supports".format(fix.what, d.version)
            text += "; or upgrade the driver to >= {}.".format(full) if full else "."
        elif full:
            text = "Upgrade the driver to >= {} for full support.".format(full)
        yield finding(
            "EC102",
            "driver {} ({}) runs torch's CUDA {}.{} in minor-version compatibility mode".format(
                d.version, ceiling, cuda[0], cuda[1]
            ),
            evidence,
            cause="The driver is older than CUDA {}.{}'s own but of the same major: torch "
            "works, but the driver cannot JIT-compile PTX made by the newer toolkit, so "
            "torch.compile/Triton kernels can fail with \"{}\", and the newest CUDA features "
            "are missing.".format(cuda[0], cuda[1], PTX_TOOLCHAIN),
            fix=text or "Nothing can be done with this driver but upgrading it.",
            command=fix.command if fix else None,
        )


def _container_hint(v: View) -> bool:
    return bool(v.facts.host.container.detected)


def no_driver(v: View) -> Iterator[Finding]:
    """EC103 (a CUDA build without a driver) and EC109 (a toolkit without a driver)."""
    d = v.facts.driver
    if v.driver_present or d.status in ("failed", "timed-out"):
        return
    if d.error_code in ("driver-not-loaded", "driver-library-mismatch"):
        return  # EC104 / EC105 / EC406
    evidence = [
        ev("driver.status", d.status),
        ev("driver.error_code", d.error_code),
        ev("driver.kernel_module.status", d.kernel_module.status),
    ]
    if d.smi is not None:
        evidence.append(ev("driver.smi.status", d.smi.status))
    pci = v.facts.host.nvidia_pci_gpus
    if pci and not v.wsl:
        yield _gpu_without_driver(v, evidence)
    elif v.is_cuda_build and v.facts.host.system != "Darwin":
        host = v.facts.host
        if v.wsl:
            fix = ("This is WSL: install (or update) the NVIDIA driver on Windows, not inside WSL; "
                   "then `wsl --shutdown` and reopen.")
            command = None
            where = "WSL without the Windows driver's CUDA libraries"
            evidence.append(ev("host.wsl.lib_dir", host.wsl.lib_dir))
        elif _container_hint(v):
            fix = ("Start the container with the NVIDIA runtime: `docker run --gpus all ...` (needs "
                   "the NVIDIA Container Toolkit on the host); in Kubernetes request "
                   "`nvidia.com/gpu`.")
            command = None
            where = "a {} container started without GPUs".format(host.container.kind or "")
            evidence += [ev("host.container.kind", host.container.kind),
                         ev("host.nvidia_device_nodes", list(host.nvidia_device_nodes))]
        else:
            cpu = v.install()
            fix = "If this machine has an NVIDIA GPU, install the NVIDIA driver. If it has none, " \
                  "install the CPU build instead (the command below" + (
                      ", {})".format(cpu.described) if cpu else ")") + ": it is gigabytes smaller."
            command = cpu.command if cpu and cpu.variant == "cpu" else None
            where = "no NVIDIA driver"
        yield finding(
            "EC103",
            "{} is a CUDA {} build, but {}".format(v.torch_text(), v.cuda_build, where),
            [ev("torch.variant", v.variant_label)] + evidence,
            cause="No NVIDIA driver answered (NVML: {}), so torch runs on the CPU only.".format(
                d.error_code or d.status
            ),
            fix=fix,
            command=command,
        )
    tk = _working_toolkit(v)
    if tk is not None and not pci:
        state = "no torch" if not v.torch_known else (
            "a CPU build of torch" if v.variant is not None and v.variant.kind == "cpu" else v.torch_text()
        )
        consistent = not v.is_cuda_build
        yield finding(
            "EC109",
            "nvcc {} is installed but there is no NVIDIA driver{}".format(
                tk.release, " (consistent with {})".format(state) if consistent else ""
            ),
            [ev("nvcc.release", tk.release), ev("nvcc.root", tk.root)] + evidence,
            cause="nvcc is the CUDA compiler: it builds CUDA code but cannot run it; running "
            "needs the driver. " + (
                "With {} and no GPU, nothing here needs a driver.".format(state)
                if consistent else "torch's CUDA build needs the driver, see EC103."
            ),
            fix="Nothing, unless this machine has an NVIDIA GPU: then install the driver.",
        )


def _gpu_without_driver(v: View, evidence: List[str]) -> Finding:
    """EC111: NVIDIA GPUs on the PCI bus and no driver answering (the hardware says a GPU is here)."""
    host = v.facts.host
    pci = host.nvidia_pci_gpus
    evidence = [ev("host.nvidia_pci_gpus", list(pci))] + evidence
    where = "{} NVIDIA GPU(s) on the PCI bus ({}{})".format(len(pci), pci[0], ", ..." if len(pci) > 1 else "")
    if host.container.detected:
        evidence.append(ev("host.container.kind", host.container.kind))
        cause = ("This {} container sees the host's PCI devices but was started without its GPUs, so "
                 "no driver is reachable inside it.".format(host.container.kind or ""))
        fix = ("Start the container with the GPUs: `docker run --gpus all ...` (needs the NVIDIA "
               "Container Toolkit on the host); in Kubernetes request `nvidia.com/gpu`.")
        command = None
    else:
        cause = ("The GPU is installed but no NVIDIA driver is loaded: it was never installed, was "
                 "removed, or its kernel module was not built for the running kernel ({}) (a kernel "
                 "upgrade without DKMS), or Secure Boot refused it. Nothing can use the GPU until it "
                 "is.".format(host.kernel or "unknown"))
        fix = ("Check which module claims the GPU: `lspci -k -d 10de:` (nouveau or none); install the "
               "NVIDIA driver for this kernel (with DKMS) or load it (`sudo modprobe nvidia`), sign it "
               "for Secure Boot if needed, then reboot.")
        command = None  # no one command installs a driver on every distribution
    return finding("EC111", "{} but no NVIDIA driver answers".format(where), evidence,
                   cause=cause, fix=fix, command=command)


def _working_toolkit(v: View):
    n = v.facts.nvcc
    sel = n.selected
    if sel is not None and sel.status == "ok" and sel.release:
        return sel
    for tk in n.toolkits:
        if tk.status == "ok" and tk.release:
            return tk
    return None


def driver_not_loaded(v: View) -> Iterator[Finding]:
    """EC104: NVML says DRIVER_NOT_LOADED (outside WSL, where EC406 says why)."""
    d = v.facts.driver
    if d.error_code != "driver-not-loaded" or v.wsl:
        return
    evidence = [ev("driver.error_code", d.error_code), ev("driver.detail", d.detail)]
    if d.kernel_module.status != "unknown":  # a pasted report rarely says
        evidence.append(ev("driver.kernel_module.status", d.kernel_module.status))
    if d.smi is not None and d.smi.status != "ok":
        evidence.append(ev("driver.smi.detail", d.smi.detail))
    tool, said = failing_tool(d)
    yield finding(
        "EC104",
        "nvidia-smi cannot communicate with the NVIDIA driver: its kernel module is not loaded"
        if tool == "nvidia-smi" else
        "the NVIDIA driver's libraries are installed but its kernel module is not loaded",
        evidence,
        cause="The kernel module is missing for the running kernel ({}): typical after a kernel "
        "upgrade without DKMS, with nouveau loaded, or when Secure Boot rejects the module.".format(
            v.facts.host.kernel or "unknown"
        ),
        fix="Load it: `sudo modprobe nvidia`. If that fails, reinstall the driver for this kernel "
        "(DKMS), sign it for Secure Boot or blacklist nouveau, then reboot.",
        command="sudo modprobe nvidia",
    )


def driver_library_mismatch(v: View) -> Iterator[Finding]:
    """EC105: NVML's LIB_RM_VERSION_MISMATCH, or NVML and the kernel module disagree."""
    d = v.facts.driver
    km = d.kernel_module
    if v.wsl:
        return  # EC406
    mismatch = d.error_code == "driver-library-mismatch"
    if not mismatch and d.version_source == "nvml" and km.version and d.version:
        mismatch = km.version != d.version
    if not mismatch:
        return
    evidence = [ev("driver.error_code", d.error_code)]
    if km.version:
        evidence.append(ev("driver.kernel_module.version", km.version))
    if d.version_source == "nvml":
        evidence.append(ev("driver.version", d.version))
    if d.smi is not None and d.smi.detail:
        evidence.append(ev("driver.smi.detail", d.smi.detail))
    lib = _smi_library_version(d.smi.detail if d.smi is not None else "")
    yield finding(
        "EC105",
        "driver/library version mismatch: kernel module {} {}".format(
            km.version or "(version unknown)",
            "vs libraries {}".format(lib or d.version) if (lib or d.version_source == "nvml")
            else "and other user-space libraries",
        ),
        evidence,
        cause="The driver's user-space libraries were upgraded (often by unattended upgrades) "
        "while the old kernel module is still loaded; NVML and CUDA refuse to work until they "
        "match.",
        fix="Reboot (or unload and reload the nvidia kernel modules), then hold the driver "
        "packages so that unattended upgrades cannot do it again (`sudo apt-mark hold` them).",
        command="sudo reboot",
    )


def _smi_library_version(text: str) -> Optional[str]:
    m = re.search(r"NVML library version:\s*([\d.]+)", text or "")
    return m.group(1) if m else None


def failing_tool(d) -> Tuple[str, str]:
    """(which tool failed, what it said): nvidia-smi where its failure became the driver's
    (:func:`envcheck.probes.nvml.probe_nvml`), else NVML."""
    smi = d.smi
    if smi is not None and smi.error_code and smi.error_code == d.error_code and d.detail.startswith("nvidia-smi"):
        return "nvidia-smi", smi.detail
    return "NVML", d.detail


_UNUSABLE_FIX = {
    "no-permission": "Give this user access to /dev/nvidia* (the group that owns them, often `video`), "
                     "or pass the devices to the container.",
    "no-devices": "The driver is loaded but finds no GPU: check `lspci | grep -i nvidia` (a GPU missing "
                  "there is a hardware or BIOS problem); in a container pass the devices (`--gpus all`).",
    "library-not-found": "nvidia-smi is installed but libnvidia-ml is not: the driver install is broken or "
                         "partial. Reinstall the NVIDIA driver (the same version as the kernel module).",
    "operating-system": "The operating system blocks the GPU (WSL: a Windows driver too old for WSL, or GPU "
                        "access disabled): update the Windows NVIDIA driver, then `wsl --shutdown`.",
}


def nvml_unusable(v: View) -> Iterator[Finding]:
    """EC106: NVML or nvidia-smi failed for another reason (permission, no devices, unknown), or
    pynvml is missing; a hang or a crash is EC110."""
    d = v.facts.driver
    code = d.error_code
    if d.status == "timed-out" or code in ("timeout", "crashed"):
        yield from _unresponsive(v)
        return
    if d.status == "failed" and code not in ("driver-not-loaded", "driver-library-mismatch", "gpu-lost"):
        pass  # EC104, EC105 and EC601 (a lost GPU) say those
    elif d.status == "missing" and code == "pynvml-missing" and v.driver_present:
        pass
    else:
        return
    tool, said = failing_tool(d)
    evidence = [ev("driver.status", d.status), ev("driver.error_code", code), ev("driver.detail", d.detail)]
    if d.smi is not None:
        evidence.append(ev("driver.smi.status", d.smi.status))
    if d.gpus:
        evidence.append(ev("driver.gpus (from nvidia-smi)", [g.name for g in d.gpus]))
    command = None
    if code == "pynvml-missing":
        fix = "Install NVML's Python binding: `pip install nvidia-ml-py`."
        command = "pip install nvidia-ml-py"
    elif code in _UNUSABLE_FIX:
        fix = _UNUSABLE_FIX[code]
    elif tool == "nvidia-smi":
        fix = ("Look up nvidia-smi's message (above) in `sudo dmesg | grep -i nvidia`; in a container, "
               "\"Failed to initialize NVML: Unknown Error\" means it lost its devices (restart it; "
               "on the host, a `systemctl daemon-reload` with cgroups v2 causes this).")
    else:
        fix = "Run `nvidia-smi` to see the driver's own error."
    if tool == "nvidia-smi":
        title = "nvidia-smi fails ({}): {}".format(code, _said(said))
        cause = "nvidia-smi is installed but cannot inspect the driver, so the GPUs are unknown and " \
                "may be unusable; this is not a machine without a GPU."
    else:
        title = "NVML could not inspect the driver ({})".format(code or d.status)
        cause = "NVML answered with `{}`, so the GPUs' details (and some checks) are missing.".format(code or d.status)
    yield finding("EC106", title, evidence, cause=cause, fix=fix, command=command)


def _said(text: str) -> str:
    """nvidia-smi's message without its "exit status N: " prefix, shortened for a title."""
    text = re.sub(r"^(?:NVML:\s*|exit status -?\d+:\s*)", "", text or "").strip()
    return text if len(text) <= 120 else text[:117] + "..."


def _unresponsive(v: View) -> Iterator[Finding]:
    """EC110: NVML or nvidia-smi hung or crashed: the driver is wedged, never "no GPU"."""
    d = v.facts.driver
    tool, said = failing_tool(d)
    crashed = d.error_code == "crashed"
    evidence = [ev("driver.status", d.status), ev("driver.error_code", d.error_code), ev("driver.detail", d.detail)]
    if d.smi is not None and tool != "nvidia-smi":
        evidence.append(ev("driver.smi.status", d.smi.status))
    if d.kernel_module.version:
        evidence.append(ev("driver.kernel_module.version", d.kernel_module.version))
    yield finding(
        "EC110",
        "{} {}: {}".format(tool, "crashed" if crashed else "hung", _said(said)),
        evidence,
        cause="{} {} while asking the driver about the GPUs. A healthy driver answers in well under a "
        "second; a hang or a crash inside it means a wedged driver or GPU (an Xid error, a GPU that fell "
        "off the bus, a driver/kernel mismatch), and CUDA programs on this machine will hang or fail "
        "too.".format(tool, "crashed" if crashed else "did not answer"),
        fix="Check `sudo dmesg | grep -i -E 'xid|nvrm'` for the driver's own error; stop the processes "
        "using the GPUs, reset them (`sudo nvidia-smi -r`) or reboot; if it recurs, drain the node and "
        "reinstall the driver.",
    )


def device_nodes(v: View) -> Iterator[Finding]:
    """EC107: the driver sees GPUs but /dev/nvidiactl or /dev/nvidia-uvm is missing."""
    host = v.facts.host
    d = v.facts.driver
    if v.os != "linux" or v.wsl or host.status != "ok" or d.status != "ok" or not d.gpus:
        return
    nodes = set(host.nvidia_device_nodes)
    missing = [n for n in ("/dev/nvidiactl", "/dev/nvidia-uvm") if n not in nodes]
    if not missing:
        return
    uvm_only = missing == ["/dev/nvidia-uvm"]
    yield finding(
        "EC107",
        "{} missing although the driver sees {} GPU(s)".format(" and ".join(missing), len(d.gpus)),
        [ev("host.nvidia_device_nodes", sorted(nodes)), ev("driver.gpu_count", d.gpu_count)],
        cause="CUDA needs /dev/nvidiactl and /dev/nvidia-uvm. "
        + ("The nvidia_uvm module is not loaded (it often goes missing after a suspend/resume)."
           if uvm_only else "The device files were not created or not passed to this container."),
        fix="Load the module and create the files: `sudo nvidia-modprobe -u -c=0` (or `sudo "
        "modprobe nvidia_uvm`), or reboot; in a container, pass all NVIDIA devices (`--gpus all`).",
        command="sudo nvidia-modprobe -u -c=0" if not host.container.detected else None,
    )


def _libcuda_version(path: str) -> Optional[str]:
    m = re.match(r"^libcuda\.so\.(\d{3,}\.\d+(?:\.\d+)?)$", os.path.basename(path))
    return m.group(1) if m else None


def wrong_libcuda(v: View) -> Iterator[Finding]:
    """EC108: the libcuda torch loaded is not the running driver's (compat dir, stray copy)."""
    d = v.facts.driver
    rt = v.runtime
    if rt is None:
        return
    driver = d.kernel_module.version or d.version
    evidence: List[str] = []
    for lib in rt.loaded_libraries:
        if lib.name != "libcuda":
            continue
        version = _libcuda_version(lib.path)
        if driver and version and version != driver:
            evidence.append(ev("torch_runtime.loaded_libraries[libcuda]", lib.path))
    compat = [e for e in v.facts.host.env.ld_library_path
              if e.compat and any(n.startswith("libcuda.so") for n in e.cuda_libs)]
    warned = [w for w in rt.available_warnings
              if "803" in w or "unsupported display driver" in w.lower()]
    if not evidence and not (compat and warned):
        return
    if driver:
        evidence.append(ev("driver.kernel_module.version" if d.kernel_module.version else "driver.version", driver))
    for e in compat:
        evidence.append(ev("host.env.ld_library_path[compat]", e.path))
    for w in warned[:1]:
        evidence.append(ev("torch_runtime.available_warnings", w.strip().splitlines()[0]))
    yield finding(
        "EC108",
        "torch loaded a libcuda that is not the running driver's{}".format(
            " ({} on LD_LIBRARY_PATH)".format(compat[0].path) if compat else ""
        ),
        evidence,
        cause="A CUDA forward-compatibility or stray libcuda comes first on the loader path; "
        "on GPUs or drivers it does not support, CUDA fails with error 803.",
        fix="Remove {} from LD_LIBRARY_PATH.".format(
            ", ".join(e.path for e in compat) if compat else "the directory holding that libcuda"
        ),
    )


RULES = (
    driver_vs_torch,
    no_driver,
    driver_not_loaded,
    driver_library_mismatch,
    nvml_unusable,
    device_nodes,
    wrong_libcuda,
)
