"""Choose the torch release and build for a target machine, and say why.

One function, :func:`choose`, used by ``install-command``, ``requirements`` and diagnose. It
walks releases newest first and builds newest first, and records every rejected alternative
with its reason, so the explanation is a by-product of the choice rather than a second opinion.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from envcheck.errors import InputError
from envcheck.matrix import archs as _archs
from envcheck.matrix import drivers as _drivers
from envcheck.matrix import query
from envcheck.matrix.report import off_selector_entry
from envcheck.matrix.model import Release
from envcheck.matrix.store import Matrix
from envcheck.matrix.variants import (
    ComputeCapability,
    Variant,
    parse_cc,
    parse_cuda,
    parse_driver,
    parse_rocm,
)

__all__ = ["Target", "Choice", "Rejected", "choose", "target_from_options", "NoChoice", "fully_supported", "keep_release", "compat_warning", "driver_needed", "PTX_TOOLCHAIN", "off_selector_words", "running_python", "running_os"]


class NoChoice(InputError):
    pass


@dataclass(frozen=True)
class Target:
    """The machine to install for: detected, described on the command line, or from facts."""

    os: str = "linux"
    python: str | None = None  # "3.11"
    driver: str | None = None  # "535.104.05"
    driver_cuda: tuple[int, int] | None = None  # the driver's own highest CUDA (NVML)
    gpus: tuple[ComputeCapability, ...] = ()
    gpu_names: tuple[str, ...] = ()
    want: Variant | None = None  # --cuda / --rocm / --cpu
    torch: str | None = None  # "2.7.1", "2.7", "<2.6"
    strict_driver: bool = False
    manager: str = "pip"  # conda publishes its own set of builds (1.9.0: pip cu111, conda cu113)
    source: str = "given"  # "given" | "this machine" | "facts FILE"
    detected: tuple[str, ...] = ()  # what detection found, in words
    nvidia_present: bool | None = None  # None: unknown (nothing said)

    def describe(self) -> list[str]:
        out = [f"target: {self.source}"]
        out.append(f"  os {self.os}, python {self.python or 'any'}")
        if self.driver:
            cuda = f" (its highest CUDA {self.driver_cuda[0]}.{self.driver_cuda[1]})" if self.driver_cuda else ""
            out.append(f"  NVIDIA driver {self.driver}{cuda}")
        if self.gpus:
            named = [f"{n} ({c})" if n else str(c) for n, c in zip(self.gpu_names or ("",) * len(self.gpus), self.gpus)]
            out.append(f"  GPUs: {', '.join(named)}")
        out += [f"  {d}" for d in self.detected]
        if self.want:
            out.append(f"  asked for: {self.want.describe()}")
        if self.torch:
            out.append(f"  torch: {self.torch}")
        return out

    def to_dict(self) -> dict:
        return {
            "source": self.source, "os": self.os, "python": self.python, "driver": self.driver,
            "driver_cuda": f"{self.driver_cuda[0]}.{self.driver_cuda[1]}" if self.driver_cuda else None,
            "gpus": [str(c) for c in self.gpus], "gpu_names": list(self.gpu_names),
            "asked_for": self.want.label if self.want else None, "torch": self.torch, "detected": list(self.detected),
        }

    def with_flags(self, **flags) -> "Target":
        """This (detected) target with what the user typed laid over it (flags win; a driver or
        GPU given describes another machine): :func:`target_from_options` with ``base=self``."""
        return target_from_options(base=self, **flags)


@dataclass(frozen=True)
class Rejected:
    torch: str
    variant: str | None  # None: the whole release
    reason: str


@dataclass
class Choice:
    release: Release
    variant: Variant
    target: Target
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    driver_status: str | None = None  # "full" | "compat" | None
    fallback: bool = False  # CPU build chosen because no GPU build could run
    will_not_run: bool = False  # the build asked for cannot run on the target (driver or GPU)
    # Chosen in compatibility mode: the newest release with a build the driver fully supports.
    alternative: "Choice | None" = None
    alternative_why: str | None = None  # why there is no alternative, when there is none

    def to_dict(self) -> dict:
        return {
            **self.summary(),
            "variant_description": self.variant.describe(),
            "cpu_fallback": self.fallback,
            "will_not_run": self.will_not_run,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "caveats": self.caveats,
            "rejected": [r.__dict__ for r in self.rejected],
            "confidence": self.release.confidence,
            "off_selector": off_selector_entry(self.release, self.variant),
            "alternative": self.alternative.summary() if self.alternative else None,
            "alternative_note": None if self.alternative else self.alternative_why,
        }

    def summary(self) -> dict:
        """The short form of a choice, as the alternative to another one."""
        return {
            "torch": self.release.torch,
            "torchvision": self.release.torchvision,
            "torchaudio": self.release.torchaudio,
            "variant": self.variant.label,
            "driver_status": self.driver_status,
            "on_selector": self.release.on_selector(self.variant),
        }


def off_selector_words(release: Release, variant: Variant) -> str | None:
    """One sentence for a build PyTorch publishes without showing it on its install selector."""
    o = release.off_selector_build(variant)
    if o is None:
        return None
    return (f"torch {release.torch}+{variant.label} is not on the install selector: PyTorch publishes it on "
            f"its download index ({release.index_base}/{variant.label}) without offering it on pytorch.org "
            f"[{o.confidence}: {o.source}]" + (f"; {o.note}" if o.note else ""))


def running_python() -> str:
    """The Python envcheck runs on, "3.12": the default target when none is detected or given."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def running_os() -> str:
    """The OS envcheck runs on: the default target when none is detected or given."""
    from envcheck.facts.platforms import os_of_platform

    return os_of_platform(sys.platform)


