"""Errors a run can end with, each tied to the CLI's exit code."""


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
