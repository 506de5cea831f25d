"""torch's build against the machine: CUDA or not, GPU code, cuDNN, Python (EC201-EC206, EC308-EC309)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View, cc_of, parse_arch, fix_fields

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.matrix.variants import ComputeCapability

__all__ = [
    "build_vs_gpus",
    "gpu_code",
    "cudnn_vs_gpus",
    "python_supported",
    "release_known",
    "cuda_unavailable",
    "RULES",
]


def build_vs_gpus(v: View) -> Iterator[Finding]:
    """EC201 (not a CUDA build on an NVIDIA machine) and EC202 (CPU build, no GPU: consistent)."""
    if not v.torch_known or v.is_cuda_build or v.variant_label is None:
        return
    d = v.facts.driver
    kind = {"cpu": "CPU-only", "xpu": "Intel XPU"}.get(v.variant_label, v.variant_label)
    if v.variant is not None and v.variant.kind == "rocm":
        kind = "ROCm ({})".format(v.variant_label)
    evidence = ([ev("torch.version", v.torch_version)] if v.torch_version else []) + [
        ev("torch.variant", v.variant_label), ev("torch.cuda_build", v.cuda_build)]
    if d.gpus or d.version:  # GPUs listed, or a driver whose GPU rows a report left out
        fix = v.install()
        evidence += [ev("driver.version", d.version)] if d.version else []
        evidence += [ev("driver.gpu_count", len(d.gpus))] if d.gpus else []
        evidence += [ev("driver.gpus[{}].name".format(g.index), g.name) for g in d.gpus[:4]]
        rt = v.runtime
        if rt is not None and rt.is_available is not None:
            evidence.append(ev("torch_runtime.is_available", rt.is_available))
        text = "Install the CUDA build chosen for this driver and these GPUs (the command below"
        text += ", {})".format(fix.described) if fix else ")"
        if fix is not None and fix.cpu_fallback:
            text = "No CUDA build of torch can run here: {}".format(
                fix.warnings[0] if fix.warnings else "see `envcheck install-command`"
            )
        yield finding(
            "EC201",
            "{} is a {} build, but this machine has {}".format(
                v.torch_text(), kind, v.gpu_text(list(d.gpus)) if d.gpus else "NVIDIA driver {}".format(d.version)),
            evidence,
            cause="A {} build of torch cannot use NVIDIA GPUs: torch.cuda.is_available() is "
            "False. This is what a plain `pip install torch` gives on Windows and macOS, or an "
            "index URL ending in /cpu.".format(kind),
            fix=text + ".",
            **fix_fields(fix),
        )
    elif not v.nvidia_machine and v.variant_label == "cpu" and d.status == "missing":
        # (a driver probe that failed or timed out proves nothing either way)
        mac = v.os == "macos"
        yield finding(
            "EC202",
            "{} is a CPU build and this machine has no NVIDIA GPU: consistent".format(v.torch_text()),
            evidence + [ev("driver.status", d.status), ev("driver.error_code", d.error_code)],
            cause=("macOS wheels are CPU builds with Apple's MPS backend." if mac else
                   "No NVIDIA driver or GPU was found, so a CUDA build would have nothing to use: "
                   "the CPU build is the right one."),
            fix="Nothing to do.",
        )


def _arch_lists(v: View) -> Tuple[Optional[Tuple[str, ...]], Optional[Tuple[str, ...]], str, List[str]]:
    """(sass, ptx, where from, evidence) or (None, None, why unknown, evidence)."""
    rt = v.runtime
    if rt is not None and rt.arch_list:
        sass: List[str] = []
        ptx: List[str] = []
        for a in rt.arch_list:
            parsed = parse_arch(a)
            if parsed is None:
                continue
            (sass if parsed[0] == "sass" else ptx).append(parsed[1])
        if sass or ptx:
            return tuple(sass), tuple(ptx), "torch.cuda.get_arch_list()", [
                ev("torch_runtime.arch_list", list(rt.arch_list))
            ]
    if v.release is None:
        return None, None, "torch {} is not in the data".format(v.torch_base or v.torch_version), []
    if v.variant is None:
        return None, None, "the build of {} is not known".format(v.torch_text()), []
    from envcheck.matrix.archs import wheel_archs

    wa = wheel_archs(v.matrix, v.release, v.variant, v.os)
    if not wa.known:
        return None, None, wa.note or "no architecture data for this wheel", []
    listing = ["sm_" + s.replace(".", "") for s in wa.sass] + ["compute_" + p.replace(".", "") for p in wa.ptx]
    where = "the data's table for torch {} {} ({})".format(v.release.torch, v.variant.label, wa.confidence)
    return wa.sass, wa.ptx, where, [ev("matrix.wheel_archs[{} {}]".format(v.release.torch, v.variant.label), listing)]


_REFUSED = re.compile(r"capability (sm_\d+)[a-z]? is not compatible with the current PyTorch", re.IGNORECASE)


def _refused(rt: object) -> Dict[str, str]:
    """``{"sm_120": warning}``: the GPUs torch's own warning says it has no code for."""
    out: Dict[str, str] = {}
    for w in getattr(rt, "available_warnings", ()) or ():
        for line in w.splitlines():
            m = _REFUSED.search(line)
            if m:
                out.setdefault(m.group(1).lower(), line.strip()[:200])
    return out


