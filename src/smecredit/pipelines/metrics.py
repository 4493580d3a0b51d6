"""Metrics and plot data of a trained MODEL_DIR for ``dvc metrics show`` / ``dvc plots show``.

``export_model_metrics`` reads the model's ``validation.json`` (written by ``smecredit train``) and
writes a flat metrics JSON (AUC, Gini, KS, Brier, log loss, mean PD vs default rate, Hosmer-Lemeshow
p) plus two CSV plot files: the ROC curve of the test sample (the training split is re-made from the
data, exactly as at training) and calibration by grade (mean PD vs observed default rate).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError
from smecredit.io import atomic_path
from smecredit.pipelines.train import VALIDATION_FILE, load_training_data, split_data


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def export_model_metrics(model_dir: str | os.PathLike, data: str | os.PathLike, metrics_out: str | os.PathLike,
                         plots_dir: str | os.PathLike) -> dict:
    """Write ``metrics_out`` (JSON) and ``plots_dir/roc.csv``, ``plots_dir/calibration.csv``; return the metrics."""
    from sklearn.metrics import roc_curve

    from smecredit.registry import load_model

    model_dir = Path(model_dir)
    vfile = model_dir / VALIDATION_FILE
    if not vfile.is_file():
        raise DataContractError(f"{model_dir} has no {VALIDATION_FILE} (train it with `smecredit train`)")
    val = json.loads(vfile.read_text(encoding="utf-8"))
    metrics = {f"test_{k}": float(v["value"]) for k, v in val.get("metrics", {}).items()}
    metrics.update({"test_mean_pd": val.get("mean_pd"), "test_default_rate": val.get("default_rate"),
                    "hosmer_lemeshow_p": (val.get("hosmer_lemeshow") or {}).get("p_value"),
                    "n_test": val.get("n")})
    if "delong" in val:
        metrics["delong_p"] = val["delong"].get("p_value")
    metrics = {k: v for k, v in metrics.items() if v is not None}
    _write(Path(metrics_out), json.dumps(metrics, indent=2, sort_keys=True) + "\n")

    plots = Path(plots_dir)
    grades = pd.DataFrame([g for g in val.get("grades", []) if g.get("n")])
    if len(grades):
        cal = grades[["grade", "n", "pd_mean", "default_rate"]]
        _write(plots / "calibration.csv", cal.to_csv(index=False, float_format="%.6g"))
    model = load_model(model_dir)
    td = load_training_data(data)
    target = model.metadata_.get("target") or "bad"
    split = (val.get("split") or {}).get("split") or model.metadata_.get("split") or "time"
    _, test, _ = split_data(td, target, split, random_state=int(model.metadata_.get("random_state", 0) or 0))
    p = model.predict_pd(test)
    fpr, tpr, _ = roc_curve(test[target].astype("int64").to_numpy(), p)
    keep = np.unique(np.r_[np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int)])
    _write(plots / "roc.csv", pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]}).to_csv(index=False,
                                                                                       float_format="%.6g"))
    return metrics
