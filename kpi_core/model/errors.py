"""Errors a person can act on; the CLI maps each to an exit code."""

from __future__ import annotations


class KpiError(Exception):
    """Base class: the message is shown to the user as it is."""

    exit_code = 1


class NotFound(KpiError):
    """A named thing (metric, batch, org unit, dataset) does not exist."""

    exit_code = 4


class ValidationFailed(KpiError):
    """Input was refused; `problems` lists each one."""

    exit_code = 1

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []


class WarehouseBusy(KpiError):
    """Another process holds the warehouse file lock longer than we were willing to wait."""

    exit_code = 3


class DiskFull(KpiError):
    """The disk holding the warehouse (or an upload) is full; the change was rolled back."""

    exit_code = 6


class AccessDenied(KpiError):
    """The acting user's role or part of the org tree does not allow this."""

    exit_code = 5


class LoginFailed(KpiError):
    """A sign-in was refused (wrong name or password, disabled, locked out)."""

    exit_code = 5