def gpu_code(v: View) -> Iterator[Finding]:
    """EC203 (no code for a GPU), EC204 (PTX JIT only), EC205 (cannot tell)."""
    rt = v.runtime
    refused = _refused(rt)
    # torch's arch list is not empty, and its "sm_XY is not compatible" warning is given, only by
    # a CUDA build, even when its CUDA version is not known (a pasted warning states neither).
    if not v.is_cuda_build and not refused and not (rt is not None and any(a.startswith("sm_") for a in rt.arch_list)):
        return
    from envcheck.matrix.archs import generation, runs_on

    groups: Dict["ComputeCapability", List[Any]] = {}
    for g in v.gpus:
        cc = cc_of(g)
        if cc is not None:
            groups.setdefault(cc, []).append(g)
    if not groups:
        return
    sass, ptx, where, arch_ev = _arch_lists(v)
    build_ev = [ev("torch.version", v.torch_version), ev("torch.variant", v.variant_label)] \
        if v.is_cuda_build else [ev("torch.version", v.torch_version)] if v.torch_version else []
    generic = list(refused.values())[:1] or [
        w.strip().splitlines()[0][:200] for w in (rt.available_warnings if rt is not None else ()) if "sm_" in w][:1]
    fix = None
    unknown = []
    for cc in sorted(groups):
        gpus = groups[cc]
        told = refused.get("sm_{}{}".format(cc.major, cc.minor))
        if sass is not None:
            verdict = runs_on(cc, sass, ptx or ())
            runs, jit, reason = verdict.runs, verdict.jit, "{} (from {})".format(verdict.reason, where)
        elif told:
            runs, jit, reason = False, False, "torch's own warning says it has no code for sm_{}{}".format(
                cc.major, cc.minor)
        else:
            unknown.append(cc)
            continue
        evidence = [_cc_ev(g) for g in gpus[:2]] + build_ev + (arch_ev if sass is not None else [])
        if not runs:
            fix = fix or v.install()
            yield finding(
                "EC203",
                "{} has no code for {} (sm_{}{}, {})".format(
                    v.torch_text(), v.gpu_text(gpus), cc.major, cc.minor, generation(cc)
                ),
                evidence + [ev("torch_runtime.available_warnings", w) for w in ([told] if told else generic)],
                cause="{}. The GPU will fail with `no kernel image is available for execution on the "
                "device`.".format(reason),
                fix=("Install a build whose architecture list covers every GPU here: {} (the command "
                     "below).".format(fix.described) if fix and not fix.cpu_fallback else
                     "No official build of a recent torch carries code for this GPU: {}".format(
                         fix.warnings[0] if fix and fix.warnings else
                         "see `envcheck matrix --cc {}`".format(cc))),
                **fix_fields(fix),
            )
        elif jit:
            fix = fix or v.install()
            yield finding(
                "EC204",
                "{} runs on {} only through PTX JIT".format(v.torch_text(), v.gpu_text(gpus)),
                evidence,
                cause="{}.".format(reason),
                fix="Install a build with native code for sm_{}{} (the command below).".format(cc.major, cc.minor),
                **fix_fields(fix),
            )
    if unknown:
        ccs = ", ".join("sm_{}{}".format(c.major, c.minor) for c in unknown)
        yield finding(
            "EC205",
            "cannot confirm {} carries code for {}".format(v.torch_text(), ccs),
            build_ev + [ev("facts.quick", v.facts.quick)],
            cause="The architectures of this torch are unknown: {}{}.".format(
                where, "; the torch child was skipped (--quick)" if v.facts.quick else ""
            ),
            fix="Run `envcheck diagnose` without --quick, or refresh the data with `envcheck "
            "matrix update --write`.",
        )


def _cc_ev(gpu: Any) -> str:
    """A GPU's compute capability as evidence: NVML's, or torch's for a device only torch saw."""
    if getattr(gpu, "source", None) == "torch":
        return ev("torch_runtime.devices[{}].capability".format(gpu.index), gpu.compute_capability)
    return ev("driver.gpus[{}].compute_capability".format(gpu.index), gpu.compute_capability)


