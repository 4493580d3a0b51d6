"""Feature table contract, determinism, chunking, missing tables, errors, catalogue, CLI, transformer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from features_world import SNAPSHOT, raw_of, world
from sklearn.base import clone

from smecredit.cli import main
from smecredit.exceptions import ConfigError, DataContractError, NotFittedError
from smecredit.features import (META_COLUMNS, FeatureBuilder, build_feature_matrix, build_features, describe,
                                every_snapshots, feature_catalog, split_features)
from smecredit.io import file_sha256

FRAMES = world(seed=5)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return build_features(raw_of(FRAMES), "2024-03-31,2024-06-30", population="all")


def test_columns_are_meta_then_catalogue_with_declared_dtypes(table):
    cat = feature_catalog()
    assert list(table.columns) == META_COLUMNS + cat["name"].tolist()
    for row in cat.itertuples():
        if row.dtype == "numeric":
            assert table[row.name].dtype == np.float64, row.name
        else:
            assert table[row.name].dtype == object, row.name
    assert table["bad"].dtype == np.float64 and table["observable"].dtype == bool
    assert not table.duplicated(["enterprise_id", "snapshot_date"]).any()
    assert table["snapshot_date"].is_monotonic_increasing


def test_catalogue_is_complete_and_every_family_but_registry_has_a_missing_indicator():
    cat = feature_catalog()
    assert cat["name"].is_unique
    assert set(cat["direction"]) <= {"up", "down", "none"}
    assert set(cat["dtype"]) <= {"numeric", "categorical"}
    assert cat[["description_en", "description_zh"]].map(len).min().min() > 1
    families = set(cat["family"]) - {"registry"}
    assert {f"{f}_missing" for f in families} <= set(cat["name"])


def test_describe_reads_naturally_in_both_languages():
    assert describe("elec_yoy_6m", -0.38) == "Electricity use down 38% year on year (last 6 months)"
    assert describe("elec_yoy_6m", -0.38, lang="zh") == "近6个月用电量同比下降38%"
    assert describe("tax_sales_yoy_12m", 0.25, lang="zh") == "近12个月开票销售额同比增长25%"
    assert describe("jud_lawsuits_12m", 2.0) == "Lawsuits as defendant: 2 in the last 12 months"
    assert describe("jud_lawsuits_12m", 2.0, lang="zh") == "近12个月作为被告的诉讼2次"
    assert describe("tax_sales_3m", 123456.0, lang="zh") == "近3个月开票销售额月均12.3万元"
    assert describe("cr_worst_class_12m", "次级") == "Worst 5-category class: substandard"
    assert describe("tax_missing", 1.0, lang="zh") == "缺少纳税数据"
    assert describe("jud_days_since_last", 3650.0) == "No court event in the last ten years"
    assert "no data" in describe("elec_yoy_6m", float("nan"))
    assert describe("duration", 24) == "duration = 24"
    with pytest.raises(ConfigError, match="lang must be one of"):
        describe("elec_yoy_6m", 0.1, lang="fr")


def test_every_catalogue_feature_has_a_description_for_a_typical_value(table):
    row = table.iloc[-1]
    for name in feature_catalog()["name"]:
        for lang in ("en", "zh"):
            text = describe(name, row[name], lang=lang)
            assert text and " = " not in text, (name, text)


def test_same_raw_data_gives_byte_identical_feature_folder(tmp_path):
    from smecredit.simulation import simulate

    city = simulate(300, 24, 11, tmp_path / "city")
    args = ["features", "--raw", str(city), "--snapshots", "2024-12-31,2025-06-30"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    for name in ("features.parquet", "catalog.csv", "manifest.json"):
        assert file_sha256(tmp_path / "a" / name) == file_sha256(tmp_path / "b" / name), name
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["snapshots"] == ["2024-12-31", "2025-06-30"] and manifest["horizon"] == 12
    assert len(manifest["raw_fingerprint"]) == 64
    feats = pd.read_parquet(tmp_path / "a" / "features.parquet")
    assert len(feats) == manifest["rows"] > 0
    assert not feats.loc[feats.snapshot_date == "2025-06-30", "observable"].any()


def test_chunked_build_equals_whole_build():
    raw = raw_of(FRAMES)
    whole = build_features(raw, "2024-03-31,2024-06-30", population="all")
    chunked = build_features(raw, "2024-03-31,2024-06-30", population="all", chunk_size=3)
    pd.testing.assert_frame_equal(whole, chunked)


def test_folder_chunked_build_equals_in_memory_build(tmp_path):
    from smecredit.data import load_raw
    from smecredit.simulation import simulate
    from smecredit.features.folder import build_features_from_folder

    city = simulate(400, 24, 12, tmp_path / "city")
    whole = build_features(load_raw(city), "2024-12-31,2025-06-30", population="all")
    chunked, info = build_features_from_folder(city, "2024-12-31,2025-06-30", chunk_size=150, population="all")
    pd.testing.assert_frame_equal(whole, chunked)
    assert info["tables"]["enterprises"] == 400
    # a row of an unregistered enterprise is never silently dropped
    tax = pd.read_parquet(city / "tax_monthly.parquet")
    tax.loc[0, "enterprise_id"] = "91331002MA0000000X"
    tax.to_parquet(city / "tax_monthly.parquet", index=False)
    with pytest.raises(DataContractError, match="tax_monthly"):
        build_features_from_folder(city, "2024-12-31", chunk_size=150)


def test_absent_optional_table_gives_nan_family_and_missing_indicator(table):
    frames = {k: v for k, v in FRAMES.items() if k not in ("ip_assets", "supply_chain", "utilities_monthly")}
    out = build_features(raw_of(frames), "2024-03-31,2024-06-30", population="all")
    assert (out["ip_missing"] == 1).all() and out["ip_patents"].isna().all()
    assert (out["sc_missing"] == 1).all() and out["sc_outstanding"].isna().all()
    assert (out["utilities_missing"] == 1).all() and out["elec_yoy_3m"].isna().all()
    assert (out["consistency_missing"] == 1).all()
    # other families are untouched
    pd.testing.assert_series_equal(out["tax_sales_yoy_3m"], table["tax_sales_yoy_3m"])
    pd.testing.assert_series_equal(out["cr_max_dpd_12m"], table["cr_max_dpd_12m"])


def test_thin_file_enterprise_is_scored_with_indicators(table):
    thin = FRAMES["enterprises"]["enterprise_id"].iloc[1]  # no tax, no utilities in the world
    row = table[(table.enterprise_id == thin) & (table.snapshot_date == SNAPSHOT)].iloc[0]
    assert row["tax_missing"] == 1.0 and row["utilities_missing"] == 1.0
    assert row["tax_zero_months_12m"] == 12.0 and np.isnan(row["tax_sales_yoy_12m"])
    assert row["si_missing"] == 0.0 and row["credit_missing"] == 0.0


@pytest.mark.parametrize("snapshots, match", [
    ("2022-06-30", "outside the data range"),
    ("2025-03-31", "outside the data range"),
    ("2024-13-40", "cannot read"),
    ("", "at least one snapshot"),
])
def test_bad_snapshots_are_refused_with_the_data_range(snapshots, match):
    with pytest.raises(ConfigError, match=match):
        build_features(raw_of(FRAMES), snapshots)


def test_bad_population_and_chunk_size_are_refused():
    raw = raw_of(FRAMES)
    with pytest.raises(ConfigError, match="population must be one of"):
        build_features(raw, SNAPSHOT, population="everyone")
    with pytest.raises(ConfigError, match="chunk_size must be a positive integer"):
        build_features(raw, SNAPSHOT, chunk_size=0)
    with pytest.raises(DataContractError, match="not in the enterprises table"):
        build_features(raw, SNAPSHOT, population=["91331002MA0000000X"])


def test_rows_of_unknown_enterprises_or_loans_are_named():
    frames = dict(FRAMES)
    lm = frames["loan_monthly"].copy()
    lm.loc[3, "loan_id"] = "NO-SUCH-LOAN"
    with pytest.raises(DataContractError, match=r"loan_monthly.loan_id: 1 row\(s\).*first spreadsheet rows \[5\]"):
        build_features(raw_of({**frames, "loan_monthly": lm}), SNAPSHOT)
    tax = frames["tax_monthly"].copy()
    tax.loc[[5, 7], "enterprise_id"] = "91331002MA0000000X"
    with pytest.raises(DataContractError, match=r"tax_monthly.enterprise_id: 2 row\(s\).*\[7, 9\]"):
        build_features(raw_of({**frames, "tax_monthly": tax}), SNAPSHOT)


def test_missing_required_table_is_named():
    frames = {k: v for k, v in FRAMES.items() if k != "loan_monthly"}
    with pytest.raises(DataContractError, match="'loan_monthly' is required"):
        build_features(raw_of(frames), SNAPSHOT)


def test_every_snapshots_step_back_from_last_month():
    snaps = every_snapshots(raw_of(FRAMES), "6M")
    assert [str(s.date()) for s in snaps] == ["2023-12-31", "2024-06-30", "2024-12-31"]
    with pytest.raises(ConfigError, match="every must look like"):
        every_snapshots(raw_of(FRAMES), "six months")


def test_feature_builder_follows_sklearn_conventions(table):
    fb = FeatureBuilder(snapshots="2024-03-31,2024-06-30", population="all")
    assert clone(fb).get_params() == fb.get_params()
    with pytest.raises(NotFittedError):
        fb.transform(raw_of(FRAMES))
    assert fb.fit(raw_of(FRAMES)) is fb
    X = fb.transform(raw_of(FRAMES))
    # exactly the announced columns: no label, no ids in X
    assert list(X.columns) == list(fb.get_feature_names_out()) == feature_catalog()["name"].tolist()
    assert not {"bad", "observable", "enterprise_id", "snapshot_date"} & set(X.columns)
    X2, meta = fb.transform_with_meta(raw_of(FRAMES))
    pd.testing.assert_frame_equal(X2, X)
    assert list(meta.columns) == META_COLUMNS and meta.index.equals(X.index)
    pd.testing.assert_frame_equal(pd.concat([meta, X], axis=1), table)
    X3, meta3 = split_features(table)
    pd.testing.assert_frame_equal(X3, X)
    pd.testing.assert_frame_equal(meta3, meta)
    with pytest.raises(ConfigError, match="snapshots must be given"):
        FeatureBuilder().fit(None)


def test_feature_builder_reads_no_files_and_checks_its_input(tmp_path):
    fb = FeatureBuilder(snapshots="2024-06-30").fit(None)
    with pytest.raises(DataContractError, match="not a folder: load .* with smecredit.data.load_raw"):
        fb.transform(tmp_path)
    with pytest.raises(DataContractError, match="got DataFrame"):
        fb.transform(pd.DataFrame({"a": [1]}))
    with pytest.raises(ConfigError, match="population must be one of"):
        FeatureBuilder(snapshots="2024-06-30", population="everyone").fit(None)
    with pytest.raises(DataContractError, match="missing column"):
        split_features(pd.DataFrame({"enterprise_id": ["a"]}))


def test_feature_builder_opens_a_sklearn_pipeline_without_leaking_the_label():
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    raw = raw_of(FRAMES)
    snaps = "2024-03-31,2024-06-30"
    X, meta = build_feature_matrix(raw, snaps, population="all")
    # the small world's snapshots are not yet observable: any two-class target shows the wiring
    y = (np.arange(len(X)) % 2).astype(float)

    def model():
        numeric = make_column_transformer((make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler()),
                                           make_column_selector(dtype_include=np.number)))
        return make_pipeline(numeric, LogisticRegression(C=0.1, max_iter=2000))

    pipe = make_pipeline(FeatureBuilder(snapshots=snaps, population="all"), model()).fit(raw, y)
    direct = model().fit(X, y)
    np.testing.assert_allclose(pipe.predict_proba(raw), direct.predict_proba(X), rtol=0, atol=1e-12)
    # the label is not among what the model saw: the fitted imputer's input columns are the catalogue's numbers
    seen = pipe[-1][0].feature_names_in_
    assert "bad" not in seen and list(seen) == list(X.columns)
    # pandas output on request keeps the feature names
    out = FeatureBuilder(snapshots=snaps, population="all").set_output(transform="pandas").fit_transform(raw)
    assert list(out.columns) == feature_catalog()["name"].tolist()


def test_cli_exit_codes_and_catalog(tmp_path, capsys):
    assert main(["features", "--catalog"]) == 0
    assert "elec_yoy_6m" in capsys.readouterr().out
    assert main(["features", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "f"),
                 "--snapshots", "2024-06-30"]) == 3
    assert main(["features", "--raw", str(tmp_path), "--out", str(tmp_path / "f"), "--snapshots", "2024-06-30",
                 "--every", "6M"]) == 2
    assert main(["features", "--out", str(tmp_path / "f")]) == 2
    assert not (tmp_path / "f").exists()


def test_worst_class_category_is_capped_at_the_worst_known_level_not_missing():
    # a firm with a 次级 month in the last 12 months: the text category reads 关注 (worst level in training
    # panels of performing firms), the rank keeps the full scale
    from decisions_world import AS_OF, EID, frames
    from smecredit.data import from_frames
    from smecredit.features import build_features

    fr = frames()
    lm = fr["loan_monthly"]
    lm.loc[(lm["loan_id"] == "L1") & (lm["month_end"] == "2025-11-30"), ["days_past_due", "risk_class_5"]] = [120, "次级"]
    x = build_features(from_frames(fr), [AS_OF], population=[EID]).set_index("enterprise_id").loc[EID]
    assert x["cr_worst_class_12m"] == "关注" and x["cr_worst_class_rank_12m"] == 2.0
