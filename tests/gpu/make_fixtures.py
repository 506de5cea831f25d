"""Turn a GPU proof run (tests/gpu/prove.sh) into test fixtures under tests/data/gpu/<name>/.

    python tests/gpu/make_fixtures.py RUN [--name NAME] [--into DIR] [--force]

RUN is the run's ``prove.tar.gz`` or a folder holding its unpacked files. NAME defaults to the
GPU model and count as NVML names them (``h100-80gb-hbm3-x1``; ``no-gpu`` for a dry run). The
fixture is redacted the way ``envcheck facts`` redacts by default: the hostname, GPU UUIDs and
serial numbers are replaced, consistently across every file (``facts.json`` goes through
envcheck's own codec). An existing fixture is never overwritten without ``--force``.
tests/integration/test_gpu_proof.py then checks every fixture folder: the NVML recording replays to the
recorded facts, the verify events parse to the recorded report, and the performance judge gives
the recorded verdicts.

Exit: 0 written; 1 the run lacks facts.json (nothing written); 2 bad usage or the target exists.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO)]

# What a fixture keeps (present ones only), each a run's file by the same name.
FILES = (
    "summary.txt", "steps.tsv", "run.env", "nvidia-smi.txt", "nvidia-smi-q.txt", "nvml.json",
    "facts.json", "diagnose.json", "verify.json", "verify-perf.json", "verify-events-cuda0.jsonl",
    "preflight.json", "preflight-distributed.json", "pytest-gpu.txt", "pip-freeze.txt",
)


def slug(facts: dict) -> str:
    gpus = (facts.get("driver") or {}).get("gpus") or []
    if not gpus:
        return "no-gpu"
    name = str(gpus[0].get("name") or "unknown-gpu").lower()
    name = re.sub(r"^nvidia\s+", "", name)
    return "{}-x{}".format(re.sub(r"[^a-z0-9]+", "-", name).strip("-"), len(gpus))


def redactions(facts: dict) -> List[tuple]:
    """(pattern, replacement) pairs, in the order envcheck's codec numbers the UUIDs."""
    from envcheck.facts.codec import _REDACTED_HOST

    driver = facts.get("driver") or {}
    gpus = list(driver.get("gpus") or []) + list((driver.get("smi") or {}).get("gpus") or [])
    out: List[tuple] = []
    seen: Dict[str, str] = {}
    for gpu in gpus:
        uuid = gpu.get("uuid")
        if uuid and uuid not in seen:
            seen[uuid] = "GPU-redacted-{}".format(len(seen))
            bare = uuid[4:] if uuid.startswith("GPU-") else uuid
            out.append((re.compile(re.escape(uuid)), seen[uuid]))
            out.append((re.compile(re.escape(bare)), seen[uuid][4:]))  # torch prints it without GPU-
        serial = gpu.get("serial")
        if serial and serial != "redacted":
            out.append((re.compile(r"\b{}\b".format(re.escape(serial))), "redacted"))
    host = (facts.get("host") or {}).get("hostname")
    if host and host != _REDACTED_HOST:
        out.append((re.compile(r"(?<![\w-]){}(?![\w-])".format(re.escape(host))), _REDACTED_HOST))
    return out


def _unpack(run: Path, tmp: Path) -> Path:
    if run.is_dir():
        return run
    with tarfile.open(run) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and name in FILES and "/" not in member.name.lstrip("./"):
                with tar.extractfile(member) as src:  # type: ignore[union-attr]
                    (tmp / name).write_bytes(src.read())
    return tmp


def make(run: Path, into: Path, name: Optional[str] = None, force: bool = False) -> Path:
    """Write the fixture; returns its folder. Raises FileExistsError / FileNotFoundError."""
    from envcheck.facts.codec import load_facts, to_json, unwrap

    with tempfile.TemporaryDirectory() as tmp:
        src = _unpack(run, Path(tmp))
        if not (src / "facts.json").is_file():
            raise FileNotFoundError("{}: no facts.json (not a prove.sh run?)".format(run))
        raw = unwrap(json.loads((src / "facts.json").read_text(encoding="utf-8")))
        target = into / (name or slug(raw))
        if target.exists() and not force:
            raise FileExistsError("{} exists: pass --force to replace it".format(target))
        staged = Path(tempfile.mkdtemp(prefix=".fixture-", dir=str(into)))
        try:
            subs = redactions(raw)
            for fname in FILES:
                path = src / fname
                if not path.is_file():
                    continue
                if fname == "facts.json":
                    text = to_json(load_facts(str(path)), redact=True) + "\n"
                else:
                    text = path.read_text(encoding="utf-8", errors="replace")
                    for pattern, repl in subs:
                        text = pattern.sub(repl, text)
                (staged / fname).write_text(text, encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
    return target


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="make_fixtures.py", description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="prove.tar.gz, or the folder of an unpacked run")
    p.add_argument("--name", help="the fixture folder's name (default: GPU model and count)")
    p.add_argument("--into", type=Path, default=REPO / "tests" / "data" / "gpu")
    p.add_argument("--force", action="store_true", help="replace an existing fixture")
    args = p.parse_args(argv)
    if not args.run.exists():
        print("make_fixtures: {}: no such file or folder".format(args.run), file=sys.stderr)
        return 2
    args.into.mkdir(parents=True, exist_ok=True)
    try:
        target = make(args.run, args.into, args.name, args.force)
    except FileExistsError as exc:
        print("make_fixtures: {}".format(exc), file=sys.stderr)
        return 2
    except (FileNotFoundError, tarfile.TarError) as exc:
        print("make_fixtures: {}".format(exc), file=sys.stderr)
        return 1
    print("make_fixtures: wrote {} ({} files)".format(target, len(list(target.iterdir()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
