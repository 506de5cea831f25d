"""Rules for pasted reports: error lines no other finding explains, and the gate on unknowns.

A report (``Facts.report``) states some facts and leaves the rest unknown. :func:`stated_only`
keeps a finding only when every fact its evidence cites is one the report states (or a value
of envcheck's own data): an unknown fact never produces a finding. :func:`reported_errors` runs
after the other rules and reports each error line (see :mod:`envcheck.reports.errors`) that no
finding of its ``explained_by`` codes already covers, as EC007 with that line's cause and fix.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, List

from envcheck.rules.findings import Finding, ev, finding

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.rules.view import View

__all__ = ["stated_only", "reported_errors", "ALWAYS_STATED"]

# Evidence about envcheck itself or its data, true whatever the report says.
ALWAYS_STATED = ("matrix", "rule", "error", "report", "effective", "facts")
_INDEX = re.compile(r"\[[^\]]*\]")


def _norm(path: str) -> str:
    return _INDEX.sub("", path.strip())


def _covered(path: str, stated: Iterable[str]) -> bool:
    p = _norm(path)
    if p.split(".")[0] in ALWAYS_STATED:
        return True
    return any(p == s or p.startswith(s + ".") for s in stated)


def stated_only(found: List[Finding], stated: Dict[str, str]) -> List[Finding]:
    """The findings whose every evidence line cites a stated fact (EC001 and a rule's own
    failure, EC006 naming the rule, always stay)."""
    keys = {_norm(k) for k in stated}
    kept = []
    for f in found:
        paths = [line.split(" = ", 1)[0] for line in f.evidence]
        if f.code == "EC001" or all(_covered(p, keys) for p in paths):
            kept.append(f)
    return kept


def reported_errors(v: "View", others: List[Finding]) -> Iterator[Finding]:
    """EC007: an error line of the report that the other findings do not explain."""
    from envcheck.reports.errors import CONTAINER_KINDS, NO_GPU_KINDS, by_kind

    report = v.facts.report
    if report is None:
        return
    codes = {f.code for f in others if f.severity in ("error", "warning")}
    docker = next((e for e in report.errors if e.kind == "docker-run-without-gpus"), None)
    visible = next((e for e in report.errors if e.kind == "cuda-visible-devices-set"), None)
    container = any(e.kind in CONTAINER_KINDS for e in report.errors)
    seen = set()
    for i, e in enumerate(report.errors):
        p = by_kind(e.kind)
        if p is None or p.context or p.family in seen or codes & set(p.explained_by):
            continue
        if e.kind in NO_GPU_KINDS and container:
            continue  # the container line says why there is no GPU
        seen.add(p.family)
        summary, data = p.summary, []
        if e.kind in NO_GPU_KINDS and docker is not None:  # no GPU inside a container started without one
            summary = "{} after a `docker run` without `--gpus`".format(p.summary)
            p = by_kind("container-without-gpus") or p
            if p.family in seen:
                continue
            seen.add(p.family)
            data = [_line(report, docker), ev("report.errors[{}].reading".format(i), p.kind)]
        title = "the report shows {}: {}".format(summary, _quote(e.text))
        cause, fix = p.wsl if p.wsl is not None and v.wsl else (p.cause, p.fix)
        if e.kind == "undefined-symbol":
            cause = _owner_cause(v, e, cause)
        if e.kind in ("no-cuda-gpus", "invalid-device-ordinal") and visible is not None:
            data.append(_line(report, visible))
            cause = ("The code sets CUDA_VISIBLE_DEVICES={!r} (line {}): CUDA then sees only the GPUs "
                     "with those indices, and none at all when no GPU has them (a machine with one "
                     "GPU has only index 0).".format(visible.detail or "", visible.line))
            fix = ("Remove that setting, or set it to indices that exist on this machine (`nvidia-smi "
                   "-L` lists them; `0` on a one-GPU machine) before torch is imported.")
        if e.kind == "no-matching-distribution":
            cause, fix, data = _pinned_release(v, e.detail, cause, fix)
        if p.family == "driver":  # upgrading the driver is the fix; a build it still runs is the way around
            repair = v.install()
            if repair is not None and not repair.cpu_fallback and repair.command:
                fix += " To keep this driver, the newest build it runs is torch {} ({}): `{}`.".format(
                    repair.torch, repair.variant, repair.command)
        yield finding(
            "EC007",
            title,
            [ev("report.errors[{}]".format(i), "line {}: {}".format(e.line, e.text)),
             ev("report.errors[{}].kind".format(i), e.kind)]
            + ([ev("report.errors[{}].detail".format(i), e.detail)] if e.detail else []) + data,
            cause=cause,
            fix=fix + " If that does not settle it, paste {}.".format(p.paste_next),
            command=p.command,
        )


def _line(report, e) -> str:
    """Evidence quoting another line of the report (the context that changes the reading)."""
    return ev("report.errors[{}]".format(report.errors.index(e)), "line {}: {}".format(e.line, e.text))


_OWNER = re.compile(r"(?:site|dist)-packages/(?P<pkg>[A-Za-z_]\w*)|(?P<so>[A-Za-z_]\w*?)(?:\.cpython-\w+|\.abi3)?[\w.-]*\.so\b")
_FAMILY = {"torchaudio": "torchaudio", "_torch_sox": "torchaudio", "torchvision": "torchvision",
           "flash_attn": "flash-attn", "flash_attn_2_cuda": "flash-attn", "torch": "torch"}


# Packages whose compiled code links against torch's C++ library.
_EXTENSIONS = ("flash-attn", "xformers", "apex", "deepspeed", "mmcv", "mmcv-full", "torch-scatter", "torch-sparse",
               "torch-cluster", "torch-spline-conv", "pytorch3d", "detectron2", "bitsandbytes", "vllm",
               "torchaudio", "torchvision")
_TORCH_SYMBOL = re.compile(r"_ZN?K?(?:3c10|2at|5torch)")


def _owner_cause(v: "View", e, cause: str) -> str:
    """An undefined symbol in a named package's library (by its path, or the one torch extension
    the report lists): say which package was built for another torch."""
    pkg = None
    for m in _OWNER.finditer(e.text):
        name = m.group("pkg") or m.group("so")
        pkg = _FAMILY.get(name)
        if pkg and pkg != "torch":
            break
        pkg = None
    if pkg is None and _TORCH_SYMBOL.match(e.detail or ""):
        listed = [p.name for p in v.facts.torch.packages if p.name in _EXTENSIONS]
        pkg = listed[0] if len(listed) == 1 else None
    if pkg is None:
        return cause
    torch = v.facts.torch.version
    return ("{pkg}'s compiled library was built against another torch than the installed one{t} "
            "(C++ symbols change between torch releases, so each {pkg} build fits one torch "
            "release, CUDA and C++ ABI).".format(pkg=pkg, t=" (torch {})".format(torch) if torch else ""))


_PIN = re.compile(r"^torch==(\d+\.\d+(?:\.\d+)?)(?:\+(\w+))?$")


def _pinned_release(v: "View", detail, cause: str, fix: str):
    """pip found no ``torch==X[+label]``: the Pythons the data says release X has wheels for."""
    m = _PIN.match((detail or "").strip())
    rel = v.matrix.get(m.group(1)) if m else None
    if m is None or rel is None or not rel.python:
        return cause, fix, []
    pythons = list(rel.python)
    cause = ("torch {} published wheels for 64-bit Python {} to {} only; for any other Python, or "
             "a 32-bit one, pip finds none.".format(rel.torch, pythons[0], pythons[-1]))
    fix = "Run pip from a 64-bit Python {} to {} (Python {} is the newest one torch {} supports), " \
          "or pin a newer torch that has wheels for your Python.".format(pythons[0], pythons[-1], pythons[-1], rel.torch)
    command = None
    variant = rel.variant(m.group(2)) if m.group(2) else None
    if variant is not None:
        from envcheck.install.commands import pip_command, pip_plan

        command = pip_command(pip_plan(rel, variant, "linux", pythons[-1]))
        fix += " A `+{}` build comes from PyTorch's own index, as in this command: `{}`.".format(variant.label, command)
    return cause, fix, [ev("matrix.releases[{}].python".format(rel.torch), pythons)]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return "`{}`".format(text if len(text) <= 110 else text[:107] + "...")
