"""Writing files without clobbering or half-writing them: the one place envcheck writes files.

A file is written to a temporary file in the same folder, flushed to disk, given the mode the
old file had (else the mode any new file of the user's would get) and only then renamed over
the target, so a reader sees the old content or the new, never a mix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from envcheck.errors import InputError, OutputExistsError

__all__ = ["write_temp", "write_atomic", "discard"]


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
    tmp = write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
