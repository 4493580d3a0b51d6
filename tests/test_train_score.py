"""`smecredit train` / `smecredit score` end to end on the public credit tables, MLflow included."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.registry import load_model
from smecredit.pipelines.train import TrainingData, split_data

DATA = Path(__file__).resolve().parents[1] / "data" / "external"
GERMAN = DATA / "german_credit.csv"
CREDIT = DATA / "credit_data.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train a GBM on German credit (registered) and a scorecard on credit_data, via the CLI."""
    root = tmp_path_factory.mktemp("train")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(root)
        rc1 = main(["train", "--data", str(GERMAN), "--target", "bad", "--out", str(root / "gbm"),
                    "--kind", "gbm", "--register", "german_pd", "--experiment", "tests"])
        rc2 = main(["train", "--data", str(CREDIT), "--target", "bad", "--out", str(root / "sc"),
                    "--kind", "scorecard", "--no-compare", "--experiment", "tests"])
    assert (rc1, rc2) == (0, 0)
    return {"root": root, "uri": uri, "gbm": root / "gbm", "sc": root / "sc"}


def _float_numeric(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype({c: "float64" for c in df.select_dtypes("number").columns})


def test_score_returns_every_row_in_order_with_ids_and_contract_columns(trained, tmp_path):
    src = pd.read_csv(GERMAN)
    src.insert(0, "enterprise_id", [f"E{i:05d}" for i in range(len(src))])
    src = src.iloc[::-1].reset_index(drop=True)  # order must be kept, whatever it is
    inp = tmp_path / "in.csv"
    src.to_csv(inp, index=False)
    assert main(["score", "--model", str(trained["gbm"]), "--input", str(inp), "--output",
                 str(tmp_path / "out.parquet")]) == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["enterprise_id", "pd", "score", "grade", "reason_1", "reason_2", "reason_3",
                                 "data_quality"]
    assert out["enterprise_id"].tolist() == src["enterprise_id"].tolist()
    assert out["pd"].between(0.0005, 1).all()
    assert set(out["grade"]) <= {str(k) for k in range(1, 11)}
    # the id column is not a feature: changing it does not change the PD
    model = load_model(trained["gbm"])
    assert "enterprise_id" not in model.feature_names_
    again = model.predict_pd(src.assign(enterprise_id="X"))
    np.testing.assert_array_equal(again, out["pd"].to_numpy())


def test_pyfunc_load_model_returns_exactly_what_score_writes(trained, tmp_path):
    for key, data in (("gbm", GERMAN), ("sc", CREDIT)):
        out = tmp_path / f"{key}.parquet"
        assert main(["score", "--model", str(trained[key]), "--input", str(data), "--output", str(out)]) == 0
        scored = pd.read_parquet(out)
        pyfunc = mlflow.pyfunc.load_model(str(trained[key]))
        frame = _float_numeric(pd.read_csv(data).drop(columns="bad"))
        via_mlflow = pyfunc.predict(frame).reset_index(drop=True)
        pd.testing.assert_frame_equal(via_mlflow, scored, check_dtype=False)


def test_validation_json_has_metrics_with_cis_calibration_and_grade_tests(trained):
    val = json.loads((trained["gbm"] / "validation.json").read_text())
    for name in ("auc", "gini", "ks", "brier", "log_loss"):
        m = val["metrics"][name]
        assert m["ci_low"] <= m["value"] <= m["ci_high"]
    assert val["metrics"]["gini"]["value"] == pytest.approx(2 * val["metrics"]["auc"]["value"] - 1)
    assert 0 <= val["hosmer_lemeshow"]["p_value"] <= 1
    assert sum(g.get("n", 0) for g in val["grades"]) == val["n"] == 200
    assert {"binomial_p", "jeffreys_p"} <= set(next(g for g in val["grades"] if g["n"] > 0))
    # the test rows are held out: Hosmer-Lemeshow with g degrees of freedom, not g - 2
    assert val["hosmer_lemeshow"]["dof"] == len(val["hosmer_lemeshow"]["groups"])
    assert val["hosmer_lemeshow"]["sample"] == "out-of-sample"
    assert {g["verdict"] for g in val["grades"] if g["n"] > 0} <= {"PD too low", "PD conservative", "consistent",
                                                                   "insufficient evidence"}
    assert val["grade_test_rules"]["min_defaults"] >= 1 and "Holm" in val["grade_test_rules"]["multiplicity"]
    assert val["long_run"] is None  # a single table has no snapshots: no long-run average
    assert val["delong"]["benchmark"] == "scorecard" and 0 <= val["delong"]["p_value"] <= 1
    assert val["calibration"]["method"] in ("platt", "isotonic")
    assert val["metrics"]["auc"]["value"] > 0.7


def test_validation_json_records_the_settings_resolved_at_fit(trained):
    gbm = json.loads((trained["gbm"] / "validation.json").read_text())
    assert gbm["gbm"]["n_trees"] >= 1 and set(gbm["gbm"]["linear_base_zeroed"]) <= set(gbm["features"])
    assert gbm["gbm"]["monotone_trees"] is True  # smecredit train always constrains the trees
    # the out-of-fold test of the trees against the linear base alone, and its decision
    d = gbm["gbm"]["tree_decision"]
    assert gbm["gbm"]["trees_kept"] is (d["decision"] == "linear base + trees") is (gbm["gbm"]["n_trees"] > 0)
    assert 0.6 < d["oof_auc_base"] < 0.9 and 0.6 < d["oof_auc_full"] < 0.9 and len(d["oof_auc_gain_folds"]) == 5
    assert d["oof_auc_gain"] == pytest.approx(d["oof_auc_full"] - d["oof_auc_base"])
    assert gbm["gbm"]["cv_auc"] == pytest.approx(d["oof_auc_full"] if gbm["gbm"]["trees_kept"] else d["oof_auc_base"])
    sc = json.loads((trained["sc"] / "validation.json").read_text())
    assert 0.005 <= sc["scorecard"]["min_bin_size"] <= 0.05 and 20 <= sc["scorecard"]["max_n_prebins"] <= 50


def test_scorecard_table_is_exported_as_csv_and_html(trained):
    table = pd.read_csv(trained["sc"] / "scorecard_table.csv")
    assert {"Variable", "Bin", "WoE", "Points"} <= set(table.columns)
    assert "<table" in (trained["sc"] / "scorecard_table.html").read_text()


def test_training_run_is_logged_and_registered_with_challenger_alias(trained, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    from smecredit.registry import tracking

    tracking.configure()
    client = mlflow.MlflowClient()
    mv = client.get_model_version_by_alias("german_pd", "challenger")
    run = client.get_run(mv.run_id)
    assert run.data.params["kind"] == "gbm"
    assert len(run.data.params["data_fingerprint"]) == 64
    assert 0.5 < run.data.metrics["test_auc"] < 1
    arts = {a.path for a in client.list_artifacts(mv.run_id)} | {
        a.path for a in client.list_artifacts(mv.run_id, "plots")}
    assert {"validation.json", "features.json", "plots/roc.png", "plots/calibration.png"} <= arts
    model = load_model("models:/german_pd@challenger")
    assert model.metadata_["registered_version"] == str(mv.version)
    frame = pd.read_csv(GERMAN).head(20)
    pd.testing.assert_frame_equal(model.predict(frame), load_model(trained["gbm"]).predict(frame))


def test_score_lists_missing_feature_columns(trained, tmp_path, capsys):
    inp = tmp_path / "in.csv"
    pd.read_csv(GERMAN).drop(columns=["duration_in_month", "purpose"]).to_csv(inp, index=False)
    rc = main(["score", "--model", str(trained["gbm"]), "--input", str(inp), "--output", str(tmp_path / "o.csv")])
    assert rc == 3
    err = capsys.readouterr().err
    assert "missing" in err and "duration_in_month" in err and "purpose" in err
    assert not (tmp_path / "o.csv").exists()


def test_score_ignores_extra_columns_with_a_warning_and_handles_unseen_categories(trained, tmp_path, caplog):
    src = pd.read_csv(GERMAN).head(30)
    src["favourite_colour"] = "blue"
    src.loc[0, "purpose"] = "space tourism"
    inp = tmp_path / "in.csv"
    src.to_csv(inp, index=False)
    with caplog.at_level(logging.WARNING, logger="smecredit"):
        rc = main(["score", "--model", str(trained["gbm"]), "--input", str(inp), "--output",
                   str(tmp_path / "o.csv")])
    assert rc == 0
    text = caplog.text
    assert "favourite_colour" in text and "space tourism" in text
    out = pd.read_csv(tmp_path / "o.csv")
    assert len(out) == 30 and out["pd"].notna().all()
    # an unseen category is scored like a missing value, not like an arbitrary known one
    model = load_model(trained["gbm"])
    as_missing = model.predict_pd(src.head(1).assign(purpose=np.nan))
    assert out["pd"].iloc[0] == pytest.approx(as_missing[0])


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.drop(columns="bad"), "target column 'bad' not found"),
    (lambda d: d.assign(bad=d["bad"] * 2), "must be binary 0/1"),
    (lambda d: d.assign(bad=0), "single class"),
    (lambda d: d.assign(bad=d["bad"].astype(str).replace("1", "yes")), "non-numeric values in spreadsheet rows"),
])
def test_train_rejects_bad_targets_with_exit_3(tmp_path, capsys, mutate, match):
    inp = tmp_path / "bad.csv"
    mutate(pd.read_csv(GERMAN)).to_csv(inp, index=False)
    rc = main(["train", "--data", str(inp), "--target", "bad", "--out", str(tmp_path / "m")])
    assert rc == 3
    assert match in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_cli_errors_for_bad_options_and_unknown_models(tmp_path, capsys):
    assert main(["train", "--data", str(GERMAN), "--out", str(tmp_path / "m"), "--kind", "forest"]) == 2
    assert "kind: Input should be 'gbm' or 'scorecard'" in capsys.readouterr().err
    assert main(["score", "--model", str(tmp_path / "nope"), "--input", str(GERMAN), "--output",
                 str(tmp_path / "o.csv")]) == 4
    assert "no MLflow model directory" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m")]) == 3


