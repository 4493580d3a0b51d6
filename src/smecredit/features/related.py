"""Related persons: legal representative, actual controller and shareholders on bad lists.

Source: ``related_persons`` (no as-of column: the person list is as of extraction). A person counts
as a dishonest debtor (失信被执行人) at the snapshot only when ``dishonest_debtor`` is true and
``dishonest_since`` is on or before the snapshot; likewise for a bad credit record and
``bad_record_since``. A flag without its date cannot be placed in time and is ignored
(point-in-time safe). When the table is absent every feature is NaN and ``rp_missing`` = 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import absent_source, FeatureConfig, PreparedRaw, bincount, day_index, frame, snapshot_day
from smecredit.features.spec import FeatureSpec, missing_spec

FAMILY = "rp"
SRC = "related_persons"
CONTROLLERS = ("legal_representative", "actual_controller")

SPECS: list[FeatureSpec] = [
    FeatureSpec("rp_persons", FAMILY, SRC, None, "count", "Related persons on record", "关联自然人数", "persons",
                "none"),
    FeatureSpec("rp_dishonest", FAMILY, SRC, None, "count", "Related persons listed as dishonest debtors",
                "关联自然人失信被执行人数", "persons", "up"),
    FeatureSpec("rp_bad_record", FAMILY, SRC, None, "count", "Related persons with a bad credit record",
                "关联自然人有不良信用记录人数", "persons", "up"),
    FeatureSpec("rp_controller_flagged", FAMILY, SRC, None, "flag",
                "Legal representative or actual controller is a dishonest debtor or has a bad credit record",
                "法定代表人或实际控制人失信或有不良信用记录", "", "up",
                {"0.0": ("Legal representative and actual controller have clean records",
                         "法定代表人和实际控制人无失信或不良记录")}),
    missing_spec(FAMILY, SRC, "related-person", "关联自然人"),
]


def related_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Related-person features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    n = raw.n
    if not raw.has(SRC):
        return absent_source(raw, names, "rp_missing")
    df = raw.raw[SRC]
    a = raw.cached(("rp",), lambda: {
        "code": raw.codes(SRC), "dis": df["dishonest_debtor"].to_numpy(dtype=bool),
        "dis_day": day_index(df["dishonest_since"]), "bad": df["bad_credit_record"].to_numpy(dtype=bool),
        "bad_day": day_index(df["bad_record_since"]),
        "ctrl": df["role"].isin(CONTROLLERS).to_numpy(dtype=bool),
        "first": ~df.duplicated(["enterprise_id", "person_id"]).to_numpy(dtype=bool)})
    s = snapshot_day(snapshot)
    dis = a["dis"] & (a["dis_day"] <= s)
    bad = a["bad"] & (a["bad_day"] <= s)
    first = a["first"]  # count each person once, whatever their roles
    cols = {
        "rp_persons": bincount(a["code"][first], n),
        "rp_dishonest": bincount(a["code"][dis & first], n),
        "rp_bad_record": bincount(a["code"][bad & first], n),
        "rp_controller_flagged": (bincount(a["code"][(dis | bad) & a["ctrl"]], n) > 0).astype(np.float64),
        "rp_missing": np.zeros(n),
    }
    return frame(raw, cols)[names]
