"""The issue-triage example (examples/issue-triage/envcheck-triage.yml), run as written.

The workflow's own script runs in bash with two fakes at the boundary: ``pipx`` (it runs this
checkout's envcheck, and records the version the workflow pins) and ``gh`` (it records what would
be posted, and answers the comment look-up). The issue bodies are recorded ones from the corpus.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

from helpers.paths import DATA, ROOT

WORKFLOW = ROOT / "examples" / "issue-triage" / "envcheck-triage.yml"
MARKER = "<!-- envcheck-triage -->"

FAKE_PIPX = """#!{python}
import os, sys
args = sys.argv[1:]
assert args[:2] == ["run", "--spec"] and args[3] == "envcheck", args
with open(os.environ["FAKE_LOG"], "a") as fh:
    fh.write("pipx " + args[2] + "\\n")
os.execv(sys.executable, [sys.executable, "-m", "envcheck"] + args[4:])
"""

FAKE_GH = """#!{python}
import json, os, sys
args = sys.argv[1:]
entry = {{"args": args}}
if "--body-file" in args:
    entry["body"] = open(args[args.index("--body-file") + 1]).read()
for a in args:
    if a.startswith("body=@"):
        entry["body"] = open(a[len("body=@"):]).read()
with open(os.environ["FAKE_LOG"], "a") as fh:
    fh.write("gh " + json.dumps(entry) + "\\n")
if args[:1] == ["api"] and "--paginate" in args:
    print(os.environ.get("FAKE_PREVIOUS", ""))
"""


def _workflow():
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _step():
    [step] = _workflow()["jobs"]["read-report"]["steps"]
    return step


def _run(tmp_path, body: str, previous: str = ""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("pipx", FAKE_PIPX), ("gh", FAKE_GH)):
        f = bin_dir / name
        f.write_text(text.format(python=sys.executable), encoding="utf-8")
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    log.write_text("", encoding="utf-8")
    work = tmp_path / "runner"
    work.mkdir(exist_ok=True)
    env = dict(os.environ, PATH="{}{}{}".format(bin_dir, os.pathsep, os.environ["PATH"]), PYTHONPATH=str(ROOT),
               RUNNER_TEMP=str(work), FAKE_LOG=str(log), FAKE_PREVIOUS=previous,
               ISSUE_BODY=body, ISSUE_NUMBER="112553", GH_REPO="someone/project", GH_TOKEN="not-a-token")
    result = subprocess.run(["bash", "-c", _step()["run"]], cwd=str(work), env=env, capture_output=True,
                            text=True, timeout=120)
    calls = [line.split(" ", 1) for line in log.read_text(encoding="utf-8").splitlines()]
    pins = [rest for tool, rest in calls if tool == "pipx"]
    gh = [json.loads(rest) for tool, rest in calls if tool == "gh"]
    return result, pins, gh


def _markdown(body: str) -> str:
    out = subprocess.run([sys.executable, "-m", "envcheck", "diagnose", "--report", "-", "--markdown",
                          "--fail-on", "warning"], input=body, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return out.stdout


def test_the_workflow_is_least_privilege_and_never_runs_the_issue_text():
    from envcheck import __version__

    wf = _workflow()
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true
    assert on == {"issues": {"types": ["opened", "edited"]}}
    assert wf["permissions"] == {}
    job = wf["jobs"]["read-report"]
    assert job["permissions"] == {"issues": "write"} and 0 < job["timeout-minutes"] <= 10
    assert "${{ github.event.issue.number }}" in wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"]
    step = _step()
    assert "uses" not in step and "${{" not in step["run"]  # no action to pin, no expression in the script
    assert step["env"]["ISSUE_BODY"] == "${{ github.event.issue.body }}"
    assert "--spec torch-envcheck=={} ".format(__version__) in step["run"]


def test_a_report_with_a_problem_gets_one_comment_with_envchecks_reading(tmp_path):
    from envcheck import __version__

    body = (DATA / "reports" / "pytorch-112553.txt").read_text(encoding="utf-8")
    result, pins, gh = _run(tmp_path, body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert pins == ["torch-envcheck==" + __version__]
    lookup, post = gh
    assert lookup["args"][:2] == ["api", "repos/someone/project/issues/112553/comments"]
    assert post["args"][:3] == ["issue", "comment", "112553"]
    assert post["body"] == _markdown(body + "\n") + "\n" + MARKER + "\n"  # printf adds a newline
    assert "EC101" in post["body"] and post["body"].startswith("### envcheck's reading of this report: 1 error")


def test_an_edited_issue_updates_the_earlier_comment(tmp_path):
    body = (DATA / "reports" / "leggedlab-26.txt").read_text(encoding="utf-8")
    result, _, gh = _run(tmp_path, body, previous="4242")
    assert result.returncode == 0, result.stderr
    lookup, patch = gh
    assert patch["args"][:4] == ["api", "--method", "PATCH", "repos/someone/project/issues/comments/4242"]
    assert "EC203" in patch["body"] and patch["body"].endswith(MARKER + "\n")


@pytest.mark.parametrize("body, said", [
    ((DATA / "reports" / "pytorch-144359.txt").read_text(encoding="utf-8"), "nothing wrong in this report"),
    ("It would be nice to have a dark theme for the docs.\n", "no report it can read here"),
    ("", "no report it can read here"),
])
def test_no_comment_when_envcheck_has_nothing_to_say(tmp_path, body, said):
    result, _, gh = _run(tmp_path, body)
    assert result.returncode == 0, result.stderr
    assert gh == [] and said in result.stdout


def test_a_hostile_issue_body_is_only_read(tmp_path):
    body = "$(touch pwned) `touch pwned2` ; touch pwned3\n" + (DATA / "reports" / "venus-8.txt").read_text(encoding="utf-8")
    result, _, gh = _run(tmp_path, body)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.rglob("pwned*"))
    assert len(gh) == 2 and "$(touch pwned)" not in gh[1]["body"]
