"""`dvc repro` of dvc.yaml on a fresh copy of the project (a new git repository, no remote, no network).

A small city (1,500 enterprises × 36 months) runs every stage: simulate → validate → features → train
(scorecard and GBM) → report → score → decide → monitor. A second `dvc repro` does nothing; changing
one parameter of the monitor reruns only the monitor; `dvc metrics show` lists each model's metrics.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import smecredit

ROOT = Path(smecredit.__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGES = ["simulate", "validate", "features", "train_scorecard", "train_gbm", "report", "score", "decide",
          "monitor"]

pytestmark = [pytest.mark.slow, pytest.mark.integration,
              pytest.mark.skipif(not (BIN / "dvc").exists(), reason="dvc is not installed (pip install '.[pipeline]')")]


def _ran(log: str) -> list[str]:
    return [line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage '")]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    repo = tmp_path_factory.mktemp("dvc_project")
    for name in ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, repo / name)
    for name in (".dvc", "config", "src"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                                               "cache", "tmp", "config.local"))
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    params["simulate"].update({"enterprises": 1500, "months": 36})
    params["report"]["n_boot"] = 20
    params["monitor"]["baseline_period"] = "2023-01-01:2023-12-31"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(repo / "src"),
           "DVC_NO_ANALYTICS": "1", "MLFLOW_TRACKING_URI": f"sqlite:///{repo / 'mlflow.db'}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}

    def run(*cmd, check=True):
        r = subprocess.run(list(cmd), cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    run("git", "init", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "fresh clone")
    first = run(str(BIN / "dvc"), "repro")
    return {"repo": repo, "run": run, "first": first.stdout}


def test_repro_runs_every_stage_then_nothing(project):
    assert _ran(project["first"]) == STAGES or sorted(_ran(project["first"])) == sorted(STAGES)
    repo = project["repo"]
    for path in ("reports/governance_report.html", "reports/monitor.html", "data/processed/scores.parquet",
                 "data/processed/portfolio_el.csv", "plots/gbm/roc.csv", "plots/scorecard/calibration.csv"):
        assert (repo / path).is_file(), path
    second = project["run"](str(BIN / "dvc"), "repro").stdout
    assert _ran(second) == [] and "up to date" in second
    m = json.loads((repo / "metrics/gbm.json").read_text(encoding="utf-8"))
    assert 0.5 < m["test_auc"] < 1 and 0 < m["test_brier"] < 0.2
    shown = project["run"](str(BIN / "dvc"), "metrics", "show", "--json").stdout
    assert "metrics/gbm.json" in shown and "metrics/scorecard.json" in shown and "metrics/monitor.json" in shown


def test_changing_one_parameter_reruns_only_its_stages(project):
    repo = project["repo"]
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    params["monitor"]["current_period"] = "2024-06-01:2025-12-31"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    out = project["run"](str(BIN / "dvc"), "repro").stdout
    assert _ran(out) == ["monitor"]
    res = json.loads((repo / "reports/monitor.json").read_text(encoding="utf-8"))
    assert res["current"]["first_snapshot"] >= "2024-06-01"
