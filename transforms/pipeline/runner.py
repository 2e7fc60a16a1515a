"""The stage runner both pipelines share (settlement and instruments).

A pipeline is a list of stages, declared once and used by the Prefect flows, the tests,
the benchmark and the profiler. Each stage is a function `(run, previous result) -> result`:
what one stage hands the next is a value, never a field of a shared session. The first
stage registers the inputs and says whether the month is already published; if it is, the
runner takes the pipeline's `republish` stage instead of the rest.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions


@dataclass(kw_only=True)
class Run:
    """What every stage of one month's run reads (built once by the pipeline's `open`);
    no stage writes to it. Pipelines extend it with what only they need."""

    month: str
    options: RunOptions
    layout: OutputLayout
    parameters: dict  # everything the SQL may bind, derived once
    con: Any  # the in-memory DuckDB connection with the warehouse attached
    started_at: float = field(default_factory=time.perf_counter)

    def close(self) -> None:
        # drop the reference too: a failed run's traceback (kept by Prefect's state) must
        # not keep the DuckDB connection alive until interpreter exit
        if self.con is not None:
            self.con.close()
            self.con = None


@dataclass(frozen=True)
class Stage:
    name: str
    function: Callable[[Any, Any], Any]
    doing: str = ""  # what the stage is doing, for the progress line a person reads

    def __call__(self, run, previous):
        return self.function(run, previous)


@dataclass(frozen=True)
class Pipeline:
    name: str
    open: Callable[[str, RunOptions], Run]
    stages: tuple[Stage, ...]
    republish: Stage


def call_directly(stage: Stage, run, previous):
    return stage(run, previous)


def run_pipeline(
    pipeline: Pipeline, month: str, options: RunOptions, call: Callable = call_directly
):
    """Open the run, then run its stages in order through `call` (directly, or as Prefect
    tasks); the run's resources are released whatever happens."""
    run = pipeline.open(month, options)
    try:
        first, *rest = pipeline.stages
        result = call(first, run, None)
        if result.already_published:
            return call(pipeline.republish, run, result)
        for stage in rest:
            result = call(stage, run, result)
        return result
    finally:
        run.close()
