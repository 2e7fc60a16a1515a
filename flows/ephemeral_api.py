"""The run's own Prefect API, when no Prefect server is configured (no PREFECT_API_URL):
started by creditflow as early as the run knows it needs one, tied to the run's process,
and stopped at its exit.

Prefect would start this "ephemeral" API itself at the run's first call to it, importing
its server code into the run first (1.3 s) and then waiting for the child (2.4 s): 3.8 s
on the critical path of every CLI run
(docs/performance.md#the-cli-starts-its-own-api-early-2026-12-05-night).
Here the child starts right after the arguments are checked, and its start overlaps the
run's own imports and preparations; the run waits for it only at its first flow call.

- The child serves Prefect's own application (prefect.server.api.server:create_app, with
  the environment Prefect gives its ephemeral server) on a socket the run has already
  bound and listening: no port can be taken in between, and a request that arrives early
  waits in the socket's backlog.
- A run that is killed (SIGKILL, the OOM killer) cannot stop its server, which lived on at
  about 200 MB each (issue 17: 7 of 7 kills): the child exits as soon as its parent is gone.
- The server's own output (its logs, a traceback of its own) goes to a log file under
  OUT/logs/, never to the operator's terminal (unless --verbose).
- The child's environment has no secrets (the coupon key, the notify URL): a Prefect
  server does not need them.

    python -m flows.ephemeral_api PARENT_PID SOCKET_FD
"""

import atexit
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

POLL_S = 1.0
HEALTH_POLL_S = 0.05
# the same variables Prefect sets for the ephemeral server it would start itself
# (prefect/server/api/server.py, SubprocessASGIServer._run_uvicorn_command)
SERVER_ENVIRONMENT = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}
STARTED: list["EphemeralApi"] = []  # every API this process started (tests' tier check)


def start_unless_configured(log_file: Path | None) -> "EphemeralApi | None":
    """Start the run's own API unless Prefect is configured with a server (PREFECT_API_URL,
    from the environment or a profile): then None, and Prefect's server code is never
    imported (about 2 CPU-s and 75 MB per run). From here on, the process (and every
    process it starts) finds the API at PREFECT_API_URL."""
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return None
    from flows.prefect_home import create_database_once

    create_database_once()  # a fresh PREFECT_HOME: its tables, once, before any server
    api = EphemeralApi(log_file)
    api.start()
    return api


class EphemeralApi:
    def __init__(self, log_file: Path | None):
        self.log_file = log_file  # None: the server's output goes to the terminal
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self) -> None:
        from prefect.context import refresh_global_settings_context
        from prefect.settings import get_current_settings

        from transforms.pipeline.executors import environment_without_secrets

        listening = socket.create_server(("127.0.0.1", 0), backlog=128)
        environment = {
            **environment_without_secrets(os.environ),
            **SERVER_ENVIRONMENT,
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        environment.pop("PREFECT_API_URL", None)  # a restart: the server is not its own client
        arguments = [sys.executable, "-m", __name__, str(os.getpid()), str(listening.fileno())]
        port = listening.getsockname()[1]
        try:
            self.process = self._spawn(arguments, environment, listening.fileno())
        finally:
            listening.close()  # the child holds its own descriptor
        if self not in STARTED:
            STARTED.append(self)
            atexit.register(self.stop)
        self.url = f"http://127.0.0.1:{port}/api"
        os.environ["PREFECT_API_URL"] = self.url
        refresh_global_settings_context()

    def _spawn(self, arguments, environment, descriptor) -> subprocess.Popen:
        if self.log_file is None:
            return subprocess.Popen(arguments, env=environment, pass_fds=(descriptor,))
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:  # the child keeps its own descriptor
            return subprocess.Popen(
                arguments,
                env=environment,
                pass_fds=(descriptor,),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self, timeout_s: float | None = None) -> None:
        """Return once the API answers its health check. A server that exited is started
        again first (the run's retries of an orchestrator failure come through here); one
        that does not answer within the ephemeral start-up timeout is an orchestrator
        failure (flows/prefect_home.py is_orchestrator_failure: "Prefect API server")."""
        import httpx
        from prefect.settings import get_current_settings

        if self.process is None or self.process.poll() is not None:
            self.start()
        limit_s = timeout_s or get_current_settings().server.ephemeral.startup_timeout_seconds
        deadline = time.monotonic() + limit_s
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the run's own Prefect API server exited with code "
                        f"{self.process.returncode} as it started; its log: {self._log_name()}"
                    )
                try:
                    # a request made before the server is up waits in the socket's backlog
                    if client.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(HEALTH_POLL_S)
        raise RuntimeError(
            f"the run's own Prefect API server did not answer within {limit_s:.0f} s; "
            f"its log: {self._log_name()}"
        )

    def _log_name(self) -> str:
        return str(self.log_file) if self.log_file else "the terminal (--verbose)"

    def stop(self) -> None:
        """What Prefect does for its own ephemeral server at exit: terminate, then kill."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(0)  # the run that needed this API is gone; SQLite survives an abrupt exit


def _serve(descriptor: int) -> None:
    """Prefect's application, as `python -m uvicorn --factory
    prefect.server.api.server:create_app --lifespan on --log-level error` runs it, on the
    socket the parent bound."""
    import uvicorn

    config = uvicorn.Config(
        "prefect.server.api.server:create_app",
        factory=True,
        lifespan="on",
        log_level="error",
    )
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=descriptor)])


if __name__ == "__main__":
    threading.Thread(target=_exit_when_orphaned, args=(int(sys.argv[1]),), daemon=True).start()
    _serve(int(sys.argv[2]))
