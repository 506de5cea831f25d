"""Pure parsers: sizes, Slurm hostlists, launcher environments."""

from __future__ import annotations

import pytest

from envcheck.errors import InputError
from envcheck.preflight.hostlist import InvalidHostlist, expand, first_host
from envcheck.preflight.launcher import detect
from envcheck.preflight.units import InvalidSize, SizeWithoutUnit, format_size, format_size_exact, parse_size


@pytest.mark.parametrize("text, value", [
    ("80GB", 80_000_000_000),
    ("80GiB", 80 * 2**30),
    ("1GiB", 2**30),
    ("512 MiB", 512 * 2**20),
    ("1.5TB", 1_500_000_000_000),
    ("0", 0),
    (4096, 4096),
    ("64kib", 64 * 1024),
    ("1PB", 10**15),
])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "eighty", "80XB", "-1GB", True, -5, "1.2.3GB"])
def test_parse_size_rejects(text):
    with pytest.raises(InvalidSize, match="Invalid size"):
        parse_size(text)


@pytest.mark.parametrize("text, number", [("80", "80"), (80, "80"), ("1.5", "1.5"), (" 512 ", "512")])
def test_parse_size_can_require_a_unit(text, number):
    """Thresholds people type need a unit: "80" must not become an 80-byte floor."""
    assert parse_size(text) == round(float(number))  # bytes when a unit is not required
    with pytest.raises(SizeWithoutUnit, match="has no unit") as info:
        parse_size(text, unit_required=True)
    assert info.value.number == number
    assert "{}GB".format(number) in str(info.value) and "{}GiB".format(number) in str(info.value)


@pytest.mark.parametrize("text, value", [("0", 0), (0, 0), ("0.0", 0), ("80B", 80), ("80GB", 80 * 10**9)])
def test_parse_size_zero_and_explicit_bytes_need_no_more(text, value):
    assert parse_size(text, unit_required=True) == value


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (512, "512 B"), (80 * 10**9, "80 GB"), (2**30, "1 GiB"), (10 * 2**30, "10 GiB"),
    (1_500_000_000_000, "1500 GB"), (10**15, "1 PB"), (81559 * 2**20, "81559 MiB"), (1001, "1001 B"),
])
def test_format_size_exact(n, text):
    assert format_size_exact(n) == text


def test_h100_memory_trap():
    """NVML's total for an "80GB" H100 passes 80GB and not 80GiB (documented in units)."""
    h100 = 81559 * 2**20
    assert h100 >= parse_size("80GB")
    assert h100 < parse_size("80GiB")
    assert format_size(h100) == "79.6 GiB"


@pytest.mark.parametrize("text, hosts", [
    ("gpu[01-04,07],cpu5", ["gpu01", "gpu02", "gpu03", "gpu04", "gpu07", "cpu5"]),
    ("node1", ["node1"]),
    ("a[08-10]", ["a08", "a09", "a10"]),
    ("r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]),
    ("gpu[1-2]-ib,gpu9-ib", ["gpu1-ib", "gpu2-ib", "gpu9-ib"]),
    ("x[7]", ["x7"]),
    ("h[98-101]", ["h98", "h99", "h100", "h101"]),
    ("cn-[001-002],gpu-a[3,5]", ["cn-001", "cn-002", "gpu-a3", "gpu-a5"]),
])
def test_expand(text, hosts):
    assert expand(text) == hosts
    assert first_host(text) == hosts[0]


@pytest.mark.parametrize("text", ["", "gpu[", "gpu]", "gpu[3-1]", "a,,b", "gpu[x]", "gpu[1-2", "gpu[[1]]", "a b", "n[0-99999999]"])
def test_expand_rejects(text):
    with pytest.raises(InvalidHostlist, match="Invalid hostlist"):
        expand(text)


def test_torchrun_environment():
    env = {"RANK": "5", "WORLD_SIZE": "32", "LOCAL_RANK": "5", "LOCAL_WORLD_SIZE": "8", "GROUP_RANK": "0",
           "MASTER_ADDR": "gpu01", "MASTER_PORT": "29400", "TORCHELASTIC_USE_AGENT_STORE": "True",
           "TORCHELASTIC_RUN_ID": "job7", "SLURM_PROCID": "0"}
    launch = detect(env)
    assert (launch.launcher, launch.rank, launch.world_size, launch.local_rank) == ("torchrun", 5, 32, 5)
    assert (launch.master_addr, launch.master_port, launch.agent_store, launch.run_id) == ("gpu01", 29400, True, "job7")


def test_slurm_environment_derives_master_from_nodelist():
    env = {"SLURM_PROCID": "9", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
           "SLURM_TASKS_PER_NODE": "8(x2)", "SLURM_JOB_ID": "123456", "SLURM_JOB_NODELIST": "gpu[07-08],cpu1"}
    launch = detect(env)
    assert (launch.launcher, launch.rank, launch.world_size, launch.local_rank) == ("slurm", 9, 16, 1)
    assert launch.master_addr == "gpu07"
    assert launch.master_port == 20000 + 123456 % 20000
    assert launch.local_world_size == 8
    assert launch.agent_store is False


def test_slurm_master_addr_and_port_win():
    env = {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "12345",
           "SLURM_NODELIST": "gpu[01-02]", "SLURM_NTASKS_PER_NODE": "1"}
    launch = detect(env)
    assert (launch.master_addr, launch.master_port, launch.local_world_size) == ("10.0.0.1", 12345, 1)


@pytest.mark.parametrize("env, message", [
    ({}, "needs a launcher"),
    ({"SLURM_PROCID": "0"}, "SLURM_NTASKS"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "2"}, "NODELIST"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_NODELIST": "gpu[1-"}, "Invalid hostlist"),
    ({"RANK": "4", "WORLD_SIZE": "4"}, "does not fit"),
    ({"RANK": "x", "WORLD_SIZE": "4"}, "not an integer"),
    ({"RANK": "0", "WORLD_SIZE": "1", "MASTER_PORT": "70000"}, "not a port"),
])
def test_launcher_errors(env, message):
    with pytest.raises(InputError, match=message):
        detect(env)
