"""Prefect's ephemeral API server, tied to the creditflow process that started it.

Without PREFECT_API_URL each run starts its own API as a child process (uvicorn) and stops
it at exit; a run that is killed (SIGKILL, the OOM killer) cannot, and the server lived on,
about 200 MB each (issue 17: 7 of 7 kills). `tie_ephemeral_server_to_this_process` makes
Prefect start the server through this module, which runs uvicorn unchanged and exits as
soon as its parent is gone.

    python -m flows.orphan_guard PARENT_PID <uvicorn arguments>
"""

import os
import runpy
import sys
import threading
import time

POLL_S = 1.0


def tie_ephemeral_server_to_this_process() -> None:
    """Route Prefect's `python -m uvicorn ...` through this guard (idempotent)."""
    import subprocess

    import prefect.server.api.server as server

    if getattr(server.subprocess, "creditflow_guarded", False):
        return

    class _GuardedSubprocess:
        creditflow_guarded = True

        def __getattr__(self, name):
            return getattr(subprocess, name)

        @staticmethod
        def Popen(args, *rest, **options):
            if list(args[1:3]) == ["-m", "uvicorn"]:
                args = [args[0], "-m", __name__, str(os.getpid()), *args[3:]]
            return subprocess.Popen(args, *rest, **options)

    server.subprocess = _GuardedSubprocess()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(0)  # the run that needed this API is gone; SQLite survives an abrupt exit


if __name__ == "__main__":
    parent = int(sys.argv[1])
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    sys.argv = ["uvicorn", *sys.argv[2:]]
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
