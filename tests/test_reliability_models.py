"""Model integrity: no pickle on the load path, signed SHA-256 manifest, registry hashes, tampering refused.

Commands covered: ``score`` (and every loader: ``load_model``, ``mlflow.pyfunc.load_model``).
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from smecredit.registry import tracking
from smecredit.cli import main
from smecredit.exceptions import ModelIntegrityError
from smecredit.models import fit_credit_model
from smecredit.registry import load_model, save_model
from smecredit.models.dataset import coerce_features, feature_columns
from smecredit.models.persist import write_manifest
from smecredit.registry import DATA_SUBPATH, HASH_TAG, input_example, log_model

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


class _Payload:
    """A pickle that, when unpickled, creates ``marker`` (stands for any code an attacker wants run)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(_Payload(marker))


@pytest.fixture(scope="module")
def german():
    df = pd.read_csv(GERMAN)
    X = coerce_features(df, feature_columns(df, "bad"))
    return X, df["bad"].to_numpy()


@pytest.fixture(scope="module")
def models(german):
    X, y = german
    gbm = fit_credit_model(X, y, kind="gbm", cv=2, params={"max_rounds": 200, "early_stopping_rounds": 30})
    sc = fit_credit_model(X, y, kind="scorecard", cv=2)
    return {"gbm": gbm, "scorecard": sc}


