"""``smecredit simulate`` and ``smecredit validate``."""

from __future__ import annotations

from pathlib import Path

import typer

from smecredit.cli import app, console
from smecredit.exceptions import DataContractError


@app.command()
def validate(
    raw: Path = typer.Option(..., "--raw", help="Folder with one Parquet or CSV file per table."),
) -> None:
    """Check a folder of raw tables against the data model; exit 3 on any violation."""
    from smecredit.data.validate import validate_raw

    report = validate_raw(raw)
    if not report.ok:
        raise DataContractError(report.summary())
    console.print(report.summary(), highlight=False)


@app.command()
def simulate(
    enterprises: int = typer.Option(20_000, "--enterprises", "-n", help="Number of enterprises."),
    months: int = typer.Option(36, "--months", help="Months of monthly data (13–240)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same bytes."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    end: str = typer.Option("2025-12-31", "--end", help="Last month-end of the data."),
    realistic: bool = typer.Option(
        False, "--realistic", hidden=True,
        help="Kept for older commands: every mechanism (evergreening, births, exits) is on by default."),
) -> None:
    """Simulate a city's SMEs: every raw table as Parquet, ground truth under OUT/_truth/."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from smecredit.simulation import simulate as run_simulation
    from smecredit.simulation.config import SimConfig
    from smecredit.exceptions import OutputError
    from smecredit.io import check_writable

    check_writable(out, is_dir=True)  # refused before any work
    # an invalid setting is refused before any work (exit 2); --realistic is the default city since session 6
    del realistic
    cfg = SimConfig(n_enterprises=enterprises, months=months, seed=seed, end=end)
    if out.is_dir():  # replaced as a unit: only a folder of raw tables (or an empty one)
        other = sorted(p.name for p in out.iterdir() if p.name != "_truth" and p.suffix not in (".parquet", ".csv"))
        if other:
            raise OutputError(f"cannot simulate into {out}: the folder exists and holds other files "
                              f"({', '.join(other[:5])}); give a new or a raw-data folder")

    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} chunks"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("simulate", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        path = run_simulation(out=out, config=cfg, progress=report)
    console.print(f"simulated {enterprises:,} enterprises × {months} months (seed {seed}) → {path}")
