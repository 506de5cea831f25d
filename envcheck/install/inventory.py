"""What an interpreter has installed, and whether envcheck may install into it.

``envcheck fix`` records this before it changes anything and again after, so it can say exactly
what changed and print the command that puts it back.

Two halves, as in :mod:`envcheck.probes.torch_static`:

* :func:`read_inventory` (capture) uses only the standard library (``importlib.metadata``,
  ``sysconfig``), so the same source runs inside the target interpreter as ``python -c <this
  file's source>``: every distribution on its ``sys.path`` (name, version, where, which installer,
  the URL or folder a direct install came from) and what decides whether installing there is
  safe (a virtual environment or not, conda and conda's base, PEP 668's ``EXTERNALLY-MANAGED``,
  a writable site-packages, pip present, a uv-managed venv).
* :func:`probe_inventory` (parent side) runs it with a timeout and returns an :class:`Inventory`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Dict, List, Optional

READER_VERSION = 1
INVENTORY_TIMEOUT = 30.0  # seconds: importlib.metadata over a large site-packages is slow on cold disks


def canon(name: str) -> str:
    """PEP 503's normalized name: ``Flash_Attn`` -> ``flash-attn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct(dist: Any) -> Dict[str, Any]:
    """PEP 610: the URL (or local folder, editable or not) a direct install came from."""
    try:
        text = dist.read_text("direct_url.json")
    except Exception:  # noqa: BLE001 - a broken dist-info is reported as no source
        return {}
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return {}
    out = {"url": data["url"]}
    info = data.get("dir_info")
    if isinstance(info, dict) and info.get("editable"):
        out["editable"] = True
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("commit_id"), str):
        out["vcs"] = "{}+{}@{}".format(vcs.get("vcs", "git"), data["url"], vcs["commit_id"])
    return out


def _writable(path: Optional[str]) -> bool:
    """Whether files can be created in ``path`` (the nearest existing folder for a missing one)."""
    while path and not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return bool(path) and os.access(path, os.W_OK | os.X_OK)


def read_inventory() -> Dict[str, Any]:
    """Every installed distribution and the install-safety facts of this interpreter."""
    import importlib.metadata as md
    import importlib.util
    import sysconfig

    dists: List[Dict[str, Any]] = []
    seen = set()
    for dist in md.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:  # noqa: BLE001
            name = None
        if not name:
            continue
        key = canon(name)
        if key in seen:  # shadowed by an earlier sys.path entry: not what `import` or pip sees
            continue
        seen.add(key)
        path = getattr(dist, "_path", None)
        try:
            installer = (dist.read_text("INSTALLER") or "").strip() or None
        except Exception:  # noqa: BLE001
            installer = None
        record = {"name": name, "version": dist.version or "", "installer": installer,
                  "location": os.path.dirname(str(path)) if path else None}
        record.update(_direct(dist))
        dists.append(record)
    dists.sort(key=lambda d: canon(d["name"]))

    prefix, base = sys.prefix, getattr(sys, "base_prefix", sys.prefix)
    venv = prefix != base
    cfg = os.path.join(prefix, "pyvenv.cfg")
    uv = False
    if venv and os.path.isfile(cfg):
        try:
            with open(cfg, encoding="utf-8", errors="replace") as fh:
                uv = any(line.split("=", 1)[0].strip() == "uv" for line in fh)
        except OSError:
            pass
    conda = os.path.isdir(os.path.join(prefix, "conda-meta"))
    purelib = sysconfig.get_path("purelib")
    stdlib = sysconfig.get_path("stdlib")
    return {
        "reader": READER_VERSION,
        "executable": sys.executable,
        "version": "{}.{}.{}".format(*sys.version_info[:3]),
        "prefix": prefix,
        "venv": venv,
        "uv_venv": uv,
        "conda": conda,
        # conda's base environment holds conda itself (condabin/, pkgs/); named envs live in envs/
        "conda_base": conda and (os.path.isdir(os.path.join(prefix, "condabin"))
                                 or os.environ.get("CONDA_DEFAULT_ENV") == "base"
                                 and os.environ.get("CONDA_PREFIX") == prefix),
        "externally_managed": bool(stdlib) and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED")),
        "site_packages": purelib,
        "writable": _writable(purelib),
        "pip": importlib.util.find_spec("pip") is not None,
        "dists": dists,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(read_inventory()) + "\n")
    sys.exit(0)


# ---------------------------------------------------------------------------------------------
# Parent side

from dataclasses import dataclass, field  # noqa: E402 - the child half above is stdlib-only
from typing import Tuple  # noqa: E402


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


def _source() -> str:
    with open(os.path.abspath(__file__), encoding="utf-8") as fh:
        return fh.read()


def probe_inventory(python: str, *, timeout: float = INVENTORY_TIMEOUT,
                    env: Optional[Dict[str, str]] = None) -> Inventory:
    """Read ``python``'s inventory in a child. Raises CannotRunError when it cannot be read."""
    from envcheck.errors import CannotRunError
    from envcheck.proc import run

    result = run([python, "-c", _source()], timeout=timeout, env=env, name="inventory")
    if not result.ok:
        raise CannotRunError("could not list what {} has installed: {}".format(python, result.describe()),
                             hint="envcheck fix needs a working Python 3.8 or later")
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise CannotRunError("could not list what {} has installed: it printed nothing".format(python),
                             hint="--python must name a Python interpreter (3.8 or later)")
    try:
        return inventory_from_raw(json.loads(lines[-1]))
    except (ValueError, KeyError, TypeError) as exc:
        raise CannotRunError("could not list what {} has installed: unreadable output ({})".format(python, exc),
                             hint="--python must name a Python interpreter (3.8 or later)")
