"""Text and Markdown renderings of a diagnosis (and the short summary of ``envcheck facts``).

Everything here is a pure function of facts and a :class:`~envcheck.rules.Diagnosis`; the
command decides where the lines go. :func:`machine` is the shared model of the report's head
(what is installed, the three CUDA versions, the GPUs), also put into ``--json`` output.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts import Facts
    from envcheck.facts.machine import Machine
    from envcheck.rules import Diagnosis, Finding

__all__ = ["machine", "text_lines", "markdown", "facts_lines", "headline", "report_lines", "result", "reply_lines"]

WIDTH = 100
_CUDA_WORDS = {
    "driver": "the newest CUDA the driver can run (nvidia-smi's \"CUDA Version\"): a ceiling",
    "nvcc": "the CUDA toolkit's compiler: used only to build extensions",
    "torch": "the CUDA torch was built with and bundles: what it actually runs",
}


# ---------------------------------------------------------------------------------- the model


def _gib(mib: Optional[int]) -> Optional[str]:
    if mib is None:
        return None
    return "{:.0f} GiB".format(mib / 1024.0) if mib >= 1024 else "{} MiB".format(mib)


def _generation(cc: Optional[str]) -> Optional[str]:
    if not cc:
        return None
    from envcheck.matrix.archs import generation
    from envcheck.matrix.variants import parse_cc

    try:
        return generation(parse_cc(cc))
    except ValueError:
        return None


def machine(facts: "Facts", derived: Optional["Machine"] = None) -> Dict[str, Any]:
    """What the report's head shows, as data. ``derived``: the machine the rules read
    (``Diagnosis.machine``), else derived here from the facts."""
    from envcheck.facts.machine import Machine

    machine = derived if derived is not None else Machine.from_facts(facts)
    t = facts.torch
    rt = facts.torch_runtime
    d = facts.driver
    n = facts.nvcc
    host = facts.host
    installed: Dict[str, Any] = {
        "torch": t.version if t.status == "ok" else None,
        "status": t.status,
        "variant": t.variant,
        "cuda_build": t.cuda_build,
        "torchvision": t.torchvision.version if t.torchvision else None,
        "torchaudio": t.torchaudio.version if t.torchaudio else None,
        "location": t.location,
        "installer": t.installer,
        "python": machine.python_version,
        "interpreter": machine.interpreter,
        "conda_env": t.conda_env,
    }
    if rt is not None:
        installed["runtime"] = {
            "status": rt.status,
            "is_available": rt.is_available,
            "device_count": rt.device_count,
            "cudnn": rt.cudnn_version,
            "nccl": rt.nccl_version,
            "seconds": rt.seconds,
            "detail": rt.detail,
        }
    sel = n.selected
    others = [tk for tk in n.toolkits if tk.release and tk is not sel]
    cudas = {
        "driver": {
            "version": d.cuda_max,
            "detail": _driver_detail(facts),
        },
        "nvcc": {
            "version": sel.release if sel is not None and sel.status == "ok" else None,
            "detail": (
                "{} ({} via {})".format(sel.nvcc or sel.root, n.cpp_extension_home, n.cpp_extension_source)
                if sel is not None and n.cpp_extension_source != "report" else
                "from the report" if sel is not None else
                "not in the report" if n.status == "unknown" else "no toolkit found" if not n.toolkits else
                "no toolkit at {}".format(n.cpp_extension_home) if n.cpp_extension_home else "none selected"
            ) + ("; also " + ", ".join("{} at {}".format(tk.release, tk.root) for tk in others[:3])
                 if others else "")
            + ("; {} {}".format(sel.status, sel.detail) if sel is not None and sel.status != "ok" else ""),
        },
        "torch": {
            "version": machine.cuda_build,
            "detail": (
                "not installed" if t.status == "missing" else
                "not in the report" if t.status == "unknown" else
                "CPU build" if t.variant == "cpu" else
                "{} build".format(t.variant) if t.variant else
                "build not in the report" if facts.report is not None else (t.detail or t.status)
            ),
        },
    }
    gpus = [
        {
            "index": g.index,
            "name": g.name,
            "compute_capability": g.compute_capability,
            "generation": _generation(g.compute_capability),
            "memory": _gib(g.memory_total_mib),
            "status": g.status,
        }
        for g in d.gpus
    ]
    return {
        "host": _report_host(facts) if facts.report is not None else host.detail,
        "installed": installed,
        "around": _around(facts),
        "cuda": cudas,
        "gpus": gpus,
        "quick": facts.quick,
        "report": facts.report is not None,
    }


def _cuda_library(facts: "Facts", family: str, runtime: Any) -> Optional[Dict[str, Any]]:
    """cuDNN or NCCL: the version the torch child loaded, else the nvidia-* wheel's."""
    if runtime is not None:
        text = _cudnn_text(runtime) if isinstance(runtime, int) else str(runtime)
        return {"version": text, "source": "torch"}
    for p in facts.torch.cuda_packages:
        if p.name.lower().replace("_", "-").startswith("nvidia-" + family):
            return {"version": p.version, "source": p.name}
    return None


