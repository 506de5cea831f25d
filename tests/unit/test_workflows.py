"""Structure of the GitHub Actions workflows (actionlint is not installable offline).

The YAML is parsed with PyYAML and checked against the project's own facts: the Python versions
in pyproject.toml, the test command in README.md, and what each job is for.
"""

from __future__ import annotations

from helpers import paths
import re
import sys
from pathlib import Path

import pytest
import yaml  # PyYAML, in the test extras

ROOT = paths.ROOT
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DRIFT = WORKFLOWS / "drift.yml"
OSES = {"ubuntu-latest", "macos-latest", "windows-latest"}
NEWEST_PYTHON = (3, 14)  # the newest Python CI runs; raise it with pyproject's classifiers
# owner/repo[/path]@vN[.N[.N]] or a full commit SHA; never a branch.
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})")


# ----------------------------------------------------------------------------------- helpers


def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict), f"{path.name}: top level is not a mapping"
    return doc


def triggers(doc: dict) -> dict:
    """The `on:` mapping. YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True."""
    on = doc.get("on", doc.get(True))
    assert on is not None, "workflow has no `on:` triggers"
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {name: None for name in on}
    return on


def job(doc: dict, name: str) -> dict:
    assert name in doc["jobs"], f"no job {name!r}; jobs: {sorted(doc['jobs'])}"
    return doc["jobs"][name]


def runs(j: dict) -> list[str]:
    """Every `run:` script of a job, each with its lines joined (continuations included)."""
    out = []
    for step in j["steps"]:
        if "run" in step:
            out.append(re.sub(r"\\\n\s*", " ", str(step["run"])).strip())
    return out


def run_lines(j: dict) -> list[str]:
    return [line.strip() for script in runs(j) for line in script.splitlines() if line.strip()]


def setup_steps(j: dict) -> list[dict]:
    return [s for s in j["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@")]


