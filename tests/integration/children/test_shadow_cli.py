"""A shadowing torch as a user meets it: the real CLI started in a folder that holds `torch/`, or
with a torch on PYTHONPATH (EC315 in diagnose; verify's warning and failure text)."""

from __future__ import annotations

import importlib.util
import json

import pytest

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _folder(tmp_path, body="raise SystemExit('the local torch was imported')\n"):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(body)
    return str(tmp_path / "torch" / "__init__.py")


def test_diagnose_in_a_folder_with_torch_names_it(cli, tmp_path):
    shadow = _folder(tmp_path)
    res = cli("diagnose", "--quick", "--json", cwd=str(tmp_path))
    doc = json.loads(res.stdout)
    (f,) = [f for f in doc["data"]["diagnosis"]["findings"] if f["code"] == "EC315"]
    assert f["severity"] == "error" and res.returncode == 1
    assert f"shadows[torch] = {shadow} (from the working directory)" in f["evidence"]
    assert f["command"] == "mv {0} {0}_local".format(tmp_path / "torch")
    text = cli("diagnose", "--quick", cwd=str(tmp_path)).stdout
    assert "EC315 module-shadowed" in text and "mv {}".format(tmp_path / "torch") in text


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_verify_in_such_a_folder_checks_the_installed_torch_and_warns(cli, tmp_path):
    shadow = _folder(tmp_path)
    res = cli("verify", "--device", "cpu", cwd=str(tmp_path), timeout=180)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1].startswith("verify passed")
    assert f"torch from the working directory ({shadow}) shadows the installed one at " in res.stderr
    assert "programs started there import it instead (EC315)" in res.stderr


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_verify_blames_a_failing_check_on_the_torch_from_pythonpath(cli, tmp_path):
    shadow = _folder(tmp_path, "__version__ = '0.0.0+local'\n")
    res = cli("verify", "--device", "cpu", "--json", env={"PYTHONPATH": str(tmp_path)}, timeout=180)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    (device,) = doc["data"]["devices"]
    failed = [c for c in device["checks"] if c["status"] == "failed"]
    assert failed and failed[0]["failure"]["kind"] == "shadowed"
    assert failed[0]["failure"]["summary"].startswith(f"torch was imported from {shadow} (PYTHONPATH), not the "
                                                      "installed one at ")
    assert failed[0]["failure"]["fix"].startswith(f"remove {tmp_path} from PYTHONPATH")
    assert doc["data"]["torch"]["file"] == shadow and doc["data"]["torch"]["shadows"][0]["via"] == "PYTHONPATH"
