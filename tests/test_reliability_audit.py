"""Decisions and their audit record as one unit; the HMAC-chained audit store and `smecredit audit verify`.

Commands covered: ``decide loan``, ``decide renewal`` (the output/audit unit), ``audit verify``.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import decisions_world as w
from smecredit.cli import main
from smecredit.decisions import audit
from smecredit.decisions.loan import decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals
from smecredit.exceptions import AuditIntegrityError, OutputError
from smecredit.pipelines.decide import _write

POLICY = load_policy()
T0 = pd.Timestamp("2026-01-01 08:00:00")


@functools.cache
def _renew() -> pd.DataFrame:
    return decide_renewals(w.raw(), w.scores(), POLICY, w.AS_OF, model_name="gbm-test", model_version="3",
                           decided_at=T0)


@functools.cache
def _loans() -> pd.DataFrame:
    fr = w.frames()
    return decide_loans(w.raw(fr), fr["loan_applications"], w.scores(), POLICY, w.AS_OF, decided_at=T0)


def renew() -> pd.DataFrame:
    return _renew().copy()


def loans() -> pd.DataFrame:
    return _loans().copy()


@pytest.fixture
def store(tmp_path) -> Path:
    """An audit store of three parts (renewals, loans, renewals)."""
    s = tmp_path / "audit"
    for batch in (renew(), loans(), renew()):
        audit.append_decisions(batch, s)
    return s


def _verify(store, capsys) -> tuple[int, str]:
    rc = main(["audit", "verify", "--audit", str(store)])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def _part(store, k: int) -> Path:
    return store / f"part-{k:08d}.parquet"


def test_clean_store_verifies(store, capsys):
    assert [p.name for p in audit.audit_parts(store)] == [f"part-{k:08d}.parquet" for k in (1, 2, 3)]
    assert audit.verify_audit(store) == []
    rc, text = _verify(store, capsys)
    assert rc == 0 and "3 part(s), chain intact" in text
    assert len(audit.read_audit(store)) == 2 * len(renew()) + len(loans())


def test_part_is_never_overwritten_and_appends_chain(store):
    first = _part(store, 1).read_bytes()
    audit.append_decisions(loans(), store)
    assert _part(store, 1).read_bytes() == first and _part(store, 4).exists()
    links = [json.loads(pq.read_schema(p).metadata[b"smecredit.audit"]) for p in audit.audit_parts(store)]
    assert [link["seq"] for link in links] == [1, 2, 3, 4]
    assert all(b["prev"] == a["mac"] for a, b in zip(links, links[1:])) and links[0]["prev"] == ""


def test_deleting_a_middle_part_is_detected(store, capsys):
    _part(store, 2).unlink()
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000002.parquet" in text and "deleted" in text


def test_deleting_the_last_part_is_detected(store, capsys):
    _part(store, 3).unlink()
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000003.parquet" in text and "deleted" in text


def test_deleting_the_last_part_and_the_head_is_detected(store, capsys):
    _part(store, 3).unlink()
    (store / "HEAD.json").unlink()
    rc, text = _verify(store, capsys)
    assert rc == 5 and "HEAD.json" in text


def _rewrite_keeping_link(path: Path, df: pd.DataFrame) -> None:
    """Edit rows but keep the original chain link in the Parquet metadata (what a careful forger does)."""
    import pyarrow as pa

    meta = pq.read_schema(path).metadata
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **{k: v for k, v in meta.items()
                                                                                    if k == b"smecredit.audit"}}),
                   path)


def test_editing_rows_is_detected_even_with_the_link_kept(store, capsys):
    df = pd.read_parquet(_part(store, 2))
    df.loc[0, "decision"] = "decline" if df.loc[0, "decision"] != "decline" else "approve"
    _rewrite_keeping_link(_part(store, 2), df)
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000002.parquet: rows edited" in text


def test_editing_rows_and_recomputing_the_unkeyed_fingerprint_is_detected(store, capsys):
    from smecredit.io import frame_fingerprint

    path = _part(store, 1)
    df = pd.read_parquet(path)
    df["pd"] = df["pd"] / 2
    _rewrite_keeping_link(path, df)
    link = json.loads(pq.read_schema(path).metadata[b"smecredit.audit"])
    link["content"] = frame_fingerprint(pd.read_parquet(path))
    t = pq.read_table(path)
    pq.write_table(t.replace_schema_metadata({**t.schema.metadata, b"smecredit.audit": json.dumps(link).encode()}),
                   path)
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000001.parquet: chain link does not match its HMAC" in text


def test_reordering_parts_is_detected(store, capsys):
    a, b = _part(store, 1), _part(store, 2)
    tmp = store / "swap"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000001.parquet: holds chain link #2" in text


def test_inserting_a_copied_part_is_detected(store, capsys):
    shutil.copy2(_part(store, 2), _part(store, 4))
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000004.parquet" in text


def test_inserting_a_part_chained_with_another_key_is_detected(store, capsys, monkeypatch):
    """Shift the last part up and insert one written by a forger's store (own key) in its place."""
    forged = store.parent / "forger"
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", "forger-key-0123456789abcdef")
    for batch in (renew(), loans(), loans()):
        audit.append_decisions(batch, forged)
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
    _part(store, 3).rename(_part(store, 4))
    shutil.copy2(_part(forged, 3), _part(store, 3))
    rc, text = _verify(store, capsys)
    assert rc == 5 and "part-00000003.parquet: chain link does not match its HMAC" in text


