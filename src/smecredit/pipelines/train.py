"""Training pipeline: load data, split, fit, calibrate, validate, log to MLflow, save MODEL_DIR.

``train(data, target, out, kind=...)`` is what ``smecredit train`` runs. ``data`` is either a
features folder written by ``smecredit features`` (``features.parquet``, ``catalog.csv``,
``manifest.json``) or a single CSV/Parquet table with a binary target.

Splits
------
``time`` (default for features folders): the out-of-time (OOT) sample is the latest snapshot
whose outcome is observable; the model trains only on snapshots whose outcome window
(``horizon`` months) ends on or before that snapshot. Rows with ``observable`` False are never
used. ``random`` (default for single tables): a stratified 80/20 split; when rows repeat (an
enterprise present several times, or copies of a row) the split is grouped by enterprise, or by
row content without ``enterprise_id``, so no copy is on both sides, and the CV folds are too.

Duplicated rows are counted and warned about (log and ``validation.json`` ``data_quality``).
A features folder must hold the ``manifest.json`` written with it (it carries the label horizon
of the time split); without it training is refused rather than silently switched to another split.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from smecredit.exceptions import ConfigError, DataContractError, OutputError
from smecredit.io import atomic_path, check_writable, frame_fingerprint, read_table, work_dir, writing
from smecredit.models.credit_model import CreditModel, fit_credit_model
from smecredit.models.dataset import check_finite, check_target, check_text_in_numeric, feature_columns
from smecredit.models.pyfunc import input_example, log_model, save_model
from smecredit.scoring.ids import id_formats_of
from smecredit.validation.report import validate_predictions
from smecredit.validation.scope import POPULATION_RULE, check_population, population_mask, scope_card

log = logging.getLogger(__name__)

SPLITS = ("time", "random")
VALIDATION_FILE = "validation.json"


@dataclass
class TrainingData:
    """A model table plus what came with it (catalogue, manifest, source description)."""

    frame: pd.DataFrame
    source: str
    catalog: pd.DataFrame | None = None
    manifest: dict = field(default_factory=dict)

    @property
    def is_features_folder(self) -> bool:
        return bool(self.manifest) or self.catalog is not None


def load_training_data(path) -> TrainingData:
    """Read a features folder or a single table."""
    path = Path(path)
    if path.is_dir():
        feat = path / "features.parquet"
        if not feat.exists():
            raise DataContractError(f"{path} is a folder but has no features.parquet (run `smecredit features` first)")
        frame = read_table(feat)
        cat_path = path / "catalog.csv"
        catalog = read_table(cat_path) if cat_path.exists() else None
        man_path = path / "manifest.json"
        if not man_path.exists():
            raise DataContractError(
                f"{path} has features.parquet but no manifest.json: a features folder is written as a whole by "
                "`smecredit features` (the manifest gives the label horizon of the time split); rebuild it, or pass "
                f"{feat} itself to train on it as a single table with a random split")
        try:
            manifest = json.loads(man_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataContractError(f"{man_path}: cannot read the features manifest ({exc})") from exc
        if not isinstance(manifest, dict):
            raise DataContractError(f"{man_path}: the features manifest must be a JSON object")
        return TrainingData(frame, str(feat), catalog, manifest)
    if not path.exists():
        raise DataContractError(f"training data not found: {path}")
    return TrainingData(read_table(path), str(path))


def row_groups(df: pd.DataFrame) -> np.ndarray:
    """Group of each row for splits and CV folds: ``enterprise_id`` when present, else the row's
    content (so exact copies of a row share a group)."""
    if "enterprise_id" in df.columns:
        return df["enterprise_id"].astype(str).to_numpy()
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


def duplicate_report(df: pd.DataFrame, source: str) -> dict:
    """Count rows that copy an earlier row (all columns equal) and, on panels, repeated
    (enterprise_id, snapshot_date) keys; log a warning when there are any."""
    dup = int(df.duplicated().sum())
    out = {"rows": int(len(df)), "duplicate_rows": dup, "duplicate_share": dup / len(df) if len(df) else 0.0}
    if {"enterprise_id", "snapshot_date"} <= set(df.columns):
        out["duplicate_keys"] = int(df.duplicated(["enterprise_id", "snapshot_date"]).sum())
    if dup or out.get("duplicate_keys"):
        log.warning("%s: %d of %d rows are copies of another row%s; the split and CV folds keep copies together, "
                    "but metrics weight them twice — deduplicate the table if the copies are errors", source, dup,
                    len(df), f" and {out['duplicate_keys']} (enterprise_id, snapshot_date) keys repeat"
                    if out.get("duplicate_keys") else "")
    return out


def held_out_mask(frame: pd.DataFrame, meta: dict, *, manifest: dict | None = None) -> np.ndarray | None:
    """The rows of ``frame`` a model trained with a random split held out for its test, or ``None``.

    Known only when ``frame`` is the very table the model was trained on (same fingerprint, as
    recorded in the model's metadata): the split is then recomputed exactly as at training.
    """
    target = meta.get("target")
    if meta.get("split") != "random" or not target or target not in frame.columns:
        return None
    if meta.get("data_fingerprint") != frame_fingerprint(frame):
        return None
    td = TrainingData(frame, "report data", None, dict(manifest or {}))
    try:
        _, test, _ = split_data(td, target, "random", random_state=int(meta.get("random_state", 0)))
    except (DataContractError, ConfigError, ValueError):
        return None  # cannot be recomputed: the report labels its figures as possibly in-sample
    return frame.index.isin(test.index)


def _add_months(ts: pd.Series | pd.Timestamp, months: int):
    return ts + pd.DateOffset(months=months)


def split_data(td: TrainingData, target: str, split: str, *, test_size: float = 0.2, random_state: int = 0):
    """Return ``(train_frame, test_frame, info)``; rows without an observable outcome are dropped."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}; got {split!r}")
    df = td.frame
    if target not in df.columns:
        raise DataContractError(f"{td.source}: target column {target!r} not found; columns are "
                                f"{', '.join(map(str, df.columns[:30]))}")
    keep = np.ones(len(df), dtype=bool)
    if "observable" in df.columns:
        keep &= df["observable"].fillna(False).astype(bool).to_numpy()
    if td.is_features_folder:
        keep &= df[target].notna().to_numpy()
    n_unobs = int((~keep).sum())
    df = df.loc[keep]
    if len(df) == 0:
        raise DataContractError(f"{td.source}: no row has an observable outcome in {target!r}")
    y = check_target(df, target, source=td.source)
    info = {"split": split, "rows_unobservable_dropped": n_unobs}
    if split == "time":
        if "snapshot_date" not in df.columns:
            raise ConfigError(f"--split time needs a snapshot_date column in {td.source}; use --split random")
        snap = pd.to_datetime(df["snapshot_date"])
        horizon = int(td.manifest.get("horizon", 12))
        oot = snap.max()
        train_mask = (_add_months(snap, horizon) <= oot).to_numpy()
        test_mask = (snap == oot).to_numpy()
        if not train_mask.any():
            raise DataContractError(
                f"{td.source}: no snapshot has its {horizon}-month outcome window ending on or before the OOT "
                f"snapshot {oot.date()}; need more history or use --split random")
        train, test = df.loc[train_mask], df.loc[test_mask]
        info.update({"oot_snapshot": str(oot.date()), "horizon_months": horizon,
                     "train_snapshots": sorted(str(d.date()) for d in snap[train_mask].unique())})
    else:
        if not 0 < test_size < 1:
            raise ConfigError(f"test_size must be in (0, 1); got {test_size!r}")
        groups = row_groups(df)
        if len(pd.unique(groups)) == len(df):  # every row its own group: the plain stratified split
            idx_tr, idx_te = train_test_split(np.arange(len(df)), test_size=test_size, stratify=y.to_numpy(),
                                              random_state=random_state)
        else:  # copies or repeated enterprises stay on one side
            from sklearn.model_selection import StratifiedGroupKFold

            k = max(2, int(round(1 / test_size)))
            sgk = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
            idx_tr, idx_te = next(sgk.split(np.zeros(len(df)), y.to_numpy(), groups))
            info["grouped_by"] = "enterprise_id" if "enterprise_id" in df.columns else "row content (copies)"
        idx_tr.sort()
        idx_te.sort()
        train, test = df.iloc[idx_tr], df.iloc[idx_te]
    for name, part in (("training", train), ("test", test)):
        yy = part[target]
        if yy.nunique() < 2:
            raise DataContractError(f"{td.source}: the {name} sample has a single class in {target!r} "
                                    f"({len(part)} rows); a PD model needs both defaults and non-defaults")
    info.update({"n_train": int(len(train)), "n_test": int(len(test)),
                 "train_default_rate": float(train[target].mean()), "test_default_rate": float(test[target].mean())})
    return train, test, info


