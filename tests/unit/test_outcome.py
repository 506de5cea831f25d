"""The one outcome vocabulary: each word, and each mapping onto an exit code, in one place."""

from __future__ import annotations

import typing

import pytest

from envcheck import outcome
from envcheck.errors import EXIT_CANNOT_RUN, EXIT_MANUAL, EXIT_OK, EXIT_PROBLEMS


@pytest.mark.parametrize("literal, words", [
    (outcome.Severity, outcome.SEVERITIES),
    (outcome.CheckStatus, outcome.CHECK_STATUSES),
    (outcome.GateStatus, outcome.GATE_STATUSES),
    (outcome.PerfVerdict, outcome.PERF_VERDICTS),
])
def test_each_literal_type_and_its_tuple_are_the_same_words(literal, words):
    assert set(typing.get_args(literal)) == set(words) and len(words) == len(set(words))


def test_the_other_modules_use_these_words():
    from envcheck.preflight import checks
    from envcheck.rules import catalog
    from envcheck.verify import model

    assert catalog.SEVERITIES is outcome.SEVERITIES
    assert model.STATUSES is outcome.CHECK_STATUSES
    assert checks.STATUSES is outcome.GATE_STATUSES


@pytest.mark.parametrize("severities, fail_on, code", [
    ([], "error", EXIT_OK),
    (["info", "warning"], "error", EXIT_OK),
    (["info", "warning"], "warning", EXIT_PROBLEMS),
    (["error"], "error", EXIT_PROBLEMS),
    (["info"], "warning", EXIT_OK),
])
def test_diagnose_exit(severities, fail_on, code):
    assert outcome.diagnose_exit(severities, fail_on) == code


@pytest.mark.parametrize("statuses, verdicts, code", [
    (["passed", "skipped", "not-run"], ["ok", "low", "none", "high"], EXIT_OK),
    (["passed", "failed"], [], EXIT_PROBLEMS),
    (["passed"], ["ok", "fail"], EXIT_PROBLEMS),
])
def test_verify_exit(statuses, verdicts, code):
    assert outcome.verify_exit(statuses, verdicts) == code


@pytest.mark.parametrize("statuses, strict, code, word", [
    (["pass", "n/a"], False, EXIT_OK, "pass"),
    (["pass", "warn"], False, EXIT_OK, "pass"),
    (["pass", "warn"], True, EXIT_PROBLEMS, "fail"),
    (["pass", "not-run"], False, EXIT_CANNOT_RUN, "not-run"),  # could not run is never a pass
    (["not-run", "fail"], False, EXIT_PROBLEMS, "fail"),
])
def test_gate_exit_and_its_word(statuses, strict, code, word):
    assert outcome.gate_exit(statuses, strict=strict) == code
    assert outcome.gate_status(code) == word


def test_worst_gate_and_perf_verdicts_as_gates():
    assert outcome.worst_gate(["pass", "warn", "n/a"]) == "warn"
    assert outcome.worst_gate(["pass", "not-run", "warn"]) == "not-run"
    assert outcome.worst_gate([]) == "n/a"
    assert [outcome.gate_of_verdict(v) for v in outcome.PERF_VERDICTS] == ["pass", "warn", "fail", "pass", "not-run"]
    assert outcome.gate_of_verdict("unknown") == "not-run"


def test_fix_exit_precedence():
    base = dict(interrupted=False, refused=False, unapplied_plan=False, failed=False, manual=False)
    assert outcome.fix_exit(**base) == EXIT_OK
    assert outcome.fix_exit(**{**base, "manual": True}) == EXIT_MANUAL
    assert outcome.fix_exit(**{**base, "manual": True, "failed": True}) == EXIT_PROBLEMS
    assert outcome.fix_exit(**{**base, "unapplied_plan": True}) == EXIT_PROBLEMS
    assert outcome.fix_exit(**{**base, "refused": True, "failed": True}) == EXIT_CANNOT_RUN
    assert outcome.fix_exit(**{**base, "interrupted": True, "refused": True}) == outcome.EXIT_INTERRUPTED == 130


def test_envelope_status_and_problems_exit():
    assert outcome.envelope_status(0, False) == "ok"
    assert outcome.envelope_status(1, False) == "problems"
    assert outcome.envelope_status(2, True) == "error"
    assert (outcome.problems_exit(True), outcome.problems_exit(False)) == (EXIT_PROBLEMS, EXIT_OK)
