"""``envcheck diagnose --report``: pasted bug reports read into the facts model.

The corpus under ``tests/data/reports/`` holds real public pastes with the cause their thread
confirmed (``cases.json``); the table-driven test checks every case. The other tests pin the
reader's formats, the rule that an unknown fact never produces a finding, and the bad inputs.
"""

from __future__ import annotations

from helpers import paths
import json

import pytest

from envcheck.errors import InputError
from envcheck.reports import MAX_BYTES, load_report, read_report

DATA = paths.DATA / "reports"
CASES = json.loads((DATA / "cases.json").read_text(encoding="utf-8"))["cases"]


def _diagnose(facts, matrix):
    from envcheck.rules import diagnose

    return diagnose(facts, matrix, strict=True)


def _has(diag, want: str) -> bool:
    for alt in want.split("|"):
        code, _, kind = alt.partition("/")
        for f in diag.findings:
            if f.code != code:
                continue
            if not kind or any(e.endswith(".kind = " + kind) for e in f.evidence):
                return True
    return False


def judge(case, matrix):
    """(right, false alarms, what went wrong) for one case. A report envcheck cannot read at all
    has no findings: right only if nothing was expected of it."""
    try:
        facts = load_report(str(DATA / case["file"]))
    except InputError as exc:
        return False, [], ["unreadable: {}".format(exc)]
    diag = _diagnose(facts, matrix)
    codes = [f.code for f in diag.findings]
    wrong = ["expected {}, got {}".format(w, codes) for w in case["must"] if not _has(diag, w)]
    alarms = [c for c in case["must_not"] if c in codes]
    if case["must"] == ["EC001"] and not diag.healthy:  # healthy: no error or warning, only notes
        alarms.append("not healthy: {}".format(codes))
    text = " ".join(" ".join(filter(None, (f.title, f.cause, f.fix, f.command))) for f in diag.findings)
    from envcheck.reports.reply import reply

    text += " " + reply(facts, diag).cause
    wrong += ["does not say {!r}".format(w) for w in case.get("says", ()) if w not in text]
    return not wrong and not alarms, alarms, wrong


FAMILIES = {  # the finding families the issue names, and the codes (or error kinds) that are each
    "driver too old": ("EC101", "driver-too-old"), "CPU build": ("EC201",), "GPU code missing": ("EC203",),
    "partner mismatch": ("EC301", "EC302", "torchvision-nms", "torchaudio-cuda-major"),
    "NVML mismatch": ("EC105",), "no driver": ("EC103", "EC104", "no-driver"),
    "library load errors": ("EC003", "library-missing", "libcuda-missing", "cudnn-sublib"),
    "visibility": ("EC401", "no-cuda-gpus"), "WSL": ("EC406", "EC407"),
    "containers and shared memory": ("EC408", "shm-bus-error", "smi-no-driver", "container-toolkit-missing",
                                     "container-cli-error", "container-no-driver"),
    "shadowing": ("EC315", "shadowed-module", "torch-c-missing"),
    "extensions built for another torch": ("EC312",),
}


def test_the_corpus_is_real_and_large_enough():
    assert len(CASES) >= 40
    assert {c["file"] for c in CASES} == {p.name for p in DATA.glob("*.txt")}
    assert sum(c["must"] == ["EC001"] for c in CASES) >= 10, "healthy reports whose problem was elsewhere"
    for c in CASES:
        assert c["source"] and c["cause"] and c["must"] and c["must_not"]
    expected = " ".join(w for c in CASES if "gap" not in c for w in c["must"])
    for family, marks in FAMILIES.items():
        assert any(m in expected for m in marks), "no case for " + family
    assert "|EC312" in " ".join("|" + w for c in CASES for w in c["must"])  # extension cases name EC312 too


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_case_is_diagnosed_right(case, matrix):
    right, alarms, wrong = judge(case, matrix)
    assert alarms == [], "{}: false alarm {} ('{}')".format(case["file"], alarms, case["cause"])
    if "gap" in case:  # a cause no rule expresses yet: it must still be missed (else drop the mark)
        assert not right, "{} is now diagnosed right: remove its 'gap' and update README's figure".format(case["file"])
        assert len(case["gap"]) > 40 and case["gap"].startswith("needs ")
        return
    assert right, "{}: {} ('{}')".format(case["file"], wrong, case["cause"])


