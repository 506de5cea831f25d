"""pip, uv and conda commands for one release and build, in the form of that release's era.

The era's form lives in the data (``Release.pip_form``, ``pip_labels``, ``plain_default``,
``overrides``; ``Conda``): this module only assembles it. Forms:

* direct-wheel (1.0-1.1): the wheel file from download.pytorch.org/whl/<build>/
* find-links (1.2-1.10.0): ``torch==X+cuYYY -f https://download.pytorch.org/whl/torch_stable.html``
* find-links-per-variant (1.10.1-1.10.2): ``-f https://download.pytorch.org/whl/cuYYY/torch_stable.html``
* extra-index-url (1.11-1.13, and 1.8.2 LTS): ``--extra-index-url https://download.pytorch.org/whl/cuYYY``
* index-url (2.0 on): ``--index-url https://download.pytorch.org/whl/cuYYY``
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from envcheck.matrix.model import Release
from envcheck.matrix.variants import Variant

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.install.choose import Choice
    from envcheck.matrix.store import Matrix

__all__ = ["alternative", "choice_data", "InstallAnswer", "install_answer", "Pin", "PipPlan", "pins", "pip_plan", "pip_command", "uv_command", "uv_pyproject", "conda_command", "conda_forge_command",
           "CondaRoute", "conda_route", "choice_plan", "manager_command", "last_conda_release", "CONDA_FORGE_NOTE"]

PYPI = "https://pypi.org/simple"
CONDA_FORGE_NOTE = (
    "conda-forge builds (community-maintained, not PyTorch's own packages; they follow conda-forge's "
    "CUDA and version schedule)"
)


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    label: str | None = None  # local version label: "cu128" -> torch==2.7.1+cu128

    def spec(self, with_label: bool = True) -> str:
        if with_label and self.label:
            return f"{self.name}=={self.version}+{self.label}"
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class PipPlan:
    """Everything a pip/uv command or a requirements file needs."""

    pins: tuple[Pin, ...]
    option: str | None  # "--index-url" | "--extra-index-url" | "-f" | None (PyPI)
    url: str | None
    labelled: bool  # whether the era's command pins carry local labels
    wheel_url: str | None = None  # direct-wheel era
    notes: tuple[str, ...] = field(default_factory=tuple)


def _index_url(release: Release, variant: Variant) -> str:
    return f"{release.index_base}/{variant.label}"


def pins(release: Release, variant: Variant, os_name: str, *, audio_always: bool = False) -> tuple[list[Pin], list[str]]:
    """The pinned triple for a build, and notes for whatever is left out."""
    notes: list[str] = []
    override = release.overrides.get(variant.label, {})
    label = None if os_name == "macos" or variant.kind == "cpu" and os_name == "macos" else variant.label
    out = [Pin("torch", release.torch, label)]
    given = override["torchvision"] if "torchvision" in override else release.torchvision
    tv = given if isinstance(given, str) else None
    if tv:
        out.append(Pin("torchvision", tv, label))
    elif release.torchvision is None:
        notes.append(f"no torchvision for torch {release.torch}: {release.partners_note or 'none was published'}")
    if override.get("note"):
        notes.append(str(override["note"]))
    ta = release.torchaudio
    if ta and ("torchaudio" in release.pip_packages or audio_always):
        out.append(Pin("torchaudio", ta, label))
    elif ta:
        notes.append(
            f"torchaudio {ta} pairs with torch {release.torch} but the official command did not install "
            f"it; add torchaudio=={ta} if you need it"
        )
    elif release.key >= (2, 12):
        notes.append(
            f"torchaudio is left out: no torchaudio release was published for torch {release.torch} "
            "(PyTorch keeps torchaudio in maintenance)"
        )
    elif "torchaudio" not in release.pip_packages and release.key < (1, 4):
        notes.append(f"torchaudio had no release paired with torch {release.torch}")
    return out, notes


def _wheel_url(release: Release, variant: Variant, os_name: str, python: str) -> str:
    major, minor = python.split(".")[:2]
    cp = f"cp{major}{minor}"
    abi = cp + ("mu" if (major, minor) == ("2", "7") else "m" if int(major) == 3 and int(minor) < 8 else "")
    plat = "win_amd64" if os_name == "windows" else "linux_x86_64"
    return f"{release.index_base}/{variant.label}/torch-{release.torch}-{cp}-{abi}-{plat}.whl"


def pip_plan(release: Release, variant: Variant, os_name: str = "linux", python: str | None = None,
             *, audio_always: bool = False) -> PipPlan:
    """How the era's official pip command installs this build (``audio_always``: with torchaudio
    even where the era's command leaves it out, for a user who has it)."""
    ps, notes = pins(release, variant, os_name, audio_always=audio_always)
    form = release.pip_form
    override = release.overrides.get(variant.label, {})
    default = release.default.get(os_name)
    plain = (
        os_name == "macos"
        or (release.plain_default and default is not None and variant == default)
    )
    if os_name == "macos":
        return PipPlan(tuple(Pin(p.name, p.version) for p in ps), None, None, False, notes=tuple(notes))
    if form == "direct-wheel":
        py = python or "3.7"
        url = _wheel_url(release, variant, os_name, py)
        notes.append(
            f"torch {release.torch} predates pip-installable builds: the wheel comes from "
            f"{release.index_base}/{variant.label}/torch_stable.html (file name for Python {py})"
        )
        rest = tuple(Pin(p.name, p.version) for p in ps if p.name != "torch")
        return PipPlan((Pin("torch", release.torch),) + rest, None, None, False, wheel_url=url, notes=tuple(notes))
    if plain:
        return PipPlan(tuple(Pin(p.name, p.version) for p in ps), None, None, False, notes=tuple(notes))
    labelled = [Pin(p.name, p.version, p.label if p.name in release.pip_labels else None) for p in ps]
    if form in ("find-links", "find-links-per-variant"):
        per_variant = override.get("find_links", "variant" if form == "find-links-per-variant" else "global") == "variant"
        sub = f"/{variant.label}" if per_variant else ""
        return PipPlan(tuple(labelled), "-f", f"{release.index_base}{sub}/torch_stable.html", True, notes=tuple(notes))
    if form == "extra-index-url":
        return PipPlan(tuple(labelled), "--extra-index-url", _index_url(release, variant), True, notes=tuple(notes))
    return PipPlan(tuple(Pin(p.name, p.version, p.label) for p in ps), "--index-url", _index_url(release, variant), False, notes=tuple(notes))


