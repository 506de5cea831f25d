"""Libraries built for another torch (EC310-EC314): what the dist-info of the packages around torch
says against the torch that is installed.

Each package's requirements come from its own metadata (``TorchStaticFacts.packages[].requires``)
or, for a pasted report that lists only versions, from the index's metadata recorded in
``matrices/ecosystem.json``. Build tags come from local versions (``+cu118``, ``+pt25cu124``) and
from the wheel a URL install came from (flash-attn's ``+cu12torch2.6cxx11abiFALSE``).
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Tuple

from envcheck.facts.model import Package
from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View, split_version

__all__ = [
    "requires_other_torch",
    "cuda_tag_mismatch",
    "built_for_other_torch",
    "triton_mismatch",
    "numpy2_against_numpy1",
    "RULES",
]

# Requirements judged by EC310 (numpy is EC314's; torchvision/torchaudio's own pins are EC301/302's).
_PINNED = ("torch", "torchvision", "torchaudio", "xformers")
_PARTNERS = ("torchvision", "torchaudio")
_LABEL = re.compile(r"^(cu\d+|cpu|rocm[\d.]+)$")
# flash-attn, causal-conv1d, mamba-ssm ... release wheels: +cu12torch2.6cxx11abiFALSE
_TORCH_TAG = re.compile(r"cu(\d+)torch(\d+)\.(\d+)cxx11abi(TRUE|FALSE)", re.I)
# PyG's wheels (torch-scatter, torch-sparse, pyg-lib ...): +pt25cu124, +pt113cpu
_PYG_TAG = re.compile(r"^pt(\d)(\d+)(cu\d+|cpu)$")


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(v: View) -> Dict[str, str]:
    """Canonical name -> installed version, torch and its partners included."""
    t = v.facts.torch
    out = {_canon(p.name): p.version for p in t.packages}
    if t.status == "ok" and t.version:
        out["torch"] = t.version
    for name in _PARTNERS:
        d = getattr(t, name)
        if d is not None:
            out[name] = d.version
    return out


def _data():
    from envcheck.matrix.ecosystem import load

    return load()


def _requirements(v: View, pkg) -> Tuple[Dict[str, str], str]:
    """``({name: specifier}, source)``: the package's own metadata, else the recorded index data."""
    got: Dict[str, str] = {}
    for line in pkg.requires:
        m = re.match(r"^([a-z0-9-]+)(.*)$", line)
        if m:
            got[m.group(1)] = m.group(2)
    if got or v.facts.report is None:
        return got, "torch.packages[{}].requires".format(pkg.name)
    recorded = _data().requires(_canon(pkg.name), pkg.version)
    return dict(recorded), "matrix.ecosystem.pins[{} {}]".format(_canon(pkg.name), pkg.version.split("+")[0])


def _holds(spec: str, version: str) -> Optional[bool]:
    if not spec:
        return True
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except (InvalidSpecifier, ValueError):
        return None