def target_from_options(
    *,
    cuda: str | None = None,
    rocm: str | None = None,
    cpu: bool = False,
    driver: str | None = None,
    ccs: tuple[str, ...] = (),
    python: str | None = None,
    os_name: str | None = None,
    torch: str | None = None,
    strict_driver: bool = False,
    manager: str = "pip",
    base: Target | None = None,
) -> Target:
    """A target from what the user typed, on top of a detected one (``base``) if any."""
    if sum(bool(x) for x in (cuda, rocm, cpu)) > 1:
        raise InputError("give only one of --cuda, --rocm and --cpu")
    want = parse_cuda(cuda) if cuda else parse_rocm(rocm) if rocm else Variant("cpu") if cpu else None
    if driver:
        parse_driver(driver)
    gpus = tuple(parse_cc(c) for c in ccs)
    any_python = python is not None and python.strip().lower() == "any"
    if any_python:
        python = None
    if python is not None:
        import re

        if not re.fullmatch(r"[23]\.\d{1,2}t?", python.strip()):
            raise InputError(f"Invalid Python version: {python!r} (expected something like 3.11)")
        python = python.strip()
    b = base or Target(os=running_os(), python=running_python())
    # Another OS than the detected one is another machine: its driver and GPUs are not these.
    described = any((driver, ccs)) or bool(base and os_name and os_name != b.os)
    given = [f"{flag} {value}" for flag, value in (("--os", os_name), ("--python", python)) if value]
    if base and not described:
        source = b.source + (f", with {' and '.join(given)}" if given else "")
    else:
        source = "given on the command line"
    return Target(
        os=os_name or b.os,
        python=None if any_python else (python or b.python),
        driver=driver or (None if described else b.driver),
        driver_cuda=None if driver else (None if described else b.driver_cuda),
        gpus=gpus or (() if described else b.gpus),
        gpu_names=() if gpus else b.gpu_names,
        want=want,
        torch=torch,
        strict_driver=strict_driver,
        manager=manager,
        source=source,
        detected=() if described else b.detected,
        nvidia_present=True if (driver or gpus) else b.nvidia_present,
    )


def builds_for(release: Release, target: Target) -> tuple[Variant, ...]:
    """The builds a target's package manager can install: conda's own set while PyTorch published one."""
    if target.manager == "conda" and release.conda.style != "none":
        if target.os == "macos":
            return (Variant("cpu"),) if "macos" in release.platforms else ()
        return tuple(v for v in release.conda.variants if v.kind != "rocm")
    return release.variants_for_os(target.os)


def _candidates(matrix: Matrix, target: Target) -> list[Release]:
    found = query.find_releases(matrix, target.torch) if target.torch else list(matrix.releases)
    return sorted(found, key=lambda r: r.key, reverse=True)


