"""Integration: the registered model served by `mlflow models serve` answers like the batch job."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from local_server import free_port, running
from smecredit.cli import main
from smecredit.scoring.job import read_scores

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _post(url: str, body) -> tuple[int, dict]:
    req = urllib.request.Request(f"{url}/invocations", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """German-credit GBM trained and registered via the CLI, served on 127.0.0.1 from the registry."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", str(GERMAN), "--out", str(tmp_path / "m"), "--kind", "gbm", "--no-compare",
                 "--register", "serve_pd", "--experiment", "serve"]) == 0
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "TMPDIR": str(tmp_path),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    with running(["models", "serve", "-m", "models:/serve_pd@challenger", "--env-manager", "local", "--host",
                  "127.0.0.1", "--port", str(port), "--workers", "1"], port=port, ready_path="/ping", env=env,
                 log_path=tmp_path / "serve.log", timeout=180) as url:
        yield url, tmp_path


def test_served_model_answers_like_the_batch_job_and_refuses_malformed_requests(served):
    url, tmp = served
    frame = pd.read_csv(GERMAN).drop(columns="bad").head(40)
    num = frame.select_dtypes("number").columns
    frame[num] = frame[num].astype("float64")
    inp = tmp / "rows.parquet"
    frame.to_parquet(inp, index=False)
    assert main(["score", "--model", "models:/serve_pd@challenger", "--input", str(inp), "--output",
                 str(tmp / "job")]) == 0
    batch = read_scores(tmp / "job")
    split = json.loads(frame.to_json(orient="split", index=False))
    records = json.loads(frame.to_json(orient="records"))
    for body in ({"dataframe_split": split}, {"dataframe_records": records}):
        status, answer = _post(url, body)
        assert status == 200, answer
        got = pd.DataFrame(answer["predictions"])
        assert len(got) == len(batch)
        np.testing.assert_allclose(got["pd"].to_numpy(), batch["pd"].to_numpy(), rtol=1e-12, atol=0)
        for c in ("grade", "reason_1", "reason_2", "reason_3"):
            assert got[c].fillna("").tolist() == batch[c].fillna("").tolist()
    # a missing feature and text in a numeric field: 4xx with a message naming the column
    no_amount = json.loads(frame.drop(columns="credit_amount").to_json(orient="split", index=False))
    status, answer = _post(url, {"dataframe_split": no_amount})
    assert 400 <= status < 500 and "credit_amount" in answer.get("message", ""), answer
    bad = frame.astype({"duration_in_month": object})
    bad.loc[3, "duration_in_month"] = "twelve"
    status, answer = _post(url, {"dataframe_records": json.loads(bad.to_json(orient="records"))})
    assert 400 <= status < 500 and "duration_in_month" in answer.get("message", ""), answer
    status, answer = _post(url, {"not_a_format": []})
    assert 400 <= status < 500 and answer.get("message"), answer
