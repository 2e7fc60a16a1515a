"""The stage runner both pipelines share (settlement and instruments).

A pipeline is a list of stages, declared once and used by the Prefect flows, the tests,
the benchmark and the profiler. Each stage is a function `(run, previous result) -> result`:
what one stage hands the next is a value, never a field of a shared session. The first
stage registers the inputs and says whether the month is already published; if it is, the
runner takes the pipeline's `republish` stage instead of the rest.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from transforms.pipeline.options import RunOptions


class Run(Protocol):
    month: str

    def close(self) -> None: ...


@dataclass(frozen=True)
class Stage:
    name: str
    function: Callable[[Any, Any], Any]

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
