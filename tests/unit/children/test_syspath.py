from __future__ import annotations

import os

import pytest

from envcheck.children import syspath


def _dist(site, name, version="1.0", module=True):
    os.makedirs(site / "{}-{}.dist-info".format(name, version))
    if module:
        (site / name).mkdir()
        (site / name / "__init__.py").write_text("")
    return str(site / name / "__init__.py")


@pytest.fixture
def layout(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return site, work


def test_child_path_drops_only_the_entry_python_prepended(tmp_path):
    assert syspath.child_path(["", "/lib", "/site"], "") == ["/lib", "/site"]
    assert syspath.child_path([str(tmp_path), "/lib"], str(tmp_path) + "/.") == ["/lib"]
    assert syspath.child_path(["/pythonpath", "/lib"], None) == ["/pythonpath", "/lib"]  # -P: nothing added
    assert syspath.child_path(["/other", "/lib"], "/script") == ["/other", "/lib"]


def test_find_module_kinds(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "mod.py").write_text("")
    (tmp_path / "ext.cpython-311-x86_64-linux-gnu.so").write_text("")
    (tmp_path / "nsp").mkdir()
    e = str(tmp_path)
    assert syspath.find_module("pkg", e) == os.path.join(e, "pkg", "__init__.py")
    assert syspath.find_module("mod", e) == os.path.join(e, "mod.py")
    assert syspath.find_module("ext", e).endswith(".so")
    assert syspath.find_module("nsp", e) == os.path.join(e, "nsp") + os.sep  # a namespace portion
    assert syspath.find_module("absent", e) is None
    assert syspath.find_module("mod", str(tmp_path / "missing")) is None


def test_a_torch_folder_in_the_working_directory_shadows_the_installed_one(layout):
    site, work = layout
    installed = _dist(site, "torch", "2.9.0")
    (work / "torch").mkdir()
    (work / "torch" / "__init__.py").write_text("")
    got = syspath.shadows([str(site)], str(work), pythonpath=[])
    assert got == [{"name": "torch", "shadow": str(work / "torch" / "__init__.py"),
                    "via": "working directory", "installed": installed}]


def test_a_numpy_py_file_shadows_and_torch_is_not_installed(layout):
    site, work = layout
    (work / "numpy.py").write_text("")
    (work / "torch").mkdir()  # no __init__.py and nothing installed: a namespace import
    got = {s["name"]: s for s in syspath.shadows([str(site)], str(work), pythonpath=[])}
    assert got["numpy"]["shadow"] == str(work / "numpy.py") and got["numpy"]["installed"] is None
    assert got["torch"]["shadow"] == str(work / "torch") + os.sep and got["torch"]["installed"] is None


def test_a_namespace_folder_does_not_shadow_an_installed_package(layout):
    site, work = layout
    _dist(site, "torch")
    (work / "torch").mkdir()  # a data folder named torch, no __init__.py
    assert syspath.shadows([str(site)], str(work), pythonpath=[]) == []


def test_a_pythonpath_entry_shadows(layout, tmp_path):
    site, work = layout
    installed = _dist(site, "torchvision")
    extra = tmp_path / "extra"
    (extra / "torchvision").mkdir(parents=True)
    (extra / "torchvision" / "__init__.py").write_text("")
    got = syspath.shadows([str(extra), str(site)], str(work), pythonpath=[str(extra)])
    assert got == [{"name": "torchvision", "shadow": str(extra / "torchvision" / "__init__.py"),
                    "via": "PYTHONPATH", "installed": installed}]


def test_no_shadow_for_the_installed_copy_an_editable_source_or_a_system_package(layout, tmp_path):
    site, work = layout
    _dist(site, "torch")
    _dist(site, "numpy", module=False)  # an editable install: metadata here, the source elsewhere
    src = tmp_path / "src"
    (src / "numpy").mkdir(parents=True)
    (src / "numpy" / "__init__.py").write_text("")
    system = tmp_path / "dist-packages"
    (system / "torchvision").mkdir(parents=True)
    (system / "torchvision" / "__init__.py").write_text("")  # no metadata at all
    path = [str(site), str(src), str(system)]
    assert syspath.shadows(path, str(work), pythonpath=[]) == []
    assert syspath.shadows(path, str(src), pythonpath=[]) == []  # started in the source checkout itself


def test_installed_at_reads_the_metadata_folder(layout):
    site, _ = layout
    installed = _dist(site, "torch", "2.9.0+cu128")
    assert syspath.installed_at("torch", [str(site)]) == installed
    assert syspath.installed_at("numpy", [str(site)]) is None


def test_a_torch_on_pythonpath_with_nothing_installed_is_the_users_own(layout, tmp_path):
    site, work = layout
    src = tmp_path / "pytorch-src"
    (src / "torch").mkdir(parents=True)
    (src / "torch" / "__init__.py").write_text("")
    assert syspath.shadows([str(src), str(site)], str(work), pythonpath=[str(src)]) == []
