"""Prefect's API for one command, started before the command imports Prefect (issue 20).

With no API configured, Prefect 3.9 starts a temporary local server on the first flow call: it
imports the whole server package into the command's own process (only to find the class that
starts it, ~6 s) and then waits while a subprocess imports it again and boots (~8 s). The
command's first line starts that same server subprocess here instead (the same uvicorn command
and settings Prefect uses, so the same run records in the same database under PREFECT_HOME) and
points PREFECT_API_URL at it; the server boots while the command imports Beam, DuckDB and Prefect.
A configured API (PREFECT_API_URL in the environment or the active Prefect profile) is used
as it is, and nothing is started. Must run before anything imports Prefect: Prefect reads its
settings once, on import.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib.util import find_spec
from pathlib import Path

_server: subprocess.Popen | None = None


def configured_api_url(environ=os.environ) -> str | None:
    """PREFECT_API_URL from the environment, else from the active profile of Prefect's profiles file."""
    if environ.get("PREFECT_API_URL"):
        return environ["PREFECT_API_URL"]
    home = Path(environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    return profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL") or None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_early() -> None:
    """Starts Prefect's temporary API server now, unless an API is configured or it already runs."""
    global _server
    if _server is not None or configured_api_url() or "prefect" in sys.modules:
        return
    spec = find_spec("prefect")
    if spec is None or spec.origin is None:
        return
    port = _free_port()
    # What prefect.server.api.server.SubprocessASGIServer runs for its temporary server.
    _server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(spec.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env={
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        },
    )
    atexit.register(stop)
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"


def wait_until_ready() -> None:
    """Blocks until the server started by start_early answers (no-op without one)."""
    if _server is None:
        return
    url = os.environ["PREFECT_API_URL"] + "/health"
    deadline = time.monotonic() + float(
        os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 90)
    )
    while time.monotonic() < deadline:
        if _server.poll() is not None:
            raise RuntimeError(
                f"Prefect's temporary API server exited with status {_server.returncode} before it answered "
                "(set PREFECT_API_URL to use a running server)"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Prefect's temporary API server did not answer at {url} in time")


def stop() -> None:
    """Stops the server started by start_early, letting it finish its writes first."""
    global _server
    if _server is None:
        return
    server, _server = _server, None
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
