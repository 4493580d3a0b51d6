"""Score a table with a trained credit model (correct first; a scalable job comes later).

Every input row is returned, in order, with the id columns (``enterprise_id``, ``snapshot_date``
when present) and ``pd``, ``score``, ``grade``, ``reason_1``..``reason_3`` and ``data_quality`` (``ok``, or
``all_features_missing``: no PD, score or grade for a row the model knows nothing about). Missing feature columns
raise :class:`~smecredit.exceptions.DataContractError` listing them; extra columns are ignored with
a warning; categories unseen in training are scored as missing (with a warning).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from smecredit.io import check_table_output, read_table, write_table
from smecredit.models import CreditModel
from smecredit.exceptions import sheet_rows
from smecredit.models.credit_model import ALL_MISSING, OUTPUT_COLUMNS
from smecredit.registry import load_model
from smecredit.validation.scope import DPD_COL, population_mask

log = logging.getLogger(__name__)


def out_of_scope(model: CreditModel, frame: pd.DataFrame) -> int:
    """Number of rows outside the population the model was trained and validated for (0 when unknown).

    An application model (``scope.population == "application"``) is validated only for rows without
    current arrears (``cr_dpd_now == 0``); rows in arrears are still scored, with a warning.
    """
    scope = (getattr(model, "metadata_", {}) or {}).get("scope") or {}
    population = scope.get("population")
    if population != "application" or DPD_COL not in frame.columns:
        return 0
    return int((~population_mask(frame, population)).sum())


def score_frame(model: CreditModel, frame: pd.DataFrame, *, source: str = "input table") -> pd.DataFrame:
    """Score ``frame`` (not modified); the result has a fresh 0..n-1 index in input order."""
    outside = out_of_scope(model, frame)
    if outside:
        log.warning("%s: %d of %d rows have current arrears (%s > 0), outside the application population the "
                    "model was validated for; they are scored, but their PDs are not validated", source, outside,
                    len(frame), DPD_COL)
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
    empty = (result["data_quality"] == ALL_MISSING).to_numpy() if "data_quality" in result.columns else None
    if empty is not None and empty.any():
        log.warning("%s: %d row(s) have every model feature missing (%s): no PD, score or grade, data_quality=%s",
                    input_path, int(empty.sum()), sheet_rows(empty), ALL_MISSING)
    write_table(result, output_path)
    log.info("scored %d rows from %s into %s", len(result), input_path, output_path)
    return result


def _empty(model: CreditModel, frame: pd.DataFrame) -> pd.DataFrame:
    """A 0-row result with the dtypes of a non-empty one (floats for ``pd``/``score``, text elsewhere)."""
    cols: dict[str, pd.Series] = {}
    if "enterprise_id" in frame.columns:
        cols["enterprise_id"] = pd.Series([], dtype=object)
    if "snapshot_date" in frame.columns:
        cols["snapshot_date"] = pd.Series([], dtype="datetime64[ns]")
    for c in OUTPUT_COLUMNS:
        cols[c] = pd.Series([], dtype="float64" if c in ("pd", "score") else object)
    return pd.DataFrame(cols)