def requires_other_torch(v: View) -> Iterator[Finding]:
    """EC310: a package's Requires-Dist pins another torch (or another torchvision/xformers)."""
    t = v.facts.torch
    if t.status != "ok" or not t.packages:
        return
    installed = _installed(v)
    bad: List[Tuple[Package, str, str, str]] = []  # (package, required name, spec, source)
    evidence: List[str] = []
    for pkg in t.packages:
        canon = _canon(pkg.name)
        if canon in _PARTNERS:
            continue
        reqs, source = _requirements(v, pkg)
        for name in _PINNED:
            spec = reqs.get(name)
            if not spec or name not in installed or name == canon:
                continue
            if _holds(spec, installed[name]) is False:
                bad.append((pkg, name, spec, source))
                evidence.append(ev(source, "{}{}".format(name, spec)))
    if not bad:
        return
    evidence.insert(0, ev("torch.version", t.version))
    for name in sorted({b[1] for b in bad} - {"torch"}):
        evidence.append(ev("installed " + name, installed[name]))
    data = _data()
    fits: List[str] = []
    names = []
    for pkg, name, spec, _ in bad:
        canon = _canon(pkg.name)
        if canon in names:
            continue
        names.append(canon)
        pin = data.fitting(canon, installed)
        if pin is not None:
            fits.append("{}=={}".format(canon, pin.version))
    described = "; ".join("{} {} requires {}{}".format(p.name, p.version, n, s) for p, n, s, _ in bad)
    torch_specs = sorted({s for _, n, s, _ in bad if n == "torch"})
    if fits and len(fits) == len(names):
        fix = ("Install the release{} built for torch {}: {} (from each package's own metadata on the "
               "package index).".format("s" if len(fits) > 1 else "", v.torch_base, ", ".join(fits)))
        command: Optional[str] = "pip install " + " ".join("'{}'".format(f) for f in fits)
    else:
        unknown = [n for n in names if not any(f.startswith(n + "==") for f in fits)]
        fix = ("Pair them: either install torch{} as {} requires{} (`envcheck install-command --torch "
               "VERSION` gives the command for this machine), or install a release of {} built for torch {} "
               "(its release notes name the torch each release requires).".format(
                   " " + " / ".join(torch_specs) if torch_specs else "", ", ".join(unknown),
                   "" if not fits else "; for the others: " + ", ".join(fits),
                   ", ".join(unknown), v.torch_base))
        command = "pip install " + " ".join("'{}'".format(f) for f in fits) if fits else None
    yield finding(
        "EC310",
        "{} require{} another torch than the installed {}".format(
            ", ".join("{} {}".format(p.name, p.version) for p in dict.fromkeys(b[0] for b in bad)),
            "s" if len(names) == 1 else "", t.version),
        evidence,
        cause=described + ". Its compiled operators are built against that torch's C++ API: "
        "importing it fails (`undefined symbol`) or it disables its kernels, and the next "
        "`pip install` may replace torch to satisfy it.",
        fix=fix,
        command=command,
    )


def _cuda_major(label: Optional[str]) -> Optional[int]:
    m = re.match(r"^cu(\d+)$", label or "")
    if not m:
        return None
    digits = m.group(1)
    return int(digits[:-1]) if len(digits) >= 3 else int(digits)


def _build_clash(pkg_label: str, torch_label: Optional[str]) -> Optional[str]:
    """Words for a package's build label against torch's; None when they agree (or cannot tell)."""
    if not torch_label or not _LABEL.match(torch_label):
        return None
    if pkg_label == torch_label:
        return None
    kinds = [("cpu" if x == "cpu" else "rocm" if x.startswith("rocm") else "cuda") for x in (pkg_label, torch_label)]
    if kinds[0] != kinds[1]:
        return "a {} build beside a {} torch".format(pkg_label, torch_label)
    if kinds[0] == "cuda":
        a, b = _cuda_major(pkg_label), _cuda_major(torch_label)
        if a is not None and b is not None and a != b:
            return "built for CUDA {} ({}), torch for CUDA {} ({})".format(a, pkg_label, b, torch_label)
    return None


def cuda_tag_mismatch(v: View) -> Iterator[Finding]:
    """EC311: a package's local version tag names another CUDA (or CPU/ROCm) than torch's build."""
    t = v.facts.torch
    if t.status != "ok":
        return
    torch_label = v.variant_label
    bad = []
    for pkg in t.packages:
        if _canon(pkg.name) in _PARTNERS:
            continue
        _, local = split_version(pkg.version)
        if not local or not _LABEL.match(local):
            continue
        clash = _build_clash(local, torch_label)
        if clash:
            bad.append((pkg, local, clash))
    if not bad:
        return
    index = "https://download.pytorch.org/whl/{}".format(torch_label)
    evidence = [ev("torch.variant", torch_label)] + [
        ev("torch.packages[{}].version".format(p.name), p.version) for p, _, _ in bad]
    public = ["{}=={}".format(_canon(p.name), p.version.split("+")[0]) for p, _, _ in bad]
    yield finding(
        "EC311",
        "{} {} built for another CUDA than torch {}".format(
            ", ".join("{} {}".format(p.name, p.version) for p, _, _ in bad), "is" if len(bad) == 1 else "are",
            t.version),
        evidence,
        cause="; ".join("{}: {}".format(p.name, c) for p, _, c in bad) + ". Its kernels link against "
        "another CUDA runtime than the one torch loaded: `libcudart.so.11.0: cannot open shared object "
        "file`, `undefined symbol`, or `no kernel image is available`.",
        fix="Reinstall the same release{} built for torch's {} from the index torch came from (the "
        "command below).".format("s" if len(bad) > 1 else "", torch_label),
        command="pip install --force-reinstall --no-deps {} --index-url {}".format(
            " ".join("'{}'".format(x) for x in public), index),
    )


