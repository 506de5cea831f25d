"""EC315: a local torch, torchvision or numpy shadows the installed one."""

from __future__ import annotations

from envcheck.facts.model import ModuleShadow
from envcheck.rules import diagnose

from helpers.facts import change, load
from helpers.findings import codes, one

SITE = "/venv/lib/python3.12/site-packages"
CWD_TORCH = ModuleShadow("torch", "/home/me/proj/torch/__init__.py", "working directory", SITE + "/torch/__init__.py")
PP_NUMPY = ModuleShadow("numpy", "/opt/old/numpy/__init__.py", "PYTHONPATH", SITE + "/numpy/__init__.py")
BASE = "laptop-rtx3060-cpu-torch"


def test_no_shadow_no_finding(matrix):
    errors, infos = codes(load(BASE), matrix)
    assert "EC315" not in errors | infos


def test_a_torch_folder_in_the_working_directory(matrix):
    facts = change(load(BASE), {"torch.shadows": (CWD_TORCH,)})
    f = one(facts, matrix, "EC315")
    assert f.severity == "error"
    assert f.title == ("/home/me/proj/torch shadows the installed torch at " + SITE + "/torch/__init__.py: "
                       "Python started in this folder imports it instead")
    assert "shadows[torch] = /home/me/proj/torch/__init__.py (from the working directory)" in f.evidence
    assert "installed[torch] = " + SITE + "/torch/__init__.py" in f.evidence
    assert f.command == "mv /home/me/proj/torch /home/me/proj/torch_local"


def test_a_module_file_keeps_its_extension_and_odd_paths_are_quoted(matrix):
    s = ModuleShadow("numpy", "/home/me/my proj/numpy.py", "working directory", None)
    f = one(change(load(BASE), {"torch.shadows": (s,)}), matrix, "EC315")
    assert f.command == "mv '/home/me/my proj/numpy.py' '/home/me/my proj/numpy_local.py'"
    assert "numpy (which is not installed)" in f.title


def test_a_pythonpath_entry_seen_by_the_torch_child(matrix):
    facts = load(BASE)
    rt = facts.torch_runtime
    facts = change(facts, {"torch_runtime.shadows": (PP_NUMPY, CWD_TORCH)})
    assert rt is not None
    f = one(facts, matrix, "EC315")
    assert f.title.endswith("Python started with this PYTHONPATH imports it instead (and 1 more)")
    assert f.command is None and f.fix.startswith("Remove /opt/old from PYTHONPATH")
    assert any(e.startswith("torch_runtime.torch_file = ") for e in f.evidence)


def test_the_same_shadow_from_both_children_is_reported_once(matrix):
    facts = change(load(BASE), {"torch.shadows": (CWD_TORCH,), "torch_runtime.shadows": (CWD_TORCH,)})
    f = one(facts, matrix, "EC315")
    assert "(and" not in f.title and len([e for e in f.evidence if e.startswith("shadows[")]) == 1


def test_a_shadowing_torch_the_child_imported_is_ec315_not_ec307(matrix):
    """The child imported a local torch of another version: EC315 explains it; EC307 stays quiet."""
    facts = load(BASE)
    local = ModuleShadow("torch", "/work/torch/__init__.py", "PYTHONPATH", facts.torch.location + "/torch/__init__.py")
    facts = change(facts, {"torch_runtime.shadows": (local,), "torch_runtime.version": "0.0.1",
                           "torch_runtime.torch_file": "/work/torch/__init__.py"})
    found = diagnose(facts, matrix, strict=True).codes
    assert "EC315" in found and "EC307" not in found
    unexplained = change(facts, {"torch_runtime.shadows": ()})
    assert "EC307" in diagnose(unexplained, matrix, strict=True).codes
