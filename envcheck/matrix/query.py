"""Questions asked of the matrix: which releases match, which have a build, what is uncertain."""

from __future__ import annotations

import re

from envcheck.errors import InputError
from envcheck.matrix.model import Release
from envcheck.matrix.store import Matrix
from envcheck.matrix.variants import InvalidVersion, Variant, parse_release, version_key

__all__ = ["UnknownRelease", "UnknownVariant", "find_releases", "releases_with", "no_such_build", "all_variants", "caveats"]


class UnknownRelease(InputError):
    pass


class UnknownVariant(InputError):
    pass


def _spec(text: str):
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text.replace(" ", ""))
    except InvalidSpecifier:
        raise InvalidVersion(
            f"Invalid torch version or range: {text!r} (expected 2.7, 2.7.1, or a range such as '<2.6' or '>=2.4,<2.6')"
        ) from None


def find_releases(matrix: Matrix, text: str) -> list[Release]:
    """Releases matching what a user typed: ``2.7.1`` (one), ``2.7`` (every 2.7.x), ``<2.6``."""
    t = text.strip()
    if re.match(r"^[<>=!~]", t) or "," in t:
        spec = _spec(t)
        found = [r for r in matrix.releases if spec.contains(r.torch, prereleases=False)]
        if not found:
            raise UnknownRelease(f"no torch release in the data matches {text!r} ({_span(matrix)})")
        return found
    key = parse_release(t)
    if len(key) == 2:
        found = [r for r in matrix.releases if r.key[:2] == key]
    else:
        found = [r for r in matrix.releases if r.key == key]
    if not found:
        raise UnknownRelease(
            f"no torch release {'.'.join(map(str, key))} in the data ({_span(matrix)})"
            + _nearest(matrix, key),
            hint="if it was published after the data, run: envcheck matrix update",
        )
    return found


def _span(matrix: Matrix) -> str:
    return (
        f"releases {matrix.releases[0].torch} to {matrix.newest.torch}, "
        f"data of {matrix.info.updated[:10]}"
    )


def _nearest(matrix: Matrix, key: tuple[int, ...]) -> str:
    same = [r.torch for r in matrix.releases if r.key[:2] == key[:2]]
    if same:
        return f"; {'.'.join(map(str, key[:2]))} has: {', '.join(same)}"
    return ""


def releases_with(matrix: Matrix, variant: Variant, *, conda: bool = False) -> list[Release]:
    """Releases that publish ``variant`` (pip wheels, or conda packages with ``conda=True``)."""
    if conda:
        found = [r for r in matrix.releases if variant in r.conda.variants]
    else:
        found = [r for r in matrix.releases if variant in r.variants]
    if not found:
        known = ", ".join(v.label for v in all_variants(matrix, variant.kind))
        raise UnknownVariant(
            f"no torch release has a {variant.label} build ({variant.describe()}); "
            f"{variant.kind.upper() if variant.kind != 'cuda' else 'CUDA'} builds that exist: {known}"
        )
    return found


def no_such_build(asked: list[Release], variant: Variant, having: list[Release], *, conda: bool = False,
                  os_name: str | None = None) -> UnknownVariant:
    """The error for a release/build pair that does not exist, naming the builds that do (on
    ``os_name``, when given: an off-selector build may have wheels for Linux only)."""
    kind = "conda package" if conda else "build"
    # Name the OS only where it matters: the release has the build, but not for this OS.
    elsewhere = bool(os_name) and not conda and any(
        variant in r.variants and variant not in r.variants_for_os(os_name or "") for r in asked)
    where = f" for {os_name}" if elsewhere else ""
    if conda:
        def names(r: Release) -> list[str]:
            return [v.label for v in r.conda.variants]
    elif where and os_name:
        def names(r: Release) -> list[str]:
            return [v.label for v in r.variants_for_os(os_name)]
    else:
        def names(r: Release) -> list[str]:
            return [v.label for v in r.variants]
    if len(asked) == 1:
        r = asked[0]
        head = f"torch {r.torch} has no {variant.label} {kind}{where}; its {kind}s{where}: {', '.join(names(r)) or 'none'}"
        off = r.off_selector_build(variant) if where else None
        if off is not None:
            head += f"; its {variant.label} wheels are for {', '.join(off.os)} only"
    else:
        head = f"none of torch {asked[0].torch} to {asked[-1].torch} has a {variant.label} {kind}{where}"
    span = f"{having[0].torch}" if len(having) == 1 else f"{having[0].torch} to {having[-1].torch}"
    return UnknownVariant(f"{head} ({variant.label} {kind}s{where} exist for torch {span})")


def all_variants(matrix: Matrix, kind: str | None = None) -> list[Variant]:
    seen = {v for r in matrix.releases for v in r.variants if kind is None or v.kind == kind}
    return sorted(seen, key=lambda v: (v.kind, v.version))


_FIELD_WORDS = {
    "torchaudio": "the torchaudio pairing",
    "torchvision": "the torchvision pairing",
    "python": "the supported Python versions",
    "pip_cuda": "the list of CUDA builds",
    "pip_cpu": "whether a CPU build exists",
    "rocm": "the list of ROCm builds",
    "pip_commands": "the install commands",
    "pip_form": "the index form of the install command",
    "default_variant": "which build a plain `pip install torch` gives",
}


def caveats(release: Release) -> list[str]:
    """Plain-words warnings whenever an answer rests on data that is not official (one line each)."""
    out = []
    if release.confidence != "official":
        out.append(
            f"torch {release.torch}: this data row is {release.confidence}, not taken from PyTorch's "
            f"published install pages (source: {release.source})"
        )
    fields = [_FIELD_WORDS[f] for f in sorted(release.uncertain) if f in _FIELD_WORDS]
    if fields:
        out.append(f"torch {release.torch}: not settled by an official source: {'; '.join(fields)}")
    return out


def newest_key(matrix: Matrix) -> tuple[int, ...]:
    return version_key(matrix.newest.torch)