_X86_LEVELS = (("AVX2", ("avx2",)), ("AVX-512", ("avx512f",)), ("AMX", ("amx_tile",)))
_ARM_LEVELS = (("SVE", ("sve",)), ("BF16", ("bf16",)), ("I8MM", ("i8mm",)))


def cpu_text(cpu: Any, arch: Optional[str]) -> Optional[str]:
    """"AMD EPYC 7763: AVX2 yes, AVX-512 yes (bf16, vnni), AMX no"; None when nothing is known."""
    if cpu.model is None and not cpu.flags_read:
        return None
    head = cpu.model or cpu.vendor or "CPU"
    if not cpu.flags_read:
        return head
    flags = set(cpu.flags)
    arm = bool(flags & {"asimd", "sve"}) or (arch or "").lower() in ("aarch64", "arm64")
    parts = []
    for label, need in (_ARM_LEVELS if arm else _X86_LEVELS):
        have = all(f in flags for f in need)
        extra = ""
        if label == "AVX-512" and have:
            subs = [f.split("_", 1)[1] for f in ("avx512_bf16", "avx512_vnni", "avx512_fp16") if f in flags]
            extra = " ({})".format(", ".join(subs)) if subs else ""
        if label == "AMX" and have:
            subs = [f.split("_", 1)[1] for f in ("amx_bf16", "amx_int8", "amx_fp16") if f in flags]
            extra = " ({})".format(", ".join(subs)) if subs else ""
        parts.append("{} {}{}".format(label, "yes" if have else "no", extra))
    return "{}: {}".format(head, ", ".join(parts))


def _around(facts: "Facts") -> Dict[str, Any]:
    """What surrounds torch: the ecosystem's versions, cuDNN/NCCL, the CPU and the build tools."""
    rt = facts.torch_runtime if facts.torch_runtime is not None and facts.torch_runtime.status == "ok" else None
    return {
        "packages": [
            {"name": p.name, "version": p.version, "wheel": p.wheel, "requires": list(p.requires)}
            for p in facts.torch.packages
        ],
        "cudnn": _cuda_library(facts, "cudnn", rt.cudnn_version if rt else None),
        "nccl": _cuda_library(facts, "nccl", rt.nccl_version if rt else None),
        "cxx11_abi": rt.cxx11_abi if rt else None,
        "cpu": cpu_text(facts.host.cpu, facts.host.arch),
        "tools": {t.name: t.version if t.status == "ok" else t.status for t in facts.build_tools},
    }


def _around_lines(m: Dict[str, Any]) -> List[str]:
    a = m.get("around") or {}
    out = []
    pkgs = a.get("packages") or []
    if pkgs:
        out.append("libraries: " + ", ".join(
            "{} {}{}".format(p["name"], p["version"] or "(no version in its metadata)", " (wheel {})".format(p["wheel"]) if p["wheel"] else "")
            for p in pkgs))
    libs = ["{} {} ({})".format(label, a[key]["version"], "loaded by torch" if a[key]["source"] == "torch"
                                else a[key]["source"])
            for key, label in (("cudnn", "cuDNN"), ("nccl", "NCCL")) if a.get(key)]
    if a.get("cxx11_abi") is not None:
        libs.append("C++ ABI: {}".format("cxx11" if a["cxx11_abi"] else "pre-cxx11"))
    if libs:
        out.append(", ".join(libs))
    if a.get("cpu"):
        out.append("CPU: " + a["cpu"])
    tools = a.get("tools") or {}
    if tools:
        broken = ("missing", "failed", "timed-out")
        line = "build tools: " + (", ".join("{} {}".format(n, v) for n, v in tools.items() if v not in broken)
                                  or "none")
        missing = [n for n, v in tools.items() if v == "missing"]
        if missing:
            line += "; no " + ", ".join(missing)
        line += "".join("; {} {}".format(n, v) for n, v in tools.items() if v in ("failed", "timed-out"))
        out.append(line)
    return out


