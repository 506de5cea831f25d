"""Reading what a user names and writing files without clobbering them: the one place for both.

:func:`read_input` reads a file given on the command line (``--facts``, ``--config``,
``requirements --check``, ``--report``) or ``-`` (standard input): only a regular file (a FIFO
with no writer, ``/dev/zero`` or a folder would hang or fill memory), and at most a stated
number of bytes, so bad input is one line (exit 2) in bounded memory.

A file is written to a temporary file in the same folder, flushed to disk, given the mode the
old file had (else the mode any new file of the user's would get) and only then renamed over
the target, so a reader sees the old content or the new, never a mix.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from typing import IO, Optional, Type

from envcheck.errors import EnvcheckError, InputError, OutputExistsError

__all__ = ["read_input", "write_temp", "write_atomic", "discard", "MIB"]

MIB = 1024 * 1024


def _kind(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_input(path: str, what: str, limit: int, *, stdin: Optional[IO[bytes]] = None,
               error: Type[EnvcheckError] = InputError, too_big: str = "is it the right file?") -> bytes:
    """The bytes of ``path`` (``-``: standard input), at most ``limit`` of them.

    ``what`` names the input in messages ("facts file"), ``too_big`` is the advice after "larger
    than N MiB". Anything but a regular file is refused
    before it is opened (a FIFO without a writer would block forever, ``/dev/zero`` never ends);
    a file over ``limit`` is refused by its size, standard input by reading one byte past it.
    Every refusal is ``error`` (default :class:`InputError`, exit 2) with one line.
    """
    import stat

    name = "standard input" if path == "-" else path
    too_big_error = error("{}: {} larger than {} MiB; {}".format(name, what, limit // MIB, too_big))
    try:
        if path == "-":
            fh = stdin if stdin is not None else sys.stdin.buffer
            if getattr(fh, "isatty", lambda: False)():  # it would wait for typing, not for a file
                raise error("-: standard input is a terminal, not a {}".format(what),
                            hint="pipe it in: `... - < FILE`")
            data = fh.read(limit + 1)
        else:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                raise error("{}: {}, not a {} (give a regular file, or - for standard input)".format(
                    path, _kind(st.st_mode), what))
            if st.st_size > limit:
                raise too_big_error
            # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open() cannot block on it
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise error("{}: not a regular file, not a {}".format(path, what))
                data = fh.read(limit + 1)
    except OSError as exc:
        raise error("{}: cannot read ({})".format(name, exc.strerror or exc)) from None
    if len(data) > limit:
        raise too_big_error
    return data


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_temp(target: Path, text: str) -> str:
    """Write ``text`` to a fsynced temporary file beside ``target``; return its path.

    The caller renames it over ``target`` with ``os.replace`` (or removes it with :func:`discard`).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600 files
            os.fchmod(fd, _mode_for(target))
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        discard(tmp)
        raise
    return tmp


def discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def write_atomic(path: Path, text: str, *, force: bool) -> None:
    """Write one file all or nothing; an existing file is replaced only with ``force``."""
    if path.is_dir():
        raise InputError(f"{path} is a directory")
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to overwrite it")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {path}: folder {directory} does not exist")
    try:
        tmp = write_temp(path, text)
    except OSError as exc:  # a read-only folder, a full disk, a path too long
        raise InputError(f"cannot write {path}: {exc.strerror or exc}",
                         hint="choose a folder you can write to with -o") from None
    try:
        os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        discard(tmp)
        raise
