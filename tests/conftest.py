"""Three layers, marked by folder: ``tests/unit`` (no processes; the CLI in-process), ``tests/integration``
(real processes: torch children, hangs with short injected bounds, venvs, the wheel, torchrun) and
``tests/gpu`` (opt-in: ``pytest -m gpu`` on a machine with an NVIDIA GPU).

``pytest -m unit`` is the quick loop while working; plain ``pytest`` runs everything this machine can.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.paths import DATA, ROOT, TESTS

__all__ = ["DATA", "ROOT", "run_cli"]

LAYERS = ("unit", "integration", "gpu")


def _layer(item: pytest.Item) -> str | None:
    try:
        part = Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]
    except ValueError:
        return None
    return part if part in LAYERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    gpu_asked = "gpu" in (config.getoption("markexpr") or "")
    opt_in = pytest.mark.skip(reason="GPU tests are opt-in: pytest -m gpu (on a machine with an NVIDIA GPU)")
    for item in items:
        layer = _layer(item)
        if layer is not None:
            item.add_marker(getattr(pytest.mark, layer))
        if layer == "gpu" and not gpu_asked:
            item.add_marker(opt_in)


@pytest.fixture(scope="session")
def matrix():
    from envcheck.matrix import store

    return store.load_dir(store.shipped_dir())


@pytest.fixture(scope="session")
def upstream():
    """Reference copy of the upstream release facts (tests/data/upstream_reference.json)."""
    doc = json.loads((DATA / "upstream_reference.json").read_text(encoding="utf-8"))
    return {r["torch"]: r for r in doc["releases"]}


@pytest.fixture
def cli():
    """The CLI in a child process (tests/unit overrides this with the in-process runner)."""
    return run_cli
