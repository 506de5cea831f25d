"""preflight and compare for people: one line per check (status, check, measured value, threshold),
and what differs between nodes' snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Sequence

from envcheck.preflight.checks import Check

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.preflight.compare import Comparison

__all__ = ["check_line", "node_lines", "compare_lines", "config_lines", "cluster_lines", "rank_lines", "RESULT_WORDS"]

RESULT_WORDS = {0: "PASS", 1: "FAIL", 3: "COULD NOT RUN"}
_WORD = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not-run": "NOT RUN", "n/a": "n/a"}


def check_line(c: Check, *, indent: str = "  ") -> str:
    name = c.id if c.subject in ("node", "") or c.subject.startswith("gpu") else "{} {}".format(c.id, c.subject)
    line = "{}{:<8}{:<22} {}".format(indent, _WORD.get(c.status, c.status), name, c.measured)
    if c.threshold and c.threshold != "-":
        line += "  [want {}]".format(c.threshold)
    return line


def _counts(checks: Sequence[Check]) -> str:
    order = ("pass", "warn", "fail", "not-run", "n/a")
    counts: Dict[str, int] = {}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    return ", ".join("{} {}".format(counts[s], s) for s in order if counts.get(s))


def node_lines(report: Any, *, verbose: bool = False) -> List[str]:
    """The node report: a header, the checks (n/a ones only with ``verbose``), the result."""
    s = report.summary
    gpus = s.get("gpu_names") or []
    head = "preflight {} (profile {}): {} GPU(s){}, driver {}, torch {}".format(
        report.host, report.profile, s.get("gpu_count", 0), " " + "/".join(gpus) if gpus else "",
        s.get("driver") or "-", s.get("torch") or "-",
    )
    lines = [head]
    for c in report.checks:
        if c.status == "n/a" and not verbose:
            continue
        lines.append(check_line(c))
        if c.detail and c.status in ("fail", "warn", "not-run"):
            lines.extend("            " + part for part in c.detail.splitlines())
    code = report.exit_code
    lines.append("result: {} (exit {}; {}; {:.1f} s)".format(RESULT_WORDS.get(code, code), code, _counts(report.checks),
                                                             report.seconds))
    return lines


def compare_lines(c: "Comparison", *, show_all: bool = False) -> List[str]:
    """``envcheck compare``: what differs between the snapshots, the majority and the odd ones out."""
    from envcheck.preflight.compare import FIELDS, LEGEND

    lines = ["compared {} snapshots: {}".format(len(c.labels), ", ".join(c.labels))]
    for n in c.not_collected:
        lines.append("not collected in {}{}: {} (not compared there)".format(
            n["snapshot"], " (quick snapshot)" if n["quick"] else "", ", ".join(n["sources"])))
    show = {fd.path: fd.show for fd in FIELDS}
    diff = c.differing
    if diff:
        lines.append(LEGEND)
    else:
        lines.append("every compared field agrees")
    for row in diff:
        mark, fmt = "DIFFERS" if row["important"] else "differs", show[row["path"]]
        if row["majority"] is None:
            parts = "; ".join("{} on {}".format(fmt(s["value"]), ", ".join(s["snapshots"])) for s in row["split"])
            lines.append("  {:<8}{}: no majority: {}".format(mark, row["path"], parts))
        else:
            lines.append("  {:<8}{}: {} on {} of {}".format(mark, row["path"], fmt(row["majority"]), row["majority_count"], row["compared"]))
            for o in row["outliers"]:
                lines.append("            odd one out {}: {}".format(o["snapshot"], fmt(o["value"])))
    if show_all:
        for row in c.fields:
            if row["agree"]:
                lacking = " (not collected in {})".format(", ".join(row["not_collected"])) if "not_collected" in row else ""
                lines.append("  {:<8}{}: {}{}".format("same", row["path"], show[row["path"]](row["value"]), lacking))
    important = [r["path"] for r in diff if r["important"]]
    lines.append("result: {} (exit {})".format(
        "differences that matter for a job: " + ", ".join(important) if important else "no difference that matters for a job",
        c.exit_code))
    return lines


def config_lines(th: Any) -> List[str]:
    """``preflight --show-config``: the thresholds in force and where each comes from."""
    from envcheck.preflight import config

    lines = ["thresholds in force (profile {}):".format(th.profile)]
    for key in config.FIELDS:
        lines.append("  {:<24} {:<40} from {}".format(key, config.shown(th, key), th.source_of(key)))
    return lines


def cluster_lines(report: Mapping[str, Any]) -> List[str]:
    """preflight --distributed on rank 0: one row per node, then the odd ones out, then the result."""
    rows = report["nodes"]
    head = "preflight cluster: {} node(s), {} of {} rank(s) reported".format(
        len(rows), report["ranks_reported"], report["world_size"])
    partial = report.get("ranks_partial") or 0
    if partial:
        head += " ({} more sent only their node checks)".format(partial)
    lines = [head]
    width = max([len(r["node"]) for r in rows] + [4])
    lines.append("  {:<8}{:<{w}}  {:>5}  {:<12} {:<16} {:<10} {:>12} {:>12}".format(
        "status", "node", "ranks", "driver", "torch", "torch CUDA", "intra GB/s", "inter GB/s", w=width))
    for r in rows:
        v = r["versions"]
        lines.append("  {:<8}{:<{w}}  {:>5}  {:<12} {:<16} {:<10} {:>12} {:>12}".format(
            r["status"].upper(), r["node"], len(r["ranks"]), str(v.get("driver") or "-")[:12], str(v.get("torch") or "-")[:16],
            str(v.get("torch_cuda") or "-")[:10], _bw(r["busbw_intra_gbs"]), _bw(r["busbw_inter_gbs"]), w=width))
        for p in r["problems"][:12]:
            subject = "" if (p.get("subject") in (None, "", "node") or str(p.get("subject")).startswith("gpu")) else " " + str(p["subject"])
            lines.append("      rank {} {} {}{}: {} [want {}]".format(p["rank"], p["status"].upper(), p["id"], subject,
                                                                   p["measured"], p["threshold"]))
        if len(r["problems"]) > 12:
            lines.append("      ... and {} more (--json lists all)".format(len(r["problems"]) - 12))
    if report["odd_ones_out"]:
        lines.append("odd ones out:")
        for o in report["odd_ones_out"]:
            lines.append("  {:<8}{}: {}".format(o["status"].upper(), o["node"], o["text"]))
    lines.append("result: {} (exit {})".format(RESULT_WORDS.get(report["exit_code"], report["exit_code"]), report["exit_code"]))
    return lines


def _bw(v: Any) -> str:
    return "{:.1f}".format(v) if isinstance(v, (int, float)) else "-"


def rank_lines(data: Mapping[str, Any]) -> List[str]:
    """What rank 0 of ``preflight --distributed`` prints: the cluster report (and why it stopped
    early), or why it could not gather one."""
    cluster = data.get("cluster")
    if cluster is None:
        return ["preflight cluster: rank 0 could not gather the reports: {}".format(data.get("error")),
                "result: FAIL (exit 1)"]
    lines = cluster_lines(cluster)
    if cluster.get("stopped"):
        lines.insert(1, "stopped early: {}".format(cluster["stopped"]))
    return lines
