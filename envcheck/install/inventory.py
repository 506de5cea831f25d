"""What an interpreter has installed, and whether envcheck may install into it: the parent side.

``envcheck fix`` records this before it changes anything and again after, so it can say exactly
what changed and print the command that puts it back. The reading itself is the child
:mod:`envcheck.children.inventory` (standard library only), run in the target interpreter by
:func:`probe_inventory` through :func:`envcheck.proc.run_child`; this module turns its data into
an :class:`Inventory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from envcheck.children.inventory import canon

__all__ = ["INVENTORY_TIMEOUT", "Installed", "Inventory", "canon", "inventory_from_raw", "probe_inventory"]

INVENTORY_TIMEOUT = 30.0  # seconds: importlib.metadata over a large site-packages is slow on cold disks




@dataclass(frozen=True)
class Installed:
    """One installed distribution."""

    name: str
    version: str
    installer: Optional[str] = None
    location: Optional[str] = None
    url: Optional[str] = None  # a direct install's URL (file:// for a local wheel or folder)
    editable: bool = False
    vcs: Optional[str] = None  # "git+URL@commit"

    @property
    def canon(self) -> str:
        return canon(self.name)

    @property
    def source(self) -> str:
        """Where it came from, in words: an index, a URL, an editable folder."""
        if self.editable:
            return "editable {}".format(self.url)
        if self.vcs:
            return self.vcs
        if self.url:
            return self.url
        return "an index"

    def same(self, other: "Installed") -> bool:
        return (self.version, self.url, self.editable) == (other.version, other.url, other.editable)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"name": self.name, "version": self.version, "source": self.source}
        if self.installer:
            out["installer"] = self.installer
        return out


@dataclass(frozen=True)
class Inventory:
    """An interpreter's installed distributions and whether installing there is safe."""

    executable: str
    version: str
    prefix: str
    venv: bool
    uv_venv: bool
    conda: bool
    conda_base: bool
    externally_managed: bool
    site_packages: Optional[str]
    writable: bool
    pip: bool
    dists: Tuple[Installed, ...] = field(default=())

    def get(self, name: str) -> Optional[Installed]:
        key = canon(name)
        return next((d for d in self.dists if d.canon == key), None)

    @property
    def by_name(self) -> Dict[str, Installed]:
        return {d.canon: d for d in self.dists}

    @property
    def kind(self) -> str:
        """In words: a virtual environment, a conda environment, conda's base, a system Python."""
        if self.conda_base:
            return "conda's base environment"
        if self.conda:
            return "a conda environment"
        if self.venv:
            return "a uv virtual environment" if self.uv_venv else "a virtual environment"
        return "a Python outside any virtual environment"

    def environment_dict(self) -> Dict[str, Any]:
        return {
            "executable": self.executable, "python": self.version, "prefix": self.prefix, "kind": self.kind,
            "venv": self.venv, "uv_venv": self.uv_venv, "conda": self.conda, "conda_base": self.conda_base,
            "externally_managed": self.externally_managed, "site_packages": self.site_packages,
            "writable": self.writable, "pip": self.pip,
        }


def inventory_from_raw(raw: Dict[str, Any]) -> Inventory:
    dists = tuple(
        Installed(name=str(d["name"]), version=str(d.get("version") or ""), installer=d.get("installer"),
                  location=d.get("location"), url=d.get("url"), editable=bool(d.get("editable")),
                  vcs=d.get("vcs"))
        for d in raw.get("dists", ())
    )
    return Inventory(
        executable=str(raw["executable"]), version=str(raw.get("version") or ""), prefix=str(raw["prefix"]),
        venv=bool(raw.get("venv")), uv_venv=bool(raw.get("uv_venv")), conda=bool(raw.get("conda")),
        conda_base=bool(raw.get("conda_base")), externally_managed=bool(raw.get("externally_managed")),
        site_packages=raw.get("site_packages"), writable=bool(raw.get("writable")), pip=bool(raw.get("pip")),
        dists=dists,
    )


def probe_inventory(python: str, *, timeout: float = INVENTORY_TIMEOUT,
                    env: Optional[Dict[str, str]] = None) -> Inventory:
    """Read ``python``'s inventory in a child. Raises CannotRunError when it cannot be read."""
    from envcheck.errors import CannotRunError
    from envcheck.proc import run_child

    child = run_child(python, "inventory", timeout=timeout, env=env, bound="inventory")
    result = child.result
    if not result.ok:
        raise CannotRunError("could not list what {} has installed: {}".format(python, result.describe()),
                             hint="envcheck fix needs a working Python 3.8 or later")
    data = next((e for e in reversed(child.events) if e["event"] == "inventory"), None)
    if data is None:
        raise CannotRunError("could not list what {} has installed: it printed nothing".format(python),
                             hint="--python must name a Python interpreter (3.8 or later)")
    try:
        return inventory_from_raw(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise CannotRunError("could not list what {} has installed: unreadable output ({})".format(python, exc),
                             hint="--python must name a Python interpreter (3.8 or later)")
