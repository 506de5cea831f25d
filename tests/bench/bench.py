#!/usr/bin/env python3
"""Start-up benchmark for the envcheck CLI: a script, never a timed test.

    python tests/bench/bench.py [--runs N] [--json] [--compare-torch] [--against DIR]

Every command runs N times as a child process of this same interpreter (sys.executable), after
one warm-up run, round-robin across commands (the starting command rotates each round) so that
machine noise spreads over all of them. Reported per command: median and minimum wall time, the
ratio of the median to a bare ``python -c pass`` measured in the same rounds, and the child's
peak RSS. A last row times ``store.load_dir(store.shipped_dir())`` inside a fresh process each
round with time.perf_counter (import of the store module excluded, reported apart).

``--against DIR`` times every command a second time in another checkout (for example a
``git worktree`` of the commit before a change), interleaved in the same rounds, so a before and
after come from one run on one machine.

Commands that this envcheck does not have yet ("No such command") are skipped with a note.
Add commands to COMMANDS below. See tests/bench/README.md for recorded figures.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]  # children run here: `-m envcheck` is this checkout
PY = sys.executable


class Command(NamedTuple):
    name: str
    argv: tuple  # arguments after the interpreter
    optional: bool = False  # a command that may not exist yet: skipped when missing
    kind: str = "wall"  # "wall": time the whole process; "inproc": the child prints its own timings
    tree: str | None = None  # the checkout the child runs in (`-m envcheck` imports it); None: this one


LOAD_SNIPPET = """\
import json, time
t0 = time.perf_counter()
from envcheck.matrix import store
t1 = time.perf_counter()
m = store.load_dir(store.shipped_dir())
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "load_ms": (t2 - t1) * 1e3,
                  "releases": len(m.releases)}))
"""

# (name, argv) in table order. The first entry is the baseline the ratios divide by.
COMMANDS = [
    Command("python -c pass (baseline)", ("-c", "pass")),
    Command("envcheck --version", ("-m", "envcheck", "--version")),
    Command("envcheck --help", ("-m", "envcheck", "--help")),
    Command("envcheck matrix --torch 2.7 --json",
            ("-m", "envcheck", "matrix", "--torch", "2.7", "--json")),
    Command("envcheck matrix --cuda 12.1", ("-m", "envcheck", "matrix", "--cuda", "12.1")),
    Command("envcheck install-command --cuda 12.8",
            ("-m", "envcheck", "install-command", "--cuda", "12.8")),
    Command("envcheck requirements --cuda 12.8",
            ("-m", "envcheck", "requirements", "--cuda", "12.8")),
    Command("envcheck install-command --driver 535.104.05 --cc 8.9 (compat + alternative)",
            ("-m", "envcheck", "install-command", "--driver", "535.104.05", "--cc", "8.9", "--python", "3.12",
             "--os", "linux", "-q")),
    Command("envcheck install-command -q (detects this machine)", ("-m", "envcheck", "install-command", "-q")),
    Command("envcheck diagnose --quick", ("-m", "envcheck", "diagnose", "--quick")),
    Command("store.load_dir(shipped) in-process", ("-c", LOAD_SNIPPET), kind="inproc"),
]
TORCH_COMMANDS = [
    Command("python -c 'import torch'", ("-c", "import torch")),
    Command("envcheck diagnose (full: torch child)", ("-m", "envcheck", "diagnose")),
    Command("python -m torch.utils.collect_env", ("-m", "torch.utils.collect_env")),
]


class Result:
    def __init__(self, cmd: Command) -> None:
        self.cmd = cmd
        self.wall: list[float] = []
        self.rss: list[float] = []  # MiB
        self.inproc: list[dict] = []
        self.exit_codes: set[int] = set()
        self.skipped: str | None = None
        self.note: str | None = None

    def summary(self, baseline_median: float | None) -> dict:
        out = {
            "name": self.cmd.name,
            "argv": [os.path.basename(PY), *self.cmd.argv] if self.cmd.kind == "wall"
            else [os.path.basename(PY), "-c", "<load_dir snippet>"],
            "optional": self.cmd.optional,
            "kind": self.cmd.kind,
        }
        if self.skipped:
            out["skipped"] = self.skipped
            return out
        med = statistics.median(self.wall)
        out.update(
            runs=len(self.wall),
            median_ms=round(med, 2),
            min_ms=round(min(self.wall), 2),
            ratio_to_baseline=round(med / baseline_median, 2) if baseline_median else None,
            peak_rss_mib=round(max(self.rss), 1) if self.rss else None,
            exit_codes=sorted(self.exit_codes),
        )
        if self.inproc:
            for key in ("import_ms", "load_ms"):
                values = [d[key] for d in self.inproc]
                out[key] = {"median": round(statistics.median(values), 2),
                            "min": round(min(values), 2)}
            out["releases"] = self.inproc[0].get("releases")
        if self.note:
            out["note"] = self.note
        return out


# The children are started by this small helper, not by the benchmark process itself: on Linux a
# child's ru_maxrss also counts the memory of the process that forked it (the pages it inherited
# before exec), and this script weighs more than a bare `python -c pass`. The helper (python -I -S,
# about 9 MiB) stays below every command measured, so the peak it reports is the command's own.
# getrusage(RUSAGE_CHILDREN) would not do either: it is a high-water mark over all children.
LAUNCHER = r"""
import json, os, sys, time
devnull = os.open(os.devnull, os.O_RDWR)
darwin = sys.platform == "darwin"
for line in sys.stdin:
    req = json.loads(line)
    os.chdir(req["cwd"])  # the child runs in the checkout it times
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    if req["capture"]:
        r, w = os.pipe()
        actions.append((os.POSIX_SPAWN_DUP2, w, 1))
    else:
        actions.append((os.POSIX_SPAWN_DUP2, devnull, 1))
    t0 = time.perf_counter()
    pid = os.posix_spawn(req["argv"][0], req["argv"], os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - t0) * 1e3
    out = b""
    if req["capture"]:
        os.close(w)
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            out += chunk
        os.close(r)
    rss = usage.ru_maxrss / (1 << 20 if darwin else 1 << 10)  # bytes on macOS, KiB on Linux
    sys.stdout.write(json.dumps({"wall": wall, "code": os.waitstatus_to_exitcode(status),
                                 "rss": rss, "out": out.decode(errors="replace")}) + "\n")
    sys.stdout.flush()
