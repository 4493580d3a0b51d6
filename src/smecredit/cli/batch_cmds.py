"""``smecredit run-batch``: the monthly job (raw folder → features at the as-of date → scores)."""

from __future__ import annotations

from pathlib import Path

import typer

from smecredit.cli import app


@app.command("run-batch")
def run_batch(
    model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS."),
    raw: Path = typer.Option(..., "--raw", help="Folder of raw tables (one Parquet/CSV file per table)."),
    as_of: str = typer.Option(..., "--as-of", help="As-of date of the features, e.g. 2025-12-31."),
    out: Path = typer.Option(..., "--out", help="Job folder to write (scores/, rejects/, manifest.json)."),
    population: str = typer.Option("all", "--population", help="all (every enterprise registered by the as-of "
                                                               "date) or active_loan."),
    chunk_size: int = typer.Option(50_000, "--chunk-size", help="Enterprises per chunk and output partition."),
    engine: str = typer.Option("local", "--engine", help="local (streamed, resumable) or spark (applyInPandas "
                                                        "features, mapInPandas scores)."),
    spark_master: str = typer.Option(None, "--spark-master", help="Spark master for --engine spark, e.g. local[2]."),
) -> None:
    """The monthly job: point-in-time features at --as-of for every enterprise, then PD, grade, score and
    reasons, written as a resumable job folder (docs/batch.md). Exit 0 when every enterprise was scored,
    10 when the job completed but some rows were rejected (see OUT/rejects/)."""
    from smecredit.exceptions import ConfigError

    if engine not in ("local", "spark"):
        raise ConfigError(f"--engine must be local or spark; got {engine!r}")
    if engine == "spark":
        from smecredit.cli import console
        from smecredit.pipelines.spark_jobs import run_monthly_spark

        m = run_monthly_spark(model, raw, as_of, out, population=population, chunk_size=chunk_size,
                              master=spark_master)
        done = "nothing to do: the job is already complete: " if m.get("already_complete") else ""
        console.print(f"{done}{m['rows_in']} enterprises in, {m['rows_scored']} scored, "
                      f"{m['rows_rejected']} rejected → {out}/scores (Spark, {m['master']})", highlight=False,
                      soft_wrap=True)
        raise typer.Exit(10 if m["rows_rejected"] else 0)
    from smecredit.cli.job_progress import run_with_progress
    from smecredit.pipelines.monthly import run_monthly_job

    res = run_with_progress(lambda progress: run_monthly_job(model, raw, as_of, out, population=population,
                                                             chunk_size=chunk_size, progress=progress))
    raise typer.Exit(res.exit_code)