def corpus_figure(matrix):
    results = [judge(c, matrix) for c in CASES]
    right = sum(r[0] for r in results)
    alarms = sum(bool(r[1]) for r in results)
    return len(CASES), right, alarms


def test_the_figure_in_readme_is_the_corpus_figure(matrix):
    """README states how many real reports are diagnosed right; the figure is computed here, so it
    cannot drift. Goal: at least 90% right and no false alarm."""
    total, right, alarms = corpus_figure(matrix)
    assert right / total >= 0.9 and alarms == 0
    line = "{} real bug reports: {} diagnosed right ({}%), {} false alarms".format(
        total, right, round(100 * right / total), alarms)
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    assert line in readme, "README should say: " + line
    for c in CASES:
        if "gap" in c:
            assert c["source"] in readme, "README lists each cause no rule expresses yet: " + c["source"]


COLLECT_ENV_1X = """\
PyTorch version: 1.0.0
Is debug build: No
CUDA used to build PyTorch: 9.0.176

OS: Ubuntu 16.04.5 LTS
GCC version: (Ubuntu 5.4.0-6ubuntu1~16.04.10) 5.4.0 20160609
CMake version: version 3.12.2

Python version: 3.6
Is CUDA available: Yes
CUDA runtime version: 9.0.176
GPU models and configuration:
GPU 0: GeForce GTX 1080 Ti
GPU 1: GeForce GTX 1080 Ti

Nvidia driver version: 396.54
cuDNN version: Probably one of the following:
/usr/local/cuda-9.0/lib64/libcudnn.so.7.1.2

Versions of relevant libraries:
[pip] numpy (1.15.4)
[pip] torch (1.0.0)
[conda] pytorch                   1.0.0           py3.6_cuda9.0.176_cudnn7.4.1_1    pytorch
"""


def test_collect_env_of_the_torch_1_era():
    facts = read_report(COLLECT_ENV_1X, "old.txt")
    assert facts.torch.version == "1.0.0" and facts.torch.variant == "cu90" and facts.torch.cuda_build == "9.0"
    assert facts.torch_runtime.is_available is True
    assert facts.driver.version == "396.54" and [g.name for g in facts.driver.gpus] == ["GeForce GTX 1080 Ti"] * 2
    assert [g.compute_capability for g in facts.driver.gpus] == ["6.1", "6.1"]
    assert facts.nvcc.release == "9.0"
    assert facts.torch.python_version == "3.6"
    assert facts.report.stated["driver.version"] == "collect_env, line 16"
    assert any(r.startswith("pytorch-1.0.0-py3.6_cuda9.0") for r in facts.torch.conda_records)


SMI_Q = """\
==============NVSMI LOG==============

Timestamp                                 : Mon Dec  7 10:00:00 2026
Driver Version                            : 580.65.06
CUDA Version                              : 13.0

Attached GPUs                             : 1
GPU 00000000:18:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    GPU UUID                              : GPU-5f1c3c1e-0000-0000-0000-000000000000
    FB Memory Usage
        Total                             : 81559 MiB
        Reserved                          : 328 MiB
"""