def _report_host(facts: "Facts") -> str:
    """The host as a report states it: "Ubuntu 22.04.3 LTS (x86_64), glibc 2.35, WSL2"."""
    h = facts.host
    parts = [h.os.pretty_name or h.system or "OS not in the report"]
    if h.glibc:
        parts.append("glibc " + h.glibc)
    if h.wsl.detected:
        parts.append("WSL2")
    return ", ".join(parts)


def report_lines(facts: "Facts", name: Optional[str] = None) -> List[str]:
    """Which blocks of the report were read, and what it contradicts itself about (``name``
    replaces the report's file name)."""
    r = facts.report
    if r is None:
        return []
    blocks = ", ".join(
        "{} (line{} {})".format(b.kind, "" if b.first_line == b.last_line else "s",
                                b.first_line if b.first_line == b.last_line else
                                "{}-{}".format(b.first_line, b.last_line)) + (": " + b.note if b.note else "")
        for b in r.blocks)
    out = ["{}: {} lines; read {}".format(name or ("standard input" if r.source == "-" else r.source), r.lines,
                                         blocks or "no block")]
    if r.errors:
        out.append("error lines: " + "; ".join("line {} ({})".format(e.line, e.kind) for e in r.errors[:6])
                   + (" and {} more".format(len(r.errors) - 6) if len(r.errors) > 6 else ""))
    unknown = [name for name, status in (("torch", facts.torch.status), ("the driver", facts.driver.status),
                                         ("nvcc", facts.nvcc.status)) if status == "unknown"]
    if unknown:
        out.append("not in the report (so not judged): " + ", ".join(unknown))
    for c in r.conflicts:
        out.append("contradiction: {}: {}".format(c.fact, " vs ".join(c.values)))
    return out


def headline(diag: "Diagnosis") -> str:
    e, w, i = diag.count("error"), diag.count("warning"), diag.count("info")
    if diag.healthy:
        return "healthy: nothing to fix" + (" ({} note{})".format(i, "" if i == 1 else "s") if i > 1 else "")
    parts = []
    if e:
        parts.append("{} error{}".format(e, "" if e == 1 else "s"))
    if w:
        parts.append("{} warning{}".format(w, "" if w == 1 else "s"))
    if i:
        parts.append("{} note{}".format(i, "" if i == 1 else "s"))
    return ", ".join(parts)


def _installed_lines(m: Dict[str, Any]) -> List[str]:
    ins = m["installed"]
    out = []
    if ins["torch"]:
        unknown = "build not in the report" if m.get("report") else "?"
        build = "CPU build" if ins["variant"] == "cpu" else (
            "{}, CUDA {} build".format(ins["variant"], ins["cuda_build"]) if ins["cuda_build"] else ins["variant"] or unknown)
        parts = ["torch {} ({})".format(ins["torch"], build)]
        absent = "{} not in the report" if m.get("report") else "no {}"
        parts.append("torchvision {}".format(ins["torchvision"]) if ins["torchvision"] else absent.format("torchvision"))
        parts.append("torchaudio {}".format(ins["torchaudio"]) if ins["torchaudio"] else absent.format("torchaudio"))
        out.append(", ".join(parts))
        if m.get("report"):
            out.append("Python {}{}{}".format(ins["python"] or "not in the report",
                                              ", conda env" if ins["conda_env"] else "",
                                              ", installed by {}".format(ins["installer"]) if ins["installer"] else ""))
            return out + _runtime_lines(m)
        where = "in {}".format(ins["location"] or "?")
        where += " (Python {}{})".format(ins["python"] or "?", ", conda env" if ins["conda_env"] else "")
        if ins["installer"]:
            where += ", installed by {}".format(ins["installer"])
        out.append(where)
    elif m.get("report"):
        out.append("torch: {} (Python {})".format(
            "not installed" if ins["status"] == "missing" else "not in the report",
            ins["python"] or "not in the report"))
        return out + _runtime_lines(m)
    else:
        out.append("torch: {} (Python {} at {})".format(
            "not installed" if ins["status"] == "missing" else ins["status"], ins["python"] or "?",
            ins["interpreter"] or "?"))
    return out + _runtime_lines(m)


