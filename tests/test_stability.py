"""PSI, information value and grade migration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.validation.stability import (UNSEEN_BIN, feature_psi, information_value, migration_matrix,
                                            paired_grades, psi, psi_status, psi_table)


def test_psi_is_near_zero_for_the_same_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=20_000)
    values = [psi(ref, rng.normal(loc=m, size=20_000)) for m in (0.0, 0.2, 0.5, 1.0)]
    assert values[0] < 0.005
    assert values == sorted(values)
    assert psi_status(values[0]) == "stable" and psi_status(values[-1]) == "shift"


def test_psi_bins_come_from_the_reference_deciles():
    ref = np.arange(1000.0)
    tab = psi_table(ref, np.arange(1000.0) + 5000)
    assert len(tab) == 10 and np.allclose(tab["ref_share"], 0.1)
    assert tab["act_share"].iloc[-1] == 1.0  # everything above the reference range lands in the top bin
    assert tab["psi"].sum() > 5


def test_psi_counts_missing_and_unseen_categories_in_their_own_bins():
    ref = pd.Series(["a", "b", "a", None] * 50)
    act = pd.Series(["a", "c", "c", None] * 50)
    tab = psi_table(ref, act)
    assert UNSEEN_BIN in tab["bin"].tolist() and "missing" in tab["bin"].tolist()
    row = tab.set_index("bin").loc[UNSEEN_BIN]
    assert row["ref_count"] == 0 and row["act_count"] == 100
    assert np.isfinite(tab["psi"].sum())


def test_psi_rejects_bad_parameters_and_empty_samples():
    with pytest.raises(ConfigError, match="bins must be an integer >= 2; got 1"):
        psi([1.0, 2.0], [1.0], bins=1)
    with pytest.raises(DataContractError, match="0 actual rows"):
        psi([1.0, 2.0], [])


def test_feature_psi_names_missing_columns_and_sorts_by_psi():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "y": rng.normal(size=3000)})
    act = pd.DataFrame({"x": rng.normal(size=3000), "y": rng.normal(2, size=3000)})
    out = feature_psi(ref, act, ["x", "y"])
    assert out["feature"].tolist() == ["y", "x"]
    with pytest.raises(DataContractError, match="actual data lack feature column"):
        feature_psi(ref, act.drop(columns="y"), ["x", "y"])


def test_migration_matrix_rows_sum_to_one_on_the_given_scale():
    m = migration_matrix(["1", "1", "2", "10"], ["1", "2", "2", "D"], grades=["1", "2", "10", "D"])
    assert m.loc["1", "2"] == 0.5 and m.loc["10", "D"] == 1.0
    sums = m.sum(axis=1)
    assert sums[["1", "2", "10"]].tolist() == [1.0, 1.0, 1.0] and sums["D"] == 0.0
    with pytest.raises(DataContractError, match=r"grades \['11'\] are not on the scale"):
        migration_matrix(["11"], ["1"], grades=["1", "2"])


def test_paired_grades_joins_snapshots_exactly_the_lag_apart():
    frame = pd.DataFrame({"enterprise_id": ["a", "a", "a", "b"],
                          "snapshot_date": pd.to_datetime(["2024-01-31", "2024-07-31", "2025-01-31", "2024-01-31"]),
                          "grade": ["3", "4", "6", "2"]})
    pairs = paired_grades(frame, months=12)
    assert pairs.to_dict("records") == [{"from": "3", "to": "6"}]
    assert len(paired_grades(frame, months=6)) == 2


def test_information_value_is_zero_for_noise_and_large_for_a_separating_variable():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 5000)
    assert information_value(rng.normal(size=5000), y) < 0.02
    assert information_value(y + rng.normal(scale=0.1, size=5000), y) > 2
    assert information_value(pd.Series(np.where(y == 1, "bad", "good")), y) > 2


def test_mostly_zero_event_count_gets_its_own_bin_so_its_information_value_shows():
    """An event count that is zero for 95% of rows must not collapse into one bin (IV 0)."""
    from smecredit.validation.stability import information_value

    rng = np.random.default_rng(0)
    x = np.where(rng.random(20_000) < 0.05, rng.integers(1, 60, 20_000), 0).astype(float)
    y = (rng.random(20_000) < np.where(x > 0, 0.45, 0.02)).astype(int)
    assert information_value(x, y) > 1.0
    assert information_value(rng.permutation(x), y) < 0.05