def _cudnn(v: View) -> Optional[Tuple[Tuple[int, int], str]]:
    rt = v.runtime
    if rt is not None and isinstance(rt.cudnn_version, int) and rt.cudnn_version > 0:
        n = rt.cudnn_version
        if n >= 90000:  # cuDNN 9: major*10000 + minor*100 + patch
            return (n // 10000, (n % 10000) // 100), ev("torch_runtime.cudnn_version", n)
        return (n // 1000, (n % 1000) // 100), ev("torch_runtime.cudnn_version", n)
    from envcheck.rules.view import split_version

    for p in v.facts.torch.cuda_packages:
        if p.name.lower().replace("_", "-").startswith("nvidia-cudnn"):
            base, _ = split_version(p.version)
            parts = (base or "").split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                return (int(parts[0]), int(parts[1])), ev("torch.cuda_packages[{}]".format(p.name), p.version)
    return None


def _below(cc: Optional["ComputeCapability"], floor: Tuple[int, int]) -> bool:
    return cc is not None and (cc.major, cc.minor) < floor


def cudnn_vs_gpus(v: View) -> Iterator[Finding]:
    """EC206: cuDNN >= 9.11 with a GPU below sm_75."""
    if not v.is_cuda_build:
        return
    found = _cudnn(v)
    if found is None or found[0] < (9, 11):
        return
    version, where = found
    old = [g for g in v.facts.driver.gpus if _below(cc_of(g), (7, 5))]
    if not old:
        return
    fix = v.install(keep_torch=True, keep_variant=True)
    pins = [p for p in v.facts.torch.cuda_pins if p.name.startswith("nvidia-cudnn")]
    evidence = [where] + [ev("driver.gpus[{}].compute_capability".format(g.index), g.compute_capability) for g in old[:2]]
    evidence += [ev("torch.cuda_pins[{}]".format(p.name), p.specifier) for p in pins[:1]]
    yield finding(
        "EC206",
        "cuDNN {}.{} does not support {}".format(version[0], version[1], v.gpu_text(old)),
        evidence,
        cause="cuDNN 9.11 dropped GPUs below sm_75 (Maxwell, Pascal, Volta): convolutions and "
        "other cuDNN operations fail on them.",
        fix="Reinstall torch's own pinned cuDNN (the command below reinstalls the set) or use a "
        "torch whose cuDNN is older than 9.11; as a stopgap set "
        "`torch.backends.cudnn.enabled = False`.",
        **fix_fields(fix),
    )


def python_supported(v: View) -> Iterator[Finding]:
    """EC308: the installed release publishes no wheels for this Python."""
    rel = v.release
    if rel is None or not v.python or not v.facts.torch.status == "ok":
        return
    if rel.supports_python(v.python) or not rel.python:
        return
    fix = v.install()
    yield finding(
        "EC308",
        "torch {} has no wheels for Python {} (it supports {}-{})".format(
            rel.torch, v.python, rel.python[0], rel.python[-1]
        ),
        [ev("torch.version", v.torch_version), ev("torch.python_version", v.facts.torch.python_version),
         ev("matrix.releases[{}].python".format(rel.torch), list(rel.python))],
        cause="This torch was built from source or came from an unofficial channel; upgrading "
        "or reinstalling it with pip will not resolve.",
        fix="Use a Python that torch {} supports, or install a release that supports Python {} "
        "(the command below{}).".format(rel.torch, v.python, ", " + fix.described if fix else ""),
        **fix_fields(fix),
    )


def release_known(v: View) -> Iterator[Finding]:
    """EC309: torch's release is not in the data."""
    if v.facts.torch.status != "ok" or v.release is not None:
        return
    yield finding(
        "EC309",
        "torch {} is not a release in envcheck's data ({} to {})".format(
            v.torch_version, v.matrix.releases[0].torch, v.matrix.newest.torch
        ),
        [ev("torch.version", v.torch_version), ev("matrix.newest", v.matrix.newest.torch)],
        cause="A release newer than the data, a nightly or a source build: partners, Pythons and "
        "GPU code could not be checked against the data.",
        fix="Refresh the data: `envcheck matrix update --write`.",
        command="envcheck matrix update --write",
    )


def cuda_unavailable(v: View, others: List[Finding]) -> Iterator[Finding]:
    """EC207, after the other rules: is_available() is False and nothing else explains it."""
    rt = v.runtime
    d = v.facts.driver
    if rt is None or rt.is_available is not False or not v.is_cuda_build or not d.gpus:
        return
    if any(f.severity == "error" for f in others):
        return
    evidence = [ev("torch_runtime.is_available", False), ev("torch_runtime.device_count", rt.device_count),
                ev("driver.gpu_count", len(d.gpus))]
    evidence += [ev("torch_runtime.available_warnings", w.strip().splitlines()[0][:200])
                 for w in rt.available_warnings[:2]]
    evidence += [ev("torch_runtime.errors[{}]".format(k), e) for k, e in sorted(rt.errors.items())[:2]]
    fix = v.install(keep_torch=True, keep_variant=True)
    yield finding(
        "EC207",
        "{} sees no GPU although the driver lists {}".format(v.torch_text(), len(d.gpus)),
        evidence,
        cause="torch's CUDA initialisation failed; its warning (in the evidence) names the "
        "reason.",
        fix="Check `nvidia-smi`, CUDA_VISIBLE_DEVICES and /dev/nvidia*, then reinstall with the "
        "command below.",
        **fix_fields(fix),
    )


RULES = (build_vs_gpus, gpu_code, cudnn_vs_gpus, python_supported, release_known)