def _runtime_lines(m: Dict[str, Any]) -> List[str]:
    ins = m["installed"]
    out: List[str] = []
    rt = ins.get("runtime")
    if m.get("report"):
        if rt is not None and rt["status"] == "ok" and rt["is_available"] is not None:
            out.append("torch as the report shows it: cuda.is_available() = {}".format(rt["is_available"]))
        elif rt is not None and rt["status"] != "ok":
            out.append("import torch (in the report): {} ({})".format(rt["status"], rt["detail"]))
        return out
    if rt is None:
        if m["quick"]:
            out.append("import torch: not tried (--quick)")
    elif rt["status"] == "ok":
        extra = []
        if rt["device_count"] is not None:
            extra.append("{} device(s)".format(rt["device_count"]))
        if rt["cudnn"]:
            extra.append("cuDNN {}".format(_cudnn_text(rt["cudnn"])))
        if rt["nccl"]:
            extra.append("NCCL {}".format(rt["nccl"]))
        out.append("import torch: ok in {:.1f} s, cuda.is_available() = {}{}".format(
            rt["seconds"] or 0.0, rt["is_available"], "; " + ", ".join(extra) if extra else ""))
    elif ins["status"] != "missing" or "No module named 'torch'" not in (rt["detail"] or ""):
        out.append("import torch: {} ({})".format(rt["status"], rt["detail"]))
    return out


