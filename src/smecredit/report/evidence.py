"""Which report rows are performance evidence: the held-out (out-of-time) sample and the in-sample check.

One evidence set: when the model records the out-of-time snapshot ``validation.json`` was computed on
(``oot_snapshot``, written by ``smecredit train``), the report's out-of-time sample is exactly the labelled,
observable rows of that snapshot in the model's population, so both files report the same rows.
Otherwise (models fitted outside ``smecredit train``) the out-of-time sample is every labelled row after
the training window. Rows inside the training window are the in-sample overfitting check, never
performance evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smecredit.validation.scope import DPD_COL, population_mask


@dataclass(frozen=True)
class Evidence:
    """Row masks of the report data (all of length ``len(frame)``, already restricted to labelled rows)."""

    oot: np.ndarray | None
    in_sample: np.ndarray | None
    oot_label: str
    in_sample_label: str
    population: np.ndarray
    note: str = ""
    oot_all: np.ndarray | None = None  # the out-of-time rows of every population (the report's population views)

    @property
    def has_oot(self) -> bool:
        return self.oot is not None and bool(self.oot.any())


def evidence(frame: pd.DataFrame, meta: dict, window, labelled: np.ndarray, *, time_col: str = "snapshot_date",
             holdout: np.ndarray | None = None) -> Evidence:
    """Masks of the out-of-time and in-sample rows (see the module docstring).

    ``holdout`` marks the rows a model trained on this very table held out for its test (a random split,
    recomputed by :func:`smecredit.pipelines.train.held_out_mask`); without a training window they are the
    evidence, and all labelled rows are shown only as an in-sample check.
    """
    scope = meta.get("scope") if isinstance(meta.get("scope"), dict) else {}
    population = scope.get("population", "behavioural")
    if population == "application" and DPD_COL not in frame.columns:
        pop = np.ones(len(frame), dtype=bool)
        pop_note = f" The data lack {DPD_COL}: the application population cannot be applied."
    else:
        pop = population_mask(frame, population)
        pop_note = "" if population == "behavioural" else f" Rows of the {population} population only."
    lab = labelled & pop
    if window is None or time_col not in frame.columns:
        if holdout is not None and (np.asarray(holdout, dtype=bool) & lab).any():
            held = np.asarray(holdout, dtype=bool) & lab
            return Evidence(held, lab, "held-out test rows (not used in training)",
                            "all labelled rows (in-sample: includes the training rows)", pop,
                            f"No snapshot dates: the model's own held-out test rows ({int(held.sum()):,}, recomputed "
                            "from its recorded random split) are the test; figures on all labelled rows include the "
                            "training rows and overstate discrimination." + pop_note,
                            np.asarray(holdout, dtype=bool) & labelled)
        return Evidence(None, None, "", "", pop,
                        "The training window or snapshot dates are unknown: held-out and training rows cannot be "
                        "told apart." + pop_note)
    t = pd.to_datetime(frame[time_col])
    in_sample = lab & ((t >= window[0]) & (t <= window[1])).to_numpy()
    in_label = f"in-sample: training window {window[0].date()} to {window[1].date()} (overfitting check only)"
    recorded = meta.get("oot_snapshot")
    if recorded:
        snap = pd.Timestamp(recorded)
        oot = lab & (t == snap).to_numpy()
        gap = int((lab & (t > window[1]) & (t != snap)).to_numpy().sum())
        note = (f"Out-of-time = snapshot {snap.date()}, the held-out sample of validation.json (same rows)."
                + (f" {gap:,} labelled rows at other snapshots after the training window are not used as "
                   "evidence (one evidence set)." if gap else "") + pop_note)
        return Evidence(oot, in_sample, f"out-of-time: snapshot {snap.date()} (held out)", in_label, pop, note,
                        labelled & (t == snap).to_numpy())
    oot = lab & (t > window[1]).to_numpy()
    return Evidence(oot, in_sample, "out-of-time: after the training window (held out)", in_label, pop,
                    "Out-of-time = every labelled row after the training window (the model records no "
                    "out-of-time snapshot)." + pop_note, labelled & (t > window[1]).to_numpy())