def _variant_ok(matrix: Matrix, target: Target, release: Release, v: Variant) -> tuple[bool, str, str | None]:
    """Whether a build runs on the target: (ok, reason if not, driver status)."""
    status = None
    if v.kind == "cuda" and (target.driver or target.driver_cuda):
        verdict = _drivers.judge_driver(matrix, v, target.driver, target.driver_cuda, target.os)
        if not verdict.usable or (target.strict_driver and verdict.status != "full"):
            why = verdict.reason if not verdict.usable else f"{verdict.reason}; --strict-driver allows only full support"
            return False, why, None
        status = verdict.status
    if v.kind == "cuda" and target.gpus:
        wa = _archs.wheel_archs(matrix, release, v, target.os)
        for cc in target.gpus:
            runs = wa.runs_on(cc)
            if runs is not None and not runs.runs:
                return False, f"no code for the {cc} GPU ({_archs.generation(cc)}): {runs.reason}", None
            if runs is not None and runs.jit and status == "compat":
                # The PTX was made by the build's toolkit, newer than the driver: in
                # compatibility mode the driver cannot JIT it, so nothing runs on that GPU.
                return False, (
                    f"the {cc} GPU would need PTX JIT ({runs.how.split(' (')[0]}), which driver "
                    f"{target.driver} cannot do for CUDA {v.dotted} in minor-version compatibility mode"
                ), None
    return True, "", status


def _code_rank(matrix: Matrix, target: Target, release: Release, v: Variant) -> int:
    """How surely the build has code for the target's GPUs: 0 its own code (SASS) for every one,
    1 its GPU code is not known (an off-selector build no source lists), 2 PTX JIT for some."""
    if not target.gpus:
        return 0
    wa = _archs.wheel_archs(matrix, release, v, target.os)
    verdicts = [wa.runs_on(cc) for cc in target.gpus]
    if any(verdict is not None and verdict.jit for verdict in verdicts):
        return 2
    return 1 if any(verdict is None for verdict in verdicts) else 0


def _pick_build(matrix: Matrix, target: Target, rel: Release, cuda_builds: list[Variant],
                rejected: list[Rejected]) -> tuple[Variant, str | None, str] | None:
    """The build of ``rel`` to install on a GPU machine: (build, driver status, why), or None.

    * Driver known: the newest build it fully supports (NVIDIA's Table 3); only when there is
      none, the build closest to the driver's own CUDA among those it runs in minor-version
      compatibility mode (Table 2): the least it has to bridge.
    * Driver unknown: the build the widest range of drivers runs (the lowest CUDA), since
      the newest might not run at all.
    In each case builds with native code for every GPU come before PTX-only ones. A build off
    the install selector whose GPU code no source lists is never picked for known GPUs: nothing
    says it runs on them (``--cuda`` still asks for it).
    """
    usable: list[tuple[Variant, str | None]] = []
    for v in cuda_builds:  # newest first
        ok, why, status = _variant_ok(matrix, target, rel, v)
        if ok and target.gpus and not rel.on_selector(v) and _code_rank(matrix, target, rel, v) == 1:
            ok, why = False, (f"not on the install selector, and its GPU code is unknown: nothing confirms "
                              f"it runs on {', '.join(str(c) for c in target.gpus)} (ask for it with --cuda {v.dotted})")
        if ok:
            usable.append((v, status))
        else:
            rejected.append(Rejected(rel.torch, v.label, why))
    if not usable:
        return None

    def native_first(items: list[tuple[Variant, str | None]]) -> list[tuple[Variant, str | None]]:
        # Known code before unknown code before PTX JIT; stable, so newest (or lowest) first within each.
        return sorted(items, key=lambda u: _code_rank(matrix, target, rel, u[0]))

    full = native_first([u for u in usable if u[1] == "full"])
    compat = [u for u in usable if u[1] == "compat"]
    if target.driver and full:
        v, status = full[0]
        why = f"newest build of torch {rel.torch} that driver {target.driver} fully supports: {v.describe()}"
        for other, st in usable:
            if other != v and st == "compat":
                rejected.append(Rejected(rel.torch, other.label, (
                    f"driver {target.driver} runs it only in minor-version compatibility mode; "
                    f"{v.label} is fully supported")))
        return v, status, why
    if target.driver and compat:
        v, status = min(compat, key=lambda u: (_code_rank(matrix, target, rel, u[0]), u[0].version))
        why = (f"no build of torch {rel.torch} is fully supported by driver {target.driver}; "
               f"{v.describe()} is the closest to the driver's own CUDA")
        for other, _ in compat:
            if other != v:
                rejected.append(Rejected(rel.torch, other.label, (
                    f"compatibility mode too, and further from the driver's own CUDA than {v.label}")))
        return v, status, why
    ranked = native_first(sorted(usable, key=lambda u: u[0].version))
    v, status = ranked[0]
    why = (f"the NVIDIA driver's version is unknown, so the build of torch {rel.torch} that the widest "
           f"range of drivers runs: {v.describe()}, its lowest CUDA" + (" with code for every GPU" if target.gpus else ""))
    for other, _ in usable:
        if other != v:
            rejected.append(Rejected(rel.torch, other.label, (
                f"needs a newer driver than {v.label}, and this driver's version is unknown "
                "(give --driver, or run where `nvidia-smi` works, for the newest build it supports)")))
    return v, status, why


