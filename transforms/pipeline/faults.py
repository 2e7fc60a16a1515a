"""Fault injection for the crash tests.

With CREDITFLOW_CRASH_AT=<point> set, the process kills itself with SIGKILL when the run
reaches that point, exactly as a power cut or an OOM kill would. Unset (always, outside
tests) it costs one environment lookup per point.
"""

import os
import signal

CRASH_POINTS = (
    # the settlement
    "after_staging",
    "during_ledger_transaction",
    "after_commit",
    "after_coupons_file",
    # the instrument ledger
    "instruments_during_ledger_transaction",
    "instruments_after_commit",
    "instruments_after_state_file",
    "instruments_after_events_file",
)


def crash_point(name: str) -> None:
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get("CREDITFLOW_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
