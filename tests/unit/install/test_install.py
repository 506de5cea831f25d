"""install-command and requirements: official command text, policy scenarios, this machine, bad input."""

from __future__ import annotations

import json
import re

import pytest

from helpers.paths import DATA, ROOT
from envcheck.install import commands
from envcheck.install.choose import choose, target_from_options
from envcheck.matrix import store
from envcheck.matrix.variants import parse_variant

REFERENCE = json.loads((DATA / "upstream_reference.json").read_text(encoding="utf-8"))["releases"]

# Official commands envcheck deliberately does not reproduce word for word, and why.
EXEMPT = {
    ("1.8.0", "rocm4.0.1"): "the page builds torchvision from git; envcheck pins torch and says so",
    ("1.10.2", "rocm4.2"): "the selector's ROCm command is unpinned and omits torchaudio; envcheck pins the triple",
}


def _cases(kind):
    for r in REFERENCE:
        for key, text in (r[f"{kind}_commands"] or {}).items():
            if key == "osx":
                os_name, v = "macos", "cpu"
            elif key.startswith("windows_"):
                os_name, v = "windows", key.split("_", 1)[1]
            elif key.endswith("_linux"):
                os_name, v = "linux", key[: -len("_linux")]
            elif key.endswith("_windows"):
                os_name, v = "windows", key[: -len("_windows")]
            else:
                os_name, v = "linux", key
            yield pytest.param(r["torch"], v, os_name, text, id=f"{r['torch']}-{key}")


def norm(cmd: str, official: str) -> str:
    """Whitespace-insensitive; pip3 is pip; pins dropped where the official text has none."""
    cmd = re.sub(r"\s+", " ", cmd.strip())
    cmd = re.sub(r"^pip3 ", "pip ", cmd)
    if "==" not in official:
        cmd = re.sub(r"==[0-9][0-9.]*(\+[a-z0-9.]+)?", "", cmd)
    return cmd


@pytest.mark.parametrize("torch, variant, os_name, official", list(_cases("pip")))
def test_pip_commands_match_official_text(matrix, torch, variant, os_name, official):
    rel = matrix.get(torch)
    plan = commands.pip_plan(rel, parse_variant(variant), os_name)
    ours = commands.pip_command(plan)
    if official.startswith("Download and install wheel from"):
        page = official.split("from ", 1)[1].rsplit("/", 1)[0]
        assert plan.wheel_url.startswith(page + "/torch-" + torch)
        return
    if (torch, variant) in EXEMPT:
        url = re.search(r"https://\S+", official).group(0)
        assert url in ours, EXEMPT[(torch, variant)]
        return
    assert norm(ours, official) == norm(official, official)


@pytest.mark.parametrize("torch, variant, os_name, official", list(_cases("conda")))
def test_conda_commands_match_official_text(matrix, torch, variant, os_name, official):
    ours = commands.conda_command(matrix.get(torch), parse_variant(variant), os_name)
    assert ours is not None
    assert norm(ours, official) == norm(official, official)


def test_no_pytorch_conda_packages_from_2_6(matrix):
    for rel in matrix.releases:
        if rel.key >= (2, 6):
            assert all(commands.conda_command(rel, v) is None for v in rel.variants)


def _choose(matrix, **kw):
    kw.setdefault("os_name", "linux")
    kw.setdefault("python", "3.11")
    return choose(matrix, target_from_options(**kw))


