"""Environment variables and the host around torch (EC401-EC408)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View

__all__ = [
    "Visible",
    "parse_visible_devices",
    "visible_devices",
    "device_order",
    "ld_library_path",
    "wsl",
    "shm",
    "RULES",
]

GIB = 1 << 30
_SHADOW_PREFIXES = ("libcudnn", "libnccl", "libnvJitLink", "libcublas", "libcudart")


@dataclass(frozen=True)
class Visible:
    """CUDA_VISIBLE_DEVICES as torch reads it, against the GPUs NVML lists."""

    ordinals: Optional[Tuple[int, ...]]  # the physical GPUs CUDA will use; None: cannot tell
    reason: Optional[str] = None  # empty | repeated | invalid | out-of-range | no-match | ambiguous
    bad: Optional[str] = None  # the entry that cut the list
    form: str = "index"  # index | uuid | mig

    @property
    def cut(self) -> bool:
        return self.reason is not None


def _strtoul(text: str) -> int:
    """torch's ``_strtoul``: the leading integer of ``text``, -1 when there is none."""
    if not text:
        return -1
    idx = 0
    for idx, c in enumerate(text):
        if not (c.isdigit() or (idx == 0 and c in "+-")):
            break
        if idx + 1 == len(text):
            idx += 1
    try:
        return int(text[:idx]) if idx > 0 else -1
    except ValueError:  # a lone sign
        return -1


def parse_visible_devices(value: str, uuids: Sequence[Optional[str]], count: int) -> Visible:
    """Apply torch's parsing (``torch.cuda._parse_visible_devices`` and the NVML count).

    ``""`` means no GPU; a repeated entry means no GPU; the first invalid entry ends the list;
    indices at or past ``count`` cut it there; ``GPU-`` entries are unique UUID prefixes.
    """
    if value.startswith("MIG-"):
        return Visible(None, form="mig")
    if value.startswith("GPU-"):
        candidates: List[str] = []
        reason: Optional[str] = None
        bad: Optional[str] = None
        for elem in value.split(","):
            if elem in candidates:
                return Visible((), "repeated", elem, "uuid")
            if not elem.startswith("GPU-"):
                reason, bad = "invalid", elem
                break
            candidates.append(elem)
        known = [u for u in uuids if u]
        if not known or all(u.startswith("GPU-redacted") for u in known):
            return Visible(None, form="uuid")  # cannot match a redacted snapshot's UUIDs
        out: List[int] = []
        for cand in candidates:
            matches = [i for i, u in enumerate(uuids) if u and u.startswith(cand)]
            if len(matches) != 1:
                reason, bad = ("no-match" if not matches else "ambiguous"), cand
                break
            if matches[0] in out:
                return Visible((), "repeated", cand, "uuid")
            out.append(matches[0])
        return Visible(tuple(out), reason, bad, "uuid")
    ordinals: List[int] = []
    reason = None
    bad = None
    for elem in value.split(","):
        x = _strtoul(elem.strip())
        if x in ordinals:
            return Visible((), "repeated", elem, "index")
        if x < 0:
            reason, bad = ("empty" if not value.strip() else "invalid"), elem
            break
        ordinals.append(x)
    for i, x in enumerate(ordinals):
        if x >= count:
            return Visible(tuple(ordinals[:i]), "out-of-range", str(x), "index")
    return Visible(tuple(ordinals), reason, bad, "index")


_REASONS = {
    "empty": "it is set but empty, which means no GPU",
    "repeated": "entry {bad!r} is repeated, and a repeated entry means no GPU at all",
    "invalid": "entry {bad!r} is not a GPU index, and the list ends at the first invalid entry",
    "out-of-range": "index {bad} does not exist (NVML lists {count} GPU(s)), and the list ends there",
    "no-match": "{bad!r} matches no GPU's UUID, and the list ends there",
    "ambiguous": "{bad!r} matches more than one GPU's UUID, and the list ends there",
}


