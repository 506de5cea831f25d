"""The installed torch family and its CUDA wheels (EC301-EC307), and what shadows them (EC315)."""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional

from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View, split_version, fix_fields

__all__ = [
    "torchvision_partner",
    "torchaudio_partner",
    "cuda_wheel_majors",
    "cuda_wheel_pins",
    "pip_conda_mixed",
    "installed_twice",
    "install_consistent",
    "shadowed_module",
    "RULES",
]


def _default_label(v: View, release) -> Optional[str]:
    default = release.default.get(v.os) if release is not None else None
    return default.label if default is not None else None


def _release_of_partner(v: View, field: str, version: str):
    for r in reversed(v.matrix.releases):
        if getattr(r, field) == version:
            return r
    return None


def _partner(v: View, field: str) -> Optional[str]:
    rel = v.release
    if rel is None:
        return None
    override = rel.overrides.get(v.variant_label or "", {}) if v.variant_label else {}
    given = override.get(field)
    if isinstance(given, str):
        return given
    value = getattr(rel, field)
    return value if isinstance(value, str) else None


def _check_partner(v: View, field: str) -> List[str]:
    """Problems (plain words) of torchvision/torchaudio against torch; [] when fine or unknown."""
    t = v.facts.torch
    dist = getattr(t, field)
    if dist is None or t.status != "ok":
        return []
    problems: List[str] = []
    base, label = split_version(dist.version)
    if base is None:
        return []
    expected = _partner(v, field)
    rel = v.release
    if rel is not None:
        if expected is not None and base != expected:
            problems.append("{} {} pairs with another torch; torch {}'s partner is {} {}".format(
                field, base, rel.torch, field, expected))
        elif expected is None and field == "torchaudio" and base != v.torch_base:
            # Same version as torch: trust the install over data that knows no partner.
            problems.append("torch {} has no torchaudio release; torchaudio {} was built for "
                            "another torch".format(rel.torch, base))
    # The builds: a missing label means the PyPI default build of the partner's own release
    # (for pip; conda's builds carry no label in the version, so theirs stays unknown).
    torch_label = v.variant_label
    partner_label: Optional[str]
    if label:
        partner_label = label
    elif dist.installer == "conda":
        partner_label = None
    else:
        owner = rel if (expected is not None and base == expected) else _release_of_partner(v, field, base)
        partner_label = _default_label(v, owner)
    if torch_label and partner_label and re.match(r"^(cu\d+|cpu|rocm[\d.]+)$", partner_label) \
            and partner_label != torch_label:
        problems.append("{} is the {} build, torch the {} build".format(field, partner_label, torch_label))
    return problems


def torchvision_partner(v: View) -> Iterator[Finding]:
    """EC301: torchvision's version or build differs from torch's partner, or nms fails."""
    t = v.facts.torch
    problems = _check_partner(v, "torchvision")
    evidence = [ev("torch.version", v.torch_version)]
    if t.torchvision is not None:
        evidence.append(ev("torch.torchvision.version", t.torchvision.version))
    expected = _partner(v, "torchvision")
    if expected and problems and v.release is not None:
        evidence.append(ev("matrix.releases[{}].torchvision".format(v.release.torch), expected))
    rt = v.runtime
    if rt is not None and rt.torchvision is not None and rt.torchvision.status in (
        "nms-failed", "import-failed", "wrong-result",
    ):
        problems.append("the torch child's torchvision check: {} ({})".format(
            rt.torchvision.status, rt.torchvision.detail))
        evidence.append(ev("torch_runtime.torchvision.status", rt.torchvision.status))
        evidence.append(ev("torch_runtime.torchvision.detail", rt.torchvision.detail))
    if not problems:
        return
    fix = v.install(keep_torch=True, keep_variant=True)
    yield finding(
        "EC301",
        "torchvision {} does not match {}".format(
            t.torchvision.version if t.torchvision else "", v.torch_text()),
        evidence,
        cause="; ".join(problems) + ". torchvision's compiled operators only load into the torch "
        "(and CUDA) they were built for: `operator torchvision::nms does not exist`.",
        fix="Reinstall the pair from one index in one pinned command (the command below{}).".format(
            ", " + fix.described if fix else ""),
        **fix_fields(fix),
    )