def _panel(n_ent=300, snaps=("2023-03-31", "2023-06-30", "2023-12-31", "2024-06-30", "2024-12-31", "2025-06-30")):
    rng = np.random.default_rng(0)
    rows = []
    for s in snaps:
        x = rng.normal(size=n_ent)
        bad = (rng.random(n_ent) < 1 / (1 + np.exp(-(x - 2)))).astype(float)
        observable = pd.Timestamp(s) + pd.DateOffset(months=12) <= pd.Timestamp("2025-12-31")
        rows.append(pd.DataFrame({"enterprise_id": [f"E{i}" for i in range(n_ent)],
                                  "snapshot_date": pd.Timestamp(s), "x": x,
                                  "bad": bad if observable else np.nan, "observable": observable}))
    return pd.concat(rows, ignore_index=True)


def test_time_split_uses_latest_observable_snapshot_and_only_matured_training_windows():
    td = TrainingData(_panel(), "panel", pd.DataFrame({"name": ["x"], "direction": ["up"]}), {"horizon": 12})
    train, test, info = split_data(td, "bad", "time")
    assert info["oot_snapshot"] == "2024-12-31"
    assert set(test["snapshot_date"]) == {pd.Timestamp("2024-12-31")}
    # outcome windows of training snapshots end on or before the OOT snapshot
    assert train["snapshot_date"].max() == pd.Timestamp("2023-12-31")
    assert train["observable"].all() and test["observable"].all()
    assert info["rows_unobservable_dropped"] == 300


def test_train_on_a_features_folder_uses_the_time_split(tmp_path, capsys):
    folder = tmp_path / "feat"
    folder.mkdir()
    _panel().to_parquet(folder / "features.parquet")
    pd.DataFrame({"name": ["x"], "direction": ["up"]}).to_csv(folder / "catalog.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps({"horizon": 12}))
    rc = main(["train", "--data", str(folder), "--out", str(tmp_path / "m"), "--kind", "scorecard", "--no-compare"])
    assert rc == 0, capsys.readouterr().err
    val = json.loads((tmp_path / "m" / "validation.json").read_text())
    assert val["split"]["oot_snapshot"] == "2024-12-31" and val["features"] == ["x"]
    scored = load_model(tmp_path / "m").predict(_panel().head(5))
    assert list(scored.columns[:2]) == ["enterprise_id", "snapshot_date"]