def _join(words: list[str]) -> str:
    return " ".join(shlex.quote(w) if any(c in w for c in " <>|&;*?") else w for w in words)


def pip_command(plan: PipPlan, pip: tuple[str, ...] = ("pip",)) -> str:
    """The pip command; ``pip=(python, "-m", "pip")`` installs into a named interpreter."""
    if plan.wheel_url:
        words = [*pip, "install", plan.wheel_url] + [p.spec(False) for p in plan.pins if p.name != "torch"]
        return _join(words)
    words = [*pip, "install"] + [p.spec(plan.labelled) for p in plan.pins]
    if plan.option:
        words += [plan.option, plan.url or ""]
    return _join(words)


def uv_command(plan: PipPlan, release: Release, variant: Variant) -> tuple[str, str | None]:
    """``uv pip install``: ``--torch-backend`` for the 2.x indexes, else the era's index form.

    Returns the command and an alternative (the index form) for uv versions that do not know
    the backend name yet.
    """
    if plan.wheel_url:
        return "uv " + pip_command(plan), None
    specs = [p.spec(plan.labelled) for p in plan.pins]
    if release.pip_form == "index-url" and plan.option == "--index-url":
        cmd = _join(["uv", "pip", "install"] + specs + [f"--torch-backend={variant.label}"])
        alt = _join(["uv", "pip", "install"] + specs + ["--index-url", plan.url or ""])
        return cmd, alt
    words = ["uv", "pip", "install"] + specs
    if plan.option == "-f":
        words += ["--find-links", plan.url or ""]
    elif plan.option:
        words += [plan.option, plan.url or ""]
    return _join(words), None