def fully_supported(matrix: Matrix, target: Target, torch: str | None = None) -> Choice | None:
    """The newest release (or ``torch``'s build) that the target's driver fully supports, or None."""
    from dataclasses import replace

    from envcheck.errors import EnvcheckError

    try:
        choice = choose(matrix, replace(target, strict_driver=True, torch=torch, want=None))
    except EnvcheckError:
        return None
    return None if choice.fallback else choice


def keep_release(matrix: Matrix, target: Target, release: str | None) -> Choice | None:
    """The choice for the target within the installed ``release`` ("2.6.0"), or None when the
    data does not know it or none of its builds fits (a repair then takes the newest release)."""
    from dataclasses import replace

    from envcheck.errors import EnvcheckError

    if not release or matrix.get(release) is None:
        return None
    try:
        choice = choose(matrix, replace(target, torch=release))
    except EnvcheckError:
        return None
    return None if choice.fallback or choice.will_not_run else choice


def _alternative(matrix: Matrix, target: Target) -> tuple[Choice | None, str | None]:
    """The newest release with a build the target's driver fully supports: (choice, None), or
    (None, why there is none)."""
    alt = fully_supported(matrix, target)
    if alt is not None:
        return alt, None
    py = f" and Python {target.python}" if target.python else ""
    gpus = " for " + ", ".join(str(c) for c in target.gpus) if target.gpus else ""
    return None, f"no release in the data has a build that driver {target.driver} fully supports{gpus} on {target.os}{py}"


