from __future__ import annotations

import os

import pytest

from envcheck.probes.torch_static import (
    CudaPackage,
    CudaPin,
    Dist,
    facts_from_raw,
    parse_version_py,
    probe_torch_static,
    read_static,
)

from helpers.fakes import DATA, add_dist, add_torch, cu130_site


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "2.14.1+cu130.py.txt",
            {
                "__version__": "2.14.1+cu130",
                "debug": False,
                "cuda": "13.0",
                "git_version": "5c4886908584029761b579af026dcfb627c84070",
                "hip": None,
                "rocm": None,
                "xpu": None,
            },
        ),
        (
            "2.13.0+cpu.py.txt",
            {
                "__version__": "2.13.0+cpu",
                "debug": False,
                "cuda": None,
                "git_version": "cf30153c4c131c8164ee7798e5022d810682e2cb",
                "hip": None,
                "rocm": None,
                "xpu": None,
            },
        ),
        (
            "2.8.0+cu128.py.txt",
            {
                "__version__": "2.8.0+cu128",
                "debug": False,
                "cuda": "12.8",
                "git_version": "a1cb3cc05d46d198467bebbb6e8fba50a325d4e7",
                "hip": None,
                "xpu": None,
            },
        ),
        (
            "2.5.1+rocm6.2.py.txt",
            {
                "__version__": "2.5.1+rocm6.2",
                "debug": False,
                "cuda": None,
                "git_version": "a8d6afb511a69687bbb2b7e88a3cf67917e1697e",
                "hip": "6.2.41133-dd7f95766",
            },
        ),
        (
            "1.13.1+cu117.py.txt",
            {
                "__version__": "1.13.1+cu117",
                "debug": False,
                "cuda": "11.7",
                "git_version": "49444c3e546bf240bed24a101e747422d1f8a0ee",
                "hip": None,
            },
        ),
    ],
)
def test_parse_version_py(name, expected):
    with open(os.path.join(DATA, "torch_install", name)) as fh:
        values = parse_version_py(fh.read())
    values.pop("__all__", None)
    assert values == expected


@pytest.mark.parametrize("text", ["", "def (", "cuda = compute()\n", "import os\n"])
def test_parse_version_py_never_raises(text):
    assert "cuda" not in parse_version_py(text)


@pytest.mark.parametrize(
    "version_py, metadata, version, label, variant, cuda, hip",
    [
        (
            "2.14.1+cu130.py.txt",
            "METADATA-2.14.1+cu130.txt",
            "2.14.1",
            "cu130",
            "cu130",
            "13.0",
            None,
        ),
        ("2.13.0+cpu.py.txt", "METADATA-2.13.0+cpu.txt", "2.13.0+cpu", "cpu", "cpu", None, None),
        (
            "2.8.0+cu128.py.txt",
            "METADATA-2.8.0+cu128.txt",
            "2.8.0+cu128",
            "cu128",
            "cu128",
            "12.8",
            None,
        ),
    ],
)
def test_variant_from_dist_or_version_py(
    tmp_path, version_py, metadata, version, label, variant, cuda, hip
):
    add_torch(tmp_path, version_py, metadata)
    facts = probe_torch_static(path=[str(tmp_path)])
    assert facts.status == "ok"
    assert (facts.version, facts.local_label, facts.variant, facts.cuda_build, facts.hip) == (
        version,
        label,
        variant,
        cuda,
        hip,
    )
    assert facts.installer == "pip" and facts.location == str(tmp_path)
    assert facts.version_py == os.path.join(str(tmp_path), "torch", "version.py")


def test_cu130_install_pins_checked_through_cuda_toolkit(tmp_path):
    cu130_site(tmp_path)
    facts = probe_torch_static(path=[str(tmp_path)])
    assert facts.torchvision == Dist("torchvision", "0.29.0", str(tmp_path), "pip")
    assert facts.triton is not None and facts.triton.version == "3.8.0"
    assert facts.torchaudio is None
    majors = {p.name: p.cuda_major for p in facts.cuda_packages}
    assert majors["nvidia-cudnn-cu12"] == 12 and majors["nvidia-cudnn-cu13"] == 13
    assert majors["nvidia-cuda-runtime"] == 13 and majors["nvidia-cufft"] is None
    assert "nvidia-ml-py" not in majors  # a binding, not a CUDA library
    pins = {(p.name, p.via): p for p in facts.cuda_pins}
    assert pins[("cuda-toolkit", None)] == CudaPin(
        "cuda-toolkit", "==13.0.3", 'platform_system == "Linux"', None, "13.0.3.0", True
    )
    assert pins[("nvidia-nccl-cu13", None)].installed == "2.27.7"
    assert pins[("nvidia-nccl-cu13", None)].satisfied is False  # pinned 2.30.7
    assert pins[("nvidia-cudnn-cu13", None)].satisfied is True
    via = "cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]"
    assert pins[("nvidia-cublas", via)].satisfied is True
    assert pins[("nvidia-cuda-runtime", via)].specifier == "==13.0.96.*"
    nvjitlink = pins[("nvidia-nvjitlink", via)]
    assert (nvjitlink.installed, nvjitlink.satisfied) == (None, False)  # not installed
    assert ("nvidia-cuda-nvcc", via) not in pins  # only with the nvcc extra, not requested
    assert [p.name for p in facts.cuda_pins].count("nvidia-nvjitlink") == 1


