"""Whether torch is there and importable, whether torch.cuda answers, and whether every probe
answered (EC002-EC006, EC008)."""

from __future__ import annotations

from typing import Iterator, List

from envcheck.rules.findings import Finding, ev, finding
from envcheck.rules.view import View, fix_fields

__all__ = ["torch_missing", "torch_child", "probes_incomplete", "RULES"]

_NO_TORCH = "No module named 'torch'"


def _no_module_torch(rt) -> bool:
    return rt.status == "import-failed" and _NO_TORCH in (rt.import_error or "")


def _install_sentence(fix) -> str:
    if fix is None:
        return ""
    text = "The build chosen for this machine is {}".format(fix.described)
    if fix.cpu_fallback:
        text += " (the CPU build: {})".format(fix.warnings[0] if fix.warnings else "no GPU build fits")
    return text + "."


def torch_missing(v: View) -> Iterator[Finding]:
    """EC002: no torch distribution (and the child found no torch either)."""
    t = v.facts.torch
    if t.status != "missing":
        return
    rt = v.facts.torch_runtime
    if rt is not None and rt.status not in ("failed",) and not _no_module_torch(rt):
        return  # something named torch exists for the child: EC003/EC004/EC005 say what
    fix = v.install()
    evidence = [ev("torch.status", t.status), ev("torch.interpreter", v.interpreter)]
    if rt is not None and rt.import_error:
        evidence.append(ev("torch_runtime.import_error", rt.import_error))
    if t.conda_records:
        evidence.append(ev("torch.conda_records", list(t.conda_records)))
    yield finding(
        "EC002",
        "torch is not installed for {}".format(v.interpreter or "this Python"),
        evidence,
        cause="No torch distribution is on this interpreter's sys.path"
        + (" (conda-meta lists a pytorch package, but its files are gone)" if t.conda_records else "")
        + ". " + _install_sentence(fix),
        fix="Install torch with the command below (from the same generator as `envcheck "
        "install-command`).",
        **fix_fields(fix),
    )


def _import_cause(error: str) -> str:
    low = error.lower()
    if "cannot open shared object" in low or "undefined symbol" in low or ".so" in low:
        return (
            "`import torch` could not load one of its libraries: a CUDA library it needs is "
            "missing, or another version was found first (LD_LIBRARY_PATH, leftover nvidia-* "
            "wheels of another CUDA, conda and pip copies mixed)."
        )
    if "torch._c" in low:
        return (
            "torch's compiled core is missing: a partial install, or Python is started inside "
            "a torch source checkout."
        )
    if "numpy" in low:
        return "torch's import tripped over NumPy (a NumPy built for another ABI)."
    return "`import torch` raised this exception in a fresh interpreter."


def torch_child(v: View) -> Iterator[Finding]:
    """EC003-EC005 (and EC006 when the child could not start): the torch child's outcome."""
    rt = v.facts.torch_runtime
    if rt is None:
        return
    if rt.status == "ok":
        yield from _cuda_check_raised(v)
        return
    fix = v.install(keep_torch=True, keep_variant=True) if v.facts.torch.status == "ok" else None
    command = fix.command if fix else None
    base = [ev("torch_runtime.status", rt.status), ev("torch_runtime.interpreter", rt.interpreter)]
    if rt.status == "import-failed":
        if _no_module_torch(rt) and v.facts.torch.status == "missing":
            return  # EC002
        error = rt.import_error or rt.detail
        evidence = [ev("torch_runtime.import_error", error)] + base[1:]
        if v.facts.torch.status != "ok":
            evidence.append(ev("torch.status", v.facts.torch.status))
        yield finding(
            "EC003",
            "`import torch` fails: {}".format(error.splitlines()[0][:160]),
            evidence,
            cause=_import_cause(error),
            fix="Reinstall torch and its partners from one index with the command below; remove "
            "anything on PYTHONPATH or LD_LIBRARY_PATH that shadows them."
            if command
            else "Remove what shadows torch (a `torch` folder on PYTHONPATH or in the current "
            "directory), then reinstall torch.",
            command=command,
        )
    elif rt.status in ("crashed", "bad-output"):
        evidence = base + [
            ev("torch_runtime.stage", rt.stage),
            ev("torch_runtime.returncode", rt.returncode),
        ]
        if rt.signal:
            evidence.append(ev("torch_runtime.signal", rt.signal))
        tail = [line for line in rt.stderr_tail.splitlines() if line.strip()]
        if tail:
            evidence.append(ev("torch_runtime.stderr_tail (last line)", tail[-1][:200]))
        stage = rt.stage or "start-up"
        cuda_stage = stage.startswith(("torch.cuda", "device", "arch", "cudnn", "nccl"))
        yield finding(
            "EC004",
            "the torch child process {} during `{}`".format(
                "was killed by {}".format(rt.signal) if rt.signal else "ended without a result", stage
            ),
            evidence,
            cause="A CUDA step crashed: the driver or a GPU is in a bad state."
            if cuda_stage
            else "torch crashed the interpreter while {}: a broken install or a library "
            "conflict.".format(stage),
            fix="Check `nvidia-smi` and `sudo dmesg | grep -i xid`; reset the GPU or reboot."
            if cuda_stage
            else "Reinstall torch with the command below in a clean environment.",
            command=None if cuda_stage else command,
        )
    elif rt.status == "timed-out":
        yield finding(
            "EC005",
            "the torch child did not finish within {:.0f} s (during `{}`)".format(
                rt.seconds or 0, rt.stage or "start-up"
            ),
            base + [ev("torch_runtime.stage", rt.stage), ev("torch_runtime.detail", rt.detail)],
            cause="A slow first import (network filesystem, cold cache) or a hang in torch or "
            "the driver.",
            fix="Rerun with more time: `envcheck diagnose --timeout 60`. If it hangs at a CUDA "
            "stage again, check `nvidia-smi` and `sudo dmesg` for Xid errors.",
            command="envcheck diagnose --timeout 60",
        )
    else:  # failed: the interpreter could not be started
        yield finding(
            "EC006",
            "the torch child could not be started",
            base + [ev("torch_runtime.detail", rt.detail)],
            cause="The interpreter to inspect could not be run, so torch's run-time state is "
            "unknown.",
        )


