"""The GPU proof (tests/gpu/prove.sh) run dry on this machine, and the fixtures GPU runs leave.

The script itself runs here for real, in its dry mode: GPU steps say why they were skipped, the
CPU steps run, the three files come back and the summary is regenerated identically. Its tools
run here too: the NVML recorder around the recorded-NVML fake, the summary on reports the real
judge produced, the fixture maker on the dry run. Every fixture folder under tests/data/gpu/
(one per real GPU run, made by tests/gpu/make_fixtures.py) is checked against envcheck's parsers.
"""

from __future__ import annotations

from helpers import paths
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from envcheck.facts.codec import load_facts
from envcheck.probes.nvml import probe_nvml
from envcheck.proc import ProcResult
from envcheck.render import envelope
from envcheck.render import verify_text as render
from envcheck.verify import perf, plan as verify_plan, report as verify_report
from envcheck.verify.model import DeviceReport, VerifyReport
from helpers.fakes import FakeNvml, load_recording

ROOT = paths.ROOT
GPU = ROOT / "tests" / "gpu"
RECORDED = ROOT / "tests" / "data" / "gpu"
STEPS = ["nvidia-smi", "nvidia-smi-q", "nvml-record", "pip-freeze", "facts", "diagnose", "verify-perf",
         "verify", "verify-events", "preflight", "preflight-distributed", "pytest-gpu"]
GPU_STEPS = {"nvidia-smi", "nvidia-smi-q", "verify-perf", "verify-events", "pytest-gpu"}
HAVE_TORCH = importlib.util.find_spec("torch") is not None
script = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not (shutil.which("bash") and shutil.which("timeout")),
    reason="prove.sh is a script for Linux GPU machines (bash, coreutils timeout)")