# (options, expected torch, expected build, words that must appear in reasons/warnings/rejections)
SCENARIOS = [
    # Drivers around Table 2 (minor-version compatibility) and Table 3 (full support).
    (dict(driver="570.26", torch="2.11"), "2.11.0", "cu128", ["fully supports"]),
    # 570.25 is short of 12.8's 570.26 but fully supports 12.6: the full build beats the newer one.
    (dict(driver="570.25", torch="2.11"), "2.11.0", "cu126", ["fully supports", "only in minor-version compatibility mode; cu126 is fully supported"]),
    # Nothing of 2.11 is fully supported by 525.60.13 (12.0): the build closest to it, in compatibility mode.
    (dict(driver="525.60.13", torch="2.11"), "2.11.0", "cu126", ["minor-version compatibility", "closest"]),
    (dict(driver="525.60.12", torch="2.11"), "2.11.0", "cpu", ["NO GPU BUILD FITS", "upgrade the NVIDIA driver"]),
    (dict(driver="580.65.06", torch="2.11"), "2.11.0", "cu130", []),
    # 575.57.08 is 12.9's own driver: 2.11's cu129, off the install selector, is its newest full build.
    (dict(driver="575.57.08", torch="2.11"), "2.11.0", "cu129", ["too old for CUDA 13.0", "not on the install selector"]),
    # With the GPU known, a cu129 whose GPU code no source lists is not picked: cu128 carries sm_89.
    (dict(driver="575.57.08", torch="2.11", ccs=("8.9",)), "2.11.0", "cu128", ["its GPU code is unknown"]),
    (dict(driver="570.25", torch="2.11", strict_driver=True), "2.11.0", "cu126", ["--strict-driver"]),
    (dict(driver="470.82.01", python="3.9"), "2.7.1", "cu118", ["minor-version compatibility"]),
    (dict(driver="450.80.02", torch="2.7.1"), "2.7.1", "cu118", ["minor-version compatibility"]),
    (dict(driver="450.80.01", torch="2.7.1"), "2.7.1", "cpu", ["too old"]),
    # Windows 528.33: Table 3 gives 11.8 (520.06) fully; 12.1 and 12.4 only in compatibility mode.
    (dict(driver="528.33", torch="2.5.1", os_name="windows"), "2.5.1", "cu118", ["fully supports CUDA 11.8"]),
    (dict(driver="528.33", torch="2.5.1", os_name="windows", cuda="12.4"), "2.5.1", "cu124", ["minor-version compatibility"]),
    # Architecture drops.
    (dict(driver="580.65.06", ccs=("7.0",), torch="2.11"), "2.11.0", "cu126", ["no code for the 7.0 GPU"]),
    (dict(driver="580.65.06", ccs=("7.0",), torch="2.10"), "2.10.0", "cu128", ["no code for the 7.0 GPU"]),
    (dict(driver="580.65.06", ccs=("6.1",), torch="2.8"), "2.8.0", "cu126", ["Pascal"]),
    (dict(driver="570.124.06", ccs=("12.0",), torch="2.7"), "2.7.1", "cu128", []),
    (dict(driver="570.124.06", ccs=("12.0",), torch="<2.7"), "2.6.0", "cpu", ["NO GPU BUILD FITS", "older torch"]),
    (dict(driver="535.104.05", ccs=("3.7",), torch="<2.9"), "2.7.1", "cu118", ["fully supports CUDA 11.8", "Kepler"]),
    (dict(driver="580.65.06", ccs=("9.0", "7.0"), torch="2.11"), "2.11.0", "cu126", ["7.0"]),  # every GPU must run it
    # Python too new / too old.
    (dict(python="3.13", driver="580.65.06", torch="<2.6"), "2.5.1", "cu124", []),
    (dict(python="3.8", cpu=True), "2.4.1", "cpu", ["Python 3.8"]),
    # Windows, macOS.
    (dict(os_name="windows", cuda="12.8", torch="2.7.1"), "2.7.1", "cu128", []),
    (dict(os_name="macos", torch="2.7.1"), "2.7.1", "cpu", ["MPS"]),
    (dict(os_name="linux", python="3.12"), "2.15.0", "cpu", ["no driver"]),
    (dict(os_name="linux", python="3.10"), "2.14.1", "cpu", ["no driver"]),  # 2.15.0 requires Python >= 3.11
]


@pytest.mark.parametrize("opts, torch, build, words", SCENARIOS, ids=[str(i) for i in range(len(SCENARIOS))])
def test_policy(matrix, opts, torch, build, words):
    c = _choose(matrix, **opts)
    assert (c.release.torch, c.variant.label) == (torch, build), c.to_dict()
    text = " ".join(c.reasons + c.warnings + [r.reason for r in c.rejected])
    for w in words:
        assert w in text, (w, text)