def _torch_abi(v: View) -> Tuple[Optional[bool], str]:
    """torch's C++ ABI and where that comes from."""
    rt = v.runtime
    if rt is not None and rt.cxx11_abi is not None:
        return rt.cxx11_abi, "torch_runtime.cxx11_abi"
    t = v.facts.torch
    if v.os != "linux" or not v.torch_base:
        return None, ""
    if t.installer == "conda":
        return True, "torch.installer (conda builds use the cxx11 ABI)"
    if t.installer not in (None, "pip", "uv"):
        return None, ""
    abi = _data().cxx11_abi(v.torch_base, v.variant_label)
    return abi, "matrix.ecosystem.cxx11_abi[{} {}]".format(v.torch_base, v.variant_label or "")


def _tag_of(pkg) -> Tuple[Optional[str], str]:
    """The build tag and where it was read: the local version, else the installed wheel's name."""
    _, local = split_version(pkg.version)
    if local and (_TORCH_TAG.search(local) or _PYG_TAG.match(local)):
        return local, "torch.packages[{}].version".format(pkg.name)
    if pkg.wheel:
        parts = pkg.wheel.split("-")
        if len(parts) >= 2 and "+" in parts[1]:
            return parts[1].split("+", 1)[1], "torch.packages[{}].wheel".format(pkg.name)
    return None, ""


def built_for_other_torch(v: View) -> Iterator[Finding]:
    """EC312: a wheel whose build tag names another torch, CUDA major or C++ ABI (flash-attn and
    the other Dao-AILab wheels, PyG's wheels)."""
    t = v.facts.torch
    if t.status != "ok" or not v.torch_base:
        return
    torch_mm = ".".join(v.torch_base.split(".")[:2])
    torch_major = _cuda_major(v.variant_label)
    abi, abi_source = _torch_abi(v)
    problems: List[Tuple[Package, str, List[str], Optional[str]]] = []
    evidence = [ev("torch.version", t.version)]
    abi_cited = False
    for pkg in t.packages:
        tag, source = _tag_of(pkg)
        if not tag:
            continue
        words: List[str] = []
        better = None
        m = _TORCH_TAG.search(tag)
        if m:
            mm, want_abi = "{}.{}".format(m.group(2), m.group(3)), m.group(4).upper() == "TRUE"
            cuda_major = _cuda_major("cu" + m.group(1))  # cu12 -> 12, cu122 -> 12, cu118 -> 11
            if mm != torch_mm:
                words.append("built for torch {}, torch {} is installed".format(mm, torch_mm))
            if v.variant_label == "cpu" or (torch_major is not None and cuda_major != torch_major):
                words.append("built for CUDA {}, torch is {}".format(cuda_major, v.variant_label))
            if abi is not None and want_abi != abi:
                words.append("built for the {} C++ ABI, torch uses the {}".format(
                    "cxx11" if want_abi else "pre-cxx11", "cxx11" if abi else "pre-cxx11"))
                if not abi_cited:
                    evidence.append(ev(abi_source, abi))
                    abi_cited = True
            if words and pkg.wheel:
                fit = "cu{}torch{}cxx11abi{}".format(torch_major or cuda_major, torch_mm,
                                                     "TRUE" if (abi if abi is not None else want_abi) else "FALSE")
                better = pkg.wheel.replace(m.group(0), fit)
        else:
            p = _PYG_TAG.match(tag)
            if p is None:
                continue
            mm = "{}.{}".format(p.group(1), p.group(2))
            if mm != torch_mm:
                words.append("built for torch {}, torch {} is installed".format(mm, torch_mm))
            clash = _build_clash(p.group(3), v.variant_label)
            if clash:
                words.append(clash)
            if words:
                better = "pip install --force-reinstall {} -f https://data.pyg.org/whl/torch-{}+{}.html".format(
                    _canon(pkg.name), v.torch_base, v.variant_label)
        if words:
            problems.append((pkg, tag, words, better))
            evidence.append(ev(source, tag))
    if not problems:
        return
    fixes = []
    command = None
    for pkg, tag, words, better in problems:
        if better and better.endswith(".whl"):
            fixes.append("{}: install the wheel built for this torch, {} (from the same release page, "
                         "if the project publishes one), or build it here: `pip install {}=={} "
                         "--no-build-isolation`".format(pkg.name, better, _canon(pkg.name),
                                                        pkg.version.split("+")[0]))
            command = command or "pip install --no-build-isolation --force-reinstall '{}=={}'".format(
                _canon(pkg.name), pkg.version.split("+")[0])
        elif better:
            fixes.append("{}: `{}`".format(pkg.name, better))
            command = command or better
        else:
            fixes.append("{}: reinstall a build for torch {} {}".format(pkg.name, torch_mm, v.variant_label))
    yield finding(
        "EC312",
        "{} {} built for another torch build than torch {}".format(
            ", ".join(p.name for p, _, _, _ in problems), "is" if len(problems) == 1 else "are", t.version),
        evidence,
        cause="; ".join("{} ({}): {}".format(p.name, tag, ", ".join(w)) for p, tag, w, _ in problems)
        + ". A compiled extension loads only into the torch, CUDA major and C++ ABI it was built for: "
        "`undefined symbol: _ZN3c10...` on import.",
        fix="; ".join(fixes) + ".",
        command=command,
    )


