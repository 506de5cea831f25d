"""The CUDA toolkit (nvcc) against torch's CUDA, for building extensions (EC501-EC503)."""

from __future__ import annotations

from typing import Iterator

from envcheck.rules.driver import THREE_CUDAS
from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View, cuda_tuple

__all__ = ["nvcc_vs_torch", "nvcc_unusable", "RULES"]

# Error lines of a pasted report that show a CUDA extension being built.
_BUILDING = ("nvcc-mismatch", "cuda-home-unset")


def nvcc_vs_torch(v: View) -> Iterator[Finding]:
    """EC501 (another major) and EC502 (another minor) for cpp_extension's toolkit."""
    n = v.facts.nvcc
    tk = n.selected
    torch_cuda = cuda_tuple(v.cuda_build)
    if not v.is_cuda_build or tk is None or tk.status != "ok" or torch_cuda is None:
        return
    nvcc = cuda_tuple(tk.release)
    if nvcc is None or nvcc == torch_cuda:
        return
    report = v.facts.report
    if report is not None and not any(e.kind in _BUILDING for e in report.errors):
        return  # a report's nvcc matters only where it shows an extension being built
    evidence = [
        ev("nvcc.release", tk.release),
        ev("nvcc.cpp_extension_home", n.cpp_extension_home),
        ev("nvcc.cpp_extension_source", n.cpp_extension_source),
        ev("torch.cuda_build", v.cuda_build),
    ]
    if v.facts.driver.cuda_max:
        evidence.append(ev("driver.cuda_max", v.facts.driver.cuda_max))
    same_major = [t for t in n.toolkits if t.status == "ok" and (cuda_tuple(t.release) or (None,))[0] == torch_cuda[0]]
    exact = [t for t in same_major if cuda_tuple(t.release) == torch_cuda]
    better = (exact or same_major)[0] if (exact or same_major) else None
    if nvcc[0] != torch_cuda[0]:
        fix = ("Point CUDA_HOME at a CUDA {}.x toolkit before building extensions{}.".format(
            torch_cuda[0], " ({} is one)".format(better.root) if better else
            " (install one, e.g. CUDA {}.{})".format(*torch_cuda)))
        yield finding(
            "EC501",
            "nvcc {}{} vs torch's CUDA {}: CUDA extensions will not build".format(
                tk.release, "" if report is not None else " (at {})".format(n.cpp_extension_home), v.cuda_build),
            evidence,
            cause="torch.utils.cpp_extension builds with the toolkit it finds ({} from {}), and "
            "refuses another major than torch's: `The detected CUDA version ({}) mismatches the "
            "version that was used to compile PyTorch ({})`. Running torch is not affected. {}".format(
                n.cpp_extension_home, n.cpp_extension_source, tk.release, v.cuda_build, THREE_CUDAS),
            fix=fix,
            command="export CUDA_HOME={}".format(better.root) if better else None,
        )
    else:
        yield finding(
            "EC502",
            "nvcc {} vs torch's CUDA {}: same major, extension builds work".format(tk.release, v.cuda_build),
            evidence,
            cause="Extensions compile across minors of one major (torch prints a warning). "
            + THREE_CUDAS,
            fix="Nothing required." + (
                " For an exact match: `export CUDA_HOME={}`.".format(exact[0].root) if exact else ""),
        )


def nvcc_unusable(v: View) -> Iterator[Finding]:
    """EC503: an nvcc that hangs, fails or prints garbage."""
    n = v.facts.nvcc
    broken = [t for t in n.toolkits if t.nvcc and t.status in ("failed", "timed-out")]
    if not broken and n.status in ("failed", "timed-out") and not n.toolkits:
        yield finding(
            "EC503", "the CUDA toolkit probe {}".format(n.status),
            [ev("nvcc.status", n.status), ev("nvcc.detail", n.detail)],
            cause="The toolkit search did not finish, so nvcc is unknown.",
        )
        return
    if not broken:
        return
    sel = n.selected
    evidence = []
    for t in broken[:3]:
        evidence += [ev("nvcc[{}].status".format(t.nvcc), t.status), ev("nvcc[{}].detail".format(t.nvcc), t.detail)]
    used = sel is not None and sel in broken
    yield finding(
        "EC503",
        "{} {} `--version`".format(
            broken[0].nvcc, "did not answer" if broken[0].status == "timed-out" else "failed"),
        evidence,
        cause="A broken toolkit or a wrapper script. "
        + ("torch's cpp_extension would use it ({} from {}): extension builds will fail.".format(
            n.cpp_extension_home, n.cpp_extension_source) if used else
           "Builds that pick it up will fail."),
        fix="Repair or remove it, or take it off PATH/CUDA_HOME.",
    )


RULES = (nvcc_vs_torch, nvcc_unusable)
