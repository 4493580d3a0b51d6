"""Progress of long commands (plain lines off a terminal) and what training records in MLflow."""

from __future__ import annotations

import io
import re
from pathlib import Path

from mlflow import MlflowClient

from smecredit.cli import main
from smecredit.pipelines.train import train
from smecredit.progress import Progress

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_off_a_terminal_and_silence_without_a_stream():
    buf = io.StringIO()
    with Progress("train", total=2, stream=buf) as p:
        p.stage("loading data")
        p.stage("fitting")
        p.update(3, 3)
    lines = buf.getvalue().splitlines()
    assert re.fullmatch(r"train: \[1/2\] loading data \(\d+\.\d s\)", lines[0])
    assert lines[1].startswith("train: [2/2] fitting") and lines[-1].startswith("train: done in")
    assert "3/3 steps" in buf.getvalue()
    with Progress("train", stream=None) as p:
        p.stage("silent")
    assert p.done == 1


def test_a_terminal_gets_a_transient_bar():
    tty = _Tty()
    with Progress("report", total=2, stream=tty) as p:
        p.stage("discrimination")
    assert "report: [1/2]" not in tty.getvalue()  # no plain lines on a terminal


def test_training_logs_train_and_test_metrics_and_describes_the_version(tmp_path):
    stages: list[str] = []
    s = train(GERMAN, "bad", tmp_path / "m", kind="scorecard", compare=False, register="german_sc", n_boot=20,
              progress=stages.append)
    assert stages[0] == "loading data" and stages[-1] == "logging to MLflow and saving the model"
    client = MlflowClient()
    metrics = client.get_run(s["run_id"]).data.metrics
    assert {"train_auc", "train_ks", "train_brier", "test_auc", "test_ks", "test_brier"} <= set(metrics)
    assert 0.5 < metrics["test_auc"] < metrics["train_auc"] < 1  # in-sample above out-of-sample
    mv = client.get_model_version("german_sc", s["registered"]["version"])
    assert "scorecard PD model trained on" in mv.description and f"Test AUC {s['test_auc']:.4f}" in mv.description
    assert "random split" in mv.description


def test_cli_train_prints_stage_lines_when_not_a_terminal(tmp_path, capsys):
    rc = main(["train", "--data", str(GERMAN), "--target", "bad", "--kind", "scorecard", "--no-compare",
               "--out", str(tmp_path / "m")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "train: [1/4] loading data" in err and "train: [4/4] logging to MLflow" in err
