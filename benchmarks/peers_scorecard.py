"""Peer scorecards that conflict with smecredit's stack: toad and scorecardpy.

Run by bench_models.py inside its own venv (benchmarks/.venv-peers):
    python peers_scorecard.py DATA.csv FOLDS.json TARGET
prints one JSON object {"toad": [auc per fold], "scorecardpy": [auc per fold]}.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

warnings.filterwarnings("ignore")


def run_toad(train, test, target):
    import toad

    combiner = toad.transform.Combiner()
    try:
        combiner.fit(train, y=target, method="chi", min_samples=0.05)
    except ValueError:  # toad 0.1.7 chi-merge fails on some columns ("bins must be monotonically ...")
        print("toad: chi-merge failed, falling back to decision-tree binning", file=sys.stderr)
        combiner = toad.transform.Combiner()
        combiner.fit(train, y=target, method="dt", min_samples=0.05)
    tr_bins, te_bins = combiner.transform(train), combiner.transform(test)
    woe = toad.transform.WOETransformer()
    tr = woe.fit_transform(tr_bins, tr_bins[target], exclude=[target])
    te = woe.transform(te_bins)
    cols = [c for c in tr.columns if c != target]
    lr = LogisticRegression(max_iter=2000).fit(tr[cols], train[target])
    return roc_auc_score(test[target], lr.predict_proba(te[cols])[:, 1])


def run_scorecardpy(train, test, target):
    import scorecardpy as sc

    bins = sc.woebin(train, y=target, print_step=0)
    tr = sc.woebin_ply(train, bins, print_step=0)
    te = sc.woebin_ply(test, bins, print_step=0)
    cols = [c for c in tr.columns if c != target]
    te[cols] = te[cols].fillna(0.0)  # values unseen in training get no WoE: use the neutral 0
    lr = LogisticRegression(max_iter=2000).fit(tr[cols], train[target])
    return roc_auc_score(test[target], lr.predict_proba(te[cols])[:, 1])


def main():
    path, folds_path, target = sys.argv[1:4]
    df = pd.read_csv(path)
    folds = json.load(open(folds_path))
    out = {"toad": [], "scorecardpy": []}
    for test_idx in folds:
        mask = np.zeros(len(df), dtype=bool)
        mask[test_idx] = True
        train, test = df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)
        for name, fn in (("toad", run_toad), ("scorecardpy", run_scorecardpy)):
            try:
                out[name].append(float(fn(train, test, target)))
            except Exception as exc:  # report, don't hide
                out[name].append(None)
                print(f"{name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