def test_nvidia_smi_q_and_nvcc_and_pip_freeze():
    text = SMI_Q + "\n$ nvcc -V\nCuda compilation tools, release 12.8, V12.8.93\n\n$ pip freeze\ntorch==2.8.0+cu128\ntorchvision==0.23.0+cu128\nnvidia-cudnn-cu12==9.10.2.21\n"
    facts = read_report(text, "q.txt")
    d = facts.driver
    assert (d.version, d.cuda_max) == ("580.65.06", "13.0")
    assert d.gpus[0].name == "NVIDIA H100 80GB HBM3" and d.gpus[0].memory_total_mib == 81559
    assert d.gpus[0].compute_capability == "9.0"
    assert facts.nvcc.release == "12.8"
    assert facts.torch.version == "2.8.0+cu128" and facts.torch.torchvision.version == "0.23.0+cu128"
    assert [p.name for p in facts.torch.cuda_packages] == ["nvidia-cudnn-cu12"]
    kinds = {b.kind for b in facts.report.blocks}
    assert {"nvidia-smi -q", "nvcc -V", "pip freeze"} <= kinds


def test_torch_prints_in_a_repl_and_a_print_line():
    text = ">>> import torch\n>>> torch.__version__\n'2.4.1+cpu'\n>>> torch.cuda.is_available()\nFalse\n"
    facts = read_report(text, "-")
    assert facts.torch.version == "2.4.1+cpu" and facts.torch.variant == "cpu"
    assert facts.torch_runtime.is_available is False
    facts = read_report('python -c "import torch; print(torch.__version__, torch.version.cuda)"\n2.3.0 12.1\n', "-")
    assert facts.torch.version == "2.3.0" and facts.torch.cuda_build == "12.1" and facts.torch.variant == "cu121"


def test_log_prefixes_and_bullets_do_not_hide_facts():
    """journald / docker timestamps before each line, and a bullet before an error line."""
    text = ("Oct 04 13:19:39 llm webui-start[394]: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not "
            "compatible with the current PyTorch installation.\n"
            "2025-10-04T13:19:39.123456Z The current PyTorch install supports CUDA capabilities sm_50 sm_80 sm_90.\n"
            "2025-10-04 13:19:40,001 - torch.__version__: 2.7.0+cu126\n")
    facts = read_report(text, "-")
    assert facts.torch_runtime.devices[0].name == "NVIDIA GeForce RTX 5090"
    assert facts.torch_runtime.devices[0].capability == "12.0"
    assert facts.torch_runtime.arch_list == ("sm_50", "sm_80", "sm_90")
    [e] = read_report("- `RuntimeError: CUDA error: no kernel image is available for execution on the device`\n",
                      "-").report.errors
    assert e.text.startswith("RuntimeError: CUDA error")


def test_a_mismatch_names_the_loaded_module_and_the_libraries(matrix):
    """/proc/driver/nvidia/version and nvidia-smi's "NVML library version" settle both sides."""
    text = ("$ nvidia-smi\nFailed to initialize NVML: Driver/library version mismatch\nNVML library version: 550.107\n"
            "$ cat /proc/driver/nvidia/version\n"
            "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.90.07  Release Build  (dvs-builder@U16-I3-B03-4-3)\n")
    facts = read_report(text, "-")
    assert facts.driver.kernel_module.version == "550.90.07"
    assert facts.report.stated["driver.kernel_module.version"] == "/proc/driver/nvidia/version, line 5"
    [f] = _diagnose(facts, matrix).findings
    assert f.code == "EC105" and f.title.endswith("kernel module 550.90.07 vs libraries 550.107")


def test_no_matching_distribution_for_a_pinned_release_names_its_pythons(matrix):
    """pip found no torch==X+label: the data's Pythons for release X, and the era's command for
    the labelled build; an unpinned torch keeps the general cause."""
    rel = matrix.get("2.5.1")
    [f] = _diagnose(read_report("ERROR: No matching distribution found for torch==2.5.1+cu124\n", "-"), matrix).findings
    assert f.code == "EC007"
    assert "Python {} to {} only".format(rel.python[0], rel.python[-1]) in f.cause
    assert "matrix.releases[2.5.1].python = {}".format(list(rel.python)).replace("'", "") in \
        [e.replace('"', "").replace("'", "") for e in f.evidence]
    assert "--index-url https://download.pytorch.org/whl/cu124" in f.fix
    [g] = _diagnose(read_report("ERROR: No matching distribution found for torch\n", "-"), matrix).findings
    assert "no torch wheel for this Python version" in g.cause


