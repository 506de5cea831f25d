"""What a maintainer would reply to a pasted report: the cause, the fix, what to paste next.

:func:`reply` is a pure function of the report's facts and their diagnosis. The cause is the
first error (else warning) finding in one sentence; the fix is the diagnosis's one command, else
that finding's command or fix in words; "paste next" names what the report lacks to settle the
question (collect_env when torch is unknown, nvidia-smi when the driver is, the pattern's own
advice for an error line no rule could explain). Contradictions between blocks are named first:
they usually mean the pastes come from two environments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.model import Facts
    from envcheck.rules import Diagnosis

__all__ = ["Reply", "reply"]

_COLLECT_ENV = "the output of `python -m torch.utils.collect_env`"
_SMI = "the output of `nvidia-smi`"


@dataclass(frozen=True)
class Reply:
    cause: str
    fix: Optional[str]  # in words
    command: Optional[str]
    paste_next: Tuple[str, ...]
    contradictions: Tuple[str, ...]

    def to_dict(self) -> Dict[str, Any]:
        return {"cause": self.cause, "fix": self.fix, "command": self.command,
                "paste_next": list(self.paste_next), "contradictions": list(self.contradictions)}


def join_words(items: Tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def reply(facts: "Facts", diag: "Diagnosis") -> Reply:
    from envcheck.reports.errors import by_kind

    report = facts.report
    stated = report.stated if report is not None else {}
    contradictions = tuple(
        "the report states two values for {}: {}; the pastes may come from different machines or "
        "environments.".format(c.fact, " vs ".join(c.values))
        for c in (report.conflicts if report is not None else ()))
    top = next((f for f in diag.findings if f.severity == "error"), None) or next(
        (f for f in diag.findings if f.severity == "warning"), None)
    paste: List[str] = []
    torch_known = facts.torch.status not in ("unknown",)
    driver_known = facts.driver.status != "unknown"
    gpu_question = (facts.torch.variant or "").startswith("cu") or any(
        e.kind in ("no-kernel-image", "arch-not-compatible", "not-compiled-with-cuda", "no-driver",
                   "driver-too-old", "driver-insufficient", "cuda-init-unknown", "no-cuda-gpus")
        for e in (report.errors if report is not None else ()))
    oom = top is None and any(e.kind == "cuda-oom" for e in (report.errors if report is not None else ()))
    if top is None:
        known = []
        if torch_known:
            known.append(facts.torch.version and "torch {}".format(facts.torch.version) or "torch")
        if driver_known:
            known.append("the driver" if facts.driver.version is None else "driver {}".format(facts.driver.version))
        cause = ("Nothing in the report points at the PyTorch/CUDA install (what it states of {} "
                 "is consistent); the problem is likely elsewhere.".format(" and ".join(known)) if known else
                 "The report states too little to tell what is wrong.")
        if oom:
            cause = ("CUDA ran out of GPU memory, so torch's CUDA install works; the job needs more "
                     "memory than the GPU has free (a smaller batch or input, mixed precision, or "
                     "freeing the GPU from other processes; `nvidia-smi` shows who holds it).")
        fix = None
        command = None
    else:
        cause = _sentence(top.title)
        if top.code == "EC007":
            cause = _sentence(top.cause)
        command = diag.command or top.command
        fix = _sentence(top.fix) if top.fix and not command else None
        if top.code == "EC007" and report is not None:
            kind = next((line.split(" = ", 1)[1] for line in top.evidence  # how it was read, else its kind
                         if line.startswith("report.errors[") and ".reading = " in line), None) or next(
                (line.split(" = ", 1)[1] for line in top.evidence
                 if line.startswith("report.errors[") and ".kind = " in line), None)
            pattern = by_kind(kind) if kind else None
            if pattern is not None:  # the finding's own fix (it may name the data's facts), less its "paste" tail
                fix = _sentence((top.fix or pattern.fix).split(" If that does not settle it,")[0])
                paste.append(pattern.paste_next)
    if oom:  # CUDA works and nothing is wrong: nothing more to paste about the install
        return Reply(cause, fix, command, tuple(paste), contradictions)
    if not torch_known and _COLLECT_ENV not in " ".join(paste):
        paste.append(_COLLECT_ENV)
    if not driver_known and gpu_question and _SMI not in " ".join(paste):
        paste.append(_SMI)
    if "torch_runtime.is_available" not in stated and torch_known and facts.torch.variant != "cpu" \
            and top is None and _COLLECT_ENV not in " ".join(paste):
        paste.append("the output of `python -c \"import torch; print(torch.cuda.is_available())\"`")
    return Reply(cause, fix, command, tuple(paste), contradictions)
