"""Typed, frozen rows of the compatibility matrix. Built only by ``store.load``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from envcheck.matrix.variants import Variant, version_key

__all__ = ["CONFIDENCES", "OSES", "SETTLED_FACTS", "Release", "Conda", "OffSelector", "IndexFacts", "Toolkit",
           "ArchRow", "DataInfo"]

CONFIDENCES = ("official", "inferred", "unknown")
OSES = ("linux", "windows", "macos")
# What the package index's own metadata can settle for a release (see IndexFacts).
SETTLED_FACTS = ("python", "default_variant", "torchvision", "torchaudio")


@dataclass(frozen=True)
class Conda:
    style: str  # cuda-metapackage | cudatoolkit | pytorch-cuda | none
    channel: str | None = None
    variants: tuple[Variant, ...] = ()
    torchvision: str | None = None  # only where conda's version differs from pip's
    torchaudio: str | None = None
    packages: tuple[str, ...] = ()  # which of torch/torchvision/torchaudio the official command names
    extra_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # "cu113", "cu111@windows"
    cpu_packages: str | None = None  # "pytorch-cpu" (1.0.x) instead of the cpuonly metapackage


@dataclass(frozen=True)
class OffSelector:
    """A build on PyTorch's download index that its install selector does not show (cu129 of 2.13.0)."""

    variant: Variant
    os: tuple[str, ...]  # where its wheels exist
    confidence: str
    source: str
    sources: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class IndexFacts:
    """What the package index's own metadata says about a release (an official source): read
    from its JSON simple page and, by byte ranges, from its wheels' METADATA and version.py."""

    source: str  # the project page: https://pypi.org/simple/torch/
    read: str  # the day it was read
    uploaded: str | None
    requires_python: str | None
    classifiers: tuple[str, ...]
    default_files: Mapping[str, str]  # OS -> the wheel whose version.py gave its default build
    cuda: str | None  # torch.version.cuda of the Linux wheel
    pins: Mapping[str, str]  # CUDA libraries, toolkit and triton as its METADATA pins them
    partners: Mapping[str, str]  # package -> why it is (or none is) the partner
    settled: frozenset[str] = frozenset()  # which of SETTLED_FACTS it settles


@dataclass(frozen=True)
class Release:
    torch: str
    torchvision: str | None  # None: explicitly no partner (see partners_note)
    torchaudio: str | None
    python: tuple[str, ...]
    python_experimental: tuple[str, ...]
    platforms: tuple[str, ...]
    pip_form: str
    variants: tuple[Variant, ...]  # every published pip build: the selector's and the others
    default: Mapping[str, Variant | None]  # per OS: what a plain `pip install torch` gives
    default_basis: str
    conda: Conda
    confidence: str
    uncertain: frozenset[str]
    source: str
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    partners_note: str | None = None
    pip_packages: tuple[str, ...] = ("torch", "torchvision", "torchaudio")
    pip_labels: tuple[str, ...] = ()  # packages pinned with +variant in the era's commands
    plain_default: bool = False  # the official command for the PyPI default build has no index option
    index_base: str = "https://download.pytorch.org/whl"
    overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)  # per build
    off_selector: tuple[OffSelector, ...] = ()  # the published builds the install selector omits
    package_index: IndexFacts | None = None
    key: tuple[int, ...] = field(default=(), compare=False)

    @property
    def recommendable(self) -> bool:
        """Whether the chooser may pick it unasked: its row is official or inferred. A release the
        package index brings in becomes inferred once its Pythons, default build and partners
        are settled there (the package index's metadata is official)."""
        return self.confidence != "unknown"

    @property
    def series(self) -> str:
        return ".".join(self.torch.split(".")[:2])

    def variant(self, label: str) -> Variant | None:
        for v in self.variants:
            if v.label == label:
                return v
        return None

    def cuda_variants(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.kind == "cuda")

    def off_selector_build(self, variant: Variant) -> OffSelector | None:
        """The record of ``variant`` when it is published but not on the install selector."""
        for o in self.off_selector:
            if o.variant == variant:
                return o
        return None

    def on_selector(self, variant: Variant) -> bool:
        """Whether pytorch.org's install selector (and its previous-versions page) shows the build."""
        return variant in self.variants and self.off_selector_build(variant) is None

    @property
    def selector_variants(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if self.on_selector(v))

    def variants_for_os(self, os_name: str) -> tuple[Variant, ...]:
        """The pip builds that exist for an OS: no ROCm off Linux, CPU (with MPS) on macOS, and
        off-selector builds only where their wheels were published."""
        if os_name not in self.platforms:
            return ()
        if os_name == "macos":
            found = tuple(v for v in self.variants if v.kind == "cpu")
        elif os_name == "windows":
            found = tuple(v for v in self.variants if v.kind != "rocm")
        else:
            found = self.variants
        return tuple(v for v in found if (o := self.off_selector_build(v)) is None or os_name in o.os)

    def supports_python(self, python: str) -> bool:
        return python in self.python or python in self.python_experimental

    def is_sure(self, fact: str) -> bool:
        """True when ``fact`` (a field name) rests on an official source: an official row that does
        not mark it uncertain, or the package index's metadata."""
        if self.package_index is not None and fact in self.package_index.settled:
            return True
        return self.confidence == "official" and fact not in self.uncertain


@dataclass(frozen=True)
class Toolkit:
    cuda: str  # "12.8.1"
    label: str
    driver_linux: str | None  # Table 3: shipped with the toolkit, full support
    driver_windows: str | None
    minor_compat_linux: str | None  # Table 2: minimum for minor-version compatibility
    minor_compat_windows: str | None
    confidence: str
    source: str
    branch: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.cuda)

    @property
    def major_minor(self) -> tuple[int, int]:
        k = self.key
        return (k[0], k[1])


@dataclass(frozen=True)
class ArchRow:
    torch: str  # "2.7" (series: every 2.7.x) or "1.8.0" (one release)
    variant: Variant
    os: str
    sass: tuple[str, ...] | None  # None: the row exists but its architectures are unknown
    ptx: tuple[str, ...] | None
    confidence: str
    evidence: str
    source: str
    note: str | None = None

    def covers(self, release: str) -> bool:
        if self.torch.count(".") == 1:
            return release.startswith(self.torch + ".")
        return release == self.torch


@dataclass(frozen=True)
class DataInfo:
    """Which data is in use: where it came from and how fresh it is."""

    origin: str  # "shipped" | "user"
    directory: str
    updated: str  # ISO date of the data
    newest_release: str
    releases: int
    shipped_updated: str