@pytest.fixture(scope="module")
def saved(models, german, tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMECREDIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
        for kind, m in models.items():
            save_model(m, root / kind, example=input_example(m, german[0]))
    return root


def _copy(saved: Path, kind: str, tmp_path: Path) -> Path:
    dst = tmp_path / kind
    shutil.copytree(saved / kind, dst)
    return dst


@pytest.mark.parametrize("kind", ["gbm", "scorecard"])
def test_save_load_round_trip_gives_identical_scores(models, saved, german, kind):
    X, _ = german
    before = models[kind]
    after = load_model(saved / kind)
    np.testing.assert_allclose(after.predict_pd(X), before.predict_pd(X), rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(after.predict(X), before.predict(X))
    pd.testing.assert_frame_equal(after.contributions(X), before.contributions(X))
    via_mlflow = mlflow.pyfunc.load_model(str(saved / kind)).predict(input_example(before, X, n=len(X)))
    np.testing.assert_allclose(via_mlflow["pd"].to_numpy(), before.predict_pd(X), rtol=0, atol=1e-12)
    if kind == "scorecard":
        pd.testing.assert_frame_equal(after.scorecard_table(), before.scorecard_table())
    # the scikit-learn attributes (derived at load, not saved) are those of the fitted objects
    for a, b in ((after.estimator_, before.estimator_), (after.calibrator_, before.calibrator_)):
        assert a.n_features_in_ == b.n_features_in_
        np.testing.assert_array_equal(a.classes_, b.classes_)
        np.testing.assert_array_equal(a.feature_names_in_, b.feature_names_in_)
    z = before.estimator_.decision_function(before.prepare(X))
    np.testing.assert_array_equal(after.calibrator_.predict_pd(z), before.calibrator_.predict_pd(z))



def test_gbm_tree_decision_and_tree_levels_survive_save_and_load(german, tmp_path, monkeypatch):
    """The out-of-fold decision on the trees and the categorical levels the trees were trained on (a
    many-levelled categorical is left to the linear base) travel with the model."""
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
    X, y = german
    X = X.assign(branch=[f"b{i % 30}" for i in range(len(X))])  # 30 levels: the linear base only
    before = fit_credit_model(X, y, kind="gbm", cv=2, params={"max_rounds": 60, "early_stopping_rounds": 20})
    assert "branch" in before.estimator_.linear_only_categoricals_
    save_model(before, tmp_path / "gbm", example=input_example(before, X))
    after = load_model(tmp_path / "gbm")
    assert after.estimator_.trees_kept_ == before.estimator_.trees_kept_
    assert after.estimator_.tree_decision_ == before.estimator_.tree_decision_
    assert after.estimator_.tree_category_levels() == before.estimator_.tree_category_levels()
    np.testing.assert_allclose(after.predict_pd(X), before.predict_pd(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["gbm", "scorecard"])
def test_saved_model_holds_no_pickle_and_mlflow_uses_our_loader_module(saved, kind):
    folder = saved / kind
    for p in folder.rglob("*"):
        if p.is_file():
            assert p.suffix not in (".pkl", ".pickle", ".joblib", ".skops"), p
            assert not p.read_bytes().startswith(b"\x80"), f"{p} looks like a pickle"
    mlmodel = (folder / "MLmodel").read_text()
    assert "loader_module: smecredit.models.pyfunc" in mlmodel
    data = folder / DATA_SUBPATH
    names = sorted(p.name for p in data.iterdir())
    assert names == (["booster.txt", "manifest.json", "model.json"] if kind == "gbm" else ["manifest.json", "model.json"])
    manifest = json.loads((data / "manifest.json").read_text())
    assert set(manifest["files"]) == set(names) - {"manifest.json"}
    assert len(manifest["hmac_sha256"]) == 64


def _score_rc(model_dir, german, tmp_path) -> tuple[int, Path]:
    inp = tmp_path / "in.csv"
    german[0].head(20).to_csv(inp, index=False)
    out = tmp_path / "scores.csv"
    return main(["score", "--model", str(model_dir), "--input", str(inp), "--output", str(out)]), out


def test_payload_pickle_would_run_code_if_unpickled(tmp_path):
    """Control: the crafted file used below really runs code when unpickled."""
    marker = tmp_path / "control"
    pickle.loads(_evil_pickle(marker))
    assert marker.exists()


@pytest.mark.parametrize("kind", ["gbm", "scorecard"])
def test_pickle_swapped_in_for_model_json_runs_nothing_and_is_refused(saved, german, tmp_path, kind, capsys):
    folder = _copy(saved, kind, tmp_path)
    marker = tmp_path / "pwned"
    (folder / DATA_SUBPATH / "model.json").write_bytes(_evil_pickle(marker))
    with pytest.raises(ModelIntegrityError, match=r"model\.json.*SHA-256"):
        load_model(folder)
    with pytest.raises(ModelIntegrityError, match=r"model\.json"):
        mlflow.pyfunc.load_model(str(folder))
    rc, out = _score_rc(folder, german, tmp_path)
    assert rc == 5 and not out.exists()
    assert "model.json" in capsys.readouterr().err
    assert not marker.exists()


def test_pickle_with_recomputed_unkeyed_manifest_is_refused(saved, tmp_path):
    folder = _copy(saved, "gbm", tmp_path)
    data = folder / DATA_SUBPATH
    marker = tmp_path / "pwned"
    (data / "model.json").write_bytes(_evil_pickle(marker))
    manifest = json.loads((data / "manifest.json").read_text())
    import hashlib

    manifest["files"]["model.json"] = hashlib.sha256((data / "model.json").read_bytes()).hexdigest()
    (data / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="signature"):
        load_model(folder)
    assert not marker.exists()


@pytest.mark.parametrize("target", ["model.json", "booster.txt"])
def test_even_a_correctly_signed_pickle_is_never_unpickled(saved, tmp_path, target):
    """An attacker holding the key can sign anything: the loader still only parses JSON and LightGBM text."""
    folder = _copy(saved, "gbm", tmp_path)
    data = folder / DATA_SUBPATH
    marker = tmp_path / "pwned"
    (data / target).write_bytes(_evil_pickle(marker))
    import hashlib

    write_manifest(data, {n: hashlib.sha256((data / n).read_bytes()).hexdigest() for n in ("model.json", "booster.txt")})
    with pytest.raises(ModelIntegrityError, match="not a valid smecredit model file|malformed model file"):
        load_model(folder)
    assert not marker.exists()


@pytest.mark.parametrize("edit", ["coefficient", "booster_leaf", "delete_booster", "extra_file", "manifest_files"])
def test_edits_of_model_files_are_refused_naming_the_file(saved, german, tmp_path, edit):
    folder = _copy(saved, "gbm", tmp_path)
    data = folder / DATA_SUBPATH
    if edit == "coefficient":
        state = json.loads((data / "model.json").read_text())
        state["calibrator"]["mapper"]["y_" if "y_" in state["calibrator"]["mapper"] else "b_"] = 0.0
        (data / "model.json").write_text(json.dumps(state))
        expect = "model.json"
    elif edit == "booster_leaf":
        text = (data / "booster.txt").read_text()
        i = text.index("leaf_value=") + len("leaf_value=")
        (data / "booster.txt").write_text(text[:i] + "9" + text[i:])
        expect = "booster.txt"
    elif edit == "delete_booster":
        (data / "booster.txt").unlink()
        expect = "booster.txt"
    elif edit == "extra_file":
        (data / "helper.pkl").write_bytes(_evil_pickle(tmp_path / "pwned"))
        expect = "helper.pkl"
    else:
        manifest = json.loads((data / "manifest.json").read_text())
        manifest["files"]["booster.txt"] = "0" * 64
        (data / "manifest.json").write_text(json.dumps(manifest))
        expect = "manifest.json"
    with pytest.raises(ModelIntegrityError, match=expect.replace(".", r"\.")):
        load_model(folder)
    rc, out = _score_rc(folder, german, tmp_path)
    assert rc == 5 and not out.exists()
    assert not (tmp_path / "pwned").exists()


def test_old_pickle_format_model_is_refused_without_unpickling(saved, german, tmp_path):
    folder = _copy(saved, "gbm", tmp_path)
    shutil.rmtree(folder / "data")
    marker = tmp_path / "pwned"
    (folder / "artifacts").mkdir()
    (folder / "artifacts" / "credit_model.pkl").write_bytes(_evil_pickle(marker))
    (folder / "python_model.pkl").write_bytes(_evil_pickle(marker))
    with pytest.raises(ModelIntegrityError, match="old pickle format"):
        load_model(folder)
    rc, out = _score_rc(folder, german, tmp_path)
    assert rc == 5 and not out.exists() and not marker.exists()


def test_model_saved_under_another_key_is_refused(saved, tmp_path, monkeypatch):
    folder = _copy(saved, "scorecard", tmp_path)
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", "another-key-0123456789abcdef")
    with pytest.raises(ModelIntegrityError, match="signature"):
        load_model(folder)


def test_registered_version_records_hashes_and_refuses_a_tampered_artifact(models, german, tmp_path, monkeypatch):
    X, _ = german
    model = models["gbm"]
    exp = tracking.ensure_experiment("integrity")
    with mlflow.start_run(experiment_id=exp) as run:
        info = log_model(model, example=input_example(model, X), registered_model_name="rel_pd")
    client = mlflow.MlflowClient()
    tag = json.loads(client.get_model_version("rel_pd", "1").tags[HASH_TAG])
    assert set(tag) == {"model.json", "booster.txt", "manifest.json"}
    client.set_registered_model_alias("rel_pd", "champion", "1")
    loaded = load_model("models:/rel_pd@champion")
    np.testing.assert_allclose(loaded.predict_pd(X), model.predict_pd(X), rtol=0, atol=1e-12)
    assert loaded.metadata_["registered_version"] == "1"
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/model"):  # logged-model id and run URIs: manifest only
        np.testing.assert_allclose(load_model(uri).predict_pd(X), model.predict_pd(X), rtol=0, atol=1e-12)
    # tamper with the stored artifact: the registry's record catches it
    boosters = [p for p in (tmp_path / "mlartifacts").rglob("booster.txt")]
    assert len(boosters) == 1
    text = boosters[0].read_text()
    boosters[0].write_text(text.replace("leaf_value=", "leaf_value=1", 1))
    with pytest.raises(ModelIntegrityError, match=r"booster\.txt"):
        load_model("models:/rel_pd@champion")
    with pytest.raises(ModelIntegrityError, match=r"booster\.txt"):
        load_model(info.model_uri)
    monkeypatch.chdir(tmp_path)
    inp = tmp_path / "in.csv"
    X.head(5).to_csv(inp, index=False)
    assert main(["score", "--model", "models:/rel_pd/1", "--input", str(inp), "--output",
                 str(tmp_path / "o.csv")]) == 5
    assert not (tmp_path / "o.csv").exists()


def test_registered_version_without_hash_tag_is_refused(models, german):
    model = models["scorecard"]
    exp = tracking.ensure_experiment("integrity")
    with mlflow.start_run(experiment_id=exp):
        log_model(model, example=input_example(model, german[0]), registered_model_name="untagged")
    mlflow.MlflowClient().delete_model_version_tag("untagged", "1", HASH_TAG)
    with pytest.raises(ModelIntegrityError, match="records no SHA-256"):
        load_model("models:/untagged/1")


def test_model_verify_command(saved, tmp_path, capsys):
    folder = _copy(saved, "scorecard", tmp_path)
    assert main(["model", "verify", "--model", str(folder)]) == 0
    assert "files intact" in capsys.readouterr().out
    (folder / DATA_SUBPATH / "model.json").write_text("{}")
    assert main(["model", "verify", "--model", str(folder)]) == 5
    assert "model.json" in capsys.readouterr().err


@pytest.mark.parametrize("edit", ["loader_module", "code"])
def test_mlmodel_pointing_mlflow_at_other_code_is_refused(saved, tmp_path, edit, capsys):
    folder = _copy(saved, "gbm", tmp_path)
    text = (folder / "MLmodel").read_text()
    if edit == "loader_module":
        text = text.replace("loader_module: smecredit.models.pyfunc", "loader_module: evil_loader")
    else:
        text = text.replace("    code: null", "    code: code")
        (folder / "code").mkdir()
        (folder / "code" / "evil_loader.py").write_text("open('pwned', 'w')\n")
    (folder / "MLmodel").write_text(text)
    with pytest.raises(ModelIntegrityError, match="MLmodel.*was changed"):
        load_model(folder)
    assert main(["model", "verify", "--model", str(folder)]) == 5
    assert edit in capsys.readouterr().err
