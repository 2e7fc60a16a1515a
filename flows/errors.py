"""Errors a run can end with, each tied to the CLI's exit code."""


class CreditflowError(Exception):
    """An expected failure: reported as one line on stderr with its exit code."""

    exit_code = 1


class UsageError(CreditflowError):
    exit_code = 2


class InputError(CreditflowError):
    """Invalid or missing input: nothing is computed or published."""

    exit_code = 3


class StateConflict(CreditflowError):
    """The request conflicts with what is published (a gap, a changed month, a concurrent run)."""

    exit_code = 4


class ValidationFailure(CreditflowError):
    """The computed outputs break an invariant: nothing is published."""

    exit_code = 5
