"""Integration: train with --register against a real `mlflow server` on 127.0.0.1, then load by alias."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from local_server import free_port, running
from smecredit.cli import main
from smecredit.registry import load_model

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"
pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "TMPDIR": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    with running(["server", "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
                  str(tmp_path / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                 port=port, ready_path="/health", env=env, log_path=tmp_path / "server.log") as url:
        yield url


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
