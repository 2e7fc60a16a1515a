"""Prefect's ephemeral API server, tied to the creditflow process that started it.

Without PREFECT_API_URL each run starts its own API as a child process (uvicorn) and stops
it at exit; a run that is killed (SIGKILL, the OOM killer) cannot, and the server lived on,
about 200 MB each (issue 17: 7 of 7 kills). `tie_ephemeral_server_to_this_process` makes
Prefect start the server through this module, which runs uvicorn unchanged and exits as
soon as its parent is gone. The server's own output (its logs, a traceback of its own) goes
to a log file under OUT/logs/, never to the operator's terminal (unless --verbose).

    python -m flows.orphan_guard PARENT_PID <uvicorn arguments>
"""

import os
import runpy
import sys
import threading
import time

POLL_S = 1.0


def tie_ephemeral_server_to_this_process(log_file=None) -> None:
    """Route Prefect's `python -m uvicorn ...` through this guard, its output appended to
    `log_file` (None: inherited, the --verbose case). Idempotent; the newest call's
    log file is the one used. Against a real server (PREFECT_API_URL) no ephemeral API is
    started, so there is nothing to tie, and Prefect's server code is not imported at all
    (about 2 CPU-s and 75 MB per run)."""
    import subprocess

    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return
    import prefect.server.api.server as server

    if not getattr(server.subprocess, "creditflow_guarded", False):
        server.subprocess = _GuardedSubprocess(subprocess)
    server.subprocess.log_file = log_file


class _GuardedSubprocess:
    """Stands in for the `subprocess` module inside prefect.server.api.server."""

    creditflow_guarded = True

    def __init__(self, subprocess):
        self._subprocess = subprocess
        self.log_file = None

    def __getattr__(self, name):
        return getattr(self._subprocess, name)

    def Popen(self, args, *rest, **options):
        if list(args[1:3]) != ["-m", "uvicorn"]:
            return self._subprocess.Popen(args, *rest, **options)
        args = [args[0], "-m", __name__, str(os.getpid()), *args[3:]]
        if self.log_file is None:
            return self._subprocess.Popen(args, *rest, **options)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:  # the child keeps its own descriptor
            return self._subprocess.Popen(
                args, *rest, stdout=log, stderr=self._subprocess.STDOUT, **options
            )


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(0)  # the run that needed this API is gone; SQLite survives an abrupt exit


if __name__ == "__main__":
    parent = int(sys.argv[1])
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    sys.argv = ["uvicorn", *sys.argv[2:]]
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
