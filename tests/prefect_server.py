"""One Prefect server on loopback for the test session's CLI subprocesses.

Without a configured server every `microradar nightly` process starts Prefect's temporary server,
~9 s each (PLATFORM.md); the suite runs dozens. `cli_env()` points a subprocess at one shared
server instead, started on first use (so unit-test runs never pay for it) and stopped by the
session fixture in tests/conftest.py. The default temporary-server path, the one a user takes,
stays tested by tests/e2e/test_cli.py and the demo test, which do not use this.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

_server: subprocess.Popen | None = None
_url: str | None = None
_home: tempfile.TemporaryDirectory | None = None

# A fresh server migrates its SQLite database first: ~18 s on a quiet machine, much more on a busy one.
STARTUP_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_url() -> str:
    """The shared server's API URL, starting the server on the first call."""
    global _server, _url, _home
    if _url is not None:
        return _url
    _home = tempfile.TemporaryDirectory(prefix="microradar-prefect-")
    port = _free_port()
    env = dict(
        os.environ,
        PREFECT_HOME=_home.name,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    env.pop("PREFECT_API_URL", None)
    log = open(Path(_home.name) / "server.log", "w")  # noqa: SIM115 - open for the server's lifetime
    _server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if _server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    _url = url
                    return _url
        except OSError:
            pass
        time.sleep(0.5)
    output = (Path(_home.name) / "server.log").read_text()
    stop()
    raise RuntimeError(f"the shared Prefect server did not come up:\n{output[-3000:]}")


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a `microradar` subprocess that runs a flow: the shared server, telemetry
    off, and no logging level inherited from another test module (the CLI picks its own)."""
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", **extra)
    env.pop("PREFECT_LOGGING_LEVEL", None)
    env["PREFECT_API_URL"] = api_url()
    return env


def flow_runs() -> int:
    """How many flow runs the shared server has seen (0 when it was never started)."""
    if _url is None:
        return 0
    request = urllib.request.Request(f"{_url}/flow_runs/count", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.read())


def stop() -> None:
    global _server, _url, _home
    if _server is not None:
        try:
            os.killpg(_server.pid, signal.SIGTERM)
            _server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(_server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if _home is not None:
        _home.cleanup()
    _server, _url, _home = None, None, None
