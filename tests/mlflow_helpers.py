"""A real MLflow tracking server for the sync tests (SQLite backend in a folder of the test's):
one starter for the session-wide server of test_sync and the stop-and-start-again one of
test_sync_live."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# Starting MLflow's server (migrating its SQLite database) takes a minute on a busy machine.
SERVER_DEADLINE = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MlflowServer:
    """An MLflow server on a fixed port and SQLite backend that can stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers /health (fail the test if it never does)."""
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 (the server's own)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.folder / "artifacts"),
                "--workers",
                "1",
            ],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + SERVER_DEADLINE
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer /health in {SERVER_DEADLINE} s")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop its whole process group (again: nothing)."""
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-3000:]
