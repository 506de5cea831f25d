from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def matrix():
    from envcheck.matrix import store

    return store.load_dir(store.shipped_dir())


@pytest.fixture(scope="session")
def upstream():
    """Reference copy of the upstream release facts (tests/data/upstream_reference.json)."""
    doc = json.loads((DATA / "upstream_reference.json").read_text(encoding="utf-8"))
    return {r["torch"]: r for r in doc["releases"]}


def run_cli(*args: str, env: dict | None = None, timeout: float = 60, cwd: str | None = None,
            input: str | None = None):
    """Run the real CLI in a child process, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.setdefault("ENVCHECK_DATA_DIR", str(ROOT / "tests" / "data" / "no-user-data"))
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd or str(ROOT),
        input=input,
    )


@pytest.fixture
def cli():
    return run_cli
