"""Features on the simulated city: predictive value out of time, missing tables from a folder."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.features import build_features, feature_catalog


@pytest.fixture(scope="module")
def city_features(sim_city) -> pd.DataFrame:
    return build_features(load_raw(sim_city), "2023-12-31,2024-12-31", horizon=12)


def _oot_auc(train: pd.DataFrame, test: pd.DataFrame, cols: list[str]) -> float:
    def x(d):  # signed log keeps amounts and ratios on comparable scales
        v = d[cols].to_numpy(dtype=np.float64)
        return np.sign(v) * np.log1p(np.abs(v))
    model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                          LogisticRegression(C=0.1, max_iter=2000))
    model.fit(x(train), train["bad"])
    return roc_auc_score(test["bad"], model.predict_proba(x(test))[:, 1])


def test_features_beat_registry_fields_out_of_time(city_features, sim_city):
    train = city_features[city_features.snapshot_date == "2023-12-31"]
    test = city_features[city_features.snapshot_date == "2024-12-31"]
    assert train["observable"].all() and test["observable"].all()
    assert 0.005 < train["bad"].mean() < 0.2 and test["bad"].sum() >= 30
    cat = feature_catalog()
    numeric = cat.loc[cat.dtype == "numeric", "name"].tolist()
    registry = [c for c in numeric if c.startswith("reg_")]
    auc_all = _oot_auc(train, test, numeric)
    auc_registry = _oot_auc(train, test, registry)
    assert auc_all >= auc_registry + 0.10, (auc_all, auc_registry)
    # measured against the best achievable AUC on the same rows (the simulator's true PD): thin files,
    # window dressing, invoice fraud and non-linear risk (simulator v2) keep a linear model well below it.
    # 0.78, not 0.8: with court events that rise before default (simulator court chain) this 4,000-firm
    # city's logistic model gets 0.795 of the oracle (0.802 before; about 50 test defaults, so ±0.03)
    truth = pd.read_parquet(sim_city / "_truth" / "pd_true.parquet")
    oracle_pd = truth[truth["month_end"] == pd.Timestamp("2024-12-31")].set_index("enterprise_id")["pd_12m"]
    oracle = roc_auc_score(test["bad"], oracle_pd.reindex(test["enterprise_id"]).to_numpy())
    assert auc_all >= 0.78 * oracle, (auc_all, oracle)


def test_adverse_features_point_the_declared_way(city_features):
    """Direction in the catalogue agrees with the data for the strongest signals."""
    from smecredit.validation.metrics import auc_ci

    test = city_features[city_features.snapshot_date == "2024-12-31"]
    # every one on the declared side of 0.5; credit history and electricity significantly so (DeLong 95 %). On
    # this 4,000-firm city (60 defaults) the 6-month tax comparison is the noisiest: 74 % of filers declare VAT
    # quarterly, published weeks later, and 2024-H2 is compared with the 2023 shock (measured 0.459, interval
    # 0.388–0.530; credit history 0.642 [0.576, 0.708], electricity 0.388 [0.320, 0.456])
    for name, direction, significant in [("cr_max_dpd_12m", "up", True), ("elec_yoy_3m", "down", True),
                                         ("tax_sales_yoy_6m", "down", False)]:
        v = test[name].fillna(test[name].median())
        ci = auc_ci(test["bad"].to_numpy(), v.to_numpy())
        assert ci["value"] == pytest.approx(roc_auc_score(test["bad"], v))
        far = ci["ci_low"] if direction == "up" else 1 - ci["ci_high"]
        near = ci["value"] if direction == "up" else 1 - ci["value"]
        assert near > 0.5 and (far > 0.5 or not significant), (name, ci)


def test_folder_without_optional_tables_still_builds(sim_city, tmp_path):
    thin = tmp_path / "thin"
    shutil.copytree(sim_city, thin, ignore=shutil.ignore_patterns("supply_chain.*", "green_annual.*", "_truth"))
    out = tmp_path / "feat"
    assert main(["features", "--raw", str(thin), "--out", str(out), "--snapshots", "2024-12-31"]) == 0
    feats = pd.read_parquet(out / "features.parquet")
    assert (feats["sc_missing"] == 1).all() and feats["sc_dso"].isna().all()
    assert (feats["green_missing"] == 1).all()
    assert feats["elec_yoy_3m"].notna().mean() > 0.5
    catalog = pd.read_csv(out / "catalog.csv")
    assert list(catalog["name"]) == list(feats.columns[4:])