def triton_mismatch(v: View) -> Iterator[Finding]:
    """EC313: the installed triton is not the one torch pins (or is missing where torch needs it)."""
    t = v.facts.torch
    pin = t.triton_pin
    if t.status != "ok" or pin is None or pin.satisfied is not False:
        return
    spec = pin.specifier
    yield finding(
        "EC313",
        "triton {} is not the triton torch {} requires ({}{})".format(pin.installed, t.version, pin.name, spec)
        if pin.installed else "triton is missing: torch {} requires {}{}".format(t.version, pin.name, spec),
        [ev("torch.triton_pin", "{}{}".format(pin.name, spec) + ("; " + pin.marker if pin.marker else "")),
         ev("torch.triton.version", pin.installed)],
        cause=("Another package (or a `pip install -U triton`) replaced the triton torch was released with."
               if pin.installed else "It was installed with --no-deps, or removed.")
        + " torch.compile and Inductor's kernels fail (`ImportError` from triton, or compile errors in "
        "generated kernels); eager mode still works.",
        fix="Install the triton torch pins (the command below).",
        command="pip install '{}{}'".format(pin.name, spec) if spec else "pip install {}".format(pin.name),
    )


def _major(version: str) -> Optional[int]:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def numpy2_against_numpy1(v: View) -> Iterator[Finding]:
    """EC314: NumPy 2 installed beside a torch built against NumPy 1, or a package that requires
    numpy<2."""
    t = v.facts.torch
    numpy = next((p for p in t.packages if _canon(p.name) == "numpy"), None)
    if numpy is None or (_major(numpy.version) or 0) < 2:
        return
    evidence = [ev("torch.packages[numpy].version", numpy.version)]
    reasons: List[str] = []
    data = _data()
    first = data.numpy2_first.get(v.os or "linux")
    if t.status == "ok" and v.torch_base and first and _holds("<" + first, v.torch_base):
        reasons.append("torch {} was built against NumPy 1 (the first torch built against NumPy 2 on {} "
                       "is {})".format(v.torch_base, v.os, first))
        evidence.insert(0, ev("torch.version", t.version))
        evidence.append(ev("matrix.ecosystem.numpy2[{}]".format(v.os), first))
    for pkg in t.packages:
        if _canon(pkg.name) == "numpy":
            continue
        reqs, source = _requirements(v, pkg)
        spec = reqs.get("numpy")
        if spec and _holds(spec, numpy.version) is False:
            reasons.append("{} {} requires numpy{}".format(pkg.name, pkg.version, spec))
            evidence.append(ev(source, "numpy" + spec))
    if not reasons:
        return
    upgrade = "or upgrade torch to {} or later".format(first) if reasons[0].startswith("torch") else ""
    yield finding(
        "EC314",
        "NumPy {} is installed, but {}".format(numpy.version, reasons[0]),
        evidence,
        cause="; ".join(reasons) + ". Extensions compiled against NumPy 1 cannot run with NumPy 2: `A "
        "module that was compiled using NumPy 1.x cannot be run in NumPy 2`, then `RuntimeError: Numpy "
        "is not available` from torch.from_numpy.",
        fix="Install NumPy 1 (the command below){}.".format(", " + upgrade if upgrade else ""),
        command="pip install 'numpy<2'",
    )


RULES = (
    requires_other_torch,
    cuda_tag_mismatch,
    built_for_other_torch,
    triton_mismatch,
    numpy2_against_numpy1,
)