def _cudnn_text(n: int) -> str:
    """torch.backends.cudnn.version(): 92400 -> "9.24.0", 8907 -> "8.9.7"."""
    if n >= 90000:
        return "{}.{}.{}".format(n // 10000, (n % 10000) // 100, n % 100)
    return "{}.{}.{}".format(n // 1000, (n % 1000) // 100, n % 100)


def _cuda_lines(m: Dict[str, Any]) -> List[str]:
    out = []
    for key in ("driver", "nvcc", "torch"):
        c = m["cuda"][key]
        out.append("{:<7} {:<6} {}".format(key, c["version"] or "-", _CUDA_WORDS[key]))
        out.append("{:<14} {}".format("", c["detail"]))
    return out


def _gpu_rows(m: Dict[str, Any]) -> List[str]:
    gpus = m["gpus"]
    if not gpus:
        return []
    rows = []
    i = 0
    while i < len(gpus):
        g = gpus[i]
        j = i
        key = (g["name"], g["compute_capability"], g["memory"], g["status"])
        while j + 1 < len(gpus) and (gpus[j + 1]["name"], gpus[j + 1]["compute_capability"],
                                      gpus[j + 1]["memory"], gpus[j + 1]["status"]) == key:
            j += 1
        ids = str(g["index"]) if i == j else "{}-{}".format(g["index"], gpus[j]["index"])
        count = "" if i == j else "{} x ".format(j - i + 1)
        cc = g["compute_capability"]
        arch = "sm_{} ({})".format(cc.replace(".", ""), g["generation"]) if cc else "capability unknown"
        mem = g["memory"] or "memory unknown"
        status = "" if g["status"] == "ok" else "  [{}]".format(g["status"].upper())
        rows.append("{:<5} {}{}  {}  {}{}".format(ids, count, g["name"] or "?", arch, mem, status))
        i = j + 1
    return rows


# ----------------------------------------------------------------------------------------- text


def _wrap(label: str, text: str, indent: int) -> List[str]:
    pad = " " * indent
    first = pad + "{:<10}".format(label)
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=pad + " " * 10,
                         break_on_hyphens=False) or [first.rstrip()]


def _finding_lines(f: "Finding", paint: Callable[[str, str], str]) -> List[str]:
    colour = {"error": "red", "warning": "yellow", "info": "cyan"}[f.severity]
    out = ["  {} {}  {}".format(paint(f.severity.upper().ljust(7), colour), f.label, f.title)]
    ind = 11
    if f.severity == "info":  # notes stay short: the title and why (--json has the rest)
        if f.code != "EC001" and f.cause:
            out += _wrap("", f.cause, ind)
        return out
    for k, e in enumerate(f.evidence):
        out.append(" " * ind + ("{:<10}".format("evidence") if k == 0 else " " * 10) + e)
    if f.cause:
        out += _wrap("cause", f.cause, ind)
    if f.fix and f.fix != "Nothing to do.":
        out += _wrap("fix", f.fix, ind)
    if f.command:
        out.append(" " * (ind + 10) + "$ " + f.command)
    if f.alternative:
        out += _wrap("or", "{}:".format(f.alternative_why), ind)
        out.append(" " * (ind + 10) + "$ " + f.alternative)
    return out


def text_lines(facts: "Facts", diag: "Diagnosis", *, color: bool = False,
               reply: Optional[List[str]] = None) -> List[str]:
    """The human report: short head, findings by severity, the one command at the end (for a
    pasted report: which blocks were read, and ``reply``, what a maintainer would answer)."""
    from envcheck.render import style

    def paint(text: str, *names: str) -> str:
        return style(text, *names) if color else text

    m = machine(facts, diag.machine)
    out = [paint("envcheck diagnose: " + headline(diag), "bold")]
    if facts.report is not None:
        head, *rest = report_lines(facts)
        out += ["report: " + head] + ["  " + x for x in rest]
    if m["host"]:
        out.append("host: " + m["host"])
    out += ["", paint("Installed", "bold")] + ["  " + x for x in _installed_lines(m)]
    out += ["  " + x for x in _around_lines(m)]
    out += ["", paint("Three CUDA versions (they are different things)", "bold")]
    out += ["  " + x for x in _cuda_lines(m)]
    rows = _gpu_rows(m)
    out += ["", paint("GPUs", "bold")]
    if rows:
        out += ["  " + r for r in rows]
    else:
        d = facts.driver
        out.append("  not in the report" if d.status == "unknown" or (facts.report is not None and d.status == "ok") else
                   "  unknown: the driver did not answer ({})".format(d.error_code or d.status)
                   if d.status in ("failed", "timed-out") else
                   "  {} on the PCI bus ({}), no driver answering".format(
                       len(facts.host.nvidia_pci_gpus), ", ".join(facts.host.nvidia_pci_gpus))
                   if facts.host.nvidia_pci_gpus else
                   "  none found ({})".format(d.error_code or d.detail or d.status))
    out += ["", paint("Findings", "bold")]
    for f in diag.findings:
        out += _finding_lines(f, paint)
        out.append("")
    if diag.command:
        n = len(diag.command_fixes)
        out.append(paint("The one command that fixes the most ({}: {}):".format(
            "1 finding" if n == 1 else "{} findings".format(n), ", ".join(diag.command_fixes)), "bold"))
        out.append("  " + diag.command)
    elif diag.healthy:
        out.append(paint("Healthy: nothing to fix.", "green", "bold"))
    else:
        out.append("No single command fixes these: follow each finding's fix above.")
    if reply:
        out += ["", paint("Reply to the reporter", "bold")] + ["  " + x for x in reply]
    return out


# ------------------------------------------------------------------------------------- markdown


def _md(text: str) -> str:
    return text.replace("|", "\\|")


_COMMENT_VALUE = 90  # characters of one fact's value in an issue comment's table
# A report states nvcc's facts by name; the model keeps them in the toolkit it describes.
_MODEL_PATH = {"nvcc.release": "nvcc.toolkits[0].release", "nvcc.root": "nvcc.toolkits[0].root",
               "nvcc.build": "nvcc.toolkits[0].build"}


def _stated_value(data: Any, path: str) -> str:
    """The value at a fact path ("driver.gpus[0].name") of the facts' JSON, in a few words."""
    node = data
    path = _MODEL_PATH.get(path, path)
    for part in path.split("."):
        name, _, index = part.partition("[")
        if isinstance(node, list):  # build_tools.gcc: the entry of that name
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == name), None)
            if node is None:
                return "?"
            continue
        if not isinstance(node, dict) or name not in node:
            return "?"
        node = node[name]
        if index:
            i = index.rstrip("]")
            if not (isinstance(node, list) and i.isdigit() and int(i) < len(node)):
                return "?"
            node = node[int(i)]
    if isinstance(node, dict):
        node = next((node[k] for k in ("version", "detected", "pretty_name", "status") if k in node), node)
    if isinstance(node, list):
        node = ", ".join(str(x) for x in node)
    text = "null" if node is None else str(node).lower() if isinstance(node, bool) else str(node)
    return text if len(text) <= _COMMENT_VALUE else text[:_COMMENT_VALUE - 3] + "..."


