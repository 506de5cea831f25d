"""Errors that carry their exit code; only ``cli.main`` turns them into ``sys.exit``.

Exit codes (documented in the README, tested in tests/unit/cli/ and tests/integration/cli/):

====  =============================================================================
0     success; for checks: nothing wrong
1     the command ran and found problems (a failed check, an inconsistent file)
2     bad input: a malformed or unknown version, a conflicting option, a bad file
3     could not inspect or run (torch missing or broken, no usable interpreter)
4     the compatibility data is corrupt or unreadable
5     network failure while refreshing data
6     ``fix``: what remains needs you, not an install (a driver, a reboot, permissions)
130   interrupted (Ctrl-C)
====  =============================================================================
"""

from __future__ import annotations

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "EXIT_CANNOT_RUN",
    "EXIT_DATA",
    "EXIT_NETWORK",
    "EXIT_MANUAL",
    "EnvcheckError",
    "InputError",
    "CannotRunError",
    "DataError",
    "NetworkError",
    "OutputExistsError",
]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3
EXIT_DATA = 4
EXIT_NETWORK = 5
EXIT_MANUAL = 6


class EnvcheckError(Exception):
    """Base class: a problem to report as one line, never as a traceback."""

    exit_code = EXIT_USAGE
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class InputError(EnvcheckError, ValueError):
    """The user gave something we cannot use: quote it, say what would work."""

    exit_code = EXIT_USAGE
    kind = "input"


class OutputExistsError(InputError):
    kind = "output-exists"


class CannotRunError(EnvcheckError):
    exit_code = EXIT_CANNOT_RUN
    kind = "cannot-run"


class DataError(EnvcheckError):
    """A data file is corrupt: the message names the file and the row."""

    exit_code = EXIT_DATA
    kind = "data"


class NetworkError(EnvcheckError):
    exit_code = EXIT_NETWORK
    kind = "network"
