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
