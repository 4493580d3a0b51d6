"""Bad input to `smecredit portfolio`: never a silent wrong expected loss.

Each case feeds the command a decisions file that a user could plausibly produce (edited by hand,
passed twice, exported by another tool) and checks the command either gives the right answer or
refuses with exit 3 naming the column, the file and the spreadsheet rows, writing nothing.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import decisions_world as w
from smecredit.cli import main
from smecredit.decisions.loan import decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals
from smecredit.io import write_table

POLICY = load_policy()


@functools.lru_cache(maxsize=1)
def _decided() -> pd.DataFrame:
    ren = decide_renewals(w.raw(), w.scores(), POLICY, w.AS_OF, model_name="m", model_version="1")
    # the new loan is decided in the debt-free world: with L1 on the book the limit, net of it, is 0
    fr = w.frames_debt_free()
    new = decide_loans(w.raw(fr), fr["loan_applications"], w.scores(), POLICY, w.AS_OF,
                       model_name="m", model_version="1")
    return pd.concat([ren, new], ignore_index=True)


def _decisions() -> pd.DataFrame:
    """Two booked exposures: the renewal of L1 and a new loan for the same firm (application A1); a new copy."""
    dec = _decided().copy()
    assert set(dec["decision"]) == {"renew_without_repayment", "approve"}
    return dec


def _run(tmp_path, capsys, *frames_or_paths):
    args = ["portfolio"]
    for i, f in enumerate(frames_or_paths):
        if isinstance(f, pd.DataFrame):
            p = tmp_path / f"dec{i}.csv"
            write_table(f, p)
            f = p
        args += ["--decisions", str(f)]
    out = tmp_path / "summary.csv"
    rc = main(args + ["--out", str(out)])
    return rc, capsys.readouterr(), out


def _total(out) -> pd.Series:
    s = pd.read_csv(out)
    return s[s["segment_type"] == "portfolio"].iloc[0]


def test_clean_decisions_give_the_sum_of_the_row_expected_losses(tmp_path, capsys):
    dec = _decisions()
    rc, io, out = _run(tmp_path, capsys, dec)
    assert rc == 0, io.err
    tot = _total(out)
    assert tot["exposures"] == 2
    assert tot["el"] == pytest.approx(round(float((dec["pd"] * dec["lgd"] * dec["ead"]).sum()), 2), abs=0.02)


def test_nan_pd_on_an_approved_row_is_refused_not_counted_as_zero_loss(tmp_path, capsys):
    dec = _decisions()
    dec.loc[1, "pd"] = np.nan
    rc, io, out = _run(tmp_path, capsys, dec)
    assert rc == 3
    assert "column 'pd'" in io.err and "file dec0.csv spreadsheet row 3" in io.err
    assert not out.exists()


@pytest.mark.parametrize("value", [np.inf, -1.0, np.nan])
def test_infinite_negative_or_missing_ead_on_a_booked_row_is_refused(tmp_path, capsys, value):
    dec = _decisions()
    dec.loc[0, "ead"] = value
    rc, io, out = _run(tmp_path, capsys, dec)
    assert rc == 3 and "column 'ead'" in io.err and "spreadsheet row 2" in io.err
    assert not out.exists()


def test_the_same_file_passed_twice_is_refused(tmp_path, capsys):
    p = tmp_path / "dec.parquet"
    write_table(_decisions(), p)
    rc, io, out = _run(tmp_path, capsys, p, p)
    assert rc == 3 and "passed twice" in io.err
    assert not out.exists()


def test_a_copy_of_a_file_under_another_name_is_refused_naming_both_files(tmp_path, capsys):
    dec = _decisions()
    rc, io, out = _run(tmp_path, capsys, dec, dec.copy())
    assert rc == 3 and "same exposure" in io.err
    assert "file dec0.csv spreadsheet rows 2, 3" in io.err and "file dec1.csv spreadsheet rows 2, 3" in io.err
    assert not out.exists()


def test_upper_case_or_padded_decisions_are_normalised_and_counted(tmp_path, capsys):
    dec = _decisions()
    rc, io, ref = _run(tmp_path, capsys, dec)
    assert rc == 0
    shouted = dec.assign(decision=dec["decision"].map({"approve": "APPROVE",
                                                        "renew_without_repayment": " Renew_Without_Repayment "}))
    (tmp_path / "b").mkdir()
    rc, io, out = _run(tmp_path / "b", capsys, shouted)
    assert rc == 0, io.err
    assert _total(out)["exposures"] == 2 and _total(out)["el"] == _total(ref)["el"]


def test_an_unknown_decision_value_is_refused_not_dropped(tmp_path, capsys):
    dec = _decisions()
    dec.loc[1, "decision"] = "approved"
    rc, io, out = _run(tmp_path, capsys, dec)
    assert rc == 3 and "['approved']" in io.err and "spreadsheet row 3" in io.err
    assert not out.exists()


def test_a_referred_then_booked_loan_is_counted_once(tmp_path, capsys):
    dec = _decisions()
    earlier = dec.iloc[[0]].assign(decision="refer")  # the same loan referred at an earlier review
    rc, io, out = _run(tmp_path, capsys, pd.concat([earlier, dec], ignore_index=True))
    assert rc == 0, io.err
    assert _total(out)["exposures"] == 2
