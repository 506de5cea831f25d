"""Replay recorded NVML readings (tests/data/probes/nvml/*.json) as a pynvml-like module."""

from __future__ import annotations

import json
import os
import types
from typing import Any, Dict, List, Tuple

import pynvml

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "probes")

# Enum arguments by name, as the recordings spell them.
_ARG_NAMES = {
    "nvmlDeviceGetClockInfo": {
        pynvml.NVML_CLOCK_GRAPHICS: "GRAPHICS",
        pynvml.NVML_CLOCK_SM: "SM",
        pynvml.NVML_CLOCK_MEM: "MEM",
        pynvml.NVML_CLOCK_VIDEO: "VIDEO",
    },
    "nvmlDeviceGetTemperature": {pynvml.NVML_TEMPERATURE_GPU: "GPU"},
    "nvmlDeviceGetRetiredPages": {
        pynvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS: "MULTIPLE_SINGLE_BIT",
        pynvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR: "DOUBLE_BIT",
    },
}
_ARG_NAMES["nvmlDeviceGetMaxClockInfo"] = _ARG_NAMES["nvmlDeviceGetClockInfo"]
_ECC_TYPES = {
    pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED: "CORRECTED",
    pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED: "UNCORRECTED",
}
_ECC_COUNTERS = {pynvml.NVML_VOLATILE_ECC: "VOLATILE", pynvml.NVML_AGGREGATE_ECC: "AGGREGATE"}
_STRUCTS = ("nvmlDeviceGetPciInfo", "nvmlDeviceGetMemoryInfo")


def load_recording(name: str) -> Dict[str, Any]:
    with open(os.path.join(DATA, "nvml", name + ".json"), encoding="utf-8") as fh:
        return json.load(fh)


def nvml_error(name: str) -> pynvml.NVMLError:
    return pynvml.NVMLError(getattr(pynvml, "NVML_ERROR_" + name))


class FakeNvml:
    """Enough of pynvml for envcheck.probes.nvml, answering from a recording."""

    NVMLError = pynvml.NVMLError

    def __init__(self, recording: Dict[str, Any]) -> None:
        self.recording = recording
        self.calls: List[Tuple[str, tuple]] = []
        self.shutdowns = 0
        for const in dir(pynvml):
            if const.startswith("NVML_"):
                setattr(self, const, getattr(pynvml, const))

    def nvmlInit(self) -> None:
        self.calls.append(("nvmlInit", ()))
        if self.recording.get("init_error"):
            raise nvml_error(self.recording["init_error"])

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.recording.get("devices", []))

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Tuple[str, int]:
        self._replay(self.recording["devices"][index], "nvmlDeviceGetHandleByIndex", ())
        return ("handle", index)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("nvmlSystem"):
            system = self.recording.get("system", {})
            if name not in system:
                raise AttributeError(name)
            return lambda: self._value(name, system[name])
        if name.startswith("nvmlDevice"):
            known = set()
            for dev in self.recording.get("devices", []):
                known.update(dev)
            if name not in known:
                raise AttributeError(name)

            def call(handle: Tuple[str, int], *args: Any) -> Any:
                return self._replay(self.recording["devices"][handle[1]], name, args)

            return call
        raise AttributeError(name)

    def _replay(self, device: Dict[str, Any], name: str, args: tuple) -> Any:
        self.calls.append((name, args))
        if name not in device:
            if name == "nvmlDeviceGetHandleByIndex":
                return None
            raise nvml_error("NOT_SUPPORTED")
        value = device[name]
        if isinstance(value, dict) and "error" in value:
            raise nvml_error(value["error"])
        if name == "nvmlDeviceGetTotalEccErrors":
            value = value["{}/{}".format(_ECC_TYPES[args[0]], _ECC_COUNTERS[args[1]])]
        elif name in _ARG_NAMES:
            value = value[_ARG_NAMES[name][args[0]]]
        if isinstance(value, dict) and "error" in value:
            raise nvml_error(value["error"])
        return self._value(name, value)

    @staticmethod
    def _value(name: str, value: Any) -> Any:
        if name in _STRUCTS and isinstance(value, dict):
            fields = {k: (v.encode() if k == "busId" else v) for k, v in value.items()}
            return types.SimpleNamespace(**fields)
        if isinstance(value, list):
            return tuple(value) if name != "nvmlDeviceGetRetiredPages" else list(value)
        return value


# -- fake site-packages -------------------------------------------------------------------------


def _install_text(name: str) -> str:
    with open(os.path.join(DATA, "torch_install", name), encoding="utf-8") as fh:
        return fh.read()


def add_dist(
    site: Any,
    name: str,
    version: str,
    *,
    installer: str = "pip",
    requires: Tuple[str, ...] = (),
    metadata: str = "",
) -> None:
    """Write ``<name>-<version>.dist-info`` (METADATA, INSTALLER) into ``site`` (a Path)."""
    info = site / "{}-{}.dist-info".format(name.replace("-", "_"), version)
    info.mkdir(parents=True)
    text = metadata or "Metadata-Version: 2.1\nName: {}\nVersion: {}\n".format(
        name, version
    ) + "".join("Requires-Dist: {}\n".format(r) for r in requires)
    (info / "METADATA").write_text(text)
    if installer:
        (info / "INSTALLER").write_text(installer + "\n")


def add_torch(site: Any, version_py: str, metadata: str, *, installer: str = "pip") -> None:
    """torch from recorded files: ``version_py`` and ``metadata`` name files in torch_install/."""
    meta = _install_text(metadata)
    version = next(
        line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Version:")
    )
    add_dist(site, "torch", version, installer=installer, metadata=meta)
    (site / "torch").mkdir()
    (site / "torch" / "version.py").write_text(_install_text(version_py))


def cu130_site(site: Any) -> None:
    """torch 2.14.1 (cu130 via cuda-toolkit) with one stale and one missing CUDA wheel, plus a
    stray cu12 cuDNN: the mix F6 is about."""
    add_torch(site, "2.14.1+cu130.py.txt", "METADATA-2.14.1+cu130.txt")
    add_dist(
        site,
        "cuda-toolkit",
        "13.0.3.0",
        metadata=_install_text("METADATA-cuda-toolkit-13.0.3.0.txt"),
    )
    for name, version in [
        ("nvidia-cublas", "13.1.1.3"),
        ("nvidia-cuda-runtime", "13.0.96"),
        ("nvidia-cuda-nvrtc", "13.0.88"),
        ("nvidia-cuda-cupti", "13.0.85"),
        ("nvidia-cufft", "12.0.0.61"),
        ("nvidia-cufile", "1.15.1.6"),
        ("nvidia-curand", "10.4.0.35"),
        ("nvidia-cusolver", "12.0.4.66"),
        ("nvidia-cusparse", "12.6.3.3"),
        ("nvidia-nvtx", "13.0.85"),
        ("nvidia-cudnn-cu13", "9.24.0.43"),
        ("nvidia-cusparselt-cu13", "0.8.1"),
        ("nvidia-nccl-cu13", "2.27.7"),
        ("nvidia-nvshmem-cu13", "3.4.5"),
        ("nvidia-cudnn-cu12", "9.10.2.21"),
        ("cuda-bindings", "13.0.3"),
        ("triton", "3.8.0"),
        ("torchvision", "0.29.0"),
        ("nvidia-ml-py", "13.580.82"),
    ]:
        add_dist(site, name, version)