def test_editing_the_head_is_detected(store, capsys):
    head = json.loads((store / "HEAD.json").read_text())
    head["seq"] = 2
    (store / "HEAD.json").write_text(json.dumps(head))
    rc, text = _verify(store, capsys)
    assert rc == 5 and "HEAD.json" in text


def test_append_refuses_to_chain_onto_a_tampered_tail(store):
    df = pd.read_parquet(_part(store, 3))
    df.to_parquet(_part(store, 3), index=False)  # rewritten: link gone
    with pytest.raises(AuditIntegrityError, match="part-00000003.parquet"):
        audit.append_decisions(renew(), store)
    assert not _part(store, 4).exists()


# --------------------------------------------------------------------------- decision output + audit unit
def test_decision_output_and_audit_part_are_written_together(tmp_path):
    out, store = tmp_path / "dec.parquet", tmp_path / "audit"
    dec = renew()
    _write(dec, out, store)
    assert out.exists() and len(audit.audit_parts(store)) == 1
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(_part(store, 1)))
    assert audit.verify_audit(store) == []


def test_failed_audit_append_leaves_no_decision_output_and_no_temp_file(store, tmp_path):
    out = tmp_path / "dec.csv"
    df = pd.read_parquet(_part(store, 3))
    df.to_parquet(_part(store, 3), index=False)  # the store's tail is broken: the append must fail
    with pytest.raises(AuditIntegrityError):
        _write(renew(), out, store)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dec.csv")] == []
    assert [p.name for p in store.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("command", ["loan", "renewal"])
def test_decide_with_an_invalid_audit_folder_writes_nothing(tmp_path, command, capsys):
    """--audit names a file: refused before any work, no output, exit 6 (the model is never even loaded)."""
    not_a_folder = tmp_path / "audit"
    not_a_folder.write_text("x")
    out = tmp_path / "dec.parquet"
    args = ["decide", command, "--model", str(tmp_path / "no-model"), "--raw", str(tmp_path / "no-raw"),
            "--as-of", "2025-12-31", "--out", str(out), "--audit", str(not_a_folder)]
    if command == "loan":
        args[2:2] = ["--applications", str(tmp_path / "apps.csv")]
    rc = main(args)
    assert rc == 6 and not out.exists()
    assert "is a file, not a folder" in capsys.readouterr().err


def test_decide_into_an_old_unchained_store_is_refused(tmp_path, capsys):
    old = tmp_path / "audit"
    old.mkdir()
    renew().to_parquet(old / "part-20250101T000000000000000-abcdef0123456789.parquet")
    out = tmp_path / "dec.parquet"
    rc = main(["decide", "renewal", "--model", str(tmp_path / "m"), "--raw", str(tmp_path / "r"), "--as-of",
               "2025-12-31", "--out", str(out), "--audit", str(old)])
    assert rc == 5 and not out.exists() and "old unchained format" in capsys.readouterr().err


def test_audit_verify_on_a_missing_store_is_a_clean_error(tmp_path, capsys):
    rc = main(["audit", "verify", "--audit", str(tmp_path / "nope")])
    assert rc == 3 and "not found" in capsys.readouterr().err


def test_check_store_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        audit.check_store(tmp_path / "f")


# --------------------------------------------------------------------------- end to end on the simulated city
@pytest.fixture(scope="module")
def city_model(sim_city, tmp_path_factory):
    from smecredit.data import load_raw
    from smecredit.features import build_features
    from smecredit.models import fit_credit_model
    from smecredit.registry import input_example, save_model

    X = build_features(load_raw(sim_city), ["2024-06-30"])
    X = X[X["observable"].astype(bool)].reset_index(drop=True)
    model = fit_credit_model(X.drop(columns=["bad"]), X["bad"].astype(int), kind="gbm", cv=2,
                             params={"max_rounds": 40, "cv_folds": 2, "learning_rate": 0.1, "linear_base": False})
    path = tmp_path_factory.mktemp("audit_city") / "model"
    save_model(model, path, example=input_example(model, X))
    return path


@pytest.mark.slow
def test_decide_loan_never_writes_a_decision_without_its_audit_record(sim_city, city_model, tmp_path, capsys):
    store, out = tmp_path / "audit", tmp_path / "loans.csv"
    args = ["decide", "loan", "--model", str(city_model), "--raw", str(sim_city), "--applications",
            str(sim_city / "loan_applications.parquet"), "--as-of", "2025-12-31", "--out", str(out), "--audit",
            str(store)]
    assert main(args) == 0, capsys.readouterr().err
    assert "chain head mac" in capsys.readouterr().out
    dec = pd.read_csv(out)
    logged = audit.read_audit(store)
    assert len(logged) == len(dec) > 0 and logged["application_id"].tolist() == dec["application_id"].tolist()
    # the store's tail is tampered with: the append fails, and no decision output appears
    out.unlink()
    df = pd.read_parquet(_part(store, 1))
    df.to_parquet(_part(store, 1), index=False)
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 5 and not out.exists() and "part-00000001.parquet" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit"]


def test_staging_file_of_a_killed_append_is_removed_by_the_next_append(store):
    dead = store / ".part-00000004.parquet.4194999.abc123.tmp"  # a pid above Linux's pid_max: never alive
    dead.write_bytes(b"half a part")
    audit.append_decisions(renew(), store)
    assert not dead.exists() and audit.verify_audit(store) == []


@pytest.mark.slow
def test_concurrent_appends_keep_one_intact_chain(tmp_path):
    """Four processes append at once: every batch gets its own part, the chain and head verify."""
    import os
    import subprocess
    import sys

    store = tmp_path / "audit"
    batch = tmp_path / "batch.parquet"
    renew().to_parquet(batch)
    code = ("import pandas as pd, sys; from smecredit.decisions import audit; "
            "audit.append_decisions(pd.read_parquet(sys.argv[1]), sys.argv[2])")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(batch), str(store)], env=env) for _ in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    assert [p.name for p in audit.audit_parts(store)] == [f"part-{k:08d}.parquet" for k in (1, 2, 3, 4)]
    assert audit.verify_audit(store) == []
