"""envcheck.files: the bounded reader of a user's file and the atomic writer, without a process."""

from __future__ import annotations

import io
import os

import pytest

from envcheck.errors import InputError, OutputExistsError
from envcheck.files import MIB, read_input, write_atomic


class Tty(io.BytesIO):
    def isatty(self):
        return True


def test_a_regular_file_is_read_whole(tmp_path):
    f = tmp_path / "snap.json"
    f.write_bytes(b"{}")
    assert read_input(str(f), "facts file", MIB) == b"{}"


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path):
    f = tmp_path / "big.json"
    with open(f, "wb") as fh:
        fh.truncate(3 * MIB)  # sparse
    with pytest.raises(InputError, match=r"big\.json: facts file larger than 2 MiB"):
        read_input(str(f), "facts file", 2 * MIB)


def test_standard_input_is_read_up_to_the_limit_plus_one_byte():
    assert read_input("-", "report", 10, stdin=io.BytesIO(b"0123456789")) == b"0123456789"
    with pytest.raises(InputError, match="standard input: report larger than"):
        read_input("-", "report", 10, stdin=io.BytesIO(b"0123456789X" + b"0" * 100))


def test_a_terminal_on_standard_input_is_refused_not_waited_on():
    with pytest.raises(InputError, match="standard input is a terminal, not a facts file"):
        read_input("-", "facts file", MIB, stdin=Tty(b""))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"a FIFO \(named pipe\), not a config file"):
        read_input(str(fifo), "config file", MIB)  # opening it would block: no writer


def test_a_folder_and_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="a folder, not a facts file"):
        read_input(str(tmp_path), "facts file", MIB)
    with pytest.raises(InputError, match=r"nope: cannot read \(No such file or directory\)"):
        read_input(str(tmp_path / "nope"), "facts file", MIB)


def test_the_error_class_is_the_callers():
    class ConfigError(InputError):
        pass

    with pytest.raises(ConfigError):
        read_input("/nonexistent/x.toml", "config file", MIB, error=ConfigError)


def test_write_atomic_refuses_to_clobber_and_says_why_it_cannot_write(tmp_path):
    target = tmp_path / "req.txt"
    write_atomic(target, "a\n", force=False)
    with pytest.raises(OutputExistsError):
        write_atomic(target, "b\n", force=False)
    write_atomic(target, "b\n", force=True)
    assert target.read_text() == "b\n"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(blocker / "req.txt", "a\n", force=False)  # a file where a folder should be


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="needs Linux's /sys, which not even root can write")
def test_write_atomic_into_a_read_only_folder_is_input_error_not_a_crash():
    from pathlib import Path

    with pytest.raises(InputError, match=r"cannot write /sys/req\.txt: (Permission denied|Read-only file system)"):
        write_atomic(Path("/sys/req.txt"), "a\n", force=False)
