"""The plan of ``envcheck fix``: which installs repair this machine, what they touch, what no
install can repair, and the command that puts everything back. Pure: diagnosis + inventory in,
plan out; nothing here runs anything (:mod:`envcheck.install.apply` does).

The installs are the findings' own commands (the one repair path, :mod:`envcheck.install.fix`,
and the ecosystem rules), read back into argument lists and run with the target interpreter's
installer. Only ``pip install`` commands are carried out: an uninstall, a driver, a reboot or an
environment variable is the user's to do, and the plan says so.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from envcheck.install.inventory import canon

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.install.inventory import Installed, Inventory
    from envcheck.rules import Diagnosis

__all__ = ["PYTORCH_INDEX", "Manager", "Step", "Touch", "Manual", "Plan", "install_args", "requirement_names",
           "plan_fix", "restore_commands", "is_system_python", "mirror"]

PYTORCH_INDEX = "https://download.pytorch.org/whl"
_VALUE_OPTIONS = {"--index-url", "-i", "--extra-index-url", "-f", "--find-links", "-c", "--constraint",
                  "-r", "--requirement", "--trusted-host", "--python"}
_SYSTEM_PREFIXES = ("/usr", "/System/", "/Library/", "/opt/homebrew", "/bin")


@dataclass(frozen=True)
class Manager:
    """The installer that runs the plan: the interpreter's own pip, or uv."""

    kind: str  # "pip" | "uv"
    python: str
    uv: str = "uv"  # the uv executable

    def argv(self, sub: str, args: Sequence[str] = ()) -> Tuple[str, ...]:
        if self.kind == "uv":
            return (self.uv, "pip", sub, "--python", self.python, *args)
        return (self.python, "-m", "pip", sub, *args)

    def command(self, sub: str, args: Sequence[str] = ()) -> str:
        return " ".join(shlex.quote(a) for a in self.argv(sub, args))


@dataclass(frozen=True)
class Touch:
    """A package a step installs: what is there now and what the step asks for."""

    name: str
    wanted: str  # the requirement as written: "torch==2.6.0+cu124"
    installed: Optional["Installed"]

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "wanted": self.wanted,
                "installed": self.installed.to_dict() if self.installed else None}


@dataclass(frozen=True)
class Step:
    """One install: its arguments, the findings it repairs, and the packages it touches."""

    args: Tuple[str, ...]
    fixes: Tuple[str, ...]  # finding codes
    why: Tuple[str, ...]  # those findings' titles
    touches: Tuple[Touch, ...] = ()

    @property
    def indexes(self) -> Tuple[str, ...]:
        out = []
        for i, a in enumerate(self.args[:-1]):
            if a in ("--index-url", "-i", "--extra-index-url", "-f", "--find-links"):
                out.append(self.args[i + 1])
        return tuple(out)

    def to_dict(self, manager: Manager) -> Dict[str, Any]:
        return {"command": manager.command("install", self.args), "argv": list(manager.argv("install", self.args)),
                "fixes": list(self.fixes), "why": list(self.why), "indexes": list(self.indexes),
                "touches": [t.to_dict() for t in self.touches]}


@dataclass(frozen=True)
class Manual:
    """A finding no install repairs: what the user must do."""

    code: str
    severity: str
    title: str
    fix: str
    command: Optional[str]

    def to_dict(self) -> Dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "title": self.title, "fix": self.fix,
                "command": self.command}


@dataclass(frozen=True)
class Plan:
    manager: Manager
    steps: Tuple[Step, ...]
    manual: Tuple[Manual, ...]
    restore: Tuple[str, ...]  # puts back what the steps touch, as recorded before
    refusal: Optional[str] = None  # why fix will not install here (None: it may)
    refusal_hint: Optional[str] = None
    extra_args: Tuple[str, ...] = field(default=())  # --break-system-packages
    torch_index: str = PYTORCH_INDEX  # PyTorch's index, or the user's mirror of it

    @property
    def touches(self) -> Tuple[Touch, ...]:
        seen: Dict[str, Touch] = {}
        for s in self.steps:
            for t in s.touches:
                seen.setdefault(t.name, t)
        return tuple(seen.values())

    def to_dict(self) -> Dict[str, Any]:
        return {"manager": self.manager.kind, "steps": [s.to_dict(self.manager) for s in self.steps],
                "touches": [t.to_dict() for t in self.touches], "restore": list(self.restore),
                "manual": [m.to_dict() for m in self.manual], "refusal": self.refusal,
                "refusal_hint": self.refusal_hint}


# -- reading the findings' commands ------------------------------------------------------------


def install_args(command: Optional[str]) -> Optional[Tuple[str, ...]]:
    """``pip install ARGS`` or ``PATH -m pip install ARGS`` -> ARGS; None for anything else
    (an uninstall, a driver command, a shell line with operators)."""
    if not command:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if any(w in ("&&", "||", ";", "|", ">", "<") for w in words):
        return None
    if words[:1] == ["pip"] or words[:1] == ["pip3"]:
        rest = words[1:]
    elif len(words) > 3 and words[1:3] == ["-m", "pip"]:
        rest = words[3:]
    else:
        return None
    if rest[:1] != ["install"] or len(rest) < 2:
        return None
    return tuple(rest[1:])


def requirement_names(args: Sequence[str]) -> List[Tuple[str, str]]:
    """(canonical name, requirement as written) of each package an install's arguments name."""
    out: List[Tuple[str, str]] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in _VALUE_OPTIONS:
            skip = True
            continue
        if a.startswith("-"):
            continue
        if "://" in a and " @ " not in a:  # a wheel URL (the direct-wheel era)
            name = a.rsplit("/", 1)[-1].split("-", 1)[0]
        else:
            name = re.split(r"[\s;\[<>=!~(@]", a.strip(), 1)[0]
        if name:
            out.append((canon(name), a))
    return out


