"""Where things are, for every test layer: the repository, tests/ and the recorded data."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DATA = TESTS / "data"
