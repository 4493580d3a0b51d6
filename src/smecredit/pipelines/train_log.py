"""The log and write steps of training: log the run (parameters, metrics, ``validation.json``, plots, the
model and its registered version) to MLflow through :mod:`smecredit.registry`, and write MODEL_DIR atomically.

The figures are drawn on :class:`~matplotlib.figure.Figure` objects with their own Agg canvas: no pyplot
and no global backend switch, so a notebook's backend is untouched.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.io import atomic_path, work_dir, writing
from smecredit.pipelines.train_data import TrainingData
from smecredit.pipelines.train_fit import Fitted
from smecredit.registry import input_example, log_model, runs, save_model

log = logging.getLogger(__name__)

VALIDATION_FILE = "validation.json"


def _figure(width: float, height: float):
    """A figure with its own Agg canvas: no pyplot, no backend switch (a notebook's backend is untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _plots(folder: Path, y, p, grades, master_scale) -> list[Path]:
    """ROC, calibration-by-decile and grade-distribution PNGs of the test sample (logged under ``plots/``)."""
    from sklearn.metrics import roc_curve

    paths = []
    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = _figure(4.5, 4.5)
    ax.plot(fpr, tpr, label="model")
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test sample)")
    paths.append(folder / "roc.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight", metadata={"Software": None})
    order = np.argsort(p)
    bins = np.array_split(order, 10)
    fig, ax = _figure(4.5, 4.5)
    ax.plot([np.mean(p[b]) for b in bins], [np.mean(y[b]) for b in bins], "o-")
    hi = max(float(np.max(p)), float(np.mean(y[bins[-1]])))
    ax.plot([0, hi], [0, hi], ls="--", c="grey")
    ax.set(xlabel="mean predicted PD", ylabel="observed default rate", title="Calibration by decile")
    paths.append(folder / "calibration.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight", metadata={"Software": None})
    labels = master_scale.grades
    g = pd.Series(grades).value_counts().reindex(labels, fill_value=0)
    fig, ax = _figure(6, 3.5)
    ax.bar(labels, g.to_numpy())
    ax.set(xlabel="grade", ylabel="obligors", title="Grade distribution (test sample)")
    paths.append(folder / "grades.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight", metadata={"Software": None})
    return paths


def _flat_metrics(val: dict) -> dict[str, float]:
    out = {}
    for name, r in val["metrics"].items():
        out[f"test_{name}"] = r["value"]
        out[f"test_{name}_ci_low"] = r["ci_low"]
        out[f"test_{name}_ci_high"] = r["ci_high"]
    out["test_mean_pd"] = val["mean_pd"]
    out["test_default_rate"] = val["default_rate"]
    out["hosmer_lemeshow_p"] = val["hosmer_lemeshow"]["p_value"]
    if "delong" in val:
        out["delong_auc_benchmark"] = val["delong"]["auc_2"]
        out["delong_p"] = val["delong"]["p_value"]
    return out


def train_metrics(y, p) -> dict[str, float]:
    """AUC, Gini, KS and Brier on the training rows (``train_*``), logged next to the test metrics."""
    from smecredit.validation.metrics import auc, brier, ks

    a = auc(y, p)
    return {"train_auc": a, "train_gini": 2 * a - 1, "train_ks": ks(y, p), "train_brier": brier(y, p),
            "train_mean_pd": float(np.mean(p)), "train_default_rate": float(np.mean(y))}


