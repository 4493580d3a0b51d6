"""``smecredit report`` and ``smecredit promote``."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from smecredit.cli import app, console

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@app.command()
def report(
    model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS."),
    data: Path = typer.Option(..., "--data", help="Features folder or a CSV/Parquet table (with the target column)."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    compare: str = typer.Option(None, "--compare", help="A second model (e.g. the scorecard) for section 9."),
    reference: Path = typer.Option(None, "--reference",
                                   help="Training data for the PSI (default: rows in the model's training window)."),
    cutoff_pd: float = typer.Option(0.05, "--cutoff-pd", help="PD cut-off of the approval rates by segment."),
    sample_size: int = typer.Option(5000, "--sample-size", help="Rows shown in the beeswarm and dependence plots."),
    n_boot: int = typer.Option(200, "--n-boot", help="Bootstrap resamples of the confidence intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples and bootstrap."),
    log_mlflow: bool = typer.Option(True, "--log/--no-log", help="Log the report to the model's MLflow run."),
) -> None:
    """Write the self-contained model-governance report (HTML) and log it to the model's MLflow run."""
    from smecredit.pipelines.report import run_report
    from smecredit.report import ReportSettings

    settings = ReportSettings(cutoff_pd=cutoff_pd, sample_size=sample_size, n_boot=n_boot, seed=seed)
    from smecredit.progress import Progress

    with Progress("report", total=9) as progress:  # a bar on a terminal, plain lines otherwise
        result = run_report(model, data, out, compare=compare, reference=reference, settings=settings,
                            log_to_mlflow=log_mlflow, progress=progress.stage)
    console.print(f"wrote {result.path} (sha256 {result.sha256})", highlight=False)
    if result.logged:
        console.print(f"logged as reports/governance_report.html to run {result.run_id}", highlight=False)


@app.command()
def promote(
    name: str = typer.Option(..., "--name", help="Registered model name."),
    version: str = typer.Option(..., "--version", help="Model version to promote."),
    alias: str = typer.Option("champion", "--alias", help="Alias to move to this version."),
    reviewer: str = typer.Option(..., "--reviewer", help="Reviewer id (recorded as a tag)."),
    note: str = typer.Option(..., "--note", help="Review note (recorded as a tag)."),
) -> None:
    """Record a governance review on a model version and move the alias; refused (exit 5) without a report."""
    from smecredit.pipelines.report import promote as run_promote

    tags = run_promote(name, version, alias=alias, reviewer=reviewer, note=note)
    console.print(f"{name} version {version} is now @{alias}; reviewed by {tags['review.reviewer']} at "
                  f"{tags['review.time']} (report sha256 {tags['review.report_sha256']})", highlight=False)
