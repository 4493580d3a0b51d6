"""A real MLflow process on 127.0.0.1 for the integration tests: started, awaited, stopped with its children."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BINDIR = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    kids = [int(x) for x in r.stdout.split()]
    return [k for c in kids for k in _children(c)] + kids


@contextlib.contextmanager
def running(args: list[str], *, port: int, ready_path: str, env: dict, log_path: Path,
            timeout: float = 120) -> Iterator[str]:
    """Run ``mlflow <args>`` (the venv's) until ``http://127.0.0.1:port<ready_path>`` answers 200; yield its URL.

    The venv's bin goes first on PATH (``mlflow models serve`` starts its own tools from there).
    """
    env = {**env, "PATH": f"{BINDIR}:{env.get('PATH', '')}"}
    log = open(log_path, "w")
    proc = subprocess.Popen([str(BINDIR / "mlflow"), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}{ready_path}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow {args[0]} did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for k in kids:
            try:
                os.kill(k, signal.SIGTERM)
            except ProcessLookupError:
                pass
        log.close()
