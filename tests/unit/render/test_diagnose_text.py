"""The text and Markdown reports."""

from __future__ import annotations

import json

from envcheck.facts import to_json
from envcheck.render import diagnose_text as rd
from envcheck.rules import diagnose

from helpers.facts import load


def _report(name, matrix, **kw):
    facts = load(name)
    diag = diagnose(facts, matrix, strict=True)
    return facts, diag, "\n".join(rd.text_lines(facts, diag, **kw))


def test_text_report_shows_the_three_cudas_gpus_findings_and_the_command(matrix):
    _, diag, text = _report("rtx5090-torch2.6-cu124", matrix)
    assert text.splitlines()[0] == "envcheck diagnose: 1 error"
    for needle in ("torch 2.6.0+cu124 (cu124, CUDA 12.4 build), torchvision 0.21.0+cu124",
                   "installed by pip", "driver  12.8", "nvcc    -", "torch   12.4",
                   "nvidia-smi's \"CUDA Version\"", "NVIDIA GeForce RTX 5090  sm_120 (Blackwell",
                   "ERROR   EC203 gpu-arch-not-in-wheel", "evidence", "cause", "fix",
                   "$ " + diag.command, "The one command that fixes the most (1 finding: EC203):"):
        assert needle in text, needle
    assert text.rstrip().endswith(diag.command)
    assert "\033[" not in text


def test_identical_gpus_are_one_line(matrix):
    _, _, text = _report("h100x8-torch2.11-cu130-driver580", matrix)
    assert "0-7   8 x NVIDIA H100 80GB HBM3  sm_90 (Hopper)  80 GiB" in text
    assert "Healthy: nothing to fix." in text
    assert text.splitlines()[0] == "envcheck diagnose: healthy: nothing to fix"


def test_this_machine_says_consistent_not_error(matrix):
    _, diag, text = _report("devbox-no-driver-nvcc13-torch-cpu", matrix)
    assert diag.exit_code() == 0
    assert "nvcc    13.0" in text and "no NVIDIA driver" in text and "CPU build" in text
    assert "consistent" in text and "ERROR" not in text


def test_lost_gpus_are_marked(matrix):
    _, _, text = _report("dgx-a100-gpu-lost", matrix)
    assert "[LOST]" in text


def test_color_only_when_asked(matrix, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    _, _, text = _report("rtx5090-torch2.6-cu124", matrix, color=True)
    assert "\033[" in text


def test_markdown_has_tables_findings_and_folded_facts(matrix):
    facts = load("driver535-torch2.11-cu130")
    diag = diagnose(facts, matrix, strict=True)
    md = rd.markdown(facts, diag, to_json(facts))
    assert md.startswith("## envcheck diagnose: 1 error\n")
    assert "| driver | 12.2 |" in md and "| torch | 13.0 |" in md
    assert "- **ERROR EC101 driver-too-old**" in md
    assert "```sh\n" + diag.command + "\n```" in md
    head, _, rest = md.partition("<details><summary>facts (envcheck facts --json, redacted)</summary>")
    body = rest.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(body)["schema"] == "envcheck.facts/1"
    assert md.rstrip().endswith("</details>")


def test_facts_summary(matrix):
    lines = rd.facts_lines(load("a100-ecc-remap-pending"))
    text = "\n".join(lines)
    assert "CUDA driver 12.2" in text and "GPU 0     NVIDIA A100-SXM4-80GB" in text