def test_a_driver_known_only_by_its_cuda_ceiling_is_never_sent_to_the_cpu_wheel(matrix):
    """torch's "found version 10000" (CUDA 10.0) and nothing else: the fix is the driver, and the way
    around it is the newest CUDA build whose CUDA is at most 10.0, never the CPU build."""
    import re

    text = "AssertionError:\nThe NVIDIA driver on your system is too old (found version 10000).\n"
    [f] = _diagnose(read_report(text, "-"), matrix).findings
    assert f.code == "EC007" and f.fix.startswith("Update the NVIDIA driver")
    m = re.search(r"the newest build it runs is torch (\S+) \(cu(\d+)(\d)\): `([^`]+)`", f.fix)
    assert m, f.fix
    assert (int(m.group(2)), int(m.group(3))) <= (10, 0) and "/cpu" not in m.group(4)
    newer = [r.torch for r in matrix.releases for v in r.cuda_variants()
             if tuple(v.version[:2]) <= (10, 0) and r.key > matrix.get(m.group(1)).key]
    assert newer == []  # none newer runs on CUDA 10.0


def test_the_sm_warning_alone_gives_the_gpu_code_finding_with_a_command(matrix):
    """No arch list, no build: the warning names the GPU and says torch has no code for it;
    the fix is a build whose architecture list has sm_120, never the CPU wheel."""
    text = "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation.\n"
    diag = _diagnose(read_report(text, "-"), matrix)
    [f] = diag.findings
    assert f.code == "EC203" and "torch's own warning" in f.cause
    assert "download.pytorch.org/whl/cu1" in f.command and "/cpu" not in f.command
    cuda = int(f.command.rsplit("/cu", 1)[1])
    assert cuda >= 128  # sm_120 code first shipped in the cu128 builds


def test_an_unknown_fact_never_produces_a_finding(matrix):
    """torch's version alone: no driver, no GPU, no runtime; nothing may be claimed about them."""
    diag = _diagnose(read_report("torch==2.8.0+cu128\n", "-"), matrix)
    assert [f.code for f in diag.findings] == ["EC001"]
    from envcheck.reports.reply import reply

    answer = reply(read_report("torch==2.8.0+cu128\n", "-"), diag)
    assert any("nvidia-smi" in p for p in answer.paste_next)


def test_contradicting_blocks_are_named(matrix):
    text = ("| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |\n\n"
            "Nvidia driver version: 470.82.01\nPyTorch version: 2.1.0+cu121\n")
    facts = read_report(text, "x")
    assert facts.driver.version == "535.104.05"  # nvidia-smi settles the driver
    [c] = facts.report.conflicts
    assert c.fact == "driver.version" and "470.82.01 (collect_env, line 3)" in c.values
    from envcheck.reports.reply import reply

    assert "two values for driver.version" in reply(facts, _diagnose(facts, matrix)).contradictions[0]