def ver(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def load_pyproject() -> tuple[str, list[str]]:
    """requires-python and the `Python :: 3.X` classifiers: tomllib, else tomli, else a regex."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    toml = None
    if sys.version_info >= (3, 11):
        import tomllib as toml
    else:
        try:
            import tomli as toml
        except ImportError:
            toml = None
    if toml is not None:
        project = toml.loads(text)["project"]
        requires, classifiers = project["requires-python"], project.get("classifiers", [])
    else:  # Python 3.9/3.10 without tomli: good enough for these two keys
        m = re.search(r'^requires-python\s*=\s*"([^"]+)"', text, re.MULTILINE)
        assert m, "requires-python not found in pyproject.toml"
        requires = m.group(1)
        classifiers = re.findall(r'"(Programming Language :: Python :: [^"]+)"', text)
    pythons = [
        c.rsplit("::", 1)[1].strip()
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    return requires, pythons


def readme_commands() -> tuple[str | None, str]:
    """(install, test) from the first fenced README line that runs pytest."""
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing (pyproject.toml names it as the readme)"
    text = readme.read_text(encoding="utf-8")
    for block in re.findall(r"^\s*```[^\n]*\n(.*?)^\s*```", text, re.DOTALL | re.MULTILINE):
        for line in block.splitlines():
            line = re.sub(r"^\s*[$>]\s*", "", line).strip()
            if "pytest" not in line:
                continue
            parts = [p.strip() for p in line.split("&&")]
            test = next(p for p in parts if "pytest" in p)
            install = next((p for p in parts if "pip install" in p), None)
            return install, test
    raise AssertionError("README.md has no fenced command that runs pytest")


def all_workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


# ----------------------------------------------------------------------------- every workflow


def test_expected_workflows_exist():
    assert CI.is_file() and DRIFT.is_file()


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_workflow_parses_and_every_job_has_runs_on_and_steps(path):
    doc = load(path)
    assert doc.get("name"), f"{path.name}: no name"
    assert triggers(doc)
    assert isinstance(doc.get("jobs"), dict) and doc["jobs"], f"{path.name}: no jobs"
    for name, j in doc["jobs"].items():
        assert j.get("runs-on"), f"{path.name}:{name}: no runs-on"
        steps = j.get("steps")
        assert isinstance(steps, list) and steps, f"{path.name}:{name}: no steps"
        for step in steps:
            where = f"{path.name}:{name}: step {step}"
            assert ("uses" in step) != ("run" in step), f"{where} needs either uses or run"


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_version(path):
    doc = load(path)
    for name, j in doc["jobs"].items():
        for step in j["steps"]:
            if "uses" in step:
                ref = step["uses"]
                assert PINNED.fullmatch(ref), (
                    f"{path.name}:{name}: {ref!r} is not pinned to a version tag (e.g. @v4)"
                )


def test_each_action_has_one_version_across_workflows():
    seen: dict[str, set[str]] = {}
    for path in all_workflows():
        for j in load(path)["jobs"].values():
            for step in j["steps"]:
                if "uses" in step:
                    action, ref = step["uses"].split("@", 1)
                    seen.setdefault(action, set()).add(ref)
    assert {a: r for a, r in seen.items() if len(r) > 1} == {}
    assert seen.get("actions/checkout") == {"v4"}
    assert seen.get("actions/setup-python") == {"v5"}


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_jobs_on_windows_run_scripts_with_bash(path):
    doc = load(path)
    for name, j in doc["jobs"].items():
        oses = j.get("strategy", {}).get("matrix", {}).get("os", [j["runs-on"]])
        if not any("windows" in str(o) for o in oses):
            continue
        default = j.get("defaults", {}).get("run", {}).get("shell")
        for step in j["steps"]:
            if "run" in step:
                assert step.get("shell", default) == "bash", f"{path.name}:{name}: {step['run']!r}"


# ------------------------------------------------------------------------------------- ci.yml


def test_ci_runs_on_push_and_pull_request():
    assert {"push", "pull_request"} <= set(triggers(load(CI)))


def test_test_matrix_covers_three_oses_and_pythons_3_9_to_newest():
    t = job(load(CI), "test")
    strategy = t["strategy"]
    assert strategy.get("fail-fast") is False
    matrix = strategy["matrix"]
    assert set(matrix["os"]) == OSES
    pythons = matrix["python"]
    assert all(isinstance(p, str) for p in pythons), f"quote them (3.10 reads as 3.1): {pythons}"
    expected = [f"3.{minor}" for minor in range(9, NEWEST_PYTHON[1] + 1)]
    assert pythons == expected
    assert "exclude" not in matrix and "include" not in matrix
    assert t["runs-on"] == "${{ matrix.os }}"


def test_test_matrix_agrees_with_pyproject():
    requires, classified = load_pyproject()
    pythons = job(load(CI), "test")["strategy"]["matrix"]["python"]
    m = re.fullmatch(r">=\s*(3\.\d+)", requires.strip())
    assert m, f"requires-python {requires!r}: expected a plain lower bound"
    assert min(pythons, key=ver) == m.group(1)
    assert sorted(classified, key=ver) == pythons, "classifiers and CI matrix disagree"
    assert max(pythons, key=ver) == "{}.{}".format(*NEWEST_PYTHON)


def test_test_job_sets_up_the_matrix_python_with_prereleases():
    t = job(load(CI), "test")
    (setup,) = setup_steps(t)
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert setup["with"].get("allow-prereleases") is True  # 3.14 before its final release


def test_test_job_runs_exactly_the_readme_test_command():
    install, test = readme_commands()
    assert test == "python -m pytest -q"
    lines = run_lines(job(load(CI), "test"))
    assert test in lines
    assert [line for line in lines if "pytest" in line] == [test]
    if install is not None:
        assert install in lines


def test_cpu_torch_job_installs_cpu_torch_and_runs_torch_tests():
    j = job(load(CI), "cpu-torch")
    assert j["runs-on"] == "ubuntu-latest"
    (setup,) = setup_steps(j)
    assert setup["with"]["python-version"] == "3.11"
    lines = run_lines(j)
    cpu_torch = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    assert any(line.endswith(cpu_torch) for line in lines), lines
    assert "python -m pytest -q -m torch" in lines


@pytest.mark.parametrize(
    "needle",
    [
        r"^ruff check\b",
        r"pip install .*ruff",
        r"^python -m mypy$",  # its files and settings are in pyproject.toml
        r"^python -m pytest .*tests/unit/test_static\.py .*tests/integration/test_static\.py",
        r"^python -m pytest .*tests/unit/test_workflows\.py",
    ],
)
def test_lint_job(needle):
    lines = run_lines(job(load(CI), "lint"))
    assert any(re.search(needle, line) for line in lines), (needle, lines)


def test_lint_job_static_test_files_exist():
    named = " ".join(run_lines(job(load(CI), "lint")))
    for name in re.findall(r"tests/[\w/]+\.py", named):
        assert (ROOT / name).is_file(), name


@pytest.mark.parametrize(
    "needle, why",
    [
        (r"python -m build --wheel", "builds the wheel"),
        (r'-m venv "?\$(\{\{ runner\.temp \}\}|RUNNER_TEMP)/', "venv outside the checkout"),
        (r'pip install "?dist/\*\.whl', "installs the built wheel, not the source"),
        (r'^cd "?\$(\{\{ runner\.temp \}\}|RUNNER_TEMP)', "runs from outside the checkout"),
        (r"envcheck\"? --version$", "runs envcheck --version"),
        (r"envcheck\"? matrix --torch 2\.3\.1 --json", "queries matrix --torch 2.3.1"),
        (r'"torchvision"\] == "0\.18\.1"', "asserts torchvision 0.18.1"),
        (r'"torchaudio"\] == "2\.3\.1"', "asserts torchaudio 2.3.1"),
    ],
)
def test_wheel_job(needle, why):
    lines = run_lines(job(load(CI), "wheel"))
    assert any(re.search(needle, line) for line in lines), f"wheel job should: {why}"


def test_wheel_job_uses_the_venv_not_the_runner_python():
    lines = run_lines(job(load(CI), "wheel"))
    for line in lines:
        if re.search(r"\benvcheck\"? (--version|matrix)", line):
            assert "wheel-venv/bin/envcheck" in line or "RUNNER_TEMP" in line, line


# ---------------------------------------------------------------------------------- drift.yml


def test_drift_runs_daily_and_by_hand():
    on = triggers(load(DRIFT))
    assert "workflow_dispatch" in on
    (entry,) = on["schedule"]
    fields = entry["cron"].split()
    assert len(fields) == 5 and fields[2:] == ["*", "*", "*"], entry["cron"]  # daily
    assert "push" not in on and "pull_request" not in on  # upstream drift must not block PRs


def test_drift_installs_the_package_and_checks_upstream():
    doc = load(DRIFT)
    lines = [line for j in doc["jobs"].values() for line in run_lines(j)]
    assert any(re.search(r"pip install \.(\s|$)", line) for line in lines), lines
    assert "envcheck matrix update --check" in lines