def torchaudio_partner(v: View) -> Iterator[Finding]:
    """EC302: torchaudio's version or build differs from torch's partner."""
    t = v.facts.torch
    problems = _check_partner(v, "torchaudio")
    audio = t.torchaudio
    if not problems or audio is None:  # a partner problem needs an installed torchaudio
        return
    expected = _partner(v, "torchaudio")
    evidence = [ev("torch.version", v.torch_version), ev("torch.torchaudio.version", audio.version)]
    if v.release is not None:
        evidence.append(ev("matrix.releases[{}].torchaudio".format(v.release.torch), expected))
    if expected is None and v.release is not None:
        fix_text = "Uninstall torchaudio: torch {} has no torchaudio partner.".format(v.release.torch)
        command: Optional[str] = "pip uninstall -y torchaudio"
    else:
        fix = v.install(keep_torch=True, keep_variant=True)
        fix_text = "Reinstall from one index in one pinned command (the command below{}).".format(
            ", " + fix.described if fix else "")
        command = fix.command if fix else None
    yield finding(
        "EC302",
        "torchaudio {} does not match {}".format(audio.version, v.torch_text()),
        evidence,
        cause="; ".join(problems) + ". torchaudio's extension only loads into the torch it was "
        "built for.",
        fix=fix_text,
        command=command,
    )


def cuda_wheel_majors(v: View) -> Iterator[Finding]:
    """EC303: CUDA wheels of two CUDA majors side by side."""
    by_major: Dict[int, List] = {}
    for p in v.facts.torch.cuda_packages:
        if p.cuda_major is not None:
            by_major.setdefault(p.cuda_major, []).append(p)
    if len(by_major) < 2:
        return
    torch_major = v.variant.cuda_major if v.is_cuda_build else None
    evidence = []
    for major in sorted(by_major):
        names = ", ".join("{} {}".format(p.name, p.version) for p in by_major[major][:4])
        more = len(by_major[major]) - 4
        evidence.append(ev("torch.cuda_packages[CUDA {}]".format(major),
                           names + (" and {} more".format(more) if more > 0 else "")))
    foreign = [p.name for m, ps in sorted(by_major.items()) if torch_major is not None and m != torch_major for p in ps]
    yield finding(
        "EC303",
        "CUDA wheels of CUDA {} are installed side by side".format(
            " and ".join(str(m) for m in sorted(by_major))),
        [ev("torch.cuda_build", v.cuda_build)] + evidence,
        cause="Leftovers of an install for another CUDA: the loader can pick the wrong cuDNN, "
        "NCCL or cuBLAS (`undefined symbol`, `cannot open shared object`)."
        + (" torch uses CUDA {}.".format(torch_major) if torch_major else ""),
        fix=("Uninstall the CUDA {} packages torch does not use (the command below), then "
             "reinstall torch if anything is missing.".format(
                 " and ".join(str(m) for m in sorted(by_major) if m != torch_major))
             if foreign else "Uninstall the packages of the CUDA major torch does not use."),
        command="pip uninstall -y " + " ".join(foreign) if foreign else None,
    )


def cuda_wheel_pins(v: View) -> Iterator[Finding]:
    """EC304: torch's Requires-Dist pins on CUDA wheels are not met."""
    bad = [p for p in v.facts.torch.cuda_pins if p.satisfied is False]
    if not bad or v.facts.torch.status != "ok":
        return
    evidence = [
        ev("torch.cuda_pins[{}]".format(p.name),
           "{} required{}, {}".format(p.specifier, " via " + p.via if p.via else "",
                                      "installed " + p.installed if p.installed else "not installed"))
        for p in bad[:6]
    ]
    fix = v.install(keep_torch=True, keep_variant=True)
    missing = [p for p in bad if p.installed is None]
    yield finding(
        "EC304",
        "{} of torch's pinned CUDA wheels {} not what torch {} requires".format(
            len(bad), "is" if len(bad) == 1 else "are", v.torch_version),
        evidence,
        cause=("Some are missing (installed with --no-deps, or removed)." if missing else
               "A later `pip install -U` or another package's requirement replaced them.")
        + " torch may load a library version it was not built with.",
        fix="Reinstall torch with its own pins (the command below); do not upgrade the nvidia-* "
        "wheels on their own.",
        **fix_fields(fix),
    )