def visible_devices(v: View) -> Iterator[Finding]:
    """EC401 (every GPU hidden) and EC402 (the list is cut short)."""
    env = v.facts.host.env
    value = env.cuda_visible_devices
    gpus = v.facts.driver.gpus
    if value is None or not gpus:
        return
    vis = parse_visible_devices(value, [g.uuid for g in gpus], len(gpus))
    evidence = [ev("host.env.cuda_visible_devices", value), ev("driver.gpu_count", len(gpus))]
    if vis.form == "mig":
        if any(g.mig_enabled for g in gpus) or all(g.mig_enabled is None for g in gpus):
            return
        yield finding(
            "EC401",
            "CUDA_VISIBLE_DEVICES names MIG instances, but no GPU has MIG enabled",
            evidence + [ev("driver.gpus[{}].mig_enabled".format(g.index), g.mig_enabled) for g in gpus[:2]],
            cause="`MIG-` UUIDs select MIG instances; with MIG off there are none, so CUDA sees no GPU.",
            fix="Unset CUDA_VISIBLE_DEVICES, or list the GPUs by index (`export CUDA_VISIBLE_DEVICES=0`).",
            command="unset CUDA_VISIBLE_DEVICES",
        )
        return
    if vis.ordinals is None or vis.reason is None:
        return
    why = _REASONS[vis.reason].format(bad=vis.bad, count=len(gpus))
    rt = v.runtime
    if rt is not None and rt.device_count is not None:
        evidence.append(ev("torch_runtime.device_count", rt.device_count))
    if not vis.ordinals:
        yield finding(
            "EC401",
            "CUDA_VISIBLE_DEVICES={!r} hides all {} GPU(s)".format(value, len(gpus)),
            evidence,
            cause="torch and CUDA read CUDA_VISIBLE_DEVICES: {}. `No CUDA GPUs are "
            "available`.".format(why),
            fix="Unset it to use every GPU, or list valid indices (`export CUDA_VISIBLE_DEVICES=0,1`).",
            command="unset CUDA_VISIBLE_DEVICES",
        )
    else:
        keep = ",".join(str(i) for i in vis.ordinals)
        yield finding(
            "EC402",
            "CUDA_VISIBLE_DEVICES={!r} keeps only GPU(s) {}".format(value, keep),
            evidence + [ev("effective GPUs", keep)],
            cause="{}: the entries after it are ignored (`invalid device ordinal` when code asks "
            "for them).".format(why[0].upper() + why[1:]),
            fix="Fix or remove entry {!r}.".format(vis.bad),
        )


def device_order(v: View) -> Iterator[Finding]:
    """EC403: several GPUs, numbered differently by CUDA and nvidia-smi."""
    gpus = v.facts.driver.gpus
    env = v.facts.host.env
    if len(gpus) < 2 or (env.cuda_device_order or "").upper() == "PCI_BUS_ID":
        return
    models = sorted({(g.name or "?", g.compute_capability or "?") for g in gpus})
    by_index = env.cuda_visible_devices is not None and env.cuda_visible_devices.strip()[:1].isdigit()
    if len(models) < 2 and not by_index:
        return
    evidence = [ev("host.env.cuda_device_order", env.cuda_device_order), ev("driver.gpu_count", len(gpus))]
    evidence += [ev("driver.gpus[{}].name".format(g.index), g.name) for g in gpus[:4]]
    if by_index:
        evidence.append(ev("host.env.cuda_visible_devices", env.cuda_visible_devices))
    yield finding(
        "EC403",
        "CUDA_DEVICE_ORDER is not PCI_BUS_ID on a machine with {} GPUs".format(
            "different" if len(models) > 1 else len(gpus)),
        evidence,
        cause="CUDA numbers GPUs fastest first, nvidia-smi by PCI bus: `cuda:0` need not be "
        "nvidia-smi's GPU 0, and CUDA_VISIBLE_DEVICES indices pick by CUDA's order.",
        fix="`export CUDA_DEVICE_ORDER=PCI_BUS_ID` in the shell profile or job script.",
        command="export CUDA_DEVICE_ORDER=PCI_BUS_ID",
    )