def _module(name: str):
    spec = importlib.util.spec_from_file_location("prove_" + name, GPU / (name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


summarize = _module("summarize")
record_nvml = _module("record_nvml")
make_fixtures = _module("make_fixtures")


def prove(out: Path, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, OUT=str(out), PYTHON=sys.executable,
                ENVCHECK_DATA_DIR=str(ROOT / "tests" / "data" / "no-user-data"))
    full.update(env)
    return subprocess.run(["bash", str(GPU / "prove.sh")], env=full, cwd=str(ROOT), capture_output=True,
                          text=True, timeout=600)


def unpack(out: Path) -> Path:
    work = out / "unpacked"
    work.mkdir()
    with tarfile.open(out / "prove.tar.gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                (work / Path(m.name).name).write_bytes(tar.extractfile(m).read())
    return work


@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    out = tmp_path_factory.mktemp("prove")
    proc = prove(out, PROVE_DRY="1")
    return proc, out, unpack(out)


def _steps(work: Path) -> dict:
    return {s["step"]: s for s in summarize.read_steps(work)}


# -- the script, dry -------------------------------------------------------------------------


@script
def test_dry_run_runs_the_cpu_steps_and_skips_the_gpu_ones(dry):
    proc, out, work = dry
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["prove.tar.gz", "summary.json", "summary.txt"]
    steps = _steps(work)
    assert list(steps) == STEPS
    for name in GPU_STEPS:
        assert steps[name]["rc"] is None and steps[name]["status"].startswith("skipped: "), steps[name]
    for name in ("nvml-record", "facts", "diagnose", "preflight"):
        assert steps[name]["rc"] in (0, 1) and steps[name]["wall_s"] > 0, steps[name]
        assert steps[name]["command"].startswith(sys.executable), steps[name]
    facts = load_facts(str(work / "facts.json"))  # the machine's snapshot, through envcheck's codec
    assert facts.redacted is False
    assert json.loads((work / "diagnose.json").read_text())["command"] == "diagnose"
    assert json.loads((work / "preflight.json").read_text())["data"]["mode"] == "node"
    # The NVML recording replays to what the probe saw live (here: no driver).
    replayed = probe_nvml(FakeNvml(json.loads((work / "nvml.json").read_text())), smi=None, nvml_timeout=None)
    assert (replayed.status, replayed.error_code) == (facts.driver.status, facts.driver.error_code)


@script
def test_dry_run_summary_is_regenerated_identically(dry):
    proc, out, work = dry
    text = (out / "summary.txt").read_text()
    doc = json.loads((out / "summary.json").read_text())
    assert (work / "summary.txt").read_text() == text
    again = summarize.summarize(work, doc["run"]["wall_s"])
    assert summarize.render(again) == text and json.loads(json.dumps(again)) == doc
    keys = [line.split()[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert keys[:13] == ["mode", "reason", "started", "commit", "uname", "python", "torch", "torch_runtime",
                         "gpus", "budget_s", "wall_s", "driver", "step"]
    assert keys[13:25] == STEPS
    assert "target.verify-perf-wall" in keys and "target.distributed-report" in keys
    assert doc["run"]["mode"] == "dry" and doc["run"]["gpus"] == 0
    assert proc.stdout.endswith(text)


@script
@pytest.mark.torch
@pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")
def test_dry_run_with_torch_verifies_the_cpu_and_launches_ranks(dry):
    _, out, work = dry
    steps = _steps(work)
    assert steps["verify"]["status"] == "ok", steps["verify"]
    assert json.loads((work / "verify.json").read_text())["data"]["summary"]["verdict"] == "passed"
    assert steps["preflight-distributed"]["rc"] in (0, 1), steps["preflight-distributed"]
    assert "--backend gloo" in steps["preflight-distributed"]["command"]
    doc = json.loads((out / "summary.json").read_text())
    target = {t["key"]: t["result"] for t in doc["targets"]}
    assert target["target.distributed-report"] == "met: 1 JSON report(s), 2 of 2 ranks reported"
    assert doc["results"]["verify"].startswith("passed: ")


@script
@pytest.mark.skipif(HAVE_TORCH, reason="torch is installed: the torch steps run")
def test_dry_run_without_torch_says_so(dry):
    steps = _steps(dry[2])
    for name in ("verify", "preflight-distributed"):
        assert steps[name]["status"] == "skipped: torch not installed"


@script
def test_a_hanging_step_is_recorded_and_the_next_one_runs(tmp_path):
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *"envcheck facts"*) exec sleep 60 ;;\n'
        '  *find_spec*) exit 1 ;;\n'  # torch "not installed": keeps this test short
        "esac\n"
        'exec "{}" "$@"\n'.format(sys.executable))
    fake.chmod(0o755)
    out = tmp_path / "out"
    proc = prove(out, PROVE_DRY="1", PYTHON=str(fake), PROVE_STEP_TIMEOUT="2")
    assert proc.returncode == 1, proc.stderr  # a step timed out
    steps = _steps(unpack(out))
    assert (steps["facts"]["rc"], steps["facts"]["status"]) == (124, "timed-out after 2 s")
    assert 1.5 < steps["facts"]["wall_s"] < 30
    assert steps["diagnose"]["rc"] is not None and steps["diagnose"]["status"] != "skipped"
    assert "timed-out after 2 s" in (out / "summary.txt").read_text()


FAKE_SMI = """#!/bin/sh
case "$1" in
  -L) echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-3c0768fd-b2e2-492b-a69b-78116bba6505)" ;;
  -q) printf 'Driver Version : 580.82.07\\nAttached GPUs : 1\\n    Product Name : NVIDIA H100 80GB HBM3\\n' ;;
  *) echo "| NVIDIA-SMI 580.82.07    Driver Version: 580.82.07    CUDA Version: 13.0 |" ;;
esac
"""


@script
def test_device_mode_runs_every_step(tmp_path):
    """The branch a lent GPU takes, here with an nvidia-smi that lists one GPU: every step runs (the
    GPU ones fail or measure the CPU, no GPU being there), so that branch cannot rot unseen."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(FAKE_SMI)
    (bin_dir / "nvidia-smi").chmod(0o755)
    out = tmp_path / "out"
    proc = prove(out, PATH="{}:{}".format(bin_dir, os.environ["PATH"]), PROVE_STEP_TIMEOUT="120")
    work = unpack(out)
    steps = _steps(work)
    assert list(steps) == STEPS
    torch_steps = {"verify-perf", "verify", "verify-events", "preflight-distributed"}
    for name, st in steps.items():  # each command exists and runs to an answer, GPU or not
        if HAVE_TORCH or name not in torch_steps:
            assert st["status"] in ("ok", "problems"), (name, st, (work / (name + ".err")).read_text()[-2000:])
        else:
            assert st["status"] == "skipped: torch not installed"
    assert (work / "nvidia-smi-q.txt").read_text().startswith("Driver Version : 580.82.07")
    assert steps["pytest-gpu"]["command"].endswith("-m pytest -m gpu -q -p no:cacheprovider tests/gpu")
    assert "skipped" in (work / "pytest-gpu.txt").read_text()  # no GPU behind the fake: skipped cleanly
    doc = json.loads((out / "summary.json").read_text())
    assert doc["run"]["mode"] == "device" and doc["run"]["gpus"] == 1
    if HAVE_TORCH:
        assert "--nproc-per-node 1 -m envcheck preflight --distributed" in steps["preflight-distributed"]["command"]
        assert [f["key"] for f in doc["figures"]][:1] == ["cpu.matmul-bf16"]  # torch measured the CPU
    assert proc.returncode == 0, proc.stderr


@script
def test_out_of_budget_steps_are_skipped_and_the_summary_still_written(tmp_path):
    proc = prove(tmp_path, PROVE_DRY="1", PROVE_BUDGET="5")
    assert proc.returncode == 0, proc.stderr
    statuses = {s["status"] for s in summarize.read_steps(unpack(tmp_path))}
    assert "skipped: out of time (PROVE_BUDGET=5 s)" in statuses
    assert all(s.startswith("skipped: ") for s in statuses), statuses


@script
@pytest.mark.parametrize("env, message", [
    ({"PROVE_BUDGET": "8m"}, "PROVE_BUDGET and PROVE_STEP_TIMEOUT are whole seconds, not '8m'"),
    ({"PROVE_STEP_TIMEOUT": "-1"}, "whole seconds, not '-1'"),
])
def test_bad_settings_are_one_line_and_exit_2(tmp_path, env, message):
    proc = prove(tmp_path, **env)
    assert proc.returncode == 2 and message in proc.stderr
    assert not any(tmp_path.iterdir())


@script
def test_bad_argument_and_help():
    bad = subprocess.run(["bash", str(GPU / "prove.sh"), "--gpu"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and bad.stderr.strip() == "prove.sh: unknown argument '--gpu' (use --dry or --help)"
    ok = subprocess.run(["bash", str(GPU / "prove.sh"), "--help"], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "make_fixtures.py" in ok.stdout and "set -u" not in ok.stdout


# -- the summary, on reports the real judge produced -------------------------------------------


def _perf_run(work: Path, bf16: float, wall: float) -> None:
    measured = {"matmul-bf16": {"status": "passed", "value": bf16},
                "matmul-fp16": {"status": "passed", "value": 790.0},
                "matmul-tf32": {"status": "passed", "value": 370.0},
                "copy-d2d": {"status": "passed", "value": 2900.0},
                "copy-h2d": {"status": "passed", "value": 52.0},
                "copy-d2h": {"status": "skipped", "detail": "pinned memory unavailable"}}
    dev = DeviceReport("cuda:0", "cuda", name="NVIDIA H100 80GB HBM3",
                       perf=perf.judge("cuda:0", "NVIDIA H100 80GB HBM3", measured))
    report = VerifyReport(torch={"version": "2.11.0+cu130"}, python="python3", devices=[dev], seconds=wall)
    doc = envelope("verify", exit_code=report.exit_code, data=report.to_dict())
    (work / "verify-perf.json").write_text(json.dumps(doc))
    (work / "run.env").write_text("mode=device\nreason=\ngpus=1\n")
    (work / "steps.tsv").write_text("step\trc\twall_s\tstatus\tcommand\n"
                                    "verify-perf\t0\t{}\tok\tpython -m envcheck verify --perf --json\n".format(wall))


def test_summary_figures_and_targets_from_a_judged_report(tmp_path):
    _perf_run(tmp_path, bf16=780.0, wall=7.9)
    s = summarize.summarize(tmp_path, 8.0)
    fig = {f["key"]: f for f in s["figures"]}
    assert list(fig) == ["gpu0." + m for m, _ in summarize.FIGURES]
    assert fig["gpu0.matmul-bf16"]["peak"] == 989 and fig["gpu0.matmul-bf16"]["verdict"] == "ok"
    assert fig["gpu0.matmul-bf16"]["fraction"] == pytest.approx(780 / 989)
    assert fig["gpu0.copy-d2d"]["peak"] == 3350 and fig["gpu0.copy-d2h"]["value"] is None
    text = summarize.render(s)
    assert "gpu0.matmul-bf16                        780.0 TFLOP/s     0.789    989.0  ok" in text
    assert "gpu0.copy-d2h                               - GB/s            -        -  skipped" in text
    targets = {t["key"]: t["result"] for t in s["targets"]}
    assert targets["target.verify-perf-wall"] == "met: 7.9 s for 1 GPU(s)"
    assert targets["target.gpu0-bf16"] == "met: 0.789"
    assert targets["target.distributed-report"] == "n/a: not run"


def test_summary_says_missed(tmp_path):
    _perf_run(tmp_path, bf16=600.0, wall=12.5)
    targets = {t["key"]: t["result"] for t in summarize.summarize(tmp_path)["targets"]}
    assert targets["target.verify-perf-wall"] == "missed: 12.5 s for 1 GPU(s)"
    assert targets["target.gpu0-bf16"] == "missed: 0.607"


def test_json_documents_counts_reports_after_launcher_noise():
    assert summarize.json_documents('W1207 torchrun warning {not json\n{"a": {"b": 1}}\n') == 1
    assert summarize.json_documents('{"a": 1}\n{"a": 2}') == 2
    assert summarize.json_documents("") == 0


# -- the NVML recorder -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["h100x8-healthy", "gpu-lost", "driver-library-mismatch", "a100-ecc-remap-pending"])
def test_recorder_writes_what_the_fake_replays(name):
    original = load_recording(name)
    recorder = record_nvml.RecordingNvml(FakeNvml(original))
    live = probe_nvml(recorder, smi=None, nvml_timeout=None)
    replayed = probe_nvml(FakeNvml(recorder.recording), smi=None, nvml_timeout=None)
    assert dataclasses.asdict(replayed) == dataclasses.asdict(live)
    assert recorder.recording.get("init_error") == original.get("init_error")
    if name == "h100x8-healthy":  # every reading the probe asks for, recorded as the fixture has it
        assert recorder.recording["system"] == original["system"]
        for got, want in zip(recorder.recording["devices"], original["devices"]):
            assert {k: _one_error(v) for k, v in got.items()} == want


def _one_error(value):
    """An enum-keyed recording whose every key raised the same error, as the fixtures write it."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) and "error" in v for v in value.values()):
        errors = {v["error"] for v in value.values()}
        if len(errors) == 1:
            return {"error": errors.pop()}
    return value


def test_recorder_on_this_machine(tmp_path):
    out = tmp_path / "nvml.json"
    proc = subprocess.run([sys.executable, str(GPU / "record_nvml.py"), str(out)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the probe's result is identical" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["format"].startswith("Recorded NVML readings") and "devices" in doc


# -- fixtures from a run ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dry_fixture(dry, tmp_path_factory):
    into = tmp_path_factory.mktemp("fixtures")
    return make_fixtures.make(dry[1] / "prove.tar.gz", into)


@script
def test_make_fixtures_redacts_and_never_clobbers(dry, dry_fixture, tmp_path):
    work = dry[2]
    assert dry_fixture.name == "no-gpu"
    raw = json.loads((work / "facts.json").read_text())
    host = raw["host"]["hostname"]
    facts = load_facts(str(dry_fixture / "facts.json"))
    assert facts.redacted and facts.host.hostname in (None, "redacted-host")
    if host:
        token = re.compile(r"(?<![\w-]){}(?![\w-])".format(re.escape(host)))
        for path in dry_fixture.iterdir():
            assert not token.search(path.read_text()), path.name
    assert {"facts.json", "nvml.json", "steps.tsv", "summary.txt"} <= {p.name for p in dry_fixture.iterdir()}
    args = [str(dry[1] / "prove.tar.gz"), "--into", str(dry_fixture.parent)]
    assert make_fixtures.main(args) == 2  # exists: refused
    assert make_fixtures.main(args + ["--name", "again"]) == 0
    assert make_fixtures.main(args + ["--force"]) == 0
    assert not [p for p in dry_fixture.parent.iterdir() if p.name.startswith(".fixture-")]
    assert make_fixtures.main([str(tmp_path)]) == 1  # not a run


def test_redactions_are_consistent_with_envcheck_facts():
    raw = {"host": {"hostname": "gpu-node-7"},
           "driver": {"gpus": [{"uuid": "GPU-aaaa-1", "serial": "1320123456789"}, {"uuid": "GPU-bbbb-2"}]}}
    subs = make_fixtures.redactions(raw)
    text = ('{"uuid": "aaaa-1", "x": "GPU-bbbb-2", "serial": "1320123456789"} host gpu-node-7: '
            "gpu-node-7.example gpu-node-70")
    for pattern, repl in subs:
        text = pattern.sub(repl, text)
    assert text == ('{"uuid": "redacted-0", "x": "GPU-redacted-1", "serial": "redacted"} host redacted-host: '
                    "redacted-host.example gpu-node-70")


# -- every recorded run, against envcheck's parsers ----------------------------------------------


def check_recording(d: Path, tmp: Path) -> list:
    """What a run's fixture must satisfy; returns the names of the checks that applied."""
    facts = load_facts(str(d / "facts.json"))
    done = []
    # NVML: the recording replays to the driver facts collected in the same run.
    rec = json.loads((d / "nvml.json").read_text())
    root = tmp / d.name
    if rec.get("proc_driver_version") is not None:
        (root / "proc" / "driver" / "nvidia").mkdir(parents=True)
        (root / "proc" / "driver" / "nvidia" / "version").write_text(rec["proc_driver_version"])
    replayed = probe_nvml(FakeNvml(rec), root=str(root), smi=None, nvml_timeout=None)
    live = facts.driver
    assert (replayed.status, replayed.error_code) == (live.status, live.error_code)
    if live.status == "ok":
        assert (replayed.version, replayed.cuda_max, replayed.gpu_count) == (live.version, live.cuda_max,
                                                                             live.gpu_count)
        static = ("name", "uuid", "pci_bus_id", "compute_capability", "memory_total_mib", "mig_enabled",
                  "ecc_enabled", "power_limit_w", "clock_sm_max_mhz", "pcie_gen_max", "pcie_width_max")
        for a, b in zip(replayed.gpus, live.gpus):
            assert {f: getattr(a, f) for f in static} == {f: getattr(b, f) for f in static}
    done.append("nvml")
    # nvidia-smi -q: the same driver and GPUs as NVML.
    if (d / "nvidia-smi-q.txt").is_file():
        fields = [line.split(":", 1) for line in (d / "nvidia-smi-q.txt").read_text().splitlines() if ":" in line]
        pairs = [(k.strip(), v.strip()) for k, v in fields]
        assert ("Driver Version", live.version) in pairs
        assert [v for k, v in pairs if k == "Product Name"] == [g.name for g in live.gpus]
        done.append("nvidia-smi -q")
    if (d / "nvidia-smi.txt").is_file():
        assert "Driver Version: {}".format(live.version) in (d / "nvidia-smi.txt").read_text()
        done.append("nvidia-smi")
    # verify: the summary counts what the devices' checks say.
    for fname in ("verify.json", "verify-perf.json"):
        if (d / fname).is_file():
            data = json.loads((d / fname).read_text())["data"]
            checks = [c for dev in data["devices"] for c in dev["checks"]] + data["multi_gpu"]
            for status in ("passed", "failed", "skipped"):
                assert data["summary"][status] == sum(c["status"] == status for c in checks)
            done.append(fname)
    # The verify child's real events parse to the checks and measurements verify reported.
    events_file = d / "verify-events-cuda0.jsonl"
    if events_file.is_file() and (d / "verify-perf.json").is_file():
        events = verify_report.read_events(events_file.read_text())
        planned = list(verify_plan.CHECKS) + list(verify_plan.PERF_CHECKS)
        proc = ProcResult(argv=("python",), returncode=0, stdout="", stderr="", seconds=1.0)
        report = verify_report.device_report(events, proc, label="cuda:0", planned=planned, timeout=300)
        recorded = json.loads((d / "verify-perf.json").read_text())["data"]["devices"][0]
        mine = [(c.name, c.status) for c in report.checks]
        assert mine == [(c["name"], c["status"]) for c in recorded["checks"] if c["name"] in planned]
        assert set(verify_report.perf_measurements(events)) == {line["metric"] for line in recorded["perf"]["lines"]}
        text = "\n".join(render.text_lines(VerifyReport(torch={}, python="python", devices=[report])))
        assert report.name and report.name in text
        done.append("verify events")
    # The judge gives the recorded verdicts for the recorded measurements and readings.
    if (d / "verify-perf.json").is_file():
        for dev in json.loads((d / "verify-perf.json").read_text())["data"]["devices"]:
            p = dev["perf"]
            measured = {line["metric"]: {"status": "passed" if line["status"] == "measured" else line["status"],
                                         "value": line["value"], "detail": line["note"]} for line in p["lines"]}
            again = perf.judge(dev["device"], dev["name"], measured, p["readings"]).to_dict()
            assert [(x["metric"], x["peak"], x["fraction"], x["verdict"]) for x in again["lines"]] == \
                [(x["metric"], x["peak"], x["fraction"], x["verdict"]) for x in p["lines"]]
        done.append("perf judge")
    return done


RUNS = sorted(p.parent for p in RECORDED.glob("*/facts.json"))


@pytest.mark.parametrize("run", RUNS or [pytest.param(None, marks=pytest.mark.skip(
    reason="no GPU run recorded yet: run tests/gpu/prove.sh on a GPU, then tests/gpu/make_fixtures.py"))],
    ids=[p.name for p in RUNS] or ["none"])
def test_recorded_gpu_run(run, tmp_path):
    done = check_recording(run, tmp_path)
    assert {"nvml", "nvidia-smi -q", "nvidia-smi", "verify.json", "verify-perf.json", "verify events",
            "perf judge"} <= set(done)


@script
def test_the_checks_hold_on_a_dry_run_fixture(dry_fixture, tmp_path):
    expected = ["nvml"] + (["verify.json"] if HAVE_TORCH else [])
    assert check_recording(dry_fixture, tmp_path) == expected