# torch's own words when CUDA initialisation raises, and what each means.
_RAISED_CAUSES = (
    ("busy or unavailable", "Another process holds the GPU in exclusive-process compute mode, or the "
     "GPU is in a bad state (a previous job's context was never released)."),
    ("no cuda gpus are available", "CUDA sees no GPU: CUDA_VISIBLE_DEVICES hides them all, or the "
     "container was started without them."),
    ("out of memory", "The GPU's memory is taken by other processes before torch even starts."),
    ("unknown error", "The driver failed to initialise CUDA: often after a suspend/resume, a lost "
     "nvidia_uvm module, or a container that lost its devices."),
)


def _cuda_check_raised(v: View) -> Iterator[Finding]:
    """EC008: ``torch.cuda.is_available()`` (or ``device_count()``) raised instead of answering."""
    rt = v.facts.torch_runtime
    assert rt is not None
    steps = [k for k in ("is_available", "device_count") if k in rt.errors]
    if not steps:
        return
    error = rt.errors[steps[0]]
    low = error.lower()
    cause = next((c for words, c in _RAISED_CAUSES if words in low),
                 "CUDA's initialisation inside torch failed with an exception: the driver or a GPU "
                 "is in a bad state.")
    yield finding(
        "EC008",
        "torch.cuda.{}() raised instead of answering: {}".format(steps[0], error.splitlines()[0][:160]),
        [ev("torch_runtime.errors[{}]".format(k), rt.errors[k]) for k in steps]
        + [ev("torch_runtime.is_available", rt.is_available), ev("torch_runtime.version", rt.version)],
        cause=cause + " Code that calls torch.cuda will fail the same way: the GPU is not usable "
        "as things stand.",
        fix="Run `nvidia-smi` (compute mode, the processes on each GPU) and `sudo dmesg | grep -i "
        "xid`; stop the processes holding the GPU, or reset it (`sudo nvidia-smi -r`) or reboot; "
        "then `envcheck verify` proves CUDA works again.",
    )


def probes_incomplete(v: View) -> Iterator[Finding]:
    """EC006: host facts or torch's metadata could not be read."""
    f = v.facts
    parts: List[str] = []
    if f.host.status not in ("ok", "unknown"):
        parts += [ev("host.status", f.host.status), ev("host.detail", f.host.detail)]
    if f.torch.status in ("failed", "timed-out"):
        parts += [ev("torch.status", f.torch.status), ev("torch.detail", f.torch.detail)]
    if not parts:
        return
    yield finding(
        "EC006",
        "part of the machine could not be inspected",
        parts,
        cause="A probe failed or ran out of time; rules that need its facts were skipped.",
    )


RULES = (torch_missing, torch_child, probes_incomplete)