"""


class Runner:
    """Runs one timed command: through LAUNCHER on POSIX, directly (no RSS) elsewhere."""

    def __init__(self) -> None:
        self.helper = None
        if hasattr(os, "posix_spawn") and hasattr(os, "wait4"):
            self.helper = subprocess.Popen(
                [PY, "-I", "-S", "-c", LAUNCHER], cwd=str(ROOT), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, bufsize=1,
            )

    def run(self, cmd: Command) -> tuple[float, int, float | None, str]:
        """(wall ms, exit code, peak RSS MiB or None, stdout when kind is inproc)."""
        capture = cmd.kind == "inproc"
        if self.helper is not None:
            request = {"argv": [PY, *cmd.argv], "capture": capture, "cwd": cmd.tree or str(ROOT)}
            self.helper.stdin.write(json.dumps(request) + "\n")
            self.helper.stdin.flush()
            reply = json.loads(self.helper.stdout.readline())
            return reply["wall"], reply["code"], reply["rss"], reply["out"]
        t0 = time.perf_counter()
        proc = subprocess.run(
            [PY, *cmd.argv], cwd=cmd.tree or str(ROOT), stdin=subprocess.DEVNULL, check=False,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wall = (time.perf_counter() - t0) * 1e3
        return wall, proc.returncode, None, (proc.stdout or b"").decode(errors="replace")

    def close(self) -> None:
        if self.helper is not None:
            self.helper.stdin.close()
            self.helper.wait(timeout=30)


def warm_up(cmd: Command, res: Result) -> None:
    proc = subprocess.run(
        [PY, *cmd.argv], cwd=cmd.tree or str(ROOT), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False, timeout=300,
    )
    if proc.returncode != 0 and "No such command" in proc.stderr:
        res.skipped = "no such command in this envcheck" + (" (optional)" if cmd.optional else "")
    elif proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        res.note = f"exit {proc.returncode}: {last[:80]}"


def bench(commands: list[Command], runs: int) -> list[Result]:
    results = [Result(c) for c in commands]
    for res in results:
        warm_up(res.cmd, res)
    active = [r for r in results if not r.skipped]
    runner = Runner()
    try:
        for i in range(runs):
            k = i % len(active)
            for res in active[k:] + active[:k]:  # round-robin, rotating the first command
                one(runner, res)
    finally:
        runner.close()
    return results


def one(runner: Runner, res: Result) -> None:
    wall, code, rss, out = runner.run(res.cmd)
    res.wall.append(wall)
    res.exit_codes.add(code)
    if rss is not None:
        res.rss.append(rss)
    if res.cmd.kind == "inproc":
        try:
            res.inproc.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            res.note = "in-process timing printed nothing (did the child fail?)"


def machine() -> dict:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    # What the children import (they run in the repository root), not what this script sees.
    code = "import os, envcheck as e; print(e.__version__); print(os.path.dirname(e.__file__))"
    probe = subprocess.run(
        [PY, "-c", code], cwd=str(ROOT), capture_output=True, text=True, check=False, timeout=60,
    )
    ev, where = None, None
    if probe.returncode == 0:
        ev, where = (probe.stdout.splitlines() + ["?", "?"])[:2]
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": PY,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "nproc": cpus,
        "envcheck": ev,
        "envcheck_from": where,
    }


def table(summaries: list[dict], info: dict, runs: int) -> str:
    head = (f"envcheck {info['envcheck']} from {info['envcheck_from']}\n"
            f"{info['date']}  Python {info['python']}  {info['platform']}  nproc={info['nproc']}  "
            f"runs={runs} (+1 warm-up, round-robin)\n")
    rows = [("command", "median ms", "min ms", "x baseline", "peak RSS MiB", "note")]
    for s in summaries:
        if "skipped" in s:
            rows.append((s["name"], "-", "-", "-", "-", "skipped: " + s["skipped"]))
            continue
        note = s.get("note", "")
        if s.get("exit_codes") not in ([0], None) and not note:
            note = f"exit {s['exit_codes']}"
        rows.append((
            s["name"], f"{s['median_ms']:.1f}", f"{s['min_ms']:.1f}",
            f"{s['ratio_to_baseline']:.2f}" if s["ratio_to_baseline"] else "-",
            f"{s['peak_rss_mib']:.1f}" if s["peak_rss_mib"] else "n/a", note,
        ))
        if s["kind"] == "inproc" and "load_ms" in s:
            rows.append((
                "  load_dir() alone", f"{s['load_ms']['median']:.1f}", f"{s['load_ms']['min']:.1f}",
                "", "", f"{s['releases']} releases; store import {s['import_ms']['median']:.1f} ms",
            ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:5], widths[1:5])] + [r[5]]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths[:5]) + "  " + "-" * 4)
    return head + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    ap.add_argument("--json", action="store_true", help="print machine-readable results")
    ap.add_argument("--compare-torch", action="store_true",
                    help="also time `import torch` and torch.utils.collect_env, if torch imports")
    ap.add_argument("--against", metavar="DIR",
                    help="also time every envcheck command in this other checkout (before/after in one run)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.against and not (Path(args.against) / "envcheck" / "__main__.py").is_file():
        ap.error(f"--against {args.against}: not an envcheck checkout (no envcheck/__main__.py)")

    commands = list(COMMANDS)
    notes = []
    if args.compare_torch:
        if importlib.util.find_spec("torch") is not None:
            commands += TORCH_COMMANDS
        else:
            notes.append("--compare-torch: torch is not importable by this interpreter; skipped")

    if args.against:
        other = str(Path(args.against).resolve())
        paired = []
        for c in commands:
            paired.append(c)
            if c.argv[:2] == ("-m", "envcheck") or c.kind == "inproc":
                paired.append(c._replace(name=f"{c.name} [{Path(other).name}]", tree=other))
        commands = paired
        notes.append(f"[{Path(other).name}]: the same command in {other}")

    results = bench(commands, args.runs)
    baseline = statistics.median(results[0].wall) if results[0].wall else None
    summaries = [r.summary(baseline) for r in results]
    info = machine()
    if args.json:
        print(json.dumps({"machine": info, "runs": args.runs, "notes": notes,
                          "results": summaries}, indent=1))
    else:
        print(table(summaries, info, args.runs))
        for n in notes:
            print("note: " + n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
