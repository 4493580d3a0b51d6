"""What every report section shares: the report's data and settings, column names and small helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from smecredit.config_model import FrozenConfig
from smecredit.validation.metrics import bootstrap_ci

ID_COL, TIME_COL = "enterprise_id", "snapshot_date"
SEGMENTS = {  # label -> candidate columns (registry family first, raw names second)
    "County": ("reg_county", "county"),
    "Mountain county": ("reg_mountain_county", "mountain_county"),
    "Industry": ("reg_industry", "industry"),
    "Size class": ("reg_size_class", "size_class"),
    "Legal form": ("reg_legal_form", "legal_form"),
    "Tech SME": ("reg_tech_sme", "tech_sme"),
    "Green enterprise": ("reg_green", "green"),
}
MIN_SEGMENT_AUC_ROWS = 30
EAD_COL = "cr_balance"  # loan balance at the snapshot: the exposure of the concentration measures


@dataclass
class ReportData:
    """The data a report is computed on.

    Attributes
    ----------
    frame : DataFrame
        Features plus meta columns (``enterprise_id``, ``snapshot_date``, target) when present.
    source : str
        Where the data came from (a path, shown in the report).
    fingerprint : str
        SHA-256 of the data (file or frame fingerprint).
    catalog : DataFrame or None
        The feature catalogue (``name, family, source, description_en, ...``).
    """

    frame: pd.DataFrame
    source: str
    fingerprint: str
    catalog: pd.DataFrame | None = None
    manifest: dict = field(default_factory=dict)


class ReportSettings(FrozenConfig):
    """Parameters of the report computations: a frozen pydantic model (unknown fields rejected; every invalid
    field reported at once as a :class:`~smecredit.exceptions.ConfigError`, exit 2)."""

    model_config = ConfigDict(title="report settings")

    cutoff_pd: float = Field(0.05, gt=0, lt=1, description="PD cut-off of the approval rates by segment")
    n_boot: int = Field(500, ge=10, description="bootstrap resamples of the confidence intervals (= smecredit train's: the out-of-time intervals equal validation.json's)")
    sample_size: int = Field(5000, ge=100, description="rows shown in the beeswarm and dependence plots")
    n_local: int = Field(5, ge=1, description="local explanations (waterfalls)")
    n_dependence: int = Field(3, ge=0, description="dependence plots")
    n_psi_features: int = Field(10, ge=1, description="features whose PSI is shown")
    migration_months: int = Field(12, ge=1, description="months between the grades of the migration matrix")
    seed: int = Field(0, ge=0, description="seed of the samples and bootstrap")

    def check(self) -> None:
        """Nothing to do: the settings are validated when constructed (kept for callers of the old API)."""


def _window(meta: dict) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Training window ``(start, end)`` from model metadata, or ``None``."""
    w = meta.get("training_window") or meta.get("train_window")
    start = end = None
    if isinstance(w, dict):
        start, end = w.get("start"), w.get("end")
    elif isinstance(w, (list, tuple)) and len(w) == 2:
        start, end = w
    elif isinstance(w, str) and "/" in w:
        start, end = w.split("/", 1)
    start = start or meta.get("train_start")
    end = end or meta.get("train_end")
    snaps = meta.get("train_snapshots")
    if (start is None or end is None) and isinstance(snaps, (list, tuple)) and snaps:
        start, end = min(snaps), max(snaps)
    if start is None or end is None:
        return None
    try:
        return pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError):
        return None


def _fmt_window(w) -> str:
    return "not recorded" if w is None else f"{w[0].date()} to {w[1].date()}"


def _segment_column(frame: pd.DataFrame, candidates) -> str | None:
    return next((c for c in candidates if c in frame.columns), None)


def _flag_label(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, float, np.integer, np.floating)) and not (isinstance(v, float) and math.isnan(v)):
        return "yes" if float(v) >= 0.5 else "no"
    return "missing" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _ci(y, p, metric, settings: ReportSettings) -> dict:
    return bootstrap_ci(y, p, metric, n_boot=settings.n_boot, random_state=settings.seed)


def _both_classes(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < y.sum() < len(y)