def test_compat_mode_warns_what_it_costs(matrix):
    c = _choose(matrix, driver="535.104.05", torch="2.14.1", ccs=("8.9",), python="3.12")
    assert c.variant.label == "cu126" and c.driver_status == "compat"
    cost = c.warnings[0]
    assert "PTX" in cost and "the provided PTX was compiled with an unsupported toolchain" in cost
    assert ">= 560.28.03 for full support" in cost
    # The newest release the driver fully supports, as the alternative, in the JSON too.
    assert (c.alternative.release.torch, c.alternative.variant.label) == ("2.7.1", "cu118")
    assert c.alternative.driver_status == "full"
    assert c.to_dict()["alternative"]["variant"] == "cu118"
    assert any(w.startswith("alternative: torch 2.7.1 (cu118)") for w in c.warnings)


def test_cpu_fallback_is_loud(matrix):
    c = _choose(matrix, driver="418.39")
    assert c.fallback and c.variant.label == "cpu"
    assert c.warnings and c.warnings[0].startswith("NO GPU BUILD FITS")


def test_unknown_row_is_not_recommended_unless_named(matrix):
    """A release whose Pythons, default build and partners no official source settles stays
    unrecommended until named: 2.15.0 as the gathered facts had it, before the package index."""
    import dataclasses

    rel = matrix.get("2.15.0")
    unknown = dataclasses.replace(rel, confidence="unknown", package_index=None,
                                  uncertain=rel.uncertain | {"python", "torchvision", "torchaudio"})
    m = store.Matrix(tuple(unknown if r is rel else r for r in matrix.releases), matrix.toolkits, matrix.archs,
                     matrix.info)
    c = choose(m, target_from_options(cpu=True, python="3.12"))
    assert c.release.torch == "2.14.1"
    assert any(r.torch == "2.15.0" and "--torch 2.15.0" in r.reason for r in c.rejected)
    named = choose(m, target_from_options(cpu=True, torch="2.15.0", python="3.12"))
    assert named.release.torch == "2.15.0" and any("unknown" in x for x in named.caveats)


def test_the_newest_release_is_recommended_once_the_index_settles_it(matrix):
    rel = matrix.get("2.15.0")
    assert rel.recommendable and rel.confidence == "inferred"
    c = _choose(matrix, driver="595.45.04", ccs=("9.0",), python="3.12")
    assert (c.release.torch, c.variant.label, c.release.torchvision, c.release.torchaudio) == (
        "2.15.0", "cu132", "0.29.2", "2.11.1")


def test_inferred_choice_says_so(matrix):
    c = _choose(matrix, cuda="13.2", torch="2.13")
    assert any("inferred" in x for x in c.caveats)


@pytest.mark.parametrize(
    "torch, variant, os_name, expect",
    [
        ("2.7.1", "cu128", "linux", "uv pip install torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1 --torch-backend=cu128"),
        ("1.12.1", "cu113", "linux", "uv pip install torch==1.12.1+cu113 torchvision==0.13.1+cu113 torchaudio==0.12.1 --extra-index-url https://download.pytorch.org/whl/cu113"),
        ("1.7.1", "cu110", "linux", "uv pip install torch==1.7.1+cu110 torchvision==0.8.2+cu110 torchaudio==0.7.2 --find-links https://download.pytorch.org/whl/torch_stable.html"),
    ],
)
def test_uv(matrix, torch, variant, os_name, expect):
    rel, v = matrix.get(torch), parse_variant(variant)
    cmd, _ = commands.uv_command(commands.pip_plan(rel, v, os_name), rel, v)
    assert cmd == expect


def test_uv_pyproject(matrix):
    rel, v = matrix.get("2.7.1"), parse_variant("cu128")
    text = commands.uv_pyproject(commands.pip_plan(rel, v, "linux"), v)
    assert 'url = "https://download.pytorch.org/whl/cu128"' in text and "explicit = true" in text
    assert 'torch = [{ index = "pytorch-cu128" }]' in text
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        return
    doc = tomllib.loads(text)
    assert doc["tool"]["uv"]["index"][0]["explicit"] is True


# ----------------------------------------------------------------------------- the real CLI


def test_quiet_and_json(cli):
    r = cli("install-command", "--cuda", "12.8", "--torch", "2.7.1", "-q")
    assert r.stderr == "" and r.stdout.strip() == "pip install torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1 --index-url https://download.pytorch.org/whl/cu128"
    doc = json.loads(cli("install-command", "--cuda", "12.8", "--torch", "2.7.1", "--json").stdout)
    assert doc["data"]["command"].endswith("/whl/cu128")
    assert doc["data"]["choice"]["variant"] == "cu128"