def version_description(kind: str, td: TrainingData, info: dict, val: dict) -> str:
    """Description of a registered model version: data, window, kind and headline metrics."""
    window = ""
    if info.get("train_snapshots"):
        snaps = info["train_snapshots"]
        window = f"; training snapshots {snaps[0]} to {snaps[-1]} ({len(snaps)}), out-of-time test {info['oot_snapshot']}"
    m = val["metrics"]
    return (f"{kind} PD model trained on {Path(td.source).name} (data sha256 {val['data_fingerprint'][:12]}), "
            f"{info['split']} split, {info['n_train']:,} training and {info['n_test']:,} test rows{window}. "
            f"Test AUC {m['auc']['value']:.4f} [{m['auc']['ci_low']:.4f}, {m['auc']['ci_high']:.4f}], "
            f"KS {m['ks']['value']:.4f}, Brier {m['brier']['value']:.4f}; mean PD {val['mean_pd']:.4f} vs default "
            f"rate {val['default_rate']:.4f}.")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (pd.Timestamp,)):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def log_and_write(f: Fitted, out: Path, *, experiment: str, register: str | None, stage) -> dict:
    """Log the fitted model's run to MLflow (optionally registering it as ``challenger``), write MODEL_DIR
    ``out`` atomically and return the summary of :func:`smecredit.pipelines.train.train`."""
    model, td, kind, split, target, info, val = f.model, f.td, f.kind, f.split, f.target, f.info, f.val
    features, types, train_df, fingerprint, developer = f.features, f.types, f.train_df, f.fingerprint, f.developer
    population, pd_floor, random_state, n_excluded = f.population, f.pd_floor, f.random_state, f.n_excluded
    y_tr, y_te, pred = f.y_tr, f.y_te, f.pred
    stage("logging to MLflow and saving the model")
    with runs.start_run(experiment, f"{kind}-{split}") as (experiment_id, run):
        model.metadata_["run_id"] = run.info.run_id
        runs.log_params({"kind": kind, "split": split, "target": target, "n_features": len(features),
                         "population": population,
                         "calibration": model.calibrator_.method_, "pd_floor": pd_floor,
                         "random_state": random_state, "n_train": info["n_train"], "n_test": info["n_test"],
                         "data_fingerprint": fingerprint, "data_source": Path(td.source).name,
                         **{f"model_{k}": v for k, v in model.estimator_.get_params().items()
                            if k != "directions" and isinstance(v, (int, float, str, bool, type(None)))}})
        runs.set_tags({"smecredit.kind": kind, "smecredit.data_fingerprint": fingerprint,
                       "smecredit.developer": developer})
        runs.log_metrics(_flat_metrics(val))
        runs.log_metrics(train_metrics(y_tr, model.predict_pd(train_df)))  # in-sample, next to the test ones
        with work_dir("smecredit-train-") as tmp:
            tmp = Path(tmp)
            files = {VALIDATION_FILE: json.dumps(val, indent=2, default=_json_default, ensure_ascii=False),
                     "features.json": json.dumps({"features": features, "types": types}, indent=2)}
            table = model.scorecard_table()
            if table is not None:
                files["scorecard_table.csv"] = table.to_csv(index=False)
                files["scorecard_table.html"] = table.to_html(index=False, float_format=lambda v: f"{v:.4f}")
            for name, content in files.items():
                (tmp / name).write_text(content, encoding="utf-8")
                runs.log_artifact(tmp / name)
            for plot in _plots(tmp, y_te, pred["pd"].to_numpy(), pred["grade"].to_numpy(), model.master_scale_):
                runs.log_artifact(plot, artifact_path="plots")
            example = input_example(model, train_df)
            registered = None
            if register:
                model.metadata_["registered_name"] = register
            info_model = log_model(model, example=example, registered_model_name=register)
            if register:
                version = str(info_model.registered_model_version)
                runs.set_alias(register, version, "challenger", description=version_description(kind, td, info, val))
                model.metadata_["registered_version"] = version
                registered = {"name": register, "version": version, "alias": "challenger"}
            out = Path(out)
            with atomic_path(out, is_dir=True) as tmp_dir:
                os.rmdir(tmp_dir)
                with writing(out):
                    save_model(model, tmp_dir, example=example, extra_files=files)
        runs.log_metric("model_dir_written", 1)
    summary = {"model_dir": str(out), "run_id": run.info.run_id, "experiment_id": experiment_id, "kind": kind,
               "population": population, "rows_excluded": n_excluded,
               "split": split, "n_train": info["n_train"], "n_test": info["n_test"],
               "test_auc": val["metrics"]["auc"]["value"], "test_auc_ci": [val["metrics"]["auc"]["ci_low"],
                                                                            val["metrics"]["auc"]["ci_high"]],
               "test_mean_pd": val["mean_pd"], "test_default_rate": val["default_rate"],
               "model_uri": info_model.model_uri, "registered": registered}
    if kind == "gbm":
        summary["gbm_form"] = val["gbm"]["tree_decision"]
    if "delong" in val:
        summary["benchmark"] = {"kind": val["delong"]["benchmark"], "auc": val["delong"]["auc_2"],
                                "delong_p": val["delong"]["p_value"]}
    log.info("trained %s: test AUC %.4f", kind, summary["test_auc"])
    return summary
