"""``matrices/ecosystem.json``: what envcheck knows about the libraries around torch.

* ``pins``: each release of xformers and vllm with its ``Requires-Dist`` on torch and its partners,
  read from the package index's own metadata (``tests/data/dists/record.py pins``). A pasted report
  lists ``xformers==0.0.29.post3`` but not its requirements; these rows supply them, and they name
  the release that fits an installed torch.
* ``numpy2``: the first torch built against NumPy 2, by platform.
* ``cxx11_abi``: the C++ ABI of torch's Linux pip wheels by release, for when the torch child did
  not say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ["FILE", "Pin", "Ecosystem", "load"]

FILE = "ecosystem.json"


@dataclass(frozen=True)
class Pin:
    version: str
    requires: Dict[str, str]  # "torch" -> "==2.6.0"


@dataclass(frozen=True)
class Ecosystem:
    pins: Dict[str, Tuple[Pin, ...]]  # canonical package name -> releases, oldest first
    numpy2_first: Dict[str, str]  # os -> first torch release built against NumPy 2
    cxx11_from: str  # first release whose Linux pip wheels all use the cxx11 ABI
    cxx11_labels_before: Dict[str, Tuple[str, ...]]  # "2.6" -> ("cu126",)

    def requires(self, package: str, version: str) -> Dict[str, str]:
        """The recorded requirements of ``package`` ``version`` (its public part), {} if unknown."""
        public = version.split("+", 1)[0]
        for pin in self.pins.get(package, ()):
            if pin.version == public:
                return pin.requires
        return {}

    def fitting(self, package: str, installed: Dict[str, str]) -> Optional[Pin]:
        """The newest recorded release of ``package`` whose requirements on torch and its
        partners all hold for the ``installed`` versions (torch must be among them)."""
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        if "torch" not in installed:
            return None
        for pin in reversed(self.pins.get(package, ())):
            if "torch" not in pin.requires:
                continue
            ok = True
            for name, spec in pin.requires.items():
                if name not in installed or name == "triton":
                    continue
                try:
                    if not SpecifierSet(spec).contains(installed[name], prereleases=True):
                        ok = False
                        break
                except InvalidSpecifier:
                    ok = False
                    break
            if ok:
                return pin
        return None

    def cxx11_abi(self, torch_base: str, label: Optional[str]) -> Optional[bool]:
        """Whether torch's Linux pip wheel of this release uses the cxx11 ABI."""
        from packaging.version import InvalidVersion, Version

        try:
            v = Version(torch_base)
        except InvalidVersion:
            return None
        if v >= Version(self.cxx11_from):
            return True
        minor = "{}.{}".format(v.major, v.minor)
        return bool(label) and label in self.cxx11_labels_before.get(minor, ())


_CACHE: Dict[str, Ecosystem] = {}


def load() -> Ecosystem:
    from envcheck.matrix import store

    path = store.shipped_dir() / FILE
    key = str(path)
    if key not in _CACHE:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pins = {
            name: tuple(Pin(r["version"], dict(r.get("requires") or {})) for r in rows)
            for name, rows in doc["pins"]["packages"].items()
        }
        abi = doc["cxx11_abi"]
        _CACHE[key] = Ecosystem(
            pins=pins,
            numpy2_first=dict(doc["numpy2"]["first_torch"]),
            cxx11_from=abi["pip_linux_cxx11_from"],
            cxx11_labels_before={k: tuple(v) for k, v in (abi.get("cxx11_labels_before") or {}).items()},
        )
    return _CACHE[key]