def test_conda_route_after_2_5(cli):
    r = cli("install-command", "--cuda", "12.8", "--torch", "2.7.1", "--manager", "conda")
    assert r.returncode == 0
    assert r.stdout.startswith("pip install")
    assert "no conda packages" in r.stderr and "conda-forge builds" in r.stderr


def test_requirements_write_refuse_force(cli, tmp_path):
    out = tmp_path / "req.txt"
    r = cli("requirements", "--cuda", "12.8", "--torch", "2.7.1", "-o", str(out))
    assert r.returncode == 0 and r.stdout == ""
    text = out.read_text()
    assert "--index-url https://download.pytorch.org/whl/cu128" in text
    assert "torch==2.7.1+cu128" in text and "torchvision==0.22.1+cu128" in text and "torchaudio==2.7.1+cu128" in text
    assert text.startswith("# Generated by envcheck")
    out.write_text("mine\n")
    r = cli("requirements", "--cuda", "12.8", "-o", str(out))
    assert r.returncode == 2 and "--force" in r.stderr and out.read_text() == "mine\n"
    r = cli("requirements", "--cuda", "12.8", "--torch", "2.7.1", "-o", str(out), "--force")
    assert r.returncode == 0 and out.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["req.txt"]  # no temporary files left


def test_requirements_nothing_written_on_error(cli, tmp_path):
    out = tmp_path / "req.txt"
    r = cli("requirements", "--cuda", "12.x", "-o", str(out))
    assert r.returncode == 2 and not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content, codes",
    [
        ("--index-url https://download.pytorch.org/whl/cu128\ntorch==2.7.1+cu128\ntorchvision==0.22.1+cu128\n", []),
        ("--index-url https://download.pytorch.org/whl/cu128\ntorch==2.7.1+cu128\ntorchvision==0.21.0+cu128\n", ["partner-mismatch"]),
        ("torch==2.7.1+cu128\ntorchvision==0.22.1+cu126\n", ["mixed-builds", "index-missing"]),
        ("torch==2.4.0+cu124\ntorchvision==0.19.0+cu124\n", ["index-missing"]),  # PyPI has no +cu124
        ("-f https://download.pytorch.org/whl/torch_stable.html\ntorch==1.7.1+cu110\n", ["python-unsupported"]),
        ("--index-url https://download.pytorch.org/whl/cu121\ntorch==2.7.1+cu121\n", ["no-such-build"]),
        ("--index-url https://download.pytorch.org/whl/cu126\ntorch==2.7.1+cu128\n", ["index-mismatch"]),
        ("--index-url https://download.pytorch.org/whl/cu130\ntorch==2.13.0+cu130\ntorchaudio==2.13.0\n", ["no-partner"]),
        ("torch\n", ["unpinned", "no-torch"]),
        ("torch==9.9.9\n", ["unknown-release"]),
    ],
)
def test_requirements_check(cli, tmp_path, content, codes):
    f = tmp_path / "requirements.txt"
    f.write_text(content)
    r = cli("requirements", "--check", str(f), "--json")
    doc = json.loads(r.stdout)
    assert sorted(p["code"] for p in doc["data"]["problems"]) == sorted(codes)
    assert r.returncode == (1 if codes else 0)