def uv_pyproject(plan: PipPlan, variant: Variant) -> str:
    """The project form: an explicit index that only the torch packages come from."""
    if not plan.url or plan.option not in ("--index-url", "--extra-index-url"):
        return "# this release predates package indexes for torch builds: use the pip command instead\n"
    name = f"pytorch-{variant.label}"
    lines = ["[project]", "dependencies = ["]
    lines += [f'  "{p.spec(False)}",' for p in plan.pins]
    lines += ["]", "", "[[tool.uv.index]]", f'name = "{name}"', f'url = "{plan.url}"', "explicit = true", "", "[tool.uv.sources]"]
    lines += [f'{p.name} = [{{ index = "{name}" }}]' for p in plan.pins]
    return "\n".join(lines) + "\n"


def conda_command(release: Release, variant: Variant, os_name: str = "linux") -> str | None:
    """PyTorch's own conda command for the era, or None when PyTorch published none."""
    conda = release.conda
    if conda.style == "none":
        return None
    if os_name != "macos" and variant not in conda.variants:
        return None
    if variant.kind == "rocm":
        return None
    tv = conda.torchvision or release.torchvision
    ta = conda.torchaudio or release.torchaudio
    cpu_pkgs = variant.kind == "cpu" and conda.cpu_packages == "pytorch-cpu" and os_name != "macos"
    words = ["conda", "install", f"pytorch-cpu=={release.torch}" if cpu_pkgs else f"pytorch=={release.torch}"]
    if tv and "torchvision" in conda.packages:
        words.append(f"torchvision-cpu=={tv}" if cpu_pkgs else f"torchvision=={tv}")
    if ta and "torchaudio" in conda.packages:
        words.append(f"torchaudio=={ta}")
    if os_name != "macos":
        if variant.kind == "cpu":
            words.append("cpuonly")
        elif conda.style == "cuda-metapackage":
            words.append(f"cuda{variant.label[2:]}")
        elif conda.style == "cudatoolkit":
            words.append(f"cudatoolkit={variant.dotted}")
        else:
            words.append(f"pytorch-cuda={variant.dotted}")
    words += ["-c", conda.channel or "pytorch"]
    if os_name != "macos":
        key = f"{variant.label}@windows" if os_name == "windows" and f"{variant.label}@windows" in conda.extra_channels else variant.label
        for ch in conda.extra_channels.get(key, ()):
            words += ["-c", ch]
    return " ".join(words)


def conda_forge_command(release: Release, variant: Variant) -> str:
    """For releases without PyTorch conda packages: conda-forge's builds, clearly labelled."""
    words = ["conda", "install", "-c", "conda-forge", f"pytorch={release.torch}"]
    if release.torchvision:
        words.append(f"torchvision={release.torchvision}")
    if variant.kind == "cuda":
        words += [f"pytorch-gpu={release.torch}", f"cuda-version={variant.dotted}"]
    else:
        words.append(f"pytorch-cpu={release.torch}")
    return " ".join(words)


@dataclass(frozen=True)
class CondaRoute:
    """What ``--manager conda`` installs: PyTorch's own conda command where the release has one,
    else pip inside the conda environment, with conda-forge's builds named as the other route."""

    command: str | None  # PyTorch's conda command; None: PyTorch published none for this build
    forge: str | None = None  # conda-forge's command, when there is no official one
    notes: tuple[str, ...] = ()


def last_conda_release(releases: Iterable[Release]) -> Release | None:
    """The newest release PyTorch published on its conda channel (the data's ``conda.style``)."""
    published = [r for r in releases if r.conda.style != "none"]
    return max(published, key=lambda r: r.key) if published else None


