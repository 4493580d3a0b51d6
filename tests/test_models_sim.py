"""Train and score on the simulated city's point-in-time features (time split, catalogue directions)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.features import build_features, every_snapshots, write_feature_dir
from smecredit.registry import load_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim_features(sim_city, tmp_path_factory):
    raw = load_raw(sim_city)
    snaps = every_snapshots(raw, "3M", min_history=6)
    feats = build_features(raw, snaps, horizon=12)
    folder = tmp_path_factory.mktemp("simfeat") / "feat"
    write_feature_dir(feats, folder, manifest={"horizon": 12, "snapshots": [str(s.date()) for s in snaps]})
    return folder


def test_train_and_score_on_simulated_features(sim_features, sim_city, tmp_path):
    out = tmp_path / "model"
    assert main(["train", "--data", str(sim_features), "--out", str(out), "--kind", "gbm", "--no-compare"]) == 0
    val = json.loads((out / "validation.json").read_text())
    assert val["split"]["split"] == "time"
    oot = pd.Timestamp(val["split"]["oot_snapshot"])
    assert all(pd.Timestamp(s) + pd.DateOffset(months=12) <= oot for s in val["split"]["train_snapshots"])
    model = load_model(out)
    # catalogue directions became monotone constraints
    assert model.metadata_["directions"]
    assert not {"enterprise_id", "snapshot_date", "bad", "observable"} & set(model.feature_names_)

    feats = pd.read_parquet(sim_features / "features.parquet")
    test = feats[pd.to_datetime(feats["snapshot_date"]) == oot].reset_index(drop=True)
    scored_path = tmp_path / "scores.parquet"
    test_in = tmp_path / "oot.parquet"
    test.to_parquet(test_in)
    assert main(["score", "--model", str(out), "--input", str(test_in), "--output", str(scored_path)]) == 0
    scored = pd.read_parquet(scored_path)
    assert scored["enterprise_id"].tolist() == test["enterprise_id"].tolist()
    assert (pd.to_datetime(scored["snapshot_date"]) == oot).all()
    y = test["bad"].to_numpy()
    auc = roc_auc_score(y, scored["pd"])
    truth = pd.read_parquet(sim_city / "_truth" / "pd_true.parquet")
    truth = truth[pd.to_datetime(truth["month_end"]) == oot]
    oracle = test[["enterprise_id"]].merge(truth, on="enterprise_id", how="left")["pd_12m"].to_numpy()
    oracle_auc = roc_auc_score(y, oracle)
    # a sanity bound on a 4,000-firm city (~50 OOT defaults, AUC standard error ~0.035): the default city with
    # every issue-14 mechanism gave 0.724 against an oracle of 0.852 (0.850 ×); benchmarks/README.md, "Models",
    # tracks the model's share of the oracle at 100,000 enterprises
    assert auc > 0.80 * oracle_auc, (auc, oracle_auc)
    # level sanity only: the benchmark tracks the 15 % target (see benchmarks/README.md, "Models")
    assert 0.5 * y.mean() < scored["pd"].mean() < 2 * y.mean()
    # reasons of catalogued features are business text, not "name = value"
    texts = scored["reason_1"][scored["reason_1"] != ""]
    assert len(texts) > 0 and not texts.str.contains(r"^\w+ = ", regex=True).all()
    assert np.isin(scored["grade"], [str(k) for k in range(1, 11)]).all()


def test_application_population_trains_and_validates_on_rows_without_current_arrears(sim_features, tmp_path):
    out = tmp_path / "app"
    assert main(["train", "--data", str(sim_features), "--out", str(out), "--kind", "scorecard", "--no-compare",
                 "--population", "application", "--developer", "dev-042"]) == 0
    val = json.loads((out / "validation.json").read_text())
    feats = pd.read_parquet(sim_features / "features.parquet")
    arrears = feats["cr_dpd_now"].fillna(0) > 0
    assert arrears.any()
    scope = val["scope"]
    assert scope["population"] == "application" and scope["rows_excluded"] == int(arrears.sum())
    assert "cr_dpd_now = 0" in scope["population_rule"] and "no current arrears" in scope["intended_use"]
    assert "90 days past due" in scope["default_definition"] and "12 months" in scope["default_definition"]
    assert "次级" in scope["default_definition"]
    oot = pd.to_datetime(feats["snapshot_date"]) == pd.Timestamp(val["split"]["oot_snapshot"])
    held = oot & feats["bad"].notna() & ~arrears
    if "observable" in feats:
        held &= feats["observable"].fillna(False).astype(bool)
    assert val["n"] == int(held.sum()) and val["defaults"] == int(feats.loc[held, "bad"].sum())
    assert val["developer"] == "dev-042"
    views = {v["view"].split(":")[0]: v for v in val["by_population"]["views"]}
    assert views["application"]["n"] == views["behavioural"]["n"] == val["n"]  # no arrears in the test rows
    assert views["behavioural"]["auc"]["value"] == pytest.approx(val["metrics"]["auc"]["value"])
    lr = val["long_run"]
    assert lr["long_run"]["n_snapshots"] == feats.loc[held | (feats["bad"].notna() & ~arrears), "snapshot_date"].nunique()
    assert set(lr["moc"]) == {"A", "B", "C", "total"} and lr["moc"]["total"] > 0
    finals = [g["pd_final"] for g in lr["grades"] if g["n"]]
    assert finals == sorted(finals)
    assert load_model(out).metadata_["scope"]["population"] == "application"
    assert main(["train", "--data", str(sim_features), "--out", str(tmp_path / "x"), "--population", "new"]) == 2