_CONDA_TORCH = re.compile(r"^(pytorch|pytorch-cuda|pytorch-gpu|pytorch-cpu|libtorch|cudatoolkit)-\d")


def pip_conda_mixed(v: View) -> Iterator[Finding]:
    """EC305: pip and conda both installed parts of the torch family."""
    t = v.facts.torch
    if t.status != "ok":
        return
    conda_pkgs = [r for r in t.conda_records if _CONDA_TORCH.match(r)]
    installers = {name: getattr(t, name).installer for name in ("torchvision", "torchaudio")
                  if getattr(t, name) is not None and getattr(t, name).installer}
    if t.installer:
        installers["torch"] = t.installer
    pip_side = sorted(n for n, i in installers.items() if i != "conda")
    conda_side = sorted(n for n, i in installers.items() if i == "conda")
    reasons: List[str] = []
    if conda_pkgs and pip_side:
        reasons.append("{} installed by {} while conda-meta lists {}".format(
            ", ".join(pip_side), installers[pip_side[0]], ", ".join(conda_pkgs[:3])))
    elif pip_side and conda_side:
        reasons.append("{} installed by conda, {} by {}".format(
            ", ".join(conda_side), ", ".join(pip_side), installers[pip_side[0]]))
    if any(r.startswith(("pytorch-cuda-", "cudatoolkit-")) for r in conda_pkgs) and t.cuda_packages:
        reasons.append("conda's CUDA packages and pip's nvidia-* wheels ({} of them) are both "
                       "installed".format(len(t.cuda_packages)))
    if not reasons:
        return
    evidence = [ev("torch.installer", t.installer), ev("torch.conda_env", t.conda_env)]
    evidence += [ev("torch.{}.installer".format(n), i) for n, i in sorted(installers.items()) if n != "torch"]
    evidence.append(ev("torch.conda_records", conda_pkgs[:4]))
    fix = v.install()
    yield finding(
        "EC305",
        "pip and conda both manage torch in this environment",
        evidence,
        cause="; ".join(reasons) + ". Two copies of torch's CUDA libraries, and neither tool "
        "knows what the other did.",
        fix="Remove conda's copies (`conda remove --force pytorch pytorch-cuda torchvision "
        "torchaudio`), then install with pip alone (PyTorch's conda channel ended with 2.5): "
        "the command below.",
        **fix_fields(fix),
    )


def installed_twice(v: View) -> Iterator[Finding]:
    """EC306: a distribution of the family appears twice on sys.path."""
    t = v.facts.torch
    if not t.shadowed:
        return
    first = {"torch": t.location}
    for name in ("torchvision", "torchaudio", "triton"):
        d = getattr(t, name)
        if d is not None:
            first[d.name.lower()] = d.location
    evidence = [ev("torch.shadowed[{}]".format(d.name), "{} at {} (import uses {})".format(
        d.version, d.location, first.get(d.name.lower(), "another copy"))) for d in t.shadowed[:4]]
    names = sorted({d.name for d in t.shadowed})
    yield finding(
        "EC306",
        "{} installed twice on sys.path".format(", ".join(names)),
        evidence,
        cause="Python imports the first copy; pip may upgrade or remove the other, so what you "
        "run is not what pip reports.",
        fix="Uninstall the extra copy (run `pip uninstall {}` again until it finds nothing, then "
        "reinstall), or remove the path entry that brings it.".format(names[0]),
    )


def _shadows(v: View) -> List:
    """Every shadow the static reader and the torch child saw, once each (by module and path)."""
    seen: Dict[tuple, object] = {}
    rt = v.runtime
    for s in tuple(v.facts.torch.shadows) + tuple(rt.shadows if rt is not None else ()):
        seen.setdefault((s.name, s.shadow), s)
    return list(seen.values())


def _quote(path: str) -> str:
    return "'{}'".format(path.replace("'", "'\\''")) if re.search(r"[^\w@%+=:,./-]", path) else path