def _plots(folder: Path, y, p, grades, master_scale) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    paths = []
    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label="model")
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test sample)")
    paths.append(folder / "roc.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    order = np.argsort(p)
    bins = np.array_split(order, 10)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([np.mean(p[b]) for b in bins], [np.mean(y[b]) for b in bins], "o-")
    hi = max(float(np.max(p)), float(np.mean(y[bins[-1]])))
    ax.plot([0, hi], [0, hi], ls="--", c="grey")
    ax.set(xlabel="mean predicted PD", ylabel="observed default rate", title="Calibration by decile")
    paths.append(folder / "calibration.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    labels = master_scale.grades
    g = pd.Series(grades).value_counts().reindex(labels, fill_value=0)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(labels, g.to_numpy())
    ax.set(xlabel="grade", ylabel="obligors", title="Grade distribution (test sample)")
    paths.append(folder / "grades.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
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


def _long_run(td: TrainingData, target: str, model, val: dict, info: dict) -> dict | None:
    """Long-run calibration (GL/2017/16) over every snapshot of the population; ``None`` without snapshots.

    The same computation as the report's section 5 (:func:`smecredit.validation.long_run.long_run_calibration`).
    """
    from smecredit.validation.long_run import long_run_calibration

    df = td.frame
    if "snapshot_date" not in df.columns:
        return None
    y = pd.to_numeric(df[target], errors="coerce").astype("float64")
    if "observable" in df.columns:
        y = y.where(df["observable"].fillna(False).astype(bool), np.nan)
    p = model.predict_pd(df)  # no reason codes: the whole panel can be large
    in_default = df["in_default"].fillna(False).astype(bool).to_numpy() if "in_default" in df.columns else None
    grades = np.asarray(model.master_scale_.assign(p, in_default)).astype(str)
    return long_run_calibration(df["snapshot_date"].to_numpy(), y.to_numpy(), grades,
                                p, order=model.master_scale_.grades,
                                bounds=model.master_scale_.table().to_dict("records"),
                                train_snapshots=info.get("train_snapshots"),
                                hl_p=val["hosmer_lemeshow"]["p_value"],
                                n_grades_too_low=sum(g.get("verdict") == "PD too low" for g in val["grades"]),
                                pd_floor=model.metadata_.get("pd_floor", 0.0005))


def _by_population(model, test_df: pd.DataFrame, y_te, pred: pd.DataFrame, n_boot: int, seed: int) -> dict:
    """Test-sample performance by population view and days-past-due bucket (the report's section 4 function)."""
    from smecredit.report.scope import scope_section

    out = scope_section(model.metadata_, test_df.reset_index(drop=True), pd.Series(y_te, dtype="float64"),
                        pred.reset_index(drop=True), np.ones(len(test_df), dtype=bool), "test sample",
                        n_boot=min(n_boot, 200), seed=seed)
    out.pop("card", None)
    return out


def resolve_developer(developer: str | None) -> str:
    """The model developer: ``developer`` when given, else the OS user name (``uid-<n>`` when it has none)."""
    import getpass

    if developer is not None:
        if not str(developer).strip():
            raise ConfigError("developer must be a non-empty text")
        return str(developer).strip()
    try:
        user = getpass.getuser().strip()
    except (OSError, KeyError):  # no user name for this uid (e.g. a container): the uid identifies the account
        user = ""
    if not user:
        user = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
        log.warning("no OS user name; the model developer is recorded as %s (pass --developer ID)", user)
    return user


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (pd.Timestamp,)):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_model_out(out) -> Path:
    """Check early that MODEL_DIR ``out`` can be written: a new folder, or an existing model folder
    (replaced as a unit); never a file or a folder holding something else."""
    out = check_writable(out, is_dir=True)
    if out.is_dir() and any(out.iterdir()) and not (out / "MLmodel").is_file():
        raise OutputError(f"cannot write the model to {out}: the folder exists and is not a model folder "
                          "(no MLmodel); give a new folder name")
    return out


def train(
    data,
    target: str,
    out,
    *,
    kind: str = "gbm",
    split: str | None = None,
    experiment: str = "smecredit",
    register: str | None = None,
    compare: bool = True,
    calibration: str = "auto",
    pd_floor: float = 0.0005,
    tune_seconds: float = 0.0,
    random_state: int = 0,
    n_boot: int = 500,
    progress=None,
    developer: str | None = None,
    population: str = "behavioural",
) -> dict:
    """Train, validate, log and save a credit model; return a summary dict.

    Parameters
    ----------
    data : path of a features folder or a single CSV/Parquet table.
    target : name of the binary target column.
    out : MODEL_DIR to write (an MLflow model directory; replaced atomically).
    kind : "gbm" or "scorecard".
    split : "time", "random" or None (time for features folders with snapshots, else random).
    experiment : MLflow experiment name.
    register : registered model name; a new version gets alias ``challenger``.
    compare : also fit the other kind on the same split and compare AUCs with DeLong.
    tune_seconds : Optuna time budget for GBM hyper-parameters (0 = defaults).
    progress : callable or None
        Called with the name of each stage (``smecredit.progress.Progress.stage``); silent when None.
    population : "behavioural" (every row) or "application" (rows with no current arrears,
        ``cr_dpd_now == 0``); recorded with the intended use and default definition as ``scope``.
    developer : who developed the model (default: the OS user); recorded as the MLflow tag
        ``smecredit.developer`` so that ``smecredit promote`` can refuse a review by the developer.
    """
    import mlflow

    from smecredit import tracking

    out = check_model_out(out)  # refused before any work
    stage = progress or (lambda name: None)
    stage("loading data")
    developer = resolve_developer(developer)
    check_population(population)
    td = load_training_data(data)
    all_types = feature_columns(td.frame, target)
    check_text_in_numeric(td.frame, all_types, source=td.source)
    check_finite(td.frame, all_types, source=td.source)
    quality = duplicate_report(td.frame, td.source)
    fingerprint = frame_fingerprint(td.frame)  # of the whole table, before the population filter
    in_pop = population_mask(td.frame, population, source=td.source)
    n_excluded = int((~in_pop).sum())
    if n_excluded:
        td.frame = td.frame.loc[in_pop]
        log.info("%s population: %d of %d rows kept (%s)", population, int(in_pop.sum()), len(in_pop),
                 POPULATION_RULE[population])
    if split is None:
        split = "time" if (td.is_features_folder and "snapshot_date" in td.frame.columns) else "random"
    train_df, test_df, info = split_data(td, target, split, random_state=random_state)
    types = feature_columns(train_df, target)
    features = list(types)
    y_tr = train_df[target].astype("int64").to_numpy()
    y_te = test_df[target].astype("int64").to_numpy()
    time_index = train_df["snapshot_date"].to_numpy() if "snapshot_date" in train_df.columns else None
    # a panel of snapshots holds the same enterprise several times: keep it in one CV fold
    groups = train_df["enterprise_id"].to_numpy() if "enterprise_id" in train_df.columns else None
    if groups is None and quality["duplicate_rows"]:  # copies of a row stay in one CV fold
        groups = row_groups(train_df)
    params = {}
    if tune_seconds and kind == "gbm":
        from smecredit.models.tuning import tune_gbm
        from smecredit.models.credit_model import directions_from_catalog
        from smecredit.models.dataset import coerce_features

        params = tune_gbm(coerce_features(train_df, types), y_tr, time_budget=tune_seconds,
                          directions=directions_from_catalog(td.catalog, features), random_state=random_state)
    scope = scope_card(population, horizon_months=info.get("horizon_months") or td.manifest.get("horizon"),
                       n_rows=len(td.frame), n_excluded=n_excluded)
    meta = {"target": target, "data_source": str(td.source), "data_fingerprint": fingerprint, "developer": developer,
            "scope": scope, "random_state": random_state, **info,
            "id_formats": id_formats_of(train_df)}  # the batch job rejects ids of another format
    stage(f"fitting the {kind} on {len(train_df):,} rows")
    model = fit_credit_model(train_df[features], y_tr, kind=kind, catalog=td.catalog, calibration=calibration,
                             pd_floor=pd_floor, time_index=time_index, groups=groups, random_state=random_state, params=params,
                             metadata=meta)
    pred = model.predict(test_df, flag_missing=False)  # validation measures the model's raw estimates
    quality["test_rows_all_features_missing"] = int((pred["data_quality"] != "ok").sum())
    if quality["test_rows_all_features_missing"]:
        log.warning("%s: %d test row(s) have every model feature missing; `score` gives them no grade",
                    td.source, quality["test_rows_all_features_missing"])
    bench = None
    if compare:
        other = "scorecard" if kind == "gbm" else "gbm"
        stage(f"fitting the {other} benchmark")
        m2 = fit_credit_model(train_df[features], y_tr, kind=other, catalog=td.catalog, calibration=calibration,
                              pd_floor=pd_floor, time_index=time_index, groups=groups, random_state=random_state)
        bench = {"name": other, "pd": m2.predict_pd(test_df)}
    stage(f"validating on {len(test_df):,} test rows")
    val = validate_predictions(y_te, pred["pd"].to_numpy(), pred["grade"].to_numpy(),
                               grade_order=model.master_scale_.grades, n_boot=n_boot, random_state=random_state,
                               benchmark=bench,
                               clusters=test_df["enterprise_id"].to_numpy() if "enterprise_id" in test_df else None)
    val.update({"kind": kind, "split": info, "scope": scope, "developer": developer, "calibration": {"method": model.calibrator_.method_,
                "held_out_brier": model.calibrator_.brier_, "pd_floor": pd_floor},
                "master_scale": model.master_scale_.to_dict(), "data_fingerprint": fingerprint,
                "data_quality": quality, "features": features,
                "dropped_features": getattr(model.estimator_, "dropped_features_", {})})
    val["long_run"] = _long_run(td, target, model, val, info)
    val["by_population"] = _by_population(model, test_df, y_te, pred, n_boot, random_state)
    est = model.estimator_
    if kind == "gbm":
        # features whose linear coefficient the catalogue direction holds at zero (trees may still use them)
        zeroed = est.linear_.zeroed_ if est.linear_ is not None else []
        val["gbm"] = {"n_trees": est.n_rounds_, "cv_auc": est.cv_auc_, "linear_base_zeroed": zeroed,
                      "monotone_trees": est.monotone_trees,
                      # linear base alone vs with trees, out of fold, and whether the trees were kept
                      "trees_kept": est.trees_kept_, "tree_decision": est.tree_decision_}
    else:  # the bin sizes actually used ("auto" is resolved from the number of defaults)
        val["scorecard"] = {"min_bin_size": est.min_bin_size_, "max_n_prebins": est.max_n_prebins_}

    stage("logging to MLflow and saving the model")
    experiment_id = tracking.ensure_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{kind}-{split}") as run:
        model.metadata_["run_id"] = run.info.run_id
        mlflow.log_params({"kind": kind, "split": split, "target": target, "n_features": len(features),
                           "population": population,
                           "calibration": model.calibrator_.method_, "pd_floor": pd_floor,
                           "random_state": random_state, "n_train": info["n_train"], "n_test": info["n_test"],
                           "data_fingerprint": fingerprint, "data_source": Path(td.source).name,
                           **{f"model_{k}": v for k, v in model.estimator_.get_params().items()
                              if k != "directions" and isinstance(v, (int, float, str, bool, type(None)))}})
        mlflow.set_tags({"smecredit.kind": kind, "smecredit.data_fingerprint": fingerprint,
                         "smecredit.developer": developer})
        mlflow.log_metrics(_flat_metrics(val))
        mlflow.log_metrics(train_metrics(y_tr, model.predict_pd(train_df)))  # in-sample, next to the test ones
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
                mlflow.log_artifact(str(tmp / name))
            for plot in _plots(tmp, y_te, pred["pd"].to_numpy(), pred["grade"].to_numpy(), model.master_scale_):
                mlflow.log_artifact(str(plot), artifact_path="plots")
            example = input_example(model, train_df)
            registered = None
            if register:
                model.metadata_["registered_name"] = register
            info_model = log_model(model, example=example, registered_model_name=register)
            if register:
                version = str(info_model.registered_model_version)
                mlflow.MlflowClient().set_registered_model_alias(register, "challenger", version)
                mlflow.MlflowClient().update_model_version(register, version,
                                                           description=version_description(kind, td, info, val))
                model.metadata_["registered_version"] = version
                registered = {"name": register, "version": version, "alias": "challenger"}
            out = Path(out)
            with atomic_path(out, is_dir=True) as tmp_dir:
                os.rmdir(tmp_dir)
                with writing(out):
                    save_model(model, tmp_dir, example=example, extra_files=files)
        mlflow.log_metric("model_dir_written", 1)
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
