"""Integration: train with --register against a real `mlflow server` on 127.0.0.1, then load by alias."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.models import load_model

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    kids = [int(x) for x in r.stdout.split()]
    return [k for c in kids for k in _children(c)] + kids


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "TMPDIR": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [str(Path(bindir) / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
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


def test_train_registers_challenger_on_a_real_tracking_server(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.chdir(tmp_path)
    rc = main(["train", "--data", str(GERMAN), "--out", str(tmp_path / "m"), "--kind", "scorecard",
               "--no-compare", "--register", "srv_pd", "--experiment", "server-test"])
    assert rc == 0
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    mv = client.get_model_version_by_alias("srv_pd", "challenger")
    assert mv.version is not None
    served = load_model("models:/srv_pd@challenger")
    local = load_model(tmp_path / "m")
    frame = pd.read_csv(GERMAN).head(50)
    pd.testing.assert_frame_equal(served.predict(frame), local.predict(frame))
    # artifacts went through the server, not to a local mlruns folder
    assert not (tmp_path / "mlruns").exists()
