"""Errors a run can end with, each tied to the CLI's exit code."""

import errno
import re
from pathlib import Path


class CreditflowError(Exception):
    """An expected failure: reported as one line on stderr with its exit code.

    `where`: where an operator looks first (an alert's where_to_look), when the failure
    knows better than its exit code does (flows/alerts.py WHERE_TO_LOOK)."""

    exit_code = 1

    def __init__(self, message: str = "", *, where: str | None = None):
        super().__init__(message)
        self.where = where


class UsageError(CreditflowError):
    exit_code = 2


class InputError(CreditflowError):
    """Invalid or missing input: nothing is computed or published."""

    exit_code = 3


class ExportNotDelivered(InputError):
    """The settled month's billing cycle is not (yet) in the data directory: the scheduled
    close waits for it (flows/monthly_close.py) before it gives up."""


class ExportNeverDelivered(ExportNotDelivered):
    """The scheduled close waited for the billing export as long as it was told to, and
    gave up: the month is not settled (a critical alert)."""


class StateConflict(CreditflowError):
    """The request conflicts with what is published (a gap, a changed month, a concurrent run)."""

    exit_code = 4


class ValidationFailure(CreditflowError):
    """The computed outputs break an invariant: nothing is published."""

    exit_code = 5


class OrchestratorUnavailable(CreditflowError):
    """Prefect (the ephemeral API or the server at PREFECT_API_URL) did not start or answer,
    after retries: nothing was run; running the same command again is safe."""

    exit_code = 6


class EnvironmentFault(CreditflowError):
    """The machine refused what the run needs under OUT (no space left, permission denied,
    a file where a folder belongs, a path too long for the file system): named up front by
    transforms/pipeline/preflight.py where it can be, otherwise when the system says so.
    Not a defect: free the space or fix the path and run the same command again (a month
    publishes in one transaction; a rerun finishes what was committed)."""

    exit_code = 6


# what the system's error numbers mean to the operator (errno names, for OSError)
_OS_FAULTS = {
    "ENOSPC": "no space left on the device",
    "EDQUOT": "the disk quota is exhausted",
    "EACCES": "permission denied",
    "EPERM": "operation not permitted",
    "EROFS": "the file system is read-only",
    "ENOTDIR": "a file is where a folder belongs",
    "EEXIST": "a file is where a folder belongs",
    "EISDIR": "a folder is where a file belongs",
    "ENAMETOOLONG": "the path is too long for the file system",
}
# DuckDB reports an OS failure as text: 'Could not write file "PATH": No space left on device'
_DUCKDB_FAULT = re.compile(
    r'"([^"]+)": (No space left on device|Permission denied|Read-only file system)'
)


def environment_fault(error: BaseException) -> "EnvironmentFault | None":
    """The one-line environment fault an unexpected error is, or None (then it is a defect).
    Reached only by what preflight could not foresee (the disk filled during the run)."""
    path, what = None, None
    if isinstance(error, OSError) and error.errno is not None:
        what = _OS_FAULTS.get(errno.errorcode.get(error.errno, ""))
        path = error.filename
    else:
        found = _DUCKDB_FAULT.search(str(error))
        if found:
            path, what = found.group(1), found.group(2)[0].lower() + found.group(2)[1:]
    if what is None or (isinstance(error, FileExistsError) and not Path(str(path)).is_file()):
        return None
    return EnvironmentFault(
        f"{path}: {what} ({type(error).__name__}); fix it and run the same command again: "
        "a month commits in one transaction, and a rerun writes whatever files it did not",
        where=str(path),
    )


class InternalError(CreditflowError):
    """An unexpected failure (a defect): one line naming the exception and the log file
    under OUT/logs/ that holds the traceback; nothing is half-published."""

    exit_code = 7

    @classmethod
    def of(cls, error: BaseException, log) -> "InternalError":
        where = f"the traceback is in {log}" if log else "the traceback could not be written"
        return cls(f"internal error ({type(error).__name__}); {where}; please report it")


class StageFailed(Exception):
    """Carries an expected failure out of a Prefect task or flow.

    Prefect stores a failed flow's exception in its result storage, and an error message
    may name accounts or rows. This wrapper pickles to its kind and exit code only; the
    in-process caller (the CLI) still gets the full error in `.error`.
    """

    def __init__(self, error: CreditflowError, month: str | None = None):
        super().__init__(f"{type(error).__name__} (details were reported on stderr)")
        self.error = error
        self.month = month  # the month whose run failed (a backfill's alert names it)

    def __reduce__(self):
        return (_redacted, (type(self.error).__name__, self.error.exit_code))


def _redacted(kind: str, exit_code: int) -> "StageFailed":
    error = CreditflowError(f"{kind} (details were reported on stderr)")
    error.exit_code = exit_code
    return StageFailed(error)