def mirror(args: Sequence[str], torch_index: str) -> Tuple[str, ...]:
    """PyTorch's index replaced by the user's mirror of it."""
    base = torch_index.rstrip("/")
    if base == PYTORCH_INDEX:
        return tuple(args)
    return tuple(base + a[len(PYTORCH_INDEX):] if a.startswith(PYTORCH_INDEX) else a for a in args)


# -- where installing is allowed ---------------------------------------------------------------


def is_system_python(inv: "Inventory") -> bool:
    """A Python that belongs to the operating system (or needs root): outside any virtual or conda
    environment, and PEP 668-marked, under a system prefix or with a read-only site-packages."""
    if inv.venv or inv.conda:
        return False
    return inv.externally_managed or not inv.writable or inv.prefix.startswith(_SYSTEM_PREFIXES)


def _refusal(inv: "Inventory", manager: Manager, *, break_system: bool,
             allow_conda_base: bool) -> Tuple[Optional[str], Optional[str]]:
    if inv.conda_base and not allow_conda_base:
        return ("{} is conda's base environment: installing torch there can break conda itself".format(inv.prefix),
                "create an environment for it (conda create -n torch python={}; conda activate torch) and run "
                "envcheck fix there, or pass --allow-conda-base".format(".".join(inv.version.split(".")[:2])))
    if is_system_python(inv) and not break_system:
        why = "marked EXTERNALLY-MANAGED, PEP 668" if inv.externally_managed else "not in a virtual environment"
        return ("{} is the system's Python ({}): envcheck fix does not install into it".format(inv.executable, why),
                "make a virtual environment (python3 -m venv .venv; .venv/bin/python -m pip install torch-envcheck; "
                ".venv/bin/envcheck fix), or pass --break-system-packages if you mean to")
    if not inv.writable:
        return ("{} is not writable: nothing was changed".format(inv.site_packages),
                "run as the environment's owner, or make a virtual environment you own")
    if manager.kind == "pip" and not inv.pip:
        return ("{} has no pip".format(inv.executable),
                "install it ({} -m ensurepip --upgrade) or use uv (--manager uv)".format(inv.executable))
    return None, None


# -- the plan ----------------------------------------------------------------------------------


def plan_fix(diag: "Diagnosis", inv: "Inventory", manager: Manager, *, torch_index: str = PYTORCH_INDEX,
             break_system: bool = False, allow_conda_base: bool = False) -> Plan:
    """The installs that repair ``diag``'s findings in the interpreter ``inv`` describes."""
    steps: Dict[Tuple[str, ...], List[Any]] = {}
    manual: List[Manual] = []
    findings = [f for f in diag.findings if f.severity in ("error", "warning")]
    best = install_args(diag.command)
    if best is not None:
        steps[mirror(best, torch_index)] = [[], []]
    for f in findings:
        args = install_args(f.command)
        if args is None:
            manual.append(Manual(f.code, f.severity, f.title, f.fix, f.command))
            continue
        entry = steps.setdefault(mirror(args, torch_index), [[], []])
        if f.code not in entry[0]:
            entry[0].append(f.code)
            entry[1].append(f.title)
    built = tuple(Step(args, tuple(codes), tuple(titles),
                       tuple(Touch(name, spec, inv.get(name)) for name, spec in requirement_names(args)))
                  for args, (codes, titles) in steps.items() if codes)
    replaced = {t.name: t.installed for s in built for t in s.touches if t.installed is not None}
    extra = ("--break-system-packages",) if break_system and inv.externally_managed else ()
    refusal, hint = _refusal(inv, manager, break_system=break_system, allow_conda_base=allow_conda_base)
    return Plan(manager, built, tuple(manual), tuple(restore_commands(list(replaced.values()), (), manager, torch_index)),
                refusal, hint, extra, torch_index.rstrip("/"))


def restore_commands(put_back: Sequence["Installed"], remove: Sequence[str], manager: Manager,
                     torch_index: str = PYTORCH_INDEX) -> List[str]:
    """Commands that reinstall exactly ``put_back`` (each from where it came: PyTorch's index for a
    ``+cu124``/``+cpu`` version, the URL of a direct install, the default index otherwise) and
    uninstall ``remove`` (what an install added)."""
    base = torch_index.rstrip("/")
    by_index: Dict[Optional[str], List[str]] = {}
    direct: List[str] = []
    editable: List[str] = []
    for d in sorted(put_back, key=lambda d: d.canon):
        if d.editable and d.url:
            editable.append(d.url[len("file://"):] if d.url.startswith("file://") else d.url)
        elif d.vcs:
            direct.append("{} @ {}".format(d.name, d.vcs))
        elif d.url:
            direct.append("{} @ {}".format(d.name, d.url))
        else:
            label = d.version.split("+", 1)[1] if "+" in d.version else None
            pytorch = label is not None and re.match(r"^(cu\d+|cpu|rocm[\d.]+|xpu)$", label)
            index = "{}/{}".format(base, label) if pytorch else None
            by_index.setdefault(index, []).append("{}=={}".format(d.name, d.version))
    out = []
    for index, pins in by_index.items():
        args = ["--no-deps", "--force-reinstall", *pins] + (["--index-url", index] if index else [])
        out.append(manager.command("install", args))
    if direct:
        out.append(manager.command("install", ["--no-deps", "--force-reinstall", *direct]))
    for path in editable:
        out.append(manager.command("install", ["--no-deps", "-e", path]))
    if remove:
        out.append(manager.command("uninstall", ([] if manager.kind == "uv" else ["-y"]) + sorted(remove)))
    return out