@pytest.mark.parametrize("content, message", [
    (b"", "the report is empty"),
    (b"   \n\n", "the report is empty"),
    (b"\x00\x01\x02" * 100, "binary data"),
    (b"hello, my model trains slowly\n", "nothing envcheck can read"),
])
def test_bad_reports_are_one_clear_line(tmp_path, content, message):
    p = tmp_path / "r.txt"
    p.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_report(str(p))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_a_huge_report_is_refused_without_reading_it(tmp_path):
    p = tmp_path / "huge.txt"
    with open(p, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper, nothing on disk
    with pytest.raises(InputError, match="larger than"):
        load_report(str(p))
    with pytest.raises(InputError, match="larger than"):
        import io

        load_report("-", stdin=io.BytesIO(b"x" * (MAX_BYTES + 1)))


def test_a_long_hostile_line_is_read_in_bounded_time():
    line = "GPU 0: " + "a " * 500_000 + " with CUDA capability sm_120 is not compatible" + "(" * 100_000
    facts = read_report("torch==2.8.0\n" + line + "\n", "-")
    assert facts.torch.version == "2.8.0"


def test_the_cli_reads_a_report_from_stdin_and_exits_1_on_errors(cli):
    text = (DATA / "pytorch-112553.txt").read_text(encoding="utf-8")
    result = cli("diagnose", "--report", "-", "--json", input=text)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["source"] == "report standard input"
    assert data["diagnosis"]["findings"][0]["code"] == "EC101"
    assert data["reply"]["cause"].startswith("The NVIDIA driver (CUDA 11.4) is too old for torch 2.1.0+cu121")
    assert data["facts"]["report"]["stated"]["driver.cuda_max"] == "error line, line 8"
    text_out = cli("diagnose", "--report", str(DATA / "pytorch-112553.txt"))
    assert "Reply to the reporter" in text_out.stdout and "not in the report" in text_out.stdout


def test_a_healthy_report_exits_0_and_never_calls_listed_gpus_no_driver(cli):
    """nvidia-smi's GPU rows without its header: a driver is there, its version is unknown."""
    result = cli("diagnose", "--report", str(DATA / "gpt2-chitchat-19.txt"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a driver listing 4 GPU(s); its version is not in the report" in result.stdout
    assert "no NVIDIA driver" not in result.stdout
    assert "4 x Tesla V100-SXM2...  sm_70" in result.stdout


def test_the_cli_refuses_report_with_machine_options_and_bad_files(cli, tmp_path):
    result = cli("diagnose", "--report", "x.txt", "--quick")
    assert result.returncode == 2 and "--report" in result.stderr
    result = cli("diagnose", "--report", str(tmp_path / "missing.txt"))
    assert result.returncode == 2 and "cannot read" in result.stderr


def _codes_kinds(text, matrix):
    diag = _diagnose(read_report(text, "-"), matrix)
    return [(f.code, next((e.split(" = ", 1)[1] for e in f.evidence if ".kind = " in e), None)) for f in diag.findings]


def test_a_container_without_gpus_is_the_cause_not_the_hosts_driver(matrix):
    smi = "$ nvidia-smi\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
    plain = "$ docker run -it --rm myimage bash\n" + smi
    assert _codes_kinds(plain, matrix) == [("EC007", "smi-no-driver")]
    facts = read_report(plain, "-")
    assert facts.driver.status == "unknown"  # the host's driver is not what nvidia-smi saw
    [f] = _diagnose(facts, matrix).findings
    assert "--gpus all" in f.fix and "docker run -it --rm myimage bash" in " ".join(f.evidence)
    # with --gpus (or nvidia-docker) the container is not the cause: the driver's module is
    for run in ("$ docker run --gpus all -it myimage bash\n", "$ nvidia-docker run -it myimage\n",
                "$ docker run --runtime=nvidia -it myimage\n"):
        assert [c for c, _ in _codes_kinds(run + smi, matrix)] == ["EC104"], run


def test_a_traceback_through_a_local_module_is_shadowing_and_an_installed_one_is_not(matrix):
    local = ('Traceback (most recent call last):\n  File "train.py", line 1, in <module>\n'
             '  File "/home/me/proj/numpy.py", line 3, in <module>\n'
             "AttributeError: module 'numpy' has no attribute 'ndarray'\n")
    assert _codes_kinds(local, matrix) == [("EC007", "shadowed-module")]
    installed = local.replace("/home/me/proj/numpy.py", "/usr/lib/python3/dist-packages/numpy.py")
    with pytest.raises(InputError, match="nothing envcheck can read"):  # an attribute error alone says nothing
        read_report(installed, "-")


def test_cuda_visible_devices_set_by_the_code_is_named(matrix):
    text = "os.environ['CUDA_VISIBLE_DEVICES'] = '3'\nRuntimeError: No CUDA GPUs are available\n"
    [f] = _diagnose(read_report(text, "-"), matrix).findings
    assert "CUDA_VISIBLE_DEVICES='3' (line 1)" in f.cause and "nvidia-smi -L" in f.fix
    [g] = _diagnose(read_report("RuntimeError: No CUDA GPUs are available\n", "-"), matrix).findings
    assert "CUDA_VISIBLE_DEVICES hides every GPU" in g.cause  # without the setting: the general cause


def test_out_of_memory_means_cuda_works(matrix):
    from envcheck.reports.reply import reply

    text = "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has a total capacity of 5.80 GiB\n"
    facts = read_report(text, "-")
    assert facts.torch_runtime.is_available is True
    diag = _diagnose(facts, matrix)
    assert diag.healthy and "ran out of GPU memory" in reply(facts, diag).cause
    assert reply(facts, diag).paste_next == ()


def test_collect_env_could_not_collect_is_a_cpu_build_only_when_torch_imported():
    cpu = read_report("PyTorch version: 2.2.2\nCUDA used to build PyTorch: Could not collect\n"
                      "ROCM used to build PyTorch: N/A\n", "-")
    assert cpu.torch.variant == "cpu"
    rocm = read_report("PyTorch version: 2.2.2\nCUDA used to build PyTorch: Could not collect\n"
                       "ROCM used to build PyTorch: 5.7.31921-d1770ee1b\n", "-")
    assert rocm.torch.variant == "rocm5.7"
    with pytest.raises(InputError):  # torch did not import: N/A everywhere states nothing
        read_report("PyTorch version: N/A\nIs debug build: N/A\n", "-")


def test_versions_typed_as_a_list_are_read():
    facts = read_report("ENV\n- torch                     2.1.2\n- flash-attn  2.5.8\n- PyTorch: 2.1.2\n- cuda 11.7\n", "-")
    assert facts.torch.version == "2.1.2" and [p.name for p in facts.torch.packages] == ["flash-attn"]


def test_a_conda_partner_without_a_label_is_not_assumed_to_be_pypis_default(matrix):
    text = ("PyTorch version: 1.13.0\nCUDA used to build PyTorch: 11.7\n"
            "[conda] pytorch                   1.13.0          py3.9_cuda11.7_cudnn8.5.0_0    pytorch\n"
            "[conda] torchaudio                0.13.0               py39_cu117    pytorch\n")
    assert "EC302" not in [c for c, _ in _codes_kinds(text, matrix)]


def test_a_reports_nvcc_is_judged_only_when_it_builds_an_extension(matrix):
    env = "PyTorch version: 2.9.0+cu129\nCUDA used to build PyTorch: 12.9\nCUDA runtime version: 13.0.88\n"
    assert "EC501" not in [c for c, _ in _codes_kinds(env, matrix)]
    build = env + ("RuntimeError: The detected CUDA version (13.0) mismatches the version that was used to compile "
                   "PyTorch (12.9). Please make sure to use the same CUDA versions.\n")
    assert "EC501" in [c for c, _ in _codes_kinds(build, matrix)]


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_the_markdown_of_a_report_fits_an_issue_comment(case, matrix):
    """--report --markdown is a comment: the reply and the findings in view, what was read folded
    in <details>, never the whole snapshot."""
    from envcheck.render.diagnose_text import result

    try:
        facts = load_report(str(DATA / case["file"]))
    except InputError:
        return  # unreadable: the triage workflow posts nothing
    diag = _diagnose(facts, matrix)
    text = "\n".join(result(facts, diag, matrix, source="report -", fmt="markdown").lines)
    visible = text.split("<details>", 1)[0]
    assert text.startswith("### envcheck's reading of this report: ")
    assert len(text) <= 4000 and len(visible) <= 1200 and visible.count("\n") <= 20, (len(text), len(visible))
    assert text.count("<details>") == 1 and "</details>" in text and "```json" not in text
    for f in diag.findings:
        if f.severity in ("error", "warning"):
            assert f.label in visible
    for path in facts.report.stated:
        assert "| `{}` |".format(path) in text
    assert "| ? |" not in text  # every stated fact's value is found
