"""Governance report, its MLflow logging, reviewed promotion and privacy, on a simulated city.

A small model is fitted once per module on point-in-time features of the ``sim_city`` fixture
(train snapshots 2023-12 and 2024-03, later snapshots are out of time), logged and registered
in a module-level MLflow sqlite store exactly as ``smecredit train`` does, and reported on.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.features import build_features
from smecredit.features.catalog import feature_catalog
from smecredit.io import file_sha256, frame_fingerprint, write_table
from smecredit.models import fit_credit_model
from smecredit.registry import input_example, load_model, log_model, save_model
from smecredit.pipelines.report import (REPORT_ARTIFACT, REPORT_SHA_TAG, identity_of, load_report_data, log_report,
                                        promote, run_report)
from smecredit.privacy import pseudonymise
from smecredit.report import ReportSettings, build_report

KEY = "report-test-key-0123456789"
DEVELOPER = "dev-042"
FEATURES = ["cr_max_dpd_12m", "cons_insured_share", "elec_yoy_3m", "tax_sales_yoy_6m", "si_arrears_months_3m",
            "jud_lawsuits_12m", "reg_age_years", "reg_county", "reg_industry", "reg_size_class", "reg_legal_form",
            "reg_mountain_county", "reg_tech_sme", "reg_green"]
TRAIN_SNAPSHOTS = ["2023-12-31", "2024-03-31"]
SNAPSHOTS = [str(d.date()) for d in pd.date_range("2023-12-31", "2025-12-31", freq="3ME")]
SECTIONS = ["1. Identity", "2. Data and population", "3. Features used", "4. Discrimination", "5. Calibration",
            "6. Stability", "7. Explanations (SHAP)", "8. Segments and financial inclusion", "9. Scorecard vs GBM",
            "10. Limitations and reviewer sign-off"]
FAST = ReportSettings(n_boot=50, sample_size=2000)


@pytest.fixture(scope="module")
def city(sim_city, tmp_path_factory):
    """Features folder, a registered GBM (version 1, with run) and a scorecard MODEL_DIR."""
    root = tmp_path_factory.mktemp("report_city")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.setenv("SMECREDIT_PSEUDONYM_KEY", KEY)
    try:
        raw = load_raw(sim_city)
        feats = build_features(raw, SNAPSHOTS)
        folder = root / "features"
        write_table(feats, folder / "features.parquet")
        write_table(feature_catalog(), folder / "catalog.csv")
        snap = feats["snapshot_date"].dt.strftime("%Y-%m-%d")
        train = feats[snap.isin(TRAIN_SNAPSHOTS) & feats["bad"].notna()]
        y = train["bad"].astype("int64").to_numpy()
        meta = {"target": "bad", "train_snapshots": TRAIN_SNAPSHOTS, "horizon_months": 12,
                "data_fingerprint": frame_fingerprint(feats)}
        cat = feature_catalog()
        gbm = fit_credit_model(train[FEATURES], y, kind="gbm", catalog=cat, cv=2, metadata=dict(meta),
                               params={"max_rounds": 200, "early_stopping_rounds": 30})
        sc = fit_credit_model(train[FEATURES], y, kind="scorecard", catalog=cat, cv=2, metadata=dict(meta))
        save_model(sc, root / "scorecard", example=input_example(sc, train))
        from smecredit.registry import tracking

        exp = tracking.ensure_experiment("report-tests")
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.set_tag("smecredit.developer", DEVELOPER)
            gbm.metadata_["developer"] = DEVELOPER
            gbm.metadata_["run_id"] = run.info.run_id
            gbm.metadata_["registered_name"] = "city_pd"
            info = log_model(gbm, example=input_example(gbm, train), registered_model_name="city_pd")
        yield {"root": root, "uri": uri, "features": folder, "frame": feats, "raw": raw, "run_id": run.info.run_id,
               "version": str(info.registered_model_version), "scorecard": root / "scorecard", "train": train}
    finally:
        mp.undo()


@pytest.fixture
def city_env(city, monkeypatch):
    """Point this test at the module's MLflow store and pseudonym key."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", city["uri"])
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", KEY)
    return city


