"""The batch scoring job (`smecredit score --output DIR`): streaming, rejects, kill -9 and resume."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from smecredit.cli import main
from smecredit.data.uscc import make_codes
from smecredit.models.credit_model import fit_credit_model
from smecredit.registry import input_example, load_model, save_model
from smecredit.scoring.ids import id_formats_of, learn_id_format
from smecredit.scoring.job import EXIT_ROWS_REJECTED, read_rejects, read_scores, run_score_job

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"
SRC = Path(__file__).resolve().parents[1] / "src"


def codes(n: int, start: int = 0) -> list[str]:
    """``n`` valid unified social credit codes (the data model's enterprise_id)."""
    return list(make_codes(np.arange(start, start + n), np.full(n, "330106"), np.full(n, "1")))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A GBM (40 trees over the linear base) fitted on German credit, saved as an MLflow model folder."""
    df = pd.read_csv(GERMAN)
    X = df.drop(columns="bad")
    model = fit_credit_model(X, df["bad"], kind="gbm", params={"n_rounds": 40})
    return save_model(model, tmp_path_factory.mktemp("m") / "gbm", example=input_example(model, X))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """German credit ×4 (4,000 rows) with enterprise and loan ids, as Parquet."""
    df = pd.concat([pd.read_csv(GERMAN).drop(columns="bad")] * 4, ignore_index=True)
    df.insert(0, "enterprise_id", codes(len(df)))
    df.insert(1, "loan_id", [f"L{i:06d}" for i in range(len(df))])
    df["branch"] = np.where(np.arange(len(df)) % 2 == 0, "north", "south")
    path = tmp_path_factory.mktemp("in") / "in.parquet"
    df.to_parquet(path, index=False)
    return path


def _part_bytes(out: Path) -> dict[str, bytes]:
    """The visible partitions (a killed run may leave its hidden temporary file; readers never see it)."""
    return {f"{d}/{f.name}": f.read_bytes() for d in ("scores", "rejects") for f in sorted((out / d).glob("[!.]*"))}


def test_job_scores_every_row_like_the_model_in_partitions_with_a_manifest(model_dir, table, tmp_path):
    out = tmp_path / "job"
    rc = main(["score", "--model", str(model_dir), "--input", str(table), "--output", str(out),
               "--chunk-rows", "1500", "--keep", "branch"])
    assert rc == 0
    assert sorted(p.name for p in (out / "scores").iterdir()) == [f"part-{k:05d}.parquet" for k in range(3)]
    scores = pd.read_parquet(out / "scores")  # a Parquet dataset
    src = pd.read_parquet(table)
    assert list(scores.columns) == ["enterprise_id", "loan_id", "branch", "source_row", "pd", "score", "grade",
                                    "reason_1", "reason_2", "reason_3"]
    assert scores["source_row"].tolist() == list(range(len(src)))
    assert scores["loan_id"].tolist() == src["loan_id"].tolist() and scores["branch"].tolist() == src["branch"].tolist()
    expected = load_model(model_dir).predict(src)
    np.testing.assert_array_equal(scores["pd"].to_numpy(), expected["pd"].to_numpy())
    for c in ("grade", "reason_1", "reason_2", "reason_3"):
        assert scores[c].tolist() == [str(v) for v in expected[c].tolist()]
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete" and (man["rows_in"], man["rows_scored"], man["rows_rejected"]) == (4000, 4000, 0)
    assert [p["rows_in"] for p in man["partitions"]] == [1500, 1500, 1000]
    assert man["model"]["kind"] == "gbm" and len(man["input"]["fingerprint"]) == 64
    assert not list((out / "rejects").iterdir())


def test_bad_rows_go_to_rejects_with_reason_and_source_row_and_the_exit_code_says_so(model_dir, tmp_path, capsys):
    df = pd.read_csv(GERMAN).drop(columns="bad").head(300)
    df.insert(0, "enterprise_id", codes(len(df)))
    df["duration_in_month"] = df["duration_in_month"].astype(object)
    df.loc[7, "duration_in_month"] = "twelve"
    df["credit_amount"] = df["credit_amount"].astype("float64")
    df.loc[42, "credit_amount"] = np.inf
    df.loc[99, "enterprise_id"] = None
    csv = tmp_path / "in.csv"
    df.to_csv(csv, index=False)
    out = tmp_path / "job"
    rc = main(["score", "--model", str(model_dir), "--input", str(csv), "--output", str(out), "--chunk-rows", "64"])
    assert rc == EXIT_ROWS_REJECTED == 10
    rej = read_rejects(out)
    assert rej["source_row"].tolist() == [7, 42, 99]
    assert rej["reason"].tolist() == ["duration_in_month: not a number", "credit_amount: infinite value",
                                      "enterprise_id: missing"]
    scores = read_scores(out)
    man = json.loads((out / "manifest.json").read_text())
    assert man["rows_in"] == 300 == man["rows_scored"] + man["rows_rejected"] == len(scores) + len(rej)
    for p in man["partitions"]:
        assert p["rows_in"] == p["rows_scored"] + p["rows_rejected"]
    assert sorted(set(range(300)) - set(scores["source_row"])) == [7, 42, 99]
    # the good rows of a CSV score exactly like the same rows read by pandas
    good = pd.read_csv(csv).drop(index=[7, 42, 99]).reset_index(drop=True)
    good["duration_in_month"] = good["duration_in_month"].astype("float64")
    np.testing.assert_allclose(scores["pd"].to_numpy(), load_model(model_dir).predict_pd(good), rtol=0, atol=1e-15)
    assert "rejected" in capsys.readouterr().err


def test_unseen_enterprise_id_or_credit_code_format_goes_to_rejects(model_dir, tmp_path):
    """No format recorded at training: the data model's (unified social credit codes, check character)."""
    df = pd.read_csv(GERMAN).drop(columns="bad").head(200)
    ids = codes(len(df))
    ids[3] = "E000003"                      # an internal number where a code is expected
    ids[60] = ids[60][:17] + ("0" if ids[60][17] != "0" else "1")  # wrong check character
    ids[61] = ids[61][:10]                  # truncated
    ids[62] = ids[62].lower()               # lower case is not in the GB 32100 alphabet
    df.insert(0, "enterprise_id", ids)
    cc = codes(len(df), start=10_000)
    cc[150], cc[160] = "12345", None        # a missing credit code is not judged here
    df.insert(1, "credit_code", cc)
    inp = tmp_path / "in.parquet"
    df.to_parquet(inp, index=False)
    out = tmp_path / "job"
    res = run_score_job(str(model_dir), inp, out, chunk_rows=64, workers=1)
    assert res.exit_code == EXIT_ROWS_REJECTED
    rej = read_rejects(out)
    assert rej["source_row"].tolist() == [3, 60, 61, 62, 150]
    assert rej["enterprise_id"].tolist() == [ids[i] for i in (3, 60, 61, 62, 150)]
    want = "unseen id format (expected a unified social credit code: 18 characters, GB 32100-2015 check character)"
    assert rej["reason"].tolist() == [f"enterprise_id: {want}"] * 4 + [f"credit_code: {want}"]
    assert "credit_code" not in read_scores(out).columns  # a code that is not an id column is not copied out
    assert sorted(read_scores(out)["source_row"].tolist() + rej["source_row"].tolist()) == list(range(200))
    assert res.manifest["rows_in"] == 200 and res.manifest["rows_rejected"] == 5


def test_id_format_recorded_at_training_is_the_reference(tmp_path):
    """`smecredit train` records the format of the training ids; the job scores ids of that format and
    rejects the others (here the training ids are internal numbers E00000 ..., not credit codes)."""
    df = pd.read_csv(GERMAN)
    df.insert(0, "enterprise_id", [f"E{i:05d}" for i in range(len(df))])
    data = tmp_path / "train.csv"
    df.to_csv(data, index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        mp.chdir(tmp_path)
        assert main(["train", "--data", str(data), "--target", "bad", "--out", str(tmp_path / "m"),
                     "--kind", "scorecard", "--no-compare", "--experiment", "ids"]) == 0
    model = load_model(tmp_path / "m")
    assert model.metadata_["id_formats"] == {"enterprise_id": {"kind": "pattern", "patterns": ["E[0-9]{5}"]}}
    assert id_formats_of(df) == model.metadata_["id_formats"]
    new = df.drop(columns="bad").head(50).copy()
    new["enterprise_id"] = [f"E{i:05d}" for i in range(50_000, 50_050)]
    new.loc[[7, 8, 9], "enterprise_id"] = [codes(1)[0], "E1234", "e00001"]
    inp = tmp_path / "new.parquet"
    new.to_parquet(inp, index=False)
    res = run_score_job(str(tmp_path / "m"), inp, tmp_path / "job", workers=1)
    rej = read_rejects(tmp_path / "job")
    assert res.exit_code == EXIT_ROWS_REJECTED and rej["source_row"].tolist() == [7, 8, 9]
    assert set(rej["reason"]) == {"enterprise_id: unseen id format (expected the training ids' format E[0-9]{5})"}
    assert len(read_scores(tmp_path / "job")) == 47


def test_learned_id_formats_generalise_numbering_and_record_no_part_of_few_ids():
    assert learn_id_format([f"E{i}" for i in range(1, 1000)]) == {"kind": "pattern", "patterns": ["E[0-9]{1,}"]}
    assert learn_id_format(codes(30)) == {"kind": "uscc"}
    # fewer than MIN_LITERAL ids of a shape: their letters are not recorded
    assert learn_id_format(["ABC123", "ABC124"]) == {"kind": "pattern", "patterns": ["[A-Z]{3}[0-9]{3}"]}
    assert learn_id_format([None, float("nan")]) is None


def test_rerun_of_a_finished_job_does_nothing_and_says_so(model_dir, table, tmp_path, capsys):
    out = tmp_path / "job"
    assert main(["score", "--model", str(model_dir), "--input", str(table), "--output", str(out),
                 "--chunk-rows", "2000"]) == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(out.rglob("*")) if p.is_file()}
    capsys.readouterr()
    assert main(["score", "--model", str(model_dir), "--input", str(table), "--output", str(out),
                 "--chunk-rows", "2000"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before
    # another job into the same folder is refused (exit 2), nothing touched
    assert main(["score", "--model", str(model_dir), "--input", str(table), "--output", str(out),
                 "--chunk-rows", "1000"]) == 2
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_missing_feature_column_fails_before_anything_is_written(model_dir, table, tmp_path, capsys):
    df = pd.read_parquet(table).drop(columns=["credit_amount"])
    bad = tmp_path / "bad.parquet"
    df.to_parquet(bad)
    out = tmp_path / "job"
    assert main(["score", "--model", str(model_dir), "--input", str(bad), "--output", str(out)]) == 3
    assert "credit_amount" in capsys.readouterr().err and not out.exists()


def test_partitioned_dataset_input_and_determinism(model_dir, table, tmp_path):
    df = pd.read_parquet(table)
    ds = tmp_path / "ds"
    for i, part in enumerate(np.array_split(np.arange(len(df)), 3)):
        d = ds / f"snapshot_date=2025-0{i + 1}-28"
        d.mkdir(parents=True)
        df.iloc[part].to_parquet(d / "data.parquet", index=False)
    a, b = tmp_path / "a", tmp_path / "b"
    run_score_job(str(model_dir), ds, a, chunk_rows=700, workers=1)
    run_score_job(str(model_dir), ds, b, chunk_rows=700, workers=1)
    assert _part_bytes(a) == _part_bytes(b) and len(_part_bytes(a)) == 6
    s = read_scores(a)
    assert s["snapshot_date"].tolist() == ["2025-01-28"] * 1334 + ["2025-02-28"] * 1333 + ["2025-03-28"] * 1333
    assert s["enterprise_id"].tolist() == df["enterprise_id"].tolist()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
def test_two_worker_processes_give_the_same_bytes_as_one(model_dir, table, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_score_job(str(model_dir), table, a, chunk_rows=500, workers=1)
    res = run_score_job(str(model_dir), table, b, chunk_rows=500, workers=2)
    assert _part_bytes(a) == _part_bytes(b) and len(_part_bytes(a)) == 8
    assert res.manifest["rows_scored"] == 4000


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_gives_identical_bytes(model_dir, table, tmp_path):
    """A real subprocess is killed with SIGKILL at random moments; resuming completes the job with
    exactly the bytes of an uninterrupted run and never shows a half-written partition."""
    big = tmp_path / "big.parquet"
    pd.concat([pd.read_parquet(table)] * 5, ignore_index=True).to_parquet(big, index=False)  # 20,000 rows
    ref = tmp_path / "ref"
    run_score_job(str(model_dir), big, ref, chunk_rows=500)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-c", "from smecredit.cli import run; run()", "score", "--model", str(model_dir), "--input", str(big),
           "--output", str(out), "--chunk-rows", "500", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    rng = random.Random(16)
    kills, orphans = 0, []
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        n0 = len(list((out / "scores").glob("part-*"))) if (out / "scores").exists() else 0
        deadline = time.monotonic() + 120
        # wait until this run has written at least one new partition, then kill at a random moment
        while proc.poll() is None and time.monotonic() < deadline:
            if (out / "scores").exists() and len(list((out / "scores").glob("part-*"))) > n0:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            orphans += _children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        # whatever is visible is complete: every visible partition equals the reference's
        for name, data in _part_bytes(out).items():
            assert data == (ref / name).read_bytes(), name
    assert kills >= 1
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _part_bytes(out) == _part_bytes(ref)
    assert not [p for p in out.rglob(".*")], "temporary files left behind"
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete" and man["rows_in"] == man["rows_scored"] == 20_000 and man["runs"] >= 2
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "nothing to do" in rerun.stdout
    # the worker processes of the killed runs did not outlive them
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in orphans) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in orphans if _alive(p)]
