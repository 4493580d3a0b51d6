"""`smecredit run-batch`: the monthly job from raw tables, with the job folder of the batch scorer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.simulation import simulate
from smecredit.features import build_features
from smecredit.registry import load_model
from smecredit.models.credit_model import fit_credit_model
from smecredit.registry import input_example, save_model
from smecredit.scoring.job import read_scores

AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def city_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("monthly")
    city = simulate(400, 24, 12, root / "city")
    feats = build_features(load_raw(city), "2024-12-31", population="all")
    X = feats.drop(columns=["enterprise_id", "snapshot_date", "bad", "observable"])
    y = feats["bad"].fillna(0).astype(int)
    model = fit_credit_model(X, y, kind="gbm", params={"n_rounds": 20})
    return city, save_model(model, root / "gbm", example=input_example(model, X))


def _bytes(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def test_monthly_job_scores_every_registered_enterprise_like_the_two_steps(city_model, tmp_path):
    city, model_dir = city_model
    out = tmp_path / "job"
    rc = main(["run-batch", "--model", str(model_dir), "--raw", str(city), "--as-of", AS_OF, "--out", str(out),
               "--chunk-size", "150"])
    assert rc == 0
    feats = build_features(load_raw(city), AS_OF, population="all")
    expected = load_model(model_dir).predict(feats)
    got = read_scores(out)
    assert len(sorted((out / "scores").glob("part-*.parquet"))) == 3
    assert got["enterprise_id"].tolist() == feats["enterprise_id"].tolist()
    assert got["source_row"].tolist() == list(range(len(feats)))
    # chunks of 150 rows vs one frame: the linear base's matrix products may round in another order (1 ulp)
    np.testing.assert_allclose(got["pd"].to_numpy(), expected["pd"].to_numpy(), rtol=0, atol=1e-12)
    for c in ("grade", "reason_1", "reason_2", "reason_3"):
        assert got[c].fillna("").tolist() == expected[c].fillna("").astype(str).tolist()
    assert (pd.to_datetime(got["snapshot_date"]) == pd.Timestamp(AS_OF)).all()
    man = json.loads((out / "manifest.json").read_text())
    assert man["job"] == "monthly" and man["as_of"] == AS_OF and man["status"] == "complete"
    assert man["rows_in"] == len(feats) == man["rows_scored"] + man["rows_rejected"]
    assert man["raw_tables"]["enterprises"] == 400


def test_monthly_job_resumes_a_lost_partition_with_identical_bytes_and_reruns_as_a_no_op(city_model, tmp_path,
                                                                                      capsys):
    city, model_dir = city_model
    out = tmp_path / "job"
    args = ["run-batch", "--model", str(model_dir), "--raw", str(city), "--as-of", AS_OF, "--out", str(out),
            "--chunk-size", "150"]
    assert main(args) == 0
    ref = _bytes(out)
    # a crash after partition 0: partitions 1 and 2 never written, a temporary file left behind
    man = json.loads((out / "manifest.json").read_text())
    man["status"] = "running"
    (out / "manifest.json").write_text(json.dumps(man))
    for k in (1, 2):
        (out / "scores" / f"part-{k:05d}.parquet").unlink()
    (out / "scores" / ".part-00001.parquet.abc.tmp").write_bytes(b"half")
    capsys.readouterr()
    assert main(args) == 0
    assert "resumed: 2 of 3 partitions" in capsys.readouterr().out
    assert _bytes(out) == ref and not list(out.rglob(".*"))
    assert main(args) == 0
    assert "nothing to do" in capsys.readouterr().out
