"""``smecredit monitor``: ongoing monitoring of a model on a current period against a baseline."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from smecredit.cli import app, console
from smecredit.exceptions import SmeCreditError

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class MonitoringAlert(SmeCreditError):
    """``--fail-on``: a flag at or above the level was raised (exit code 7, for schedulers)."""

    exit_code = 7


@app.command()
def monitor(
    model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS."),
    baseline: Path = typer.Option(..., "--baseline", help="Baseline features folder or table (e.g. the development data)."),
    current: Path = typer.Option(..., "--current", help="Current-period features folder or table."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    json_out: Path = typer.Option(None, "--json", help="JSON file to write (default: OUT with .json)."),
    baseline_period: str = typer.Option(None, "--baseline-period", help="START:END snapshots of the baseline."),
    current_period: str = typer.Option(None, "--current-period", help="START:END snapshots of the current period."),
    fail_on: str = typer.Option(None, "--fail-on", help="red or amber: exit 7 when a flag at that level is raised."),
    log_mlflow: bool = typer.Option(True, "--log/--no-log", help="Log metrics and files to the model's MLflow run."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap interval of the AUC."),
    metrics_out: Path = typer.Option(None, "--metrics", help="Also write the flat metrics (JSON, for dvc metrics)."),
) -> None:
    """PSI of the score, CSI of every feature, grade migration, calibration and AUC on matured outcomes,
    missing-data drift per source and segments (green < 0.10 <= amber < 0.25 <= red for PSI/CSI)."""
    from smecredit.exceptions import ConfigError
    from smecredit.monitoring import MonitorSettings
    from smecredit.pipelines.monitor import FAIL_ON, run_monitor

    if fail_on is not None and fail_on not in FAIL_ON:
        raise ConfigError(f"--fail-on must be red or amber; got {fail_on!r}")
    res = run_monitor(model, baseline, current, out, json_out=json_out, baseline_period=baseline_period,
                      current_period=current_period, settings=MonitorSettings(seed=seed), log_to_mlflow=log_mlflow)
    r = res.result
    if metrics_out is not None:
        import json

        from smecredit.io import atomic_path
        from smecredit.monitoring import metrics_of

        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(metrics_out) as tmp:
            tmp.write_text(json.dumps(metrics_of(r) | {"status": r["status"]}, indent=2, sort_keys=True) + "\n",
                           encoding="utf-8")
    n_red = sum(f["status"] == "red" for f in r["flags"])
    n_amber = sum(f["status"] == "amber" for f in r["flags"])
    checks = ", ".join(f"{k} {v}" for k, v in r["checks"].items())
    console.print(f"monitoring status {r['status']}: {n_red} red and {n_amber} amber flag(s) ({checks}); "
                  f"score PSI {r['stability']['score_psi']:.4f}", highlight=False)
    console.print(f"wrote {res.html} and {res.json}", highlight=False)
    if res.logged:
        console.print(f"logged to MLflow run {res.run_id}", highlight=False)
    if res.fails(fail_on):
        raise MonitoringAlert(f"monitoring raised {n_red} red and {n_amber} amber flag(s) (--fail-on {fail_on}); "
                              f"see {res.html}")


@app.command("metrics")
def metrics(
    model: Path = typer.Option(..., "--model", help="MODEL_DIR written by smecredit train."),
    data: Path = typer.Option(..., "--data", help="The features folder the model was trained on."),
    out: Path = typer.Option(..., "--out", help="Metrics JSON to write (AUC, KS, Brier, calibration)."),
    plots: Path = typer.Option(..., "--plots", help="Folder for roc.csv and calibration.csv."),
) -> None:
    """Write a trained model's test metrics and plot data (for dvc metrics show / dvc plots show)."""
    from smecredit.pipelines.metrics import export_model_metrics

    m = export_model_metrics(model, data, out, plots)
    console.print(f"wrote {out} (test AUC {m.get('test_auc', float('nan')):.4f}) and {plots}/roc.csv, "
                  f"{plots}/calibration.csv", highlight=False)
