"""The one task wrapper: how a pipeline stage runs as a Prefect task.

Task results are never persisted (they hold account data) and never cached; an expected
failure leaves Prefect redacted, and no coupon code passes through a parameter, a result
or a log (codes exist only in the rendered batch file).
"""

import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TagsContext

from flows.prefect_home import is_orchestrator_failure, without_heartbeats
from transforms import months
from transforms.errors import CreditflowError, InternalError, StageFailed, environment_fault
from transforms.pipeline.files import write_traceback
from transforms.pipeline.runner import Stage
from transforms.summary import SLOW_STAGE_S, is_terminal, progress, range_line, stage_line


def redacted(logs: Path, month: str, function, *arguments):
    """Call a pipeline function. An expected failure needs no traceback; an unexpected one
    (a defect) has its traceback written under logs (OUT/logs/) and becomes an
    InternalError (exit 7), unless the system refused a write (EnvironmentFault, exit 6). Either way the frames are dropped before leaving: they hold the
    DuckDB connection, and Prefect keeps failed states until exit. What leaves is redacted
    (StageFailed), because Prefect persists it."""
    try:
        return function(*arguments)
    except CreditflowError as error:
        failure = error.with_traceback(None)
        # its cause (a DuckDB error, say) carries frames too
        failure.__cause__ = failure.__context__ = None
    except StageFailed:
        raise  # a stage's failure, already redacted, on its way out of the flow
    except Exception as error:
        if is_orchestrator_failure(error):
            raise  # Prefect itself did not answer: the CLI tries again, then exit 6
        # the disk filled or a path was refused during the run: the operator's to fix
        failure = environment_fault(error) or InternalError.of(error, write_traceback(logs, error))
    # raised outside the except clauses, so the failure carries no context (no frames)
    raise StageFailed(failure, month) from None


@task(cache_policy=NO_CACHE, persist_result=False)
def stage_task(stage: Stage, run, previous):
    return redacted(run.layout.logs_dir, run.month, stage, run, previous)


def as_task(stage: Stage, run, previous):
    """Run one stage as a Prefect task named after it, with a progress line that says what it
    does; on a terminal, a slow stage also says how long it took (a scheduler's log keeps
    one line per stage)."""
    progress(stage_line(run.month, stage.name, stage.doing))
    run_name = f"{stage.name.replace(' ', '-')}-{run.month}"  # e.g. publish-2026-03
    started = time.perf_counter()
    # the stages run untagged (their flow run carries the month's tags): Prefect asks the
    # server for tag concurrency slots before every tagged task, a round trip per stage that
    # a busy server answers late (docs/operations.md#concurrency-and-sandbox)
    with TagsContext(current_tags=set()):
        result = stage_task.with_options(name=stage.name, task_run_name=run_name)(
            stage, run, previous
        )
    took_s = time.perf_counter() - started
    if took_s > SLOW_STAGE_S and is_terminal():
        progress(f"{run.month}: {stage.name} took {took_s:.1f} s")
    return result


def month_by_month(kind: str, first_month: str, last_month: str, run_month):
    """Run `run_month` on every month from first to last in order, saying where the range
    stands and the time left before each; stop at the first failure."""
    selected = months.month_range(first_month, last_month)
    outcomes, started = [], time.perf_counter()
    for number, month in enumerate(selected, start=1):
        progress(range_line(kind, number, len(selected), time.perf_counter() - started))
        with without_heartbeats():  # a month's subflow: the range's run keeps its own
            outcomes.append(run_month(month))
    return outcomes
