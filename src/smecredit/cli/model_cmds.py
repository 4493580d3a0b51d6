"""``smecredit train`` and ``smecredit score``."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from smecredit.cli import app, console

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@app.command()
def train(
    data: Path = typer.Option(..., "--data", help="Features folder (smecredit features) or a CSV/Parquet table."),
    target: str = typer.Option("bad", "--target", help="Binary 0/1 target column."),
    out: Path = typer.Option(..., "--out", help="MODEL_DIR to write (an MLflow model directory)."),
    kind: str = typer.Option("gbm", "--kind", help="gbm or scorecard."),
    split: str = typer.Option(None, "--split", help="time or random (default: time for features folders)."),
    experiment: str = typer.Option("smecredit", "--experiment", help="MLflow experiment name."),
    register: str = typer.Option(None, "--register", help="Register a new version under this name (alias challenger)."),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Fit the other kind too and DeLong-compare AUCs."),
    tune_seconds: float = typer.Option(0.0, "--tune-seconds", help="Optuna time budget for GBM tuning (0 = off)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    population: str = typer.Option("behavioural", "--population",
                                   help="behavioural (all rows) or application (no current arrears: cr_dpd_now = 0)."),
    developer: str = typer.Option(None, "--developer",
                                  help="Model developer id, recorded as MLflow tag smecredit.developer "
                                       "(default: the OS user); promote refuses a review by this person."),
    outlier_tail: float = typer.Option(0.001, "--outlier-tail",
                                       help="Cap numeric features at their training q / 1-q quantiles, in training "
                                            "and at scoring (0 = no caps)."),
) -> None:
    """Train a calibrated, graded PD model, validate it, log it to MLflow and save MODEL_DIR."""
    from smecredit.pipelines.train import train as run_train
    from smecredit.progress import Progress

    # the options are validated together by smecredit.pipelines.train.TrainConfig (every invalid one listed, exit 2)

    with Progress("train", total=5 if compare else 4) as progress:  # a bar on a terminal, plain lines otherwise
        s = run_train(data, target, out, kind=kind, split=split, experiment=experiment, register=register,
                      compare=compare, tune_seconds=tune_seconds, random_state=seed, developer=developer,
                      population=population, outlier_tail=outlier_tail, progress=progress.stage)
    lo, hi = s["test_auc_ci"]
    console.print(f"trained {s['kind']} on {s['n_train']} rows ({s['split']} split, {s['population']} population, "
                  f"{s['rows_excluded']} rows outside it); test AUC {s['test_auc']:.4f} "
                  f"[{lo:.4f}, {hi:.4f}] on {s['n_test']} rows; mean PD {s['test_mean_pd']:.4f} vs default rate "
                  f"{s['test_default_rate']:.4f}", highlight=False)
    if s.get("gbm_form"):
        g = s["gbm_form"]
        console.print(f"GBM form: {g['decision']} ({g['reason']})", highlight=False)
    if "benchmark" in s:
        b = s["benchmark"]
        console.print(f"benchmark {b['kind']}: AUC {b['auc']:.4f} (DeLong p = {b['delong_p']:.3g})", highlight=False)
    console.print(f"model saved to {s['model_dir']} (run {s['run_id']})", highlight=False)
    if s["registered"]:
        r = s["registered"]
        console.print(f"registered {r['name']} version {r['version']} with alias {r['alias']}", highlight=False)


@app.command()
def score(
    model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS."),
    input: Path = typer.Option(..., "--input", help="Table to score: CSV, Parquet file or partitioned Parquet folder."),
    output: Path = typer.Option(..., "--output", help="Output table (.csv or .parquet), or a folder: the batch job "
                                                     "(partitioned Parquet, manifest.json, rejects/, resumable)."),
    keep: list[str] = typer.Option([], "--keep", help="Batch job: input column to pass through (repeatable)."),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", help="Batch job: rows per chunk and output partition."),
    engine: str = typer.Option("local", "--engine", help="Batch job: local (streamed, resumable) or spark "
                                                        "(mapInPandas; spark-submit or local[*])."),
    spark_master: str = typer.Option(None, "--spark-master", help="Spark master for --engine spark, e.g. "
                                                                  "local[2] (default: spark-submit's)."),
    workers: int = typer.Option(None, "--workers", help="Batch job: scoring processes (default: the CPUs, at most "
                                                        "4; 1 below 100k rows). The output does not depend on it."),
) -> None:
    """Score a table: every input row, in order, with pd, score, grade and three reasons.

    With a folder as --output this is the batch job (docs/batch.md): exit 0 when every row was scored,
    10 when the job completed but some rows were rejected (listed in OUTPUT/rejects/).
    """
    from smecredit.scoring.job import is_job_output

    from smecredit.exceptions import ConfigError

    if engine not in ("local", "spark"):
        raise ConfigError(f"--engine must be local or spark; got {engine!r}")
    if engine == "spark":
        if not is_job_output(output):
            raise ConfigError("--engine spark writes a folder: give a folder as --output")
        from smecredit.scoring.spark import score_spark

        m = score_spark(model, input, output, keep=keep, master=spark_master)
        done = "nothing to do: the job is already complete: " if m.get("already_complete") else ""
        console.print(f"{done}{m['rows_in']} rows in, {m['rows_scored']} scored, {m['rows_rejected']} rejected → "
                      f"{output}/scores (Spark, {m['master']})", highlight=False, soft_wrap=True)
        raise typer.Exit(10 if m["rows_rejected"] else 0)
    if is_job_output(output):
        from smecredit.cli.job_progress import run_with_progress
        from smecredit.scoring.job import run_score_job

        res = run_with_progress(lambda progress: run_score_job(model, input, output, chunk_rows=chunk_rows,
                                                               keep=keep, progress=progress, workers=workers))
        raise typer.Exit(res.exit_code)
    if keep:
        raise ConfigError("--keep applies to the batch job (a folder as --output)")
    from smecredit.scoring.batch import score as run_score

    result = run_score(model, input, output)
    console.print(f"scored {len(result)} rows into {output}", highlight=False)