def _under(path: str, root: Optional[str]) -> bool:
    if not root:
        return False
    a = os.path.normpath(path)
    b = os.path.normpath(root)
    return a == b or a.startswith(b.rstrip("/") + "/")


def _toolkit_release(v: View, path: str) -> Optional[Tuple[int, int]]:
    """The CUDA release of the toolkit a directory belongs to, when it is a known one."""
    from envcheck.rules.view import cuda_tuple

    for tk in v.facts.nvcc.toolkits:
        for root in (tk.root,) + tuple(tk.aliases):
            if tk.release and _under(path, root):
                return cuda_tuple(tk.release)
    return None


def _risky_libs(v: View, entry) -> List[str]:
    """Libraries of an LD_LIBRARY_PATH entry that can replace the ones torch was built with.

    cuDNN and NCCL from anywhere (they are versioned apart from CUDA); cudart, cuBLAS and
    nvJitLink of another CUDA major, or of a toolkit older than torch's CUDA.
    """
    from envcheck.rules.view import cuda_tuple

    torch_cuda = cuda_tuple(v.cuda_build)
    toolkit = _toolkit_release(v, entry.path)
    out = []
    for name in entry.cuda_libs:
        if not name.startswith(_SHADOW_PREFIXES):
            continue
        if name.startswith(("libcudnn", "libnccl")):
            out.append(name)
            continue
        m = re.search(r"\.so\.(\d+)", name)
        major = int(m.group(1)) if m else None
        if torch_cuda and major is not None and major != torch_cuda[0]:
            out.append(name)
        elif torch_cuda and toolkit is not None and toolkit < torch_cuda:
            out.append(name)
    return out


def ld_library_path(v: View) -> Iterator[Finding]:
    """EC404 (CUDA libraries on LD_LIBRARY_PATH can shadow torch's) and EC405 (they did)."""
    if not v.is_cuda_build or v.facts.torch.installer == "conda":
        return
    location = v.facts.torch.location
    entries = [
        (e, risky) for e in v.facts.host.env.ld_library_path
        if e.exists and not _under(e.path, location)
        for risky in [_risky_libs(v, e)] if risky
    ]
    dirs = {os.path.normpath(e.path) for e in v.facts.host.env.ld_library_path if e.path}
    rt = v.runtime
    if rt is not None:
        shadowed = [
            lib for lib in rt.loaded_libraries
            if lib.name not in ("libcuda", "libtorch_cuda")
            and os.path.normpath(os.path.dirname(lib.path)) in dirs
            and not _under(lib.path, location)
        ]
        if shadowed:
            yield finding(
                "EC405",
                "torch loaded {} from LD_LIBRARY_PATH instead of its own".format(
                    ", ".join(sorted({s.name for s in shadowed}))),
                [ev("torch_runtime.loaded_libraries[{}]".format(s.name), s.path) for s in shadowed[:4]]
                + [ev("host.env.ld_library_path", [e.path for e in v.facts.host.env.ld_library_path][:4])],
                cause="The loader searches LD_LIBRARY_PATH before the libraries installed for "
                "torch, so torch {} runs against versions it was not built with.".format(v.torch_version),
                fix="Remove {} from LD_LIBRARY_PATH for Python work.".format(
                    ", ".join(sorted({os.path.dirname(s.path) for s in shadowed}))),
                command="unset LD_LIBRARY_PATH",
            )
        return  # the child ran: what it loaded is the truth
    if not entries:
        return
    yield finding(
        "EC404",
        "LD_LIBRARY_PATH holds CUDA libraries that can shadow torch's: {}".format(
            ", ".join(e.path for e, _ in entries[:3])),
        [ev("host.env.ld_library_path[{}]".format(e.path), risky[:5]) for e, risky in entries[:4]]
        + [ev("torch.variant", v.variant_label), ev("torch.installer", v.facts.torch.installer)],
        cause="These directories are searched before the CUDA libraries pip installed for torch; "
        "another cuDNN, NCCL or cuBLAS version there breaks `import torch` or later calls "
        "(`undefined symbol`).",
        fix="Remove them from LD_LIBRARY_PATH in the environment that runs Python (run "
        "`envcheck diagnose` without --quick to see what torch actually loads).",
    )