def choose(matrix: Matrix, target: Target) -> Choice:
    """The newest release matching the target, and its newest usable build, with reasons."""
    rejected: list[Rejected] = []
    want = target.want
    if want is not None and want.kind != "cpu" and target.os == "macos":
        raise InputError(f"PyTorch publishes no {want.describe()} builds for macOS (macOS wheels are CPU + MPS)")
    if want is not None and want.kind == "rocm" and target.os != "linux":
        raise InputError("ROCm builds exist for Linux only")
    candidates = _candidates(matrix, target)
    if want is not None:
        having = [r for r in matrix.releases if want in builds_for(r, target)]
        if not having:
            query.releases_with(matrix, want)  # raises, naming the builds that exist at all
            elsewhere = sorted({o for r in matrix.releases for b in r.off_selector if b.variant == want for o in b.os})
            if elsewhere and target.manager != "conda":
                raise query.UnknownVariant(
                    f"PyTorch publishes {want.label} wheels for {', '.join(elsewhere)} only, not for {target.os} "
                    f"(off the install selector, for torch {', '.join(r.torch for r in matrix.releases if want in r.variants)})")
            raise query.no_such_build(list(matrix.releases), want, [r for r in matrix.releases if want in r.variants])
        with_build = [r for r in candidates if want in builds_for(r, target)]
        if not with_build and target.manager != "conda" and any(want in r.conda.variants for r in candidates):
            exc = query.no_such_build(sorted(candidates, key=lambda r: r.key), want, having, os_name=target.os)
            exc.hint = f"PyTorch's conda packages have a {want.label} build for it: add --manager conda"
            raise exc
        if not with_build:
            conda = target.manager == "conda" and all(r.conda.style != "none" for r in candidates)
            raise query.no_such_build(sorted(candidates, key=lambda r: r.key), want, having, conda=conda,
                                      os_name=target.os)
    gpu_machine = bool(target.driver or target.gpus or target.nvidia_present) and (want is None or want.kind == "cuda")
    python_blocked = []
    first_release_ok: Release | None = None
    named = bool(target.torch) and len(candidates) == 1
    for rel in candidates:
        if not rel.recommendable and not named:
            rejected.append(Rejected(
                rel.torch, None,
                "too little is known to recommend it (its row is 'unknown'); ask for it with --torch " + rel.torch,
            ))
            continue
        if target.os not in rel.platforms:
            rejected.append(Rejected(rel.torch, None, f"no wheels for {target.os}"))
            continue
        if target.python and not rel.supports_python(target.python):
            span = f"{rel.python[0]}-{rel.python[-1]}" if rel.python else "unknown"
            reason = f"no wheels for Python {target.python} (it supports {span})"
            rejected.append(Rejected(rel.torch, None, reason))
            python_blocked.append(rel)
            continue
        if first_release_ok is None:
            first_release_ok = rel
        builds = builds_for(rel, target)
        if want is not None:
            if want not in builds:
                rejected.append(Rejected(rel.torch, want.label, f"no {want.label} build"))
                continue
            ok, why, status = _variant_ok(matrix, target, rel, want)
            choice = Choice(rel, want, target, driver_status=status)
            choice.reasons.append(f"{want.describe()} build asked for")
            if not ok:
                choice.will_not_run = True
                choice.warnings.append(f"the {want.label} build will not run on this target: {why}")
            return _finish(matrix, choice, rejected)
        if not gpu_machine:
            choice = Choice(rel, Variant("cpu"), target)
            if target.os == "macos":
                choice.reasons.append("macOS wheels are CPU builds with Apple's MPS backend")
            elif target.nvidia_present is False or target.source == "this machine":
                choice.reasons.append(
                    "no NVIDIA driver or GPU found, so the CPU build: a CUDA build could not use a GPU here"
                )
            else:
                choice.reasons.append(
                    "no driver, GPU or CUDA version given, so the CPU build (describe the GPU machine "
                    "with --driver / --compute-capability, or ask for --cuda X.Y)"
                )
            return _finish(matrix, choice, rejected)
        cuda_builds = sorted((v for v in builds if v.kind == "cuda"), key=lambda v: v.version, reverse=True)
        picked = _pick_build(matrix, target, rel, cuda_builds, rejected)
        if picked is not None:
            v, status, why = picked
            choice = Choice(rel, v, target, driver_status=status)
            choice.reasons.append(why)
            if status == "compat":
                choice.alternative, choice.alternative_why = _alternative(matrix, target)
            return _finish(matrix, choice, rejected)
        if not cuda_builds:
            rejected.append(Rejected(rel.torch, None, f"no CUDA builds for {target.os}"))
    if python_blocked and first_release_ok is None:
        from envcheck.matrix.variants import version_key as _vk

        pairs = {(r.python[0], r.python[-1]) for r in python_blocked if r.python}
        spans = [f"{a}-{b}" for a, b in sorted(pairs, key=lambda p: (_vk(p[0].rstrip("t")), _vk(p[1].rstrip("t"))))]
        which = f"torch {python_blocked[0].torch}" if len(python_blocked) == 1 else (
            f"no torch release matching {target.torch!r}" if target.torch else "no torch release")
        verb = "has no" if len(python_blocked) == 1 else "has"
        raise NoChoice(
            f"{which} {verb} wheels for Python {target.python} (supported: {', '.join(spans)})"
        )
    if first_release_ok is None:
        raise NoChoice(f"no torch release matching the request has wheels for {target.os}")
    # A GPU machine, and no CUDA build of any matching release can run on it: CPU, loudly.
    rel = first_release_ok
    choice = Choice(rel, Variant("cpu"), target, fallback=True)
    choice.reasons.append("CPU build, because no CUDA build of a matching release can run on this target")
    choice.warnings.append(_fallback_warning(matrix, target, rejected))
    return _finish(matrix, choice, rejected)