@pytest.fixture(scope="module")
def city_report(city):
    """The governance report of ``models:/city_pd/1`` (GBM, compared with the scorecard), logged to its run."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", city["uri"])
    mp.setenv("SMECREDIT_PSEUDONYM_KEY", KEY)
    try:
        out = city["root"] / "report.html"
        result = run_report(f"models:/city_pd/{city['version']}", city["features"], out,
                            compare=str(city["scorecard"]), settings=FAST)
        yield result
    finally:
        mp.undo()


def _new_version(city, developer: str | None = None) -> tuple[str, str]:
    """Register another version of city_pd (a fresh run without a report)."""
    model = load_model(city["scorecard"])
    with mlflow.start_run(experiment_id=mlflow.get_experiment_by_name("report-tests").experiment_id) as run:
        if developer:
            mlflow.set_tag("smecredit.developer", developer)
        info = log_model(model, example=input_example(model, city["train"]), registered_model_name="city_pd")
    return str(info.registered_model_version), run.info.run_id


# ------------------------------------------------------------------------------------------- report content
@pytest.mark.slow
def test_report_has_all_ten_sections_with_out_of_time_psi_segments_and_comparison(city_env, city_report):
    text = city_report.path.read_text(encoding="utf-8")
    for title in SECTIONS:
        assert html.escape(title) in text, title
    assert "out-of-time: after the training window (held out)" in text
    assert "in-sample: training window 2023-12-31 to 2024-03-31 (overfitting check only)" in text
    assert "all labelled rows" not in text  # no performance figure mixes training and held-out rows
    assert "rows in the training window (2023-12-31 to 2024-03-31)" in text
    assert "obligor pairs 12 months apart" in text  # migration matrix rendered
    assert re.search(r"[\d,]+ default within the 12 months \(column D", text)  # defaulters reach column D
    assert "Joint importance (mean |sum of contributions|)" in html.unescape(text)  # SHAP family view
    for label in ("County", "Industry", "Size class", "Legal form", "Tech SME", "Green enterprise",
                  "all mountain counties"):
        assert label in text
    assert "Spearman rank correlation" in text and "DeLong test" in text
    assert "Observed default rate (out-of-time" in text  # disagreement groups judged on held-out rows only
    assert "Recommendation</th>" in text and "Recommended: " in text  # the better model out of time, not a kind
    assert "out-of-fold AUC of the linear base alone" in text  # the GBM's own trees-or-not decision
    assert "Trees or linear base (out of fold)" in text and "for the linear base alone" in text  # section 1
    assert "No reference data" not in text and "No second model" not in text
    # scope: model card and performance by population and days-past-due bucket on out-of-time rows
    assert "Populations and days past due (out-of-time: after the training window (held out))" in text
    assert "application: rows with cr_dpd_now = 0" in text and "current (0 dpd)" in text
    assert "More than 90 days past due" in html.unescape(text) and "12 months after the snapshot" in text
    assert "Hosmer–Lemeshow" in text and "g (out-of-sample)" in text
    assert "Long-run calibration (EBA GL/2017/16)" in text and "Rating philosophy" in text
    assert "Margin of conservatism" in text and "PD with MoC (master scale)" in text
    assert "PSI / CSI of every feature" in text and "Outlier policy" in text and "Coverage per snapshot" in text
    # concentration over grades in rows and in exposure (loan balance), HHI computed by hand
    frame = city_env["frame"]
    grades = load_model(f"models:/city_pd/{city_env['version']}").predict(frame)["grade"].astype(str)
    share = grades.value_counts(normalize=True)
    bal = frame["cr_balance"].fillna(0.0).groupby(grades.to_numpy()).sum()
    hhi_rows, hhi_exp = float((share ** 2).sum()), float(((bal / bal.sum()) ** 2).sum())
    assert f"rows {hhi_rows:.3f}, exposure (loan balance) {hhi_exp:.3f}" in text
    assert "city_pd" in text and city_env["run_id"] in text
    assert city_report.sha256 == file_sha256(city_report.path)


@pytest.mark.slow
def test_report_is_self_contained_without_external_urls(city_report):
    text = city_report.path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", text)
    assert not re.search(r"https?://", text)
    assert "@import" not in text
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) >= 15
    assert "@media print" in text


@pytest.mark.slow
def test_report_is_logged_to_the_model_run_with_its_sha(city_env, city_report):
    client = MlflowClient()
    arts = [a.path for a in client.list_artifacts(city_env["run_id"], "reports")]
    assert REPORT_ARTIFACT in arts
    local = client.download_artifacts(city_env["run_id"], REPORT_ARTIFACT, str(city_env["root"] / "dl"))
    assert file_sha256(local) == city_report.sha256
    assert client.get_run(city_env["run_id"]).data.tags[REPORT_SHA_TAG] == city_report.sha256
    history = [a.path for a in client.list_artifacts(city_env["run_id"], "reports/history")]
    assert f"reports/history/governance_report_{city_report.sha256}.html" in history


@pytest.mark.slow
def test_report_local_reasons_equal_score_command_and_pyfunc_output(city_env, tmp_path):
    model_uri = f"models:/city_pd/{city_env['version']}"
    model = load_model(model_uri)
    data = load_report_data(city_env["features"])
    ctx = build_report(model, data, identity=identity_of(model, model_uri, data), settings=FAST)
    frame = city_env["frame"]
    pseudo = frame["enterprise_id"].map(lambda v: pseudonymise(v, KEY.encode()))
    snap = frame["snapshot_date"].dt.strftime("%Y-%m-%d")
    locals_ = ctx["shap"]["local"]
    rows = [int(np.flatnonzero((pseudo == e["id"]).to_numpy() & (snap == e["snapshot"]).to_numpy())[0])
            for e in locals_]
    subset = frame.iloc[rows].reset_index(drop=True)
    write_table(subset, tmp_path / "sample.parquet")
    assert main(["score", "--model", model_uri, "--input", str(tmp_path / "sample.parquet"),
                 "--output", str(tmp_path / "scored.parquet")]) == 0
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    pyfunc = mlflow.pyfunc.load_model(model_uri).predict(subset)
    assert any(r for e in locals_ for r in e["reasons"])
    for i, e in enumerate(locals_):
        cols = ["reason_1", "reason_2", "reason_3"]
        assert e["reasons"] == scored.loc[i, cols].tolist() == pyfunc.loc[i, cols].tolist()
        assert e["grade"] == scored.loc[i, "grade"]
        assert e["pd"] == pytest.approx(scored.loc[i, "pd"], rel=1e-12)


# ------------------------------------------------------------------------------------------- privacy
def _scan(blob: bytes, ids, names) -> list[str]:
    found = [i for i in ids if i.encode() in blob]
    found += [n for n in names if n.encode("utf-8") in blob]
    return found


@pytest.mark.slow
def test_report_logs_and_run_artifacts_contain_no_enterprise_id_or_name(city_env, tmp_path, caplog):
    ents = city_env["raw"]["enterprises"]
    ids, names = ents["enterprise_id"].astype(str).tolist(), ents["name"].astype(str).tolist()
    assert ids and names and all(len(i) == 18 for i in ids)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "privacy.html"
    run_report(f"models:/city_pd/{city_env['version']}", city_env["features"], out,
               compare=str(city_env["scorecard"]), settings=FAST)
    text = out.read_bytes()
    assert pseudonymise(ids[0], KEY.encode()).startswith("ent_")
    assert b"ent_" in text  # local explanations do name enterprises, by pseudonym
    assert _scan(text, ids, names) == []
    assert _scan(caplog.text.encode("utf-8"), ids, names) == []
    client = MlflowClient()
    dl = Path(client.download_artifacts(city_env["run_id"], "", str(tmp_path / "run_artifacts")))
    model_dir = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/city_pd/{city_env['version']}",
                                                         dst_path=str(tmp_path / "model_artifacts")))
    files = [p for p in list(dl.rglob("*")) + list(model_dir.rglob("*")) if p.is_file()]
    assert any(p.name == "governance_report.html" for p in files)
    for p in files:
        assert _scan(p.read_bytes(), ids, names) == [], p


# ------------------------------------------------------------------------------------------- promotion
FUTURE = (pd.Timestamp.now(tz="UTC") + pd.DateOffset(years=1)).strftime("%Y-%m-%d")
FINDINGS_YAML = """findings:
  - id: F1
    title: Discrimination carried by grade 10 (borrowers in arrears)
    severity: high
    owner: model-dev
    due: 2027-03-31
  - id: F2
    title: PSI structural break in cons_sales_elec_gap_12m
    severity: medium
    owner: data-office
    due: 2027-06-30