def _comment(facts: "Facts", diag: "Diagnosis", facts_json: str, reply: List[str]) -> str:
    """A pasted report's reading, short enough for an issue comment: the reply and the findings
    in view, what was read from the report (each fact with its line) folded in <details>."""
    import json

    from envcheck import __version__

    out = ["### envcheck's reading of this report: " + headline(diag), ""]
    for line in reply:
        if line.startswith("    "):
            out += ["```sh", line.strip(), "```"]
        else:
            head, sep, rest = line.partition(": ")  # prose, not a table: no escaping
            out.append("**{}**: {}".format(head, rest) if sep and head in ("Cause", "Fix", "Note") else line)
        out.append("")
    shown = [f for f in diag.findings if f.severity in ("error", "warning")]
    if shown:
        out += ["| finding | what envcheck sees |", "|---|---|"]
        for f in shown:
            out.append("| {} `{}` | {} |".format(f.severity, f.label, _md(f.title)))
        out.append("")
    data = json.loads(facts_json)
    r = facts.report
    stated = sorted(r.stated.items()) if r is not None else []
    out += ["<details><summary>What envcheck read from the report ({} facts; what it does not state is "
            "not judged)</summary>".format(len(stated)), ""]
    out += ["- " + _md(line) for line in report_lines(facts, name="the report")]
    if stated:
        out += ["", "| fact | value | where |", "|---|---|---|"]
    for path, where in stated:
        out.append("| `{}` | {} | {} |".format(path, _md(_stated_value(data, path)), _md(where)))
    out += ["", "</details>", "",
            "<sub>envcheck {} read only the text above; nothing was run. `envcheck explain CODE` explains a "
            "finding.</sub>".format(__version__)]
    return "\n".join(out) + "\n"


def markdown(facts: "Facts", diag: "Diagnosis", facts_json: str, reply: Optional[List[str]] = None) -> str:
    """The same report for pasting into a bug report, with the facts JSON folded away. A pasted
    report gives an issue comment instead: the reply first, then what was read from it."""
    if facts.report is not None and reply is not None:
        return _comment(facts, diag, facts_json, reply)
    m = machine(facts, diag.machine)
    out = ["## envcheck diagnose: " + headline(diag), ""]
    if reply:
        for line in reply:
            out.append("    " + line.strip() if line.startswith("    ") else _md(line))
            out.append("")
    for line in report_lines(facts):
        out.append("- " + _md(line))
    if m["host"]:
        out += ["- **Host**: " + _md(m["host"])]
    for line in _installed_lines(m) + _around_lines(m):
        out.append("- " + _md(line))
    out += ["", "| CUDA | version | what it is | where |", "|---|---|---|---|"]
    for key in ("driver", "nvcc", "torch"):
        c = m["cuda"][key]
        out.append("| {} | {} | {} | {} |".format(key, c["version"] or "-", _md(_CUDA_WORDS[key]), _md(c["detail"])))
    out += [""]
    if m["gpus"]:
        out += ["| GPU | name | capability | memory | status |", "|---|---|---|---|---|"]
        for g in m["gpus"]:
            out.append("| {} | {} | {} | {} | {} |".format(
                g["index"], _md(g["name"] or "?"),
                "{} ({})".format(g["compute_capability"], g["generation"]) if g["compute_capability"] else "?",
                g["memory"] or "?", g["status"]))
    else:
        out.append("GPUs: not listed in the report." if facts.report is not None and facts.driver.status in ("ok", "unknown")
                   else "No NVIDIA GPU found ({}).".format(_md(facts.driver.error_code or facts.driver.status)))
    out += ["", "### Findings", ""]
    for f in diag.findings:
        out.append("- **{} {}**: {}".format(f.severity.upper(), f.label, _md(f.title)))
        for e in f.evidence:
            out.append("  - `{}`".format(e.replace("`", "'")))
        if f.cause:
            out.append("  - cause: " + f.cause)
        if f.fix and f.fix != "Nothing to do.":
            out.append("  - fix: " + f.fix)
        if f.command:
            out += ["", "    ```sh", "    " + f.command, "    ```"]
        if f.alternative:
            out += ["", "  - or, {}:".format(f.alternative_why), "", "    ```sh", "    " + f.alternative, "    ```"]
    out.append("")
    if diag.command:
        out += ["**The one command that fixes the most** ({}):".format(", ".join(diag.command_fixes)),
                "", "```sh", diag.command, "```", ""]
    elif diag.healthy:
        out += ["**Healthy: nothing to fix.**", ""]
    out += [
        "<details><summary>facts (envcheck facts --json{})</summary>".format(
            ", redacted" if '"redacted": true' in facts_json else ""),
        "",
        "```json",
        facts_json.rstrip("\n"),
        "```",
        "",
        "</details>",
    ]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------- envcheck facts