def test_requirements_check_driver(cli, tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("--index-url https://download.pytorch.org/whl/cu130\ntorch==2.11.0+cu130\n")
    r = cli("requirements", "--check", str(f), "--driver", "570.124.06", "--json")
    assert r.returncode == 1
    assert [p["code"] for p in json.loads(r.stdout)["data"]["problems"]] == ["driver-too-old"]
    r = cli("requirements", "--check", str(f), "--cc", "7.0", "--json")
    assert [p["code"] for p in json.loads(r.stdout)["data"]["problems"]] == ["gpu-not-supported"]


def test_requirements_check_missing_file(cli, tmp_path):
    r = cli("requirements", "--check", str(tmp_path / "nope.txt"))
    assert r.returncode == 2 and "no such file" in r.stderr


REQ_DIR = ROOT / "requirements"


@pytest.mark.parametrize("path", sorted(REQ_DIR.glob("*.txt")), ids=lambda p: p.name)
def test_shipped_requirements_are_fresh(cli, path):
    """Each file names the command that made it; running it again must give the same text."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^# Re-create with: envcheck (.+)$", text, re.M)
    assert m, "every shipped requirements file says how to re-create it"
    r = cli(*m.group(1).split(), "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout == text, f"{path.name} is stale: re-create it with the command in its header"
    check = cli("requirements", "--check", str(path))
    assert check.returncode == 0, check.stdout


def test_shipped_requirements_cover_every_build(matrix):
    names = {p.name for p in REQ_DIR.glob("*.txt")}
    c = choose(matrix, target_from_options(cpu=True, os_name="linux", python=None))
    rel = c.release
    assert {f"torch-{rel.torch}-{v.label}.txt" for v in rel.variants} == names


# ----------------------------------------------------------- found by a new-user review


def test_conda_builds_differ_from_pip(cli):
    """torch 1.9.0: pip wheels are cu111, PyTorch's conda packages cu113."""
    r = cli("install-command", "--manager", "conda", "--torch", "1.9.0", "--cuda", "11.3", "--python", "3.8", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "conda install pytorch==1.9.0 torchvision==0.10.0 torchaudio==0.9.0 cudatoolkit=11.3 -c pytorch -c conda-forge"
    r = cli("install-command", "--torch", "1.9.0", "--cuda", "11.3", "--python", "3.8")
    assert r.returncode == 2 and "--manager conda" in r.stderr


def test_quiet_never_hides_a_command_that_will_not_work(cli):
    r = cli("install-command", "-q", "--cuda", "12.8", "--driver", "450.80.02")
    assert r.returncode == 1
    assert r.stdout.strip().endswith("/whl/cu128")
    assert "will not run on this target" in r.stderr
    doc = json.loads(cli("install-command", "--cuda", "12.8", "--driver", "450.80.02", "--json").stdout)
    assert doc["status"] == "problems" and doc["data"]["choice"]["will_not_run"] is True
    r = cli("install-command", "-q", "--cc", "6.1", "--cc", "12.0", "--driver", "580.95.05")
    assert r.returncode == 0 and r.stdout.strip().endswith("/whl/cpu")
    assert "NO GPU BUILD FITS" in r.stderr


def test_requirements_refuses_a_file_that_cannot_work(cli, tmp_path):
    out = tmp_path / "r.txt"
    r = cli("requirements", "--cuda", "12.8", "--driver", "450.80.02", "-o", str(out))
    assert r.returncode == 2 and not out.exists() and "will not run" in r.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--cuda", "12.1"], "--cuda cannot be combined"),
        (["-o", "x.txt"], "-o/--output cannot be combined"),
        (["--torch", "2.7"], "--torch cannot be combined"),
    ],
)
def test_requirements_check_rejects_options_it_would_ignore(cli, tmp_path, args, needle):
    f = tmp_path / "r.txt"
    f.write_text("--index-url https://download.pytorch.org/whl/cu128\ntorch==2.7.1+cu128\n")
    r = cli("requirements", "--check", str(f), *args)
    assert r.returncode == 2 and needle in r.stderr and r.stdout == ""


def test_pyproject_needs_uv(cli):
    r = cli("install-command", "--pyproject", "--cuda", "12.8")
    assert r.returncode == 2 and "--manager uv" in r.stderr


def test_windows_cuda13_driver_rule(matrix):
    c = _choose(matrix, os_name="windows", ccs=("8.6",), driver="560.94", torch="2.14.1")
    assert c.variant.label == "cu126"
    reasons = {r.variant: r.reason for r in c.rejected}
    assert "needs >= 580" in reasons["cu130"]


def test_bare_envcheck_prints_help(cli):
    r = cli()
    assert r.returncode == 0 and "Commands:" in r.stdout and r.stderr == ""


def test_matrix_cc_says_unknown_not_none(cli):
    r = cli("matrix", "--cc", "8.6", "--torch", "1.7.1")
    assert "unknown (no architecture data" in r.stdout