def test_pins_do_not_apply_off_linux(tmp_path):
    add_torch(tmp_path, "2.8.0+cu128.py.txt", "METADATA-2.8.0+cu128.txt")
    raw = read_static([str(tmp_path)])
    raw["marker_env"]["platform_system"] = "Windows"
    raw["marker_env"]["sys_platform"] = "win32"
    assert facts_from_raw(raw).cuda_pins == ()
    raw["marker_env"].update(
        platform_system="Linux", sys_platform="linux", platform_machine="x86_64"
    )
    assert len(facts_from_raw(raw).cuda_pins) == 14


def test_torch_missing_keeps_partners(tmp_path):
    add_dist(tmp_path, "torchvision", "0.20.1+cu124")
    add_dist(tmp_path, "nvidia-cudnn-cu12", "9.1.0.70")
    facts = probe_torch_static(path=[str(tmp_path)])
    assert (facts.status, facts.detail, facts.version) == (
        "missing",
        "torch is not installed",
        None,
    )
    assert facts.torchvision == Dist("torchvision", "0.20.1+cu124", str(tmp_path), "pip")
    assert facts.cuda_packages == (CudaPackage("nvidia-cudnn-cu12", "9.1.0.70", 12, str(tmp_path)),)


def test_shadowed_copies_later_on_the_path(tmp_path):
    first, second = tmp_path / "user", tmp_path / "venv"
    add_torch(first, "2.8.0+cu128.py.txt", "METADATA-2.8.0+cu128.txt", installer="uv")
    add_torch(second, "2.13.0+cpu.py.txt", "METADATA-2.13.0+cpu.txt")
    facts = probe_torch_static(path=[str(first), str(second)])
    assert (facts.version, facts.installer, facts.cuda_build) == ("2.8.0+cu128", "uv", "12.8")
    assert facts.shadowed == (Dist("torch", "2.13.0+cpu", str(second), "pip"),)


def test_version_py_disagreeing_with_metadata(tmp_path):
    add_torch(tmp_path, "2.8.0+cu128.py.txt", "METADATA-2.13.0+cpu.txt")
    facts = probe_torch_static(path=[str(tmp_path)])
    assert facts.detail == "torch 2.13.0+cpu; torch/version.py says 2.8.0+cu128"
    assert facts.version_py_version == "2.8.0+cu128"
    assert facts.local_label == "cpu"


def _raw(**over):
    raw = {
        "reader": 1,
        "python": {
            "executable": "/opt/conda/bin/python",
            "version": "3.11.9",
            "prefix": "/opt/conda",
        },
        "marker_env": {
            "sys_platform": "linux",
            "platform_machine": "x86_64",
            "platform_system": "Linux",
            "python_version": "3.11",
        },
        "conda": {
            "env": True,
            "records": [
                "pytorch-2.5.1-py3.11_cuda12.4_cudnn9.1.0_0",
                "pytorch-cuda-12.4-hc786d27_7",
            ],
        },
        "dists": [
            {
                "name": "torch",
                "canon": "torch",
                "version": "2.5.1",
                "location": "/opt/conda/lib/python3.11/site-packages",
                "installer": None,
                "requires": [],
            }
        ],
        "version_py": {
            "path": "/opt/conda/lib/python3.11/site-packages/torch/version.py",
            "values": {"__version__": "2.5.1", "cuda": "12.4", "hip": None},
        },
    }
    raw.update(over)
    return raw


def test_conda_install_from_records():
    facts = facts_from_raw(_raw())
    assert (facts.installer, facts.conda_env, facts.variant, facts.local_label) == (
        "conda",
        True,
        "cu124",
        None,
    )
    assert facts.conda_records[1] == "pytorch-cuda-12.4-hc786d27_7"


@pytest.mark.parametrize(
    "values, label, variant",
    [
        (
            {"__version__": "2.5.1+rocm6.2", "cuda": None, "hip": "6.2.41133-dd7f95766"},
            "rocm6.2",
            "rocm6.2",
        ),
        ({"__version__": "2.5.1", "cuda": None, "hip": "6.2.41133-dd7f95766"}, None, "rocm6.2"),
        ({"__version__": "2.7.0+xpu", "cuda": None, "hip": None, "xpu": "20250001"}, "xpu", "xpu"),
        ({"__version__": "2.7.0", "cuda": None, "hip": None}, None, "cpu"),
        ({"__version__": "2.7.0+git1234", "cuda": "12.6", "hip": None}, "git1234", "cu126"),
    ],
)
def test_variant_rules(values, label, variant):
    raw = _raw(conda={"env": False, "records": []})
    raw["dists"][0]["version"] = values["__version__"].split("+")[0]
    raw["version_py"]["values"] = values
    facts = facts_from_raw(raw)
    assert (facts.local_label, facts.variant) == (label, variant)


def test_not_reader_output():
    with pytest.raises(ValueError):
        facts_from_raw({"reader": 99})


# -- another interpreter, through a real child -------------------------------------------------




def test_this_interpreter_read_in_process_reports_a_torch_in_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("__version__ = 'mine'\n")
    monkeypatch.chdir(tmp_path)
    facts = probe_torch_static()
    assert [(s.name, s.shadow, s.via) for s in facts.shadows] == [
        ("torch", str(tmp_path / "torch" / "__init__.py"), "working directory")]
    assert str(tmp_path) not in facts.sys_path and "" not in facts.sys_path  # the children's policy


def test_policy_path_leaves_out_what_python_prepended(monkeypatch):
    from envcheck.children import syspath

    monkeypatch.setattr("sys.path", ["/the/script/dir", "/lib/python3.12", "/site"])
    assert syspath.policy_path() == ["/lib/python3.12", "/site"]