def facts_lines(facts: "Facts") -> List[str]:
    """The short text summary of ``envcheck facts``."""
    m = machine(facts)
    out = ["host: {}".format(m["host"] or facts.host.status)]
    out += _installed_lines(m) + _around_lines(m)
    for key in ("driver", "nvcc", "torch"):
        c = m["cuda"][key]
        out.append("CUDA {:<6} {:<6} {}".format(key, c["version"] or "-", c["detail"]))
    rows = _gpu_rows(m)
    out += ["GPU " + r for r in rows] if rows else ["GPUs: none found"]
    timing = ", ".join("{} {:.2f}s".format(k, v) for k, v in sorted(facts.timings.items()))
    if timing:
        out.append("probes: " + timing)
    return out


def _driver_detail(facts: "Facts") -> str:
    """The driver row of the three CUDA versions: its version, or why there is none."""
    d = facts.driver
    if d.version:
        return "driver {}".format(d.version)
    if d.status == "unknown":
        return "not in the report"
    if d.status == "ok" and d.gpus:
        return "a driver listing {} GPU(s); its version {}".format(
            len(d.gpus), "is not in the report" if facts.report is not None else "was not read")
    if d.status in ("failed", "timed-out"):
        return "the driver did not answer ({})".format(d.error_code or d.status)
    return "no NVIDIA driver ({})".format(d.error_code or d.status)


def result(facts: "Facts", diag: "Diagnosis", matrix: Any, *, source: str, fail_on: str = "error",
           fmt: str = "text", redact: bool = True) -> Any:
    """``envcheck diagnose``'s result: text (coloured on a terminal), Markdown for a bug report,
    or the JSON data (machine, diagnosis, facts, and the maintainer's reply for a pasted report)."""
    import json
    import sys

    from envcheck.facts import to_json
    from envcheck.outcome import Result, diagnose_exit
    from envcheck.render import use_color

    code = diagnose_exit((f.severity for f in diag.findings), fail_on)
    answer = None
    if facts.report is not None:
        from envcheck.reports.reply import reply

        answer = reply(facts, diag)
    said = reply_lines(answer) if answer else None
    if fmt == "markdown":
        return Result("diagnose", None, markdown(facts, diag, to_json(facts, redact=redact), said).rstrip("\n").split("\n"),
                      code)
    if fmt == "json":
        from envcheck.matrix.report import data_info

        data = {
            "source": source,
            "machine": machine(facts, diag.machine),
            "diagnosis": diag.to_dict(),
            "facts": json.loads(to_json(facts, redact=redact)),
        }
        if answer is not None:
            data["reply"] = answer.to_dict()
        return Result("diagnose", data, [], code, data_info=data_info(matrix), as_json=True)
    return Result("diagnose", None, text_lines(facts, diag, color=use_color(sys.stdout), reply=said), code)


def reply_lines(answer: Any) -> List[str]:
    """The maintainer's reply to a pasted report: contradictions, cause, fix, what to paste next."""
    from envcheck.reports.reply import join_words

    out = []
    for c in answer.contradictions:
        out.append("Note: " + c)
    out.append("Cause: " + answer.cause)
    if answer.command:
        out.append("Fix: " + (answer.fix + " " if answer.fix else "") + "run")
        out.append("    " + answer.command)
    elif answer.fix:
        out.append("Fix: " + answer.fix)
    if answer.paste_next:
        out.append("To settle it, please paste " + join_words(answer.paste_next) + ".")
    return out