conditions:
  - Application population only (no current arrears)
"""


def _decide(version, *extra, reviewer="val-007", decision="approve-with-conditions", date=FUTURE):
    args = ["promote", "--name", "city_pd", "--version", version, "--alias", "champion", "--decision", decision,
            "--reviewer", reviewer, "--note", "OOT AUC and calibration acceptable"]
    if date:
        args += ["--revalidation-date", date]
    return main(args + list(extra))


def _champion() -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias("city_pd", "champion").version)
    except Exception:  # noqa: BLE001 - no alias yet
        return None


@pytest.mark.slow
def test_promote_records_the_decision_findings_and_conditions_and_moves_the_alias(city_env, city_report, tmp_path):
    findings = tmp_path / "findings.yaml"
    findings.write_text(FINDINGS_YAML, encoding="utf-8")
    code = _decide(city_env["version"], "--findings", str(findings), "--condition", "Exposure below 5m CNY")
    assert code == 0
    client = MlflowClient()
    mv = client.get_model_version("city_pd", city_env["version"])
    assert mv.tags["review.decision"] == "approve-with-conditions"
    assert mv.tags["review.reviewer"] == "val-007" and mv.tags["review.developer"] == DEVELOPER
    assert mv.tags["review.note"] == "OOT AUC and calibration acceptable"
    assert mv.tags["review.report_sha256"] == client.get_run(city_env["run_id"]).data.tags[REPORT_SHA_TAG]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mv.tags["review.time"])
    assert mv.tags["review.revalidation_date"] == FUTURE
    assert json.loads(mv.tags["review.conditions"]) == ["Exposure below 5m CNY",
                                                        "Application population only (no current arrears)"]
    assert mv.tags["review.findings"] == "high=1, medium=1, low=0"
    assert mv.tags["review.alias_moved"] == "true"
    kept = mv.tags["review.report_artifact"]
    local = mlflow.artifacts.download_artifacts(artifact_uri=kept, dst_path=str(city_env["root"] / "kept"))
    assert file_sha256(local) == mv.tags["review.report_sha256"]
    record = json.loads(Path(mlflow.artifacts.download_artifacts(
        artifact_uri=mv.tags["review.record_artifact"], dst_path=str(tmp_path / "rec"))).read_text(encoding="utf-8"))
    assert [f["id"] for f in record["findings"]] == ["F1", "F2"]
    assert record["findings"][0] == {"id": "F1", "title": "Discrimination carried by grade 10 (borrowers in "
                                          "arrears)", "severity": "high", "owner": "model-dev", "due": "2027-03-31",
                                          "status": "open"}
    assert _champion() == city_env["version"]
    assert load_model("models:/city_pd@champion").metadata_["run_id"] == city_env["run_id"]
    # the report's sign-off section shows the recorded decision and the findings register
    out = tmp_path / "after.html"
    run_report(f"models:/city_pd/{city_env['version']}", city_env["features"], out, settings=FAST,
               log_to_mlflow=False)
    text = html.unescape(out.read_text(encoding="utf-8"))
    assert "No decision is recorded" not in text
    for piece in ("approve-with-conditions", "val-007 / dev-042", FUTURE, "Findings register", "model-dev",
                  "PSI structural break in cons_sales_elec_gap_12m", "Exposure below 5m CNY",
                  "alias @champion moved to this version"):
        assert piece in text, piece


@pytest.mark.slow
def test_promote_refuses_the_developer_as_reviewer_and_a_missing_revalidation_date(city_env, city_report, capsys):
    version, run_id = _new_version(city_env, developer="dev-042")
    log_report(run_id, city_report.path, city_report.sha256)
    before = _champion()
    assert _decide(version, reviewer=" DEV-042 ") == 5
    assert "is the model's developer" in capsys.readouterr().err
    assert _decide(version, "--condition", "x", date=None) == 2
    assert "needs a re-validation date" in capsys.readouterr().err
    assert _decide(version, "--condition", "x", date="2020-01-01") == 2
    assert _decide(version, decision="approve-with-conditions") == 2  # no condition of use
    assert _decide(version, decision="maybe") == 2
    mv = MlflowClient().get_model_version("city_pd", version)
    assert not any(k.startswith("review.") for k in mv.tags)
    assert _champion() == before


@pytest.mark.slow
def test_promote_reject_records_the_decision_and_leaves_the_alias(city_env, city_report, tmp_path):
    version, run_id = _new_version(city_env, developer="dev-042")
    log_report(run_id, city_report.path, city_report.sha256)
    before = _champion()
    assert before != version
    findings = tmp_path / "f.json"
    findings.write_text(json.dumps([{"id": "F9", "title": "Grade 10 drives the AUC", "severity": "high",
                                     "owner": "model-dev", "due": "2027-01-31"}]), encoding="utf-8")
    # a plain approval with an open high-severity finding is refused
    assert _decide(version, "--findings", str(findings), decision="approve") == 5
    assert _decide(version, "--findings", str(findings), decision="reject", date=None) == 0
    mv = MlflowClient().get_model_version("city_pd", version)
    assert mv.tags["review.decision"] == "reject" and mv.tags["review.alias_moved"] == "false"
    assert mv.tags["review.findings"] == "high=1, medium=0, low=0"
    assert _champion() == before


@pytest.mark.slow
def test_promote_refuses_a_version_without_recorded_developer(city_env, city_report, capsys):
    version, run_id = _new_version(city_env)
    log_report(run_id, city_report.path, city_report.sha256)
    assert _decide(version, "--condition", "x") == 5
    assert "records no developer" in capsys.readouterr().err


@pytest.mark.slow
def test_promote_is_refused_for_a_version_without_report(city_env, capsys):
    version, _ = _new_version(city_env, developer="dev-042")
    code = _decide(version, "--condition", "x")
    assert code == 5
    assert "has no reports/governance_report.html" in capsys.readouterr().err
    mv = MlflowClient().get_model_version("city_pd", version)
    assert "review.reviewer" not in mv.tags
    with pytest.raises(Exception, match="no reports/governance_report.html"):
        promote("city_pd", version, reviewer="val-007", note="again", decision="approve",
                revalidation_date=FUTURE)


@pytest.mark.slow
def test_promote_is_refused_when_the_logged_report_was_changed(city_env, tmp_path):
    version, run_id = _new_version(city_env, developer="dev-042")
    fake = tmp_path / "governance_report.html"
    fake.write_text("<html>edited</html>", encoding="utf-8")
    client = MlflowClient()
    client.log_artifact(run_id, str(fake), artifact_path="reports")
    client.set_tag(run_id, REPORT_SHA_TAG, "0" * 64)
    assert _decide(version, "--condition", "x") == 5


@pytest.mark.slow
def test_promote_rejects_empty_reviewer_and_unknown_version(city_env):
    assert _decide(city_env["version"], "--condition", "x", reviewer=" ") == 2
    assert _decide("999", "--condition", "x") == 4


# ------------------------------------------------------------------------------------------- single table
@pytest.fixture(scope="module")
def german(tmp_path_factory):
    """A scorecard on German credit saved as a MODEL_DIR (no MLflow run) and the data path."""
    root = tmp_path_factory.mktemp("german")
    data = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"
    df = pd.read_csv(data)
    y = df.pop("bad").to_numpy()
    model = fit_credit_model(df, y, kind="scorecard", cv=2)
    with pytest.MonkeyPatch.context() as mp:  # signed with the key the tests using it run with (conftest's)
        mp.setenv("SMECREDIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
        save_model(model, root / "model", example=input_example(model, df))
    return {"model": root / "model", "data": data, "root": root}


def test_report_on_single_table_data_says_which_sections_have_no_data(german, tmp_path):
    out = tmp_path / "german.html"
    assert main(["report", "--model", str(german["model"]), "--data", str(german["data"]), "--out", str(out),
                 "--n-boot", "50"]) == 0
    text = out.read_text(encoding="utf-8")
    for title in SECTIONS:
        assert html.escape(title) in text
    assert "The data have no snapshot dates" in text
    assert "No reference data" in text
    assert "The data have no segment columns" in text
    assert "No second model was given" in text
    assert "Grade migration not available" in text
    assert "Scorecard characteristics and bins" in text and "exact scorecard points" in text.lower()
    assert "<strong>row " in text and not re.search(r"ent_[0-9a-f]{12}", text)  # no ids: shown by position


def test_report_with_explicit_reference_computes_psi(german, tmp_path):
    df = pd.read_csv(german["data"])
    write_table(df.iloc[:500], tmp_path / "ref.csv")
    write_table(df.iloc[500:], tmp_path / "now.csv")
    out = tmp_path / "ref.html"
    run_report(str(german["model"]), tmp_path / "now.csv", out, reference=tmp_path / "ref.csv", settings=FAST,
               log_to_mlflow=False)
    text = out.read_text(encoding="utf-8")
    assert "Reference: reference data" in text and "No reference data" not in text
    assert "Score (points)" in text


def test_report_is_byte_identical_for_the_same_inputs(german, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    for out in (a, b):
        run_report(str(german["model"]), german["data"], out, settings=FAST, log_to_mlflow=False)
    assert a.read_bytes() == b.read_bytes()
    assert "generated 2026-09-21" in a.read_text(encoding="utf-8")


def test_report_errors_map_to_exit_codes_and_leave_no_file(german, tmp_path, capsys):
    out = tmp_path / "r.html"
    base = ["report", "--model", str(german["model"]), "--out", str(out)]
    assert main(base + ["--data", str(tmp_path / "absent.csv")]) == 3
    (tmp_path / "emptydir").mkdir()
    assert main(base + ["--data", str(tmp_path / "emptydir")]) == 3
    assert "without features.parquet" in capsys.readouterr().err
    df = pd.read_csv(german["data"]).drop(columns=["age_in_years"])
    write_table(df, tmp_path / "nocol.csv")
    assert main(base + ["--data", str(tmp_path / "nocol.csv")]) == 3
    assert "age_in_years" in capsys.readouterr().err
    df = pd.read_csv(german["data"]).assign(bad=lambda d: d["bad"] * 2)
    write_table(df, tmp_path / "badtarget.csv")
    assert main(base + ["--data", str(tmp_path / "badtarget.csv")]) == 3
    assert "target column 'bad' must be 0/1" in capsys.readouterr().err
    assert main(["report", "--model", str(tmp_path / "nomodel"), "--data", str(german["data"]),
                 "--out", str(out)]) == 4
    assert main(base + ["--data", str(german["data"]), "--cutoff-pd", "1.5"]) == 2
    assert not out.exists()
    assert not list(tmp_path.glob(".r.html.*"))


# ------------------------------------------------------------------------------------------- browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHECKER = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.alt || e.target.src)) || "error"));
}, true);
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.alt; });
  var pre = document.createElement("pre");
  pre.id = "__check";
  pre.textContent = JSON.stringify({images: imgs.length, broken: broken, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


def _browser_check(page: Path, tmp_path: Path) -> dict:
    """Load ``page`` with the checker script in front; return images seen, broken images and script errors."""
    checked = tmp_path / f"checked_{page.name}"
    checked.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>\n" + CHECKER, 1), encoding="utf-8")
    res = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    m = re.search(r'<pre id="__check">(.*?)</pre>', res.stdout, re.S)
    assert m, f"checker output missing; chromium rc={res.returncode} stderr={res.stderr[-500:]}"
    return json.loads(html.unescape(m.group(1)))


def _test_output_dir() -> Path:
    out = Path(os.environ.get("SMECREDIT_TEST_OUTPUT", Path(__file__).resolve().parents[1] / "build" / "test-output"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.integration
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package 'chromium'; "
                                             "`make browser` installs it)")
@pytest.mark.slow
def test_report_renders_in_headless_chromium_with_every_image_loaded(city_report, tmp_path):
    # the checker itself must see a broken image and a script error
    bad = tmp_path / "negative.html"
    bad.write_text('<!DOCTYPE html><html><head></head><body><img src="data:image/png;base64,AAAA" alt="x">'
                   "<script>notDefined();</script></body></html>", encoding="utf-8")
    neg = _browser_check(bad, tmp_path)
    assert neg["broken"] == ["x"] and any("notDefined" in e for e in neg["errors"])

    result = _browser_check(city_report.path, tmp_path)
    n_img = len(re.findall(r"<img ", city_report.path.read_text(encoding="utf-8")))
    assert result["images"] == n_img >= 15
    assert result["broken"] == []
    assert result["errors"] == []

    shot = _test_output_dir() / "governance_report_first_page.png"
    shot.unlink(missing_ok=True)
    res = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1240,1754", "--hide-scrollbars",
                    city_report.path.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000, res.stderr[-500:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_comparison_recommends_the_model_that_ranks_better_out_of_time_whatever_its_kind():
    from smecredit.report.builder import recommendation

    text = recommendation("gbm", "scorecard", {"auc_1": 0.721, "auc_2": 0.747, "p_value": 0.001},
                          "out-of-time rows, n = 5,000")
    assert text.startswith("Recommended: the compared model (scorecard)") and "0.7470 against 0.7210" in text
    assert "within noise" not in text and "out-of-time rows, n = 5,000" in text
    text = recommendation("scorecard", "gbm", {"auc_1": 0.751, "auc_2": 0.749, "p_value": 0.6}, "labelled rows")
    assert text.startswith("Recommended: this report's model (scorecard)") and "within noise" in text
    assert recommendation("gbm", "scorecard", None, None).startswith("No recommendation")