def _fallback_warning(matrix: Matrix, target: Target, rejected: list[Rejected]) -> str:
    driver_issues = [r for r in rejected if r.variant and "too old" in r.reason]
    arch_issues = [r for r in rejected if r.variant and "no code for" in r.reason]
    fixes = []
    if driver_issues and target.driver:
        newest = max((v for r in matrix.releases for v in r.cuda_variants()), key=lambda v: v.version)
        need = _drivers.driver_need(matrix, newest.version[:2], target.os)
        fixes.append(f"upgrade the NVIDIA driver (>= {need.compat or need.full} runs {newest.label})")
    if arch_issues:
        fixes.append("pick an older torch whose builds still carry code for this GPU (envcheck matrix --cc X.Y shows which)")
    first = (driver_issues or arch_issues or rejected)[:1]
    why = first[0].reason if first else "no CUDA build matched"
    return f"NO GPU BUILD FITS: installing the CPU build, torch will not use the GPU. Reason: {why}. Fix: {' or '.join(fixes) or 'describe the target differently'}"


def _finish(matrix: Matrix, choice: Choice, rejected: list[Rejected]) -> Choice:
    rel, v, target = choice.release, choice.variant, choice.target
    choice.rejected = rejected
    if choice.driver_status == "full":
        choice.reasons.append(_drivers.judge_driver(matrix, v, target.driver, target.driver_cuda, target.os).reason)
    if choice.driver_status == "compat":
        choice.warnings.append(compat_warning(matrix, v, target.driver, target.os))
        alt = choice.alternative
        if alt is not None:
            off = "" if alt.release.on_selector(alt.variant) else ", not on the install selector"
            choice.warnings.append(
                f"alternative: torch {alt.release.torch} ({alt.variant.label}{off}) is the newest release "
                f"that driver {target.driver} fully supports"
            )
        elif choice.alternative_why:
            choice.warnings.append(f"no alternative: {choice.alternative_why}")
    if v.kind == "cuda" and target.gpus:
        wa = _archs.wheel_archs(matrix, rel, v, target.os)
        for cc in target.gpus:
            verdict = wa.runs_on(cc)
            if verdict is None:
                choice.caveats.append(f"the GPU architectures of torch {rel.torch} {v.label} are unknown: cannot confirm it runs on {cc}")
            elif verdict.jit:
                choice.warnings.append(f"{cc} GPU: {verdict.reason}")
            if verdict is not None and wa.confidence != "official":
                choice.caveats.append(f"architectures of torch {rel.torch} {v.label} on {target.os} are {wa.confidence} ({wa.note or wa.row.evidence if wa.row else ''})")
    off_words = off_selector_words(rel, v)
    if off_words:
        choice.reasons.append(off_words)
        if v.kind == "cuda" and not target.gpus and not _archs.wheel_archs(matrix, rel, v, target.os).known:
            choice.caveats.append(f"the GPU code of torch {rel.torch}+{v.label} is not known: give the GPU "
                                  "(--compute-capability) to have it checked")
    if v.kind == "cuda" and not target.driver and (target.gpus or target.nvidia_present):
        choice.reasons.append(driver_needed(matrix, v, target.os))
    if target.python and target.python in rel.python_experimental:
        choice.warnings.append(f"Python {target.python} is experimental for torch {rel.torch}")
    choice.caveats += query.caveats(rel)
    return choice


PTX_TOOLCHAIN = "the provided PTX was compiled with an unsupported toolchain"


def compat_warning(matrix: Matrix, v: Variant, driver: str | None, os_name: str) -> str:
    """What running ``v`` in minor-version compatibility mode costs, in one loud sentence."""
    need = _drivers.driver_need(matrix, v.version[:2], os_name)
    return (
        f"runs in CUDA minor-version compatibility mode: driver {driver} is older than the CUDA "
        f"{v.dotted} toolkit's own ({need.full or 'its branch'}). In this mode the driver cannot JIT-compile "
        f"PTX made by a newer toolkit, so torch.compile/Triton kernels can fail with \"{PTX_TOOLCHAIN}\", "
        f"and CUDA features newer than the driver are missing; upgrade the driver to >= "
        f"{need.full or 'the ' + _drivers.cuda_branch(need) + ' branch'} for full support"
    )


def driver_needed(matrix: Matrix, v: Variant, os_name: str) -> str:
    """The driver a CUDA build needs, for a target whose driver is unknown."""
    need = _drivers.driver_need(matrix, v.version[:2], os_name)
    low = need.compat or need.full
    full = f" (>= {need.full} for full support)" if need.full and need.full != low else ""
    return f"it needs NVIDIA driver >= {low}{full}; `nvidia-smi` shows yours"
