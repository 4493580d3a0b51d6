"""Score a table with a trained credit model (correct first; a scalable job comes later).

Every input row is returned, in order, with the id columns (``enterprise_id``, ``snapshot_date``
when present) and ``pd``, ``score``, ``grade``, ``reason_1``..``reason_3``. Missing feature columns
raise :class:`~smecredit.exceptions.DataContractError` listing them; extra columns are ignored with
a warning; categories unseen in training are scored as missing (with a warning).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from smecredit.io import check_table_output, read_table, write_table
from smecredit.models import CreditModel, load_model

log = logging.getLogger(__name__)


def score_frame(model: CreditModel, frame: pd.DataFrame, *, source: str = "input table") -> pd.DataFrame:
    """Score ``frame`` (not modified); the result has a fresh 0..n-1 index in input order."""
    out = model.predict(frame.reset_index(drop=True), source=source)
    return out.reset_index(drop=True)


def score(model, input_path, output_path) -> pd.DataFrame:
    """Score the table at ``input_path`` with ``model`` (a CreditModel, MODEL_DIR or MLflow URI);
    write the result atomically to ``output_path`` (.parquet or .csv) and return it."""
    output_path = check_table_output(output_path)  # refused before any work
    frame = read_table(input_path)
    if not isinstance(model, CreditModel):
        model = load_model(model)
    if len(frame):
        result = score_frame(model, frame, source=str(input_path))
    else:
        model.prepare(frame, source=str(input_path))  # still reports missing columns
        result = _empty(model, frame)
    if "snapshot_date" in result.columns and Path(output_path).suffix == ".csv":
        result["snapshot_date"] = pd.to_datetime(result["snapshot_date"]).dt.strftime("%Y-%m-%d")
    write_table(result, output_path)
    log.info("scored %d rows from %s into %s", len(result), input_path, output_path)
    return result


def _empty(model: CreditModel, frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("enterprise_id", "snapshot_date") if c in frame.columns]
    return pd.DataFrame(columns=cols + ["pd", "score", "grade", "reason_1", "reason_2", "reason_3"])
