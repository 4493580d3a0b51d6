"""Registry family: age, size, legal form, industry, county, mountain county, tech and green flags.

Source: ``enterprises`` (as of ``registration_date``). The registry is a required table, so this
family has no missing-data indicator. Note for reviewers: ``employees``, ``size_class``,
``tech_sme`` and ``green`` are the registry's current values (the data model has no history of
them); they are treated as known at the snapshot. ``reg_age_years`` is negative never: an
enterprise registered after the snapshot is outside every population at that snapshot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.data import reference as ref
from smecredit.features._panel import FeatureConfig, PreparedRaw, day_index, frame, snapshot_day
from smecredit.features.spec import FeatureSpec

FAMILY = "registry"
SRC = "enterprises"


def _labels(mapping: dict) -> dict[str, tuple[str, str]]:
    out = {}
    for k, v in mapping.items():
        if isinstance(v, dict):
            out[k] = (v.get("en", k), v["zh"])
        else:
            out[k] = (k.replace("_", " "), v)
    return out


SPECS: list[FeatureSpec] = [
    FeatureSpec("reg_age_years", FAMILY, SRC, None, "years", "Years since registration", "成立年限", "years", "down"),
    FeatureSpec("reg_capital", FAMILY, SRC, None, "total", "Registered capital", "注册资本", "CNY", "down"),
    FeatureSpec("reg_employees", FAMILY, SRC, None, "count", "Registered staff", "登记从业人数", "persons", "down"),
    FeatureSpec("reg_size_class", FAMILY, SRC, None, "category", "Size class", "企业规模", "", "none",
                _labels(ref.SIZE_CLASSES)),
    FeatureSpec("reg_legal_form", FAMILY, SRC, None, "category", "Legal form", "组织形式", "", "none",
                _labels(ref.LEGAL_FORMS)),
    FeatureSpec("reg_industry", FAMILY, SRC, None, "category", "Industry", "行业", "", "none",
                _labels(ref.INDUSTRIES)),
    FeatureSpec("reg_county", FAMILY, SRC, None, "category", "County", "区县", "", "none",
                {k: (k.capitalize(), v["zh"]) for k, v in ref.COUNTIES.items()}),
    FeatureSpec("reg_mountain_county", FAMILY, SRC, None, "flag", "Registered in a mountain county",
                "注册在山区县", "", "none", {"0.0": ("Not in a mountain county", "非山区县")}),
    FeatureSpec("reg_urban", FAMILY, SRC, None, "flag", "Urban district", "位于城区", "", "none",
                {"0.0": ("Rural area", "位于农村")}),
    FeatureSpec("reg_tech_sme", FAMILY, SRC, None, "flag", "Recognised science-and-technology SME",
                "科技型中小企业", "", "down",
                {"0.0": ("Not a recognised science-and-technology SME", "非科技型中小企业")}),
    FeatureSpec("reg_green", FAMILY, SRC, None, "flag", "Recognised green enterprise", "绿色企业", "", "down",
                {"0.0": ("Not a recognised green enterprise", "非绿色企业")}),
]


def registry_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Registry features of every enterprise at ``snapshot`` (see module docstring)."""
    ent = raw.registry
    reg = raw.cached("reg_day", lambda: day_index(ent["registration_date"]))
    age = (snapshot_day(snapshot) - reg) / 365.25
    cols = {
        "reg_age_years": np.where(age >= 0, age, np.nan),
        "reg_capital": ent["registered_capital"].to_numpy(dtype=np.float64),
        "reg_employees": ent["employees"].to_numpy(dtype=np.float64),
        "reg_size_class": ent["size_class"].to_numpy(dtype=object),
        "reg_legal_form": ent["legal_form"].to_numpy(dtype=object),
        "reg_industry": ent["industry"].to_numpy(dtype=object),
        "reg_county": ent["county"].to_numpy(dtype=object),
        "reg_mountain_county": ent["mountain_county"].to_numpy(dtype=np.float64),
        "reg_urban": ent["urban"].to_numpy(dtype=np.float64),
        "reg_tech_sme": ent["tech_sme"].to_numpy(dtype=np.float64),
        "reg_green": ent["green"].to_numpy(dtype=np.float64),
    }
    out = frame(raw, cols)
    for k in ("reg_size_class", "reg_legal_form", "reg_industry", "reg_county"):
        out[k] = out[k].astype(object)
    return out[[s.name for s in SPECS]]


def registered_by(raw: PreparedRaw, snapshot: pd.Timestamp) -> np.ndarray:
    """Boolean mask of enterprises registered on or before ``snapshot``."""
    reg = raw.cached("reg_day", lambda: day_index(raw.registry["registration_date"]))
    return reg <= snapshot_day(snapshot)
