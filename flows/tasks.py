"""The one task wrapper: how a pipeline stage runs as a Prefect task.

Task results are never persisted (they hold account data) and never cached; an expected
failure leaves Prefect redacted, and no coupon code passes through a parameter, a result
or a log (codes exist only in the rendered batch file).
"""

from prefect import task
from prefect.cache_policies import NO_CACHE

from transforms.errors import CreditflowError, StageFailed
from transforms.pipeline.runner import Stage
from transforms.summary import progress


def redacted(function, *arguments):
    """Call a pipeline function; an expected failure needs no traceback: dropping it (and its
    cause) releases the DuckDB connection its frames hold, since Prefect keeps failed states
    until exit. It leaves Prefect redacted (StageFailed), because Prefect persists it."""
    try:
        return function(*arguments)
    except CreditflowError as error:
        raise StageFailed(error.with_traceback(None)) from None


@task(cache_policy=NO_CACHE, persist_result=False)
def stage_task(stage: Stage, run, previous):
    return redacted(stage, run, previous)


def as_task(stage: Stage, run, previous):
    """Run one stage as a Prefect task named after it, with a progress line."""
    progress(f"{run.month}: {stage.name}")
    return stage_task.with_options(name=stage.name)(stage, run, previous)
