"""The catalog of finding codes, its generated documentation and the rules agree."""

from __future__ import annotations

from helpers import paths
import os
import re

import pytest

from envcheck.rules import catalog
from envcheck.render.explain_text import explain_lines
from envcheck.rules.catalog import CATALOG, SEVERITIES, lookup, render_markdown

ROOT = str(paths.ROOT)
RULES_DIR = os.path.join(ROOT, "envcheck", "rules")


def test_docs_findings_md_is_generated_from_the_catalog():
    with open(os.path.join(ROOT, "envcheck", "rules", "findings.md"), encoding="utf-8") as fh:
        assert fh.read() == render_markdown(), (
            "envcheck/rules/findings.md is stale: regenerate it (see its header)"
        )


def test_codes_are_unique_well_formed_and_ordered():
    codes = [d.code for d in CATALOG]
    names = [d.name for d in CATALOG]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    assert codes == sorted(codes)
    for d in CATALOG:
        assert re.fullmatch(r"EC\d{3}", d.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9.]+)*", d.name)
        assert d.severity in SEVERITIES
        assert all(re.fullmatch(r"F([1-9]|1[01])", r) for r in d.refs)
        assert d.title and d.meaning and d.detection and d.fix


def _codes_in_rules():
    used = set()
    for name in os.listdir(RULES_DIR):
        if name.endswith(".py") and name != "catalog.py":
            with open(os.path.join(RULES_DIR, name), encoding="utf-8") as fh:
                used |= set(re.findall(r'"(EC\d{3})"', fh.read()))
    return used


def test_every_catalogued_code_is_produced_by_a_rule_and_back():
    assert _codes_in_rules() == {d.code for d in CATALOG}


def test_every_failure_mode_is_covered():
    refs = {r for d in CATALOG for r in d.refs}
    assert refs == {"F{}".format(i) for i in range(1, 12)}


@pytest.mark.parametrize("text", ["EC101", "ec101", "driver-too-old", "EC101-driver-too-old",
                                  "ec101 driver-too-old", " EC101 "])
def test_lookup_accepts_code_name_or_both(text):
    assert lookup(text).code == "EC101"


@pytest.mark.parametrize("text", ["", "EC999", "EC101-wrong-name", "driver", "F1"])
def test_lookup_rejects_unknown(text):
    assert lookup(text) is None


def test_explain_lines_carry_every_part():
    doc = lookup("EC203")
    lines = explain_lines(doc)
    assert max(len(line) for line in lines) <= 100
    text = " ".join(" ".join(lines).split())
    for part in (doc.code, doc.name, doc.severity, doc.meaning, doc.detection, doc.fix, "F3"):
        assert " ".join(part.split()) in text


def test_finding_takes_severity_and_refs_from_the_catalog():
    from envcheck.rules.findings import finding

    f = finding("EC101", "t", ["a = b"], cause="c")
    assert (f.name, f.severity, f.refs) == ("driver-too-old", "error", ("F1",))
    assert f.fix == lookup("EC101").fix  # the documented fix when a rule gives none
    with pytest.raises(KeyError):
        finding("EC999", "t")


def test_unobservable_items_are_documented():
    assert catalog.UNOBSERVABLE and "fork" in render_markdown()


def test_failure_modes_doc_ships_beside_findings_and_lists_exactly_the_codes_that_cite_each_entry():
    """findings.md cites F1-F11: the document it cites is in the repository (and the wheel, as
    package data of envcheck/rules), and each entry's ``findings:`` line names exactly the codes
    whose refs point at it, so neither can drift from the catalogue."""
    with open(os.path.join(RULES_DIR, "failure-modes.md"), encoding="utf-8") as fh:
        text = fh.read()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    listed = {}
    for sec in sections:
        head = re.match(r"(F\d+)\.", sec)
        if head is None:
            continue
        line = re.search(r"^- findings: (.+)$", sec, flags=re.M)
        assert line, "failure-modes.md: {} has no findings: line".format(head.group(1))
        listed[head.group(1)] = [c.strip() for c in line.group(1).split(",")]
    cited = {}
    for d in CATALOG:
        for r in d.refs:
            cited.setdefault(r, []).append(d.code)
    assert listed == cited
    assert "[`failure-modes.md`](failure-modes.md)" in render_markdown()