def wsl(v: View) -> Iterator[Finding]:
    """EC406 (a Linux driver inside WSL) and EC407 (no libcuda.so in /usr/lib/wsl/lib)."""
    if not v.wsl:
        return
    host = v.facts.host
    d = v.facts.driver
    km = d.kernel_module
    signs: List[str] = []
    if d.error_code in ("driver-not-loaded", "driver-library-mismatch"):
        signs.append(ev("driver.error_code", d.error_code))
    if km.status == "ok":
        signs.append(ev("driver.kernel_module.version", km.version))
    nodes = [n for n in host.nvidia_device_nodes if n.startswith("/dev/nvidia")]
    if nodes:
        signs.append(ev("host.nvidia_device_nodes", nodes[:4]))
    if signs:
        yield finding(
            "EC406",
            "a Linux NVIDIA driver is installed inside WSL{}".format(
                " (kernel module {})".format(km.version) if km.version else ""),
            [ev("host.wsl.version", host.wsl.version), ev("host.wsl.lib_dir", host.wsl.lib_dir)] + signs,
            cause="In WSL2 the Windows driver provides CUDA through /usr/lib/wsl/lib; a Linux "
            "driver's libraries take precedence and cannot reach the GPU.",
            fix="Remove the Linux driver packages inside WSL and keep only the Windows driver, "
            "then run `wsl --shutdown` from Windows.",
            command="sudo apt-get remove --purge '^nvidia-driver-.*' '^libnvidia-.*'",
        )
    files = set(host.wsl.lib_files)
    if host.wsl.lib_dir and "libcuda.so.1" in files and "libcuda.so" not in files and v.is_cuda_build:
        yield finding(
            "EC407",
            "{} has libcuda.so.1 but no libcuda.so".format(host.wsl.lib_dir),
            [ev("host.wsl.lib_files", sorted(f for f in files if f.startswith("libcuda")))],
            cause="Libraries that `dlopen(\"libcuda.so\")` (Triton for torch.compile, some JIT "
            "compilers) do not find the driver; torch itself loads libcuda.so.1 and works.",
            fix="Register the directory with the loader: `sudo ldconfig {}`.".format(host.wsl.lib_dir),
            command="sudo ldconfig {}".format(host.wsl.lib_dir),
        )


def shm(v: View) -> Iterator[Finding]:
    """EC408: /dev/shm below 1 GiB."""
    s = v.facts.host.shm
    if s is None or not s.exists or s.total_bytes is None or s.total_bytes >= GIB:
        return
    c = v.facts.host.container
    docker = c.detected and (c.kind or "") in ("docker", "podman", "containerd", "")
    kube = c.detected and c.kind == "kubernetes"
    yield finding(
        "EC408",
        "/dev/shm is only {:.0f} MiB".format(s.total_bytes / (1 << 20)),
        [ev("host.shm.total_bytes", s.total_bytes), ev("host.shm.free_bytes", s.free_bytes),
         ev("host.container.kind", c.kind)],
        cause="DataLoader workers and NCCL pass tensors through /dev/shm; {}: `DataLoader worker "
        "... killed by signal: Bus error`.".format(
            "Docker gives containers 64 MB unless told otherwise" if docker else "too small for them"),
        fix=("Start the container with `--ipc=host` or `--shm-size=8g`." if docker else
             "Mount an `emptyDir` with `medium: Memory` at /dev/shm." if kube else
             "Enlarge it: `sudo mount -o remount,size=8G /dev/shm`."),
        command=None if (docker or kube) else "sudo mount -o remount,size=8G /dev/shm",
    )


RULES = (visible_devices, device_order, ld_library_path, wsl, shm)
