"""OS names: the one mapping from what Python reports to envcheck's ``linux``/``windows``/``macos``.

Kept apart from :mod:`envcheck.facts.machine` so that a command which only needs the running OS
as a default (``install-command --cuda 12.8``) does not build the machine's types.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["os_of_platform"]


def os_of_platform(name: Optional[str]) -> str:
    """envcheck's OS name (``linux``, ``windows``, ``macos``) of a ``platform.system()`` value
    ("Linux", "Windows", "Darwin") or a ``sys.platform`` value ("linux", "win32", "darwin")."""
    key = (name or "").lower()
    if key in ("windows", "win32", "cygwin", "msys"):
        return "windows"
    if key in ("darwin", "macos"):
        return "macos"
    return "linux"
