"""The cli package: the lazy command table, --help for every command, --python vs --python-version."""

from __future__ import annotations

import json
import sys

import click
import pytest

from envcheck.cli import COMMANDS, cli as group
from envcheck.cli._options import split_python
from envcheck.errors import InputError

# Every command a user can type, subcommands included (click's advice for lazy groups: a test that
# loads each one, so a broken import path is caught here and not by a user).
EVERY_COMMAND = sorted(COMMANDS) + ["matrix update"]


def test_the_lazy_table_lists_every_command_and_each_one_loads():
    ctx = click.Context(group)
    assert group.list_commands(ctx) == sorted(COMMANDS)
    assert set(COMMANDS) >= {"diagnose", "facts", "explain", "fix", "install-command", "requirements", "matrix",
                             "verify", "preflight", "compare"}
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_help_for_every_command(cli, command):
    r = cli(*command.split(), "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: envcheck {} ".format(command)), r.stdout[:200]
    assert "--help" in r.stdout and r.stderr == ""


def test_top_level_help_lists_every_command(cli):
    r = cli("--help")
    listed = [line.split()[0] for line in r.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)
    assert cli().stdout == r.stdout  # bare `envcheck` shows the same help, exit 0
    assert cli().returncode == 0


@pytest.mark.parametrize("value, expected", [
    (None, (None, None, [])),
    ("/usr/bin/python3", ("/usr/bin/python3", None, [])),
    (".venv/bin/python", (".venv/bin/python", None, [])),
    ("python3" , None),  # no path: the old version form (and then not a version: refused later)
])
def test_split_python_reads_a_path_as_an_interpreter(value, expected):
    got = split_python(value, None)
    if expected is None:
        assert got[0] is None and got[1] == value and "deprecated" in got[2][0]
    else:
        assert got == expected


def test_split_python_reads_the_old_version_form_with_a_deprecation_warning():
    path, version, warnings = split_python("3.11", None)
    assert (path, version) == (None, "3.11")
    assert warnings == ["--python 3.11 is deprecated for a target's Python: use --python-version 3.11 "
                        "(--python names an interpreter)"]
    assert split_python("any", None)[1] == "any"
    assert split_python(None, "3.12") == (None, "3.12", [])
    with pytest.raises(InputError, match="give the target's Python once"):
        split_python("3.11", "3.12")


def _quiet(r):
    return r.stdout.strip()


@pytest.mark.parametrize("command", ["install-command", "requirements"])
def test_old_python_form_gives_the_same_answer_as_python_version_and_says_it_is_deprecated(cli, command):
    target = ("--driver", "550.54.14", "--cc", "8.6", "--os", "linux", "--torch", "2.5.1")
    new = cli(command, *target, "--python-version", "3.11", "-q")
    old = cli(command, *target, "--python", "3.11", "-q")
    assert new.returncode == old.returncode == 0, (new.stderr, old.stderr)
    assert "deprecated" not in new.stderr
    assert "envcheck: warning: --python 3.11 is deprecated for a target's Python: use --python-version 3.11" in old.stderr
    if command == "install-command":
        assert _quiet(new) == _quiet(old) and "torch==2.5.1" in _quiet(new)
    else:  # the header echoes the command line as typed; the pins are the same
        pins = [line for line in new.stdout.splitlines() if not line.startswith("#")]
        assert pins == [line for line in old.stdout.splitlines() if not line.startswith("#")] and pins
    doc = json.loads(cli(command, *target, "--python", "3.11", "--json").stdout)
    assert doc["warnings"][0].startswith("--python 3.11 is deprecated") and doc["data"]["target"]["python"] == "3.11"


def test_python_version_any_and_a_bad_one(cli):
    target = ("--driver", "550.54.14", "--cc", "8.6", "--os", "linux", "--torch", "2.5.1")
    r = cli("install-command", *target, "--python-version", "any", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["data"]["target"]["python"] is None
    bad = cli("install-command", *target, "--python-version", "three")
    assert bad.returncode == 2 and "Invalid Python version: 'three'" in bad.stderr
    both = cli("install-command", *target, "--python", "3.11", "--python-version", "3.12")
    assert both.returncode == 2 and "give the target's Python once" in both.stderr


def test_python_path_that_is_not_an_interpreter(cli, tmp_path):
    r = cli("install-command", "--cuda", "12.8", "--python", str(tmp_path / "nope" / "python"))
    assert r.returncode == 3 and "--python" in r.stderr and "not an executable file" in r.stderr
    with_facts = cli("install-command", "--facts", str(tmp_path / "f.json"), "--python", sys.executable)
    assert with_facts.returncode == 2 and "--facts describes a recorded machine" in with_facts.stderr


def test_each_command_body_is_short():
    """A command turns options into one library call and a Result: 25 lines at most (docstring
    aside). Longer logic belongs in the library, where it can be tested without click."""
    import ast
    from pathlib import Path

    import envcheck.cli

    sizes = {}
    for path in sorted(Path(envcheck.cli.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                    "command" in ast.unparse(d) or "group" in ast.unparse(d) for d in node.decorator_list):
                body = node.body[1:] if isinstance(node.body[0], ast.Expr) and isinstance(
                    node.body[0].value, ast.Constant) else node.body
                sizes[node.name] = body[-1].end_lineno - body[0].lineno + 1
    assert len(sizes) >= 12, sizes  # every command and group was found
    assert {name: n for name, n in sizes.items() if n > 25} == {}


def test_exit_codes_in_help_and_readme_agree():
    """`envcheck --help` and README's exit-code table list the same codes (130 and 141 included)."""
    import re

    from envcheck.cli import EXIT_INTERNAL, EXIT_PIPE, cli
    from envcheck.outcome import EXIT_INTERRUPTED

    from helpers.paths import ROOT

    help_codes = set(re.findall(r"(?<![\d.])(\d{1,3}) [a-z]", cli.help.split("Exit codes:", 1)[1]))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    readme_codes = set(re.findall(r"^\| (\d+) \|", table, flags=re.M))
    assert help_codes == readme_codes
    assert {str(EXIT_INTERNAL), str(EXIT_INTERRUPTED), str(EXIT_PIPE)} <= readme_codes


HUGE = "1" * 100_000


@pytest.mark.parametrize("args, words", [
    (["matrix", "--torch", "2." + HUGE], "Invalid torch version"),  # int() refuses 4,300 digits: was exit 70
    (["install-command", "--cuda", "12.8", "--torch", "2." + HUGE], "Invalid torch version"),
    (["install-command", "--driver", HUGE, "--cc", "8.6", "--python-version", "3.11"], "Invalid driver version"),
    (["install-command", "--cuda", "12." + HUGE], "Invalid CUDA version"),
    (["explain", "EC" + HUGE], "unknown finding code"),
    (["diagnose", "--quick", "--timeout", "nan"], "not a number of seconds"),
    (["diagnose", "--quick", "--timeout", HUGE], "not in the range"),
    (["verify", "--timeout", "inf"], "not in the range"),
    (["preflight", "--budget", "nan"], "--budget nan"),  # preflight checks its own: seconds >= 10
    (["matrix", "update", "--timeout", "nan"], "not a number of seconds"),
    (["fix", "--install-timeout", "nan"], "not a number of seconds"),
    (["install-command", "--cuda", ""], "an empty value"),
    (["requirements", "--cc", " "], "an empty value"),
])
def test_hostile_values_are_one_short_line_and_exit_2(args, words):
    from helpers.cli import invoke

    res = invoke(*args)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and words in lines[0], res.stderr[-300:]
    assert len(lines[0]) < 1000 and "internal error" not in lines[0]
