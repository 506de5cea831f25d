"""torch missing or failing in its child, probes that did not answer (EC002-EC006), and the
diagnosis as a whole (sorting, the one command, a rule's bug)."""

from __future__ import annotations

import pytest

from envcheck.facts.model import TorchRuntimeFacts
from envcheck.rules import diagnose
from envcheck.rules.findings import finding

from helpers.facts import change, load
from helpers.findings import codes, one

H100 = "h100x8-torch2.11-cu130-driver580"
PY = "/home/alice/venvs/train/bin/python"


def rt(**kw):
    return TorchRuntimeFacts(interpreter=PY, **kw)


def test_torch_not_installed_is_a_warning_with_the_generated_command(matrix):
    f = one(load("this-machine"), matrix, "EC002")
    assert f.severity == "warning"
    assert f.command.startswith("pip install torch==") and f.command.endswith("/whl/cpu")
    diag = diagnose(load("this-machine"), matrix)
    assert diag.exit_code("error") == 0 and diag.exit_code("warning") == 1
    assert diag.command == f.command


@pytest.mark.parametrize("runtime, problems", [
    (rt(status="import-failed", import_error="ImportError: libcudnn.so.9: cannot open shared object file: "
        "No such file or directory", stage="import torch"), {"EC003"}),
    (rt(status="crashed", detail="killed by SIGSEGV during torch.cuda.is_available", signal="SIGSEGV",
        returncode=-11, stage="torch.cuda.is_available", stderr_tail="Segmentation fault"), {"EC004"}),
    (rt(status="crashed", detail="killed by SIGABRT during import torch", signal="SIGABRT", returncode=-6,
        stage="import torch"), {"EC004"}),
    (rt(status="bad-output", detail="no result line", returncode=0, stage="import torch"), {"EC004"}),
    (rt(status="timed-out", detail="python: no answer within 10.0 s (killed)", stage="import torch",
        seconds=10.0), {"EC005"}),
    (rt(status="failed", detail="python: not found"), {"EC006"}),
])
def test_torch_child_outcomes(matrix, runtime, problems):
    assert codes(change(load(H100), {"torch_runtime": runtime}), matrix)[0] == problems


def test_crash_in_a_cuda_step_points_at_the_driver_not_a_reinstall(matrix):
    cuda = one(change(load(H100), {"torch_runtime": rt(
        status="crashed", signal="SIGSEGV", returncode=-11, stage="torch.cuda.is_available")}), matrix, "EC004")
    assert cuda.command is None and "dmesg" in cuda.fix
    imp = one(change(load(H100), {"torch_runtime": rt(
        status="crashed", signal="SIGABRT", returncode=-6, stage="import torch")}), matrix, "EC004")
    assert imp.command and imp.command.startswith("pip install torch==2.11.0")


def test_a_torch_without_metadata_that_fails_is_not_reported_missing(matrix):
    facts = change(load("this-machine"), {"torch_runtime": rt(
        status="import-failed", import_error="RuntimeError: injected failure", stage="import torch")})
    assert codes(facts, matrix)[0] == {"EC003"}


@pytest.mark.parametrize("changes", [
    {"host.status": "timed-out", "host.detail": "no answer within 5.0 s"},
    {"torch.status": "failed", "torch.detail": "reading metadata: OSError()"},
])
def test_probes_that_did_not_answer(matrix, changes):
    assert "EC006" in codes(change(load(H100), changes), matrix)[0]


def test_a_rule_bug_costs_one_check_unless_strict(matrix):
    def broken(view):
        raise ZeroDivisionError("boom")
        yield  # pragma: no cover

    def fine(view):
        yield finding("EC604", "t", ["a = b"])

    diag = diagnose(load(H100), matrix, rules=[broken, fine])
    assert diag.codes == ("EC006", "EC604")
    assert any("ZeroDivisionError: boom" in e for e in diag.findings[0].evidence)
    with pytest.raises(ZeroDivisionError):
        diagnose(load(H100), matrix, rules=[broken], strict=True)


def test_the_one_command_is_the_one_most_findings_share(matrix):
    def many(view):
        yield finding("EC604", "a", ["x = 1"], command="cmd-a")
        yield finding("EC301", "b", ["x = 1"], command="cmd-b")
        yield finding("EC206", "c", ["x = 1"], command="cmd-b")
        yield finding("EC502", "d", ["x = 1"], command="cmd-c")

    diag = diagnose(load(H100), matrix, rules=[many])
    assert (diag.command, diag.command_fixes) == ("cmd-b", ("EC206", "EC301"))
    assert [f.severity for f in diag.findings] == ["error", "error", "warning", "info"]


@pytest.mark.parametrize("error, cause_words", [
    ("RuntimeError: CUDA error: CUDA-capable device(s) is/are busy or unavailable", "exclusive-process"),
    ("RuntimeError: CUDA unknown error - this may be due to an incorrectly set up environment", "suspend/resume"),
    ("RuntimeError: No CUDA GPUs are available", "CUDA_VISIBLE_DEVICES"),
    ("RuntimeError: something torch has never said", "bad state"),
])
@pytest.mark.parametrize("base", [H100, "devbox-no-driver-nvcc13-torch-cpu"])
def test_is_available_that_raises_is_an_error_never_healthy(matrix, error, cause_words, base):
    facts = load(base)
    runtime = rt(status="ok", version=facts.torch.version, is_available=None, device_count=None,
                 errors={"is_available": error, "device_count": error})
    facts = change(facts, {"torch_runtime": runtime})
    problems, notes = codes(facts, matrix)
    assert "EC008" in problems and "EC001" not in notes
    f = one(facts, matrix, "EC008")
    assert f.severity == "error" and error.split(": ", 1)[1][:60] in f.title
    assert cause_words in f.cause and "nvidia-smi" in f.fix
