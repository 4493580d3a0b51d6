"""One evidence set: the report's out-of-time rows are the rows validation.json was computed on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.pipelines.train import TrainingData, split_data
from smecredit.report.builder import _window
from smecredit.report.evidence import evidence
from smecredit.validation.scope import population_mask, scope_card


def _panel(seed=0):
    rng = np.random.default_rng(seed)
    snaps = pd.date_range("2022-12-31", "2025-06-30", freq="6ME")
    rows = []
    for s in snaps:
        for e in range(300):
            rows.append({"enterprise_id": f"e{e}", "snapshot_date": s, "x": rng.normal(),
                         "cr_dpd_now": float(rng.choice([0, 0, 0, 0, 35])),
                         "observable": bool(s + pd.DateOffset(months=12) <= snaps[-1])})
    f = pd.DataFrame(rows)
    f["bad"] = np.where(f["observable"], (rng.random(len(f)) < 0.1).astype(float), np.nan)
    f.loc[5, "observable"] = False  # an unobservable row at a labelled snapshot
    return f


@pytest.mark.parametrize("population", ["behavioural", "application"])
def test_report_out_of_time_rows_are_the_validation_json_test_rows(population):
    frame = _panel()
    td = TrainingData(frame.loc[population_mask(frame, population)], "panel", manifest={"horizon": 12})
    _, test, info = split_data(td, "bad", "time")
    meta = {**info, "scope": scope_card(population, horizon_months=12)}
    y = frame["bad"].where(frame["observable"])
    ev = evidence(frame, meta, _window(meta), y.notna().to_numpy())
    assert ev.has_oot
    assert sorted(frame.index[ev.oot]) == sorted(test.index)
    assert "snapshot " + info["oot_snapshot"] in ev.oot_label
    # the training rows are the in-sample check, disjoint from the evidence
    assert not (ev.oot & ev.in_sample).any()
    assert ev.in_sample.sum() == info["n_train"]
    # the population views of the report see every population's out-of-time rows
    assert ev.oot_all.sum() == int((y.notna() & (frame["snapshot_date"] == info["oot_snapshot"])).sum())
    assert (ev.oot_all >= ev.oot).all()


def test_without_a_recorded_oot_snapshot_every_row_after_the_window_is_held_out():
    frame = _panel()
    meta = {"train_snapshots": ["2022-12-31", "2023-06-30"]}
    y = frame["bad"].where(frame["observable"])
    ev = evidence(frame, meta, _window(meta), y.notna().to_numpy())
    t = frame["snapshot_date"]
    assert (frame.index[ev.oot] == frame.index[(t > "2023-06-30") & y.notna()]).all()
    assert "after the training window" in ev.oot_label
    none = evidence(frame, {}, None, y.notna().to_numpy())
    assert none.oot is None and "cannot be told apart" in none.note
