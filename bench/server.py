"""The app under gunicorn on a free loopback port: what the benchmark and load tests drive.

Production settings come from the environment given (DEBUG off, plain HTTP on
127.0.0.1); `start` returns the base URL once `/readyz` answers 200.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn:
    """gunicorn serving config.wsgi with `workers` sync workers, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int, timeout: int = 120):
        self.env, self.workers, self.timeout = env, workers, timeout
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log")  # noqa: SIM115
        self.base = ""

    def start(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                *("config.wsgi", "--bind", f"127.0.0.1:{port}"),
                *("--workers", str(self.workers), "--timeout", str(self.timeout)),
                *("--graceful-timeout", "5"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self.base
            time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"gunicorn did not start:\n{self.log.read()[-3000:]}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