def conda_route(releases: Iterable[Release], release: Release, variant: Variant, os_name: str = "linux") -> CondaRoute:
    """The conda policy for one release and build. Where the pytorch channel ended comes from the
    data (the newest release with conda packages), never from a version written in code."""
    command = conda_command(release, variant, os_name)
    if command is not None:
        return CondaRoute(command)
    if release.conda.style == "none":
        last = last_conda_release(r for r in releases if r.key < release.key)
        why = f"PyTorch publishes no conda packages for torch {release.torch}" + (
            f" (the pytorch channel ended with {last.torch})" if last is not None else "")
    else:
        why = f"PyTorch publishes no conda packages for torch {release.torch} with the {variant.label} build"
    forge = conda_forge_command(release, variant)
    return CondaRoute(None, forge, (
        f"{why}: the official route is pip inside the conda environment (the command printed)",
        f"or, with {CONDA_FORGE_NOTE}: {forge}",
    ))


def choice_plan(choice: "Choice", *, audio_always: bool = False) -> PipPlan:
    """The pip plan of a choice: its release and build, for its target's OS and Python."""
    return pip_plan(choice.release, choice.variant, choice.target.os, choice.target.python, audio_always=audio_always)


def manager_command(choice: "Choice", manager: str = "pip", pip: tuple[str, ...] = ("pip",)) -> str:
    """A choice's command in the form of the package manager asked for (PyTorch's conda command
    where the release has one, pip otherwise)."""
    plan = choice_plan(choice)
    if manager == "uv":
        return uv_command(plan, choice.release, choice.variant)[0]
    if manager == "conda":
        return conda_command(choice.release, choice.variant, choice.target.os) or pip_command(plan, pip)
    return pip_command(plan, pip)


def alternative(choice: "Choice", manager: str = "pip") -> dict | None:
    """The fully supported alternative to a compatibility-mode choice, with its command in the
    form of the package manager asked for."""
    alt = choice.alternative
    if alt is None:
        return None
    out = alt.summary()
    out["command"] = manager_command(alt, manager)
    return out


def choice_data(choice: "Choice", manager: str = "pip") -> dict:
    """The JSON of a target and its choice (with the alternative's command for ``manager``), as
    install-command and requirements both report them."""
    described = choice.to_dict()
    if choice.alternative is not None:
        described["alternative"] = alternative(choice, manager)
    return {"target": choice.target.to_dict(), "choice": described}


@dataclass
class InstallAnswer:
    """``envcheck install-command``'s answer: the command (stdout), its notes and the JSON data."""

    command: str
    notes: list[str]
    data: dict
    exit_code: int  # 1: the build asked for cannot run on the target (the command is still given)


def install_answer(matrix: "Matrix", choice: "Choice", manager: str = "pip", *, pyproject: bool = False) -> InstallAnswer:
    """The command that installs a choice with ``manager`` (pip, uv or conda), and why."""
    rel, v, t = choice.release, choice.variant, choice.target
    plan = choice_plan(choice)
    pip_cmd = pip_command(plan)
    notes = list(plan.notes)
    data: dict = {**choice_data(choice, manager), "manager": manager, "pip": pip_cmd}
    if manager == "uv":
        cmd, alt = uv_command(plan, rel, v)
        if alt:
            notes.append(f"for a uv that does not know --torch-backend={v.label} yet: {alt}")
        data["uv"] = cmd
        data["uv_index_form"] = alt
        if pyproject:
            cmd = uv_pyproject(plan, v).rstrip("\n")
            data["pyproject"] = cmd
    elif manager == "conda":
        route = conda_route(matrix.releases, rel, v, t.os)
        data["conda"] = route.command
        if route.command is None:
            data["conda_forge"] = route.forge
            notes += route.notes
        cmd = route.command or pip_cmd
    else:
        cmd = pip_cmd
    data["command"] = cmd
    data["notes"] = notes
    return InstallAnswer(cmd, notes, data, 1 if choice.will_not_run else 0)
