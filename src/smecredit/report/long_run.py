"""Report content: calibration to the long-run average default rate (EBA GL/2017/16), section 5.

Rendered by ``templates/_long_run.html``; the computations are :mod:`smecredit.validation.long_run`,
the same functions that write ``long_run`` to ``validation.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError
from smecredit.validation.long_run import long_run_calibration


def long_run_section(model, frame: pd.DataFrame, y: pd.Series | None, preds: pd.DataFrame,
                     population: np.ndarray, calibration: dict, *, time_col: str = "snapshot_date") -> dict:
    """LRA over every labelled snapshot of the model's population, MoC A/B/C, PD per grade on the master scale."""
    if y is None or time_col not in frame.columns:
        return {"available": False, "note": "The long-run average default rate needs outcomes and snapshot dates "
                                            "(a panel of snapshots); it cannot be computed on these data."}
    meta = model.metadata_
    hl = calibration.get("hosmer_lemeshow") or {}
    oot = str(calibration.get("sample", "")).startswith("out-of-time")
    try:
        out = long_run_calibration(
            frame.loc[population, time_col].to_numpy(), y.to_numpy()[population],
            preds["grade"].astype(str).to_numpy()[population], preds["pd"].to_numpy()[population],
            order=model.master_scale_.grades, bounds=model.master_scale_.table().to_dict("records"),
            train_snapshots=meta.get("train_snapshots"), hl_p=hl.get("p_value") if oot else None,
            n_grades_too_low=int(calibration.get("n_flagged", 0)), pd_floor=float(meta.get("pd_floor", 0.0005)))
    except DataContractError as exc:
        return {"available": False, "note": str(exc)}
    out["available"] = True
    return out
