"""Text for ``install-command`` and ``requirements``: why this build, what was rejected, warnings."""

from __future__ import annotations

from typing import Any, List

__all__ = ["explain_lines", "loud_lines", "check_lines"]


def explain_lines(choice: Any, manager: str = "pip") -> List[str]:
    """The explanation printed on stderr beside the command: target, choice, reasons, rejections."""
    from envcheck.install.commands import alternative

    lines = choice.target.describe()
    rel, v = choice.release, choice.variant
    off = "" if rel.on_selector(v) else ", not on the install selector"
    lines.append(f"choice: torch {rel.torch} ({v.describe()}, {v.label}) [{rel.confidence} data]{off}")
    lines += [f"  because {r}" for r in choice.reasons]
    shown = 0
    for r in choice.rejected:
        if shown >= 8:
            lines.append(f"  ... and {len(choice.rejected) - shown} more rejected alternatives (--json lists all)")
            break
        what = f"torch {r.torch}" + (f" {r.variant}" if r.variant else "")
        lines.append(f"  not {what}: {r.reason}")
        shown += 1
    lines += [f"WARNING: {w}" for w in choice.warnings]
    alt = alternative(choice, manager)
    if alt is not None:
        lines.append(f"alternative, fully supported: {alt['command']}")
    lines += [f"note: {c}" for c in choice.caveats]
    return lines


def loud_lines(choice: Any, manager: str = "pip") -> List[str]:
    """With -q: only what must not go unsaid. -q hides explanations, never a warning that the
    command will not do the job, nor the fully supported alternative to compatibility mode."""
    from envcheck.install.commands import alternative

    loud = [w for w in choice.warnings if choice.will_not_run or choice.fallback and w.startswith("NO GPU BUILD FITS")
            or choice.driver_status == "compat" and w.startswith(("runs in CUDA minor-version", "no alternative:"))]
    lines = [f"envcheck: warning: {w}" for w in loud]
    alt = alternative(choice, manager)
    if alt is not None:
        lines.append(f"envcheck: alternative, fully supported: {alt['command']}")
    return lines


def check_lines(path: str, res: Any) -> List[str]:
    """``requirements --check``: consistent, or each problem with its code."""
    lines = [f"{path}: " + ("consistent" if not res.problems else f"{len(res.problems)} problem(s)")]
    lines += [f"  {p.code}: {p.message}" for p in res.problems]
    lines += [f"  note: {n}" for n in res.notes]
    return lines
