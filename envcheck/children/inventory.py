"""What this interpreter has installed, and whether installing into it is safe (a child).

``envcheck fix`` records it before it changes anything and again after
(:mod:`envcheck.install.inventory` is the parent side). Standard library only
(``importlib.metadata``, ``sysconfig``): every distribution on ``sys.path`` (name, version, where,
which installer, the URL or folder a direct install came from) and what decides whether
installing there is safe (a virtual environment or not, conda and conda's base, PEP 668's
``EXTERNALLY-MANAGED``, a writable site-packages, pip present, a uv-managed venv). One
``inventory`` event.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Dict, List, Optional

from envcheck.children import events

__all__ = ["READER_VERSION", "canon", "main", "read_inventory"]

READER_VERSION = 1


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
    return path is not None and bool(path) and os.access(path, os.W_OK | os.X_OK)


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
        "sys_path": list(sys.path),
    }


def main(argv: Optional[List[str]] = None) -> int:
    events.emit("inventory", **read_inventory())
    return 0


if __name__ == "__main__":
    sys.exit(main())
