"""Training data: read a features folder or a single table, count duplicates, split train/test.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.io import frame_fingerprint, read_table
from smecredit.models.dataset import check_target

log = logging.getLogger(__name__)

SPLITS = ("time", "random")


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