def shadowed_module(v: View) -> Iterator[Finding]:
    """EC315: a torch/torchvision/numpy in the working directory or on PYTHONPATH is imported
    instead of the installed one."""
    shadows = _shadows(v)
    if not shadows:
        return
    rt = v.runtime
    evidence = []
    for s in shadows:
        origin = "the working directory" if s.via == "working directory" else s.via
        evidence.append(ev("shadows[{}]".format(s.name), "{} (from {})".format(s.shadow, origin)))
        evidence.append(ev("installed[{}]".format(s.name), s.installed or "not installed"))
    if rt is not None and rt.torch_file:
        evidence.append(ev("torch_runtime.torch_file", rt.torch_file))
    first = shadows[0]
    where = first.shadow.rstrip("/\\")
    if where.endswith(("__init__.py", "__init__.pyc")):
        where = where.rsplit("/", 1)[0].rsplit("\\", 1)[0]
    installed = "the installed {} at {}".format(first.name, first.installed) if first.installed else (
        "{} (which is not installed)".format(first.name))
    how = {"working directory": "Python started in this folder imports it instead",
           "PYTHONPATH": "Python started with this PYTHONPATH imports it instead"}
    title = "{} shadows {}: {}".format(where, installed, how.get(first.via, "Python imports it instead"))
    if len(shadows) > 1:
        title += " (and {} more)".format(len(shadows) - 1)
    command = None
    if first.via == "working directory":
        stem, dot, ext = where.rpartition(".") if where.endswith((".py", ".pyc", ".so", ".pyd")) else (where, "", "")
        command = "mv {} {}".format(_quote(where), _quote("{}_local{}{}".format(stem, dot, ext)))
        fix = ("Rename or move {} (the command below; then fix the imports that used it), or start "
               "Python from another folder.".format(where))
    else:
        fix = "Remove {} from PYTHONPATH (or the .pth file that adds it), then start Python again.".format(
            first.shadow.rsplit("/" + first.name, 1)[0] if "/" + first.name in first.shadow else where)
    yield finding(
        "EC315", title, evidence,
        cause="Python puts the script's folder (the working directory for `python -c`, `-m` and "
        "the REPL) first on sys.path, then PYTHONPATH, then site-packages: a local `{}` wins "
        "over the installed package.".format(first.name),
        fix=fix,
        command=command,
    )


def install_consistent(v: View) -> Iterator[Finding]:
    """EC307: torch's files (version.py) or the imported torch disagree with its metadata."""
    t = v.facts.torch
    if t.status != "ok":
        return
    problems: List[str] = []
    evidence = [ev("torch.version", t.version)]
    base, _ = split_version(t.version)
    if t.version_py is None:
        problems.append("torch/version.py is missing")
        evidence.append(ev("torch.version_py", None))
    elif t.version_py_version:
        vbase, _ = split_version(t.version_py_version)
        if vbase and base and vbase != base:
            problems.append("torch/version.py says {}".format(t.version_py_version))
            evidence.append(ev("torch.version_py_version", t.version_py_version))
    rt = v.runtime
    shadowed = {s.shadow for s in _shadows(v)}
    if rt is not None and rt.version and rt.torch_file not in shadowed:  # EC315 explains a shadow
        rbase, _ = split_version(rt.version)
        if rbase and base and rbase != base:
            problems.append("the torch that imports is {} (from {})".format(rt.version, rt.torch_file))
            evidence.append(ev("torch_runtime.version", rt.version))
            evidence.append(ev("torch_runtime.torch_file", rt.torch_file))
    if not problems:
        return
    fix = v.install(keep_torch=True, keep_variant=True)
    yield finding(
        "EC307",
        "torch {} is installed inconsistently: {}".format(t.version, "; ".join(problems)),
        evidence,
        cause="A partial upgrade, files copied over an install, or another torch earlier on "
        "PYTHONPATH.",
        fix="`pip uninstall -y torch` (repeat until nothing is left), check PYTHONPATH, then "
        "reinstall with the command below.",
        **fix_fields(fix),
    )


RULES = (
    torchvision_partner,
    torchaudio_partner,
    cuda_wheel_majors,
    cuda_wheel_pins,
    pip_conda_mixed,
    installed_twice,
    install_consistent,
    shadowed_module,
)
