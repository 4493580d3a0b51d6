"""``smecredit features``: point-in-time features, labels and the feature catalogue."""

from __future__ import annotations

from pathlib import Path

import typer

from smecredit.cli import app, console
from smecredit.exceptions import ConfigError


def _print_catalog() -> None:
    from rich.table import Table

    from smecredit.features import feature_catalog

    cat = feature_catalog()
    table = Table(title=f"smecredit feature catalogue ({len(cat)} features) / 特征目录", show_lines=False)
    table.add_column("name", no_wrap=True)
    for col in ("family", "window", "risk ↑ when", "description", "说明"):
        table.add_column(col, overflow="fold")
    arrows = {"up": "value ↑", "down": "value ↓", "none": "—"}
    for row in cat.itertuples(index=False):
        window = "" if row.window_months != row.window_months else f"{int(row.window_months)}m"
        table.add_row(row.name, row.family, window, arrows[row.direction], row.description_en, row.description_zh)
    console.print(table)


@app.command()
def features(
    raw: Path = typer.Option(None, "--raw", help="Folder of raw tables (one Parquet/CSV file per table)."),
    out: Path = typer.Option(None, "--out", help="Feature folder to write (features.parquet, catalog.csv, "
                                                  "manifest.json)."),
    snapshots: str = typer.Option(None, "--snapshots", help="Comma-separated snapshot dates, e.g. "
                                                            "2024-06-30,2024-12-31."),
    every: str = typer.Option(None, "--every", help="Snapshots every N months back from the last month of data, "
                                                    "e.g. 6M (instead of --snapshots)."),
    horizon: int = typer.Option(12, "--horizon", help="Label outcome window in months."),
    population: str = typer.Option("active_loan", "--population", help="active_loan (loan outstanding, not in "
                                                                       "default) or all (every registered "
                                                                       "enterprise)."),
    chunk_size: int = typer.Option(None, "--chunk-size", help="Read, validate and featurise this many enterprises "
                                                              "at a time (bounded memory, same result)."),
    catalog: bool = typer.Option(False, "--catalog", help="Print the feature catalogue and exit."),
    engine: str = typer.Option("local", "--engine", help="local or spark (applyInPandas over enterprise groups; "
                                                        "needs --snapshots)."),
    spark_master: str = typer.Option(None, "--spark-master", help="Spark master for --engine spark, e.g. local[2]."),
) -> None:
    """Build point-in-time features and default labels at snapshot dates (or print the catalogue)."""
    if catalog:
        _print_catalog()
        return
    if raw is None or out is None:
        raise ConfigError("features: give --raw DIR and --out FEATDIR (or --catalog)")
    if (snapshots is None) == (every is None):
        raise ConfigError("features: give exactly one of --snapshots DATES or --every 6M")
    from smecredit import __version__
    from smecredit.data import load_raw
    from smecredit.features import build_features, every_snapshots, write_feature_dir
    from smecredit.features.builder import parse_snapshots
    from smecredit.features.folder import build_features_from_folder, check_feature_out, raw_fingerprint

    check_feature_out(out)  # a read-only folder, a file at --out...: refused before any work

    if engine not in ("local", "spark"):
        raise ConfigError(f"features: --engine must be local or spark; got {engine!r}")
    if engine == "spark":
        if snapshots is None:
            raise ConfigError("features: --engine spark needs --snapshots DATES")
        from smecredit.pipelines.spark_jobs import write_features_spark

        m = write_features_spark(raw, snapshots, out, horizon=horizon, population=population,
                                 chunk_size=chunk_size or 20_000, master=spark_master)
        console.print(f"wrote {out / 'features.parquet'} (Spark, {m['rows']} rows × {m['features']} features), "
                      f"catalog.csv, manifest.json", highlight=False)
        return
    if every is not None and chunk_size is not None:
        raise ConfigError("features: --every needs the whole data in memory; give --snapshots with --chunk-size")
    from smecredit.progress import Progress

    with Progress("features") as progress:  # a bar on a terminal, plain lines otherwise
        report = progress.update

        if chunk_size is not None:
            # bounded memory: read, validate and featurise chunk_size enterprises at a time
            snaps = parse_snapshots(snapshots)
            table, info = build_features_from_folder(raw, snaps, chunk_size=chunk_size, horizon=horizon,
                                                     population=population, progress=report)
            fingerprint, missing = f"chunks:{info['fingerprint']}", info["missing"]
        else:
            progress.stage(f"loading and validating {raw}")
            data = load_raw(raw)
            snaps = every_snapshots(data, every) if every is not None else parse_snapshots(snapshots)
            table = build_features(data, snaps, horizon=horizon, population=population, progress=report)
            fingerprint, missing = raw_fingerprint(data), sorted(data.missing)
    manifest = {
        "snapshots": [str(s.date()) for s in snaps],
        "horizon": horizon,
        "population": population,
        "rows": int(len(table)),
        "features": int(table.shape[1] - 4),
        "raw_fingerprint": fingerprint,
        "missing_tables": missing,
        "smecredit_version": __version__,
    }
    write_feature_dir(table, out, manifest=manifest)
    per = table.groupby("snapshot_date")["bad"].agg(["size", "count", "mean"])
    for snap, row in per.iterrows():
        rate = f"{row['mean']:.2%}" if row["count"] else "not observable"
        console.print(f"{snap.date()}: {int(row['size'])} rows, default rate {rate}", highlight=False)
    if missing:
        console.print(f"optional tables absent (their features are NaN, *_missing = 1): {', '.join(missing)}",
                      highlight=False)
    console.print(f"wrote {out / 'features.parquet'} ({len(table)} rows × {table.shape[1] - 4} features), "
                  f"catalog.csv, manifest.json", highlight=False)
