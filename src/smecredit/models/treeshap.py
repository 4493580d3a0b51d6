"""Exact TreeSHAP of small LightGBM trees at the cost of a lookup.

LightGBM's ``pred_contrib`` (path-dependent TreeSHAP) visits every node of every tree for every row;
for the few shallow trees of :class:`~smecredit.models.gbm.GBMPD` that is 20–100× the cost of a
prediction. But the SHAP values of a row in one tree depend on the row only through the decisions it
takes at the tree's internal nodes (TreeSHAP follows the "hot" child of each split and weighs the
"cold" one by its cover), so rows with the same decision pattern have identical contributions.

:class:`PatternSHAP` therefore evaluates every split of a tree for all rows at once (numpy, the same
decision rule as LightGBM: missing values, zero-as-missing, default direction, categorical bitsets),
packs the decisions into one integer pattern per row, computes the exact LightGBM contributions of
*one representative row per pattern* with ``pred_contrib`` restricted to that tree, and gathers them.
Patterns seen before are cached. The result equals ``pred_contrib`` up to floating-point summation
order (tested to 1e-12), and the leaf each row reaches (so the raw score) comes out of the same pass.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd

_ZERO = 1e-35  # LightGBM's kZeroThreshold
_MAX_NODES = 62  # patterns are packed into an int64


class _Tree:
    def __init__(self, index: int, root: dict, n_features: int):
        self.index = index
        feats, thresholds, kinds, default_left, missing, left, right, cat_sets = [], [], [], [], [], [], [], []
        leaf_values: dict[int, float] = {}

        def code(node) -> int:  # >= 0 internal node id, < 0: ~leaf_index
            if "split_index" not in node:  # a tree without any split is one leaf with no index in the dump
                k = int(node.get("leaf_index", 0))
                leaf_values[k] = float(node["leaf_value"])
                return ~k
            i = len(feats)
            feats.append(int(node["split_feature"]))
            cat = node["decision_type"] == "=="
            kinds.append(cat)
            if cat:
                thresholds.append(np.nan)
                cat_sets.append(np.array([int(v) for v in str(node["threshold"]).split("||")], dtype=np.int64))
            else:
                thresholds.append(float(node["threshold"]))
                cat_sets.append(None)
            default_left.append(bool(node["default_left"]))
            missing.append(node["missing_type"])
            left.append(0)
            right.append(0)
            left[i] = code(node["left_child"])
            right[i] = code(node["right_child"])
            return i

        self.root = code(root)
        self.feats, self.thresholds, self.is_cat = feats, thresholds, kinds
        self.default_left, self.missing, self.left, self.right, self.cat_sets = (default_left, missing, left, right,
                                                                                 cat_sets)
        self.n_nodes = len(feats)
        self.leaf_value = np.array([leaf_values[k] for k in range(len(leaf_values))], dtype="float64")
        self.used = sorted(set(feats))
        self.cache: dict[int, np.ndarray] = {}  # pattern -> contributions over self.used
        self.lock = threading.Lock()

    def decisions(self, A: np.ndarray) -> np.ndarray:
        """Boolean (n_nodes, n_rows): does the row go left at each node (LightGBM's rule)."""
        out = np.empty((self.n_nodes, A.shape[0]), dtype=bool)
        for i in range(self.n_nodes):
            x = A[:, self.feats[i]]
            nan = np.isnan(x)
            if self.is_cat[i]:
                with np.errstate(invalid="ignore"):
                    iv = np.where(nan, -1, x).astype(np.int64)
                out[i] = ~nan & (iv >= 0) & np.isin(iv, self.cat_sets[i])
                continue
            mt = self.missing[i]
            if mt != "NaN":
                x = np.where(nan, 0.0, x)
            if mt == "Zero":
                miss = (x >= -_ZERO) & (x <= _ZERO)
            elif mt == "NaN":
                miss = nan
            else:
                miss = None
            with np.errstate(invalid="ignore"):
                go = x <= self.thresholds[i]
            if miss is not None:
                go = np.where(miss, self.default_left[i], go)
            out[i] = go
        return out

    def leaves(self, dec: np.ndarray) -> np.ndarray:
        n = dec.shape[1]
        node = np.full(n, self.root, dtype=np.int64)
        if self.root < 0:
            return np.zeros(n, dtype=np.int64)
        left, right = np.array(self.left), np.array(self.right)
        rows = np.arange(n)
        active = node >= 0
        while active.any():
            idx = rows[active]
            cur = node[idx]
            node[idx] = np.where(dec[cur, idx], left[cur], right[cur])
            active = node >= 0
        return ~node

    def patterns(self, dec: np.ndarray) -> np.ndarray:
        weights = (np.int64(1) << np.arange(self.n_nodes, dtype=np.int64))
        return weights @ dec.astype(np.int64) if self.n_nodes else np.zeros(dec.shape[1], dtype=np.int64)


class PatternSHAP:
    """Exact per-feature TreeSHAP contributions and raw scores of a LightGBM binary booster, by pattern lookup.

    ``A`` is the float matrix LightGBM predicts on: numeric features as float64, categorical features as
    their category codes (``NaN`` for missing or unseen), columns in the booster's feature order.
    """

    def __init__(self, booster):
        self.booster = booster
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1:
            raise ValueError("PatternSHAP supports single-output boosters only")
        self.n_features = len(dump["feature_names"])
        self.trees = [_Tree(i, t["tree_structure"], self.n_features) for i, t in enumerate(dump["tree_info"])]
        self.supported = all(t.n_nodes <= _MAX_NODES for t in self.trees)
        self.bias = None

    def _tree_contrib(self, tree: _Tree, A: np.ndarray, rows: np.ndarray) -> np.ndarray:
        pc = self.booster.predict(A[rows], pred_contrib=True, start_iteration=tree.index, num_iteration=1,
                                  num_threads=1)
        return np.asarray(pc)

    def contributions(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(contrib (n_features, n), bias (n,), raw (n,))``: pred_contrib's columns (transposed: one row
        per feature) and the raw score (leaf values summed tree by tree, as LightGBM does)."""
        n = A.shape[0]
        contrib = np.zeros((self.n_features, n), dtype="float64")
        bias = np.zeros(n, dtype="float64")
        raw = np.zeros(n, dtype="float64")
        for tree in self.trees:
            dec = tree.decisions(A)
            pat = tree.patterns(dec)
            if tree.n_nodes <= 16:  # small pattern space: counting instead of sorting
                size = 1 << tree.n_nodes
                first_at = np.full(size, -1, dtype=np.int64)
                first_at[pat[::-1]] = np.arange(n - 1, -1, -1)
                uniq = np.flatnonzero(first_at >= 0)
                first = first_at[uniq]
                slot = np.zeros(size, dtype=np.int64)
                slot[uniq] = np.arange(len(uniq))
                inverse = slot[pat]
            else:
                uniq, first, inverse = np.unique(pat, return_index=True, return_inverse=True)
            with tree.lock:
                keys = uniq.tolist()
                new = [j for j, p in enumerate(keys) if p not in tree.cache]
                if new:
                    rows = first[new]
                    pc = self._tree_contrib(tree, A, rows)
                    leaf = tree.leaves(dec[:, rows])
                    for j, row, lf in zip(new, pc, leaf, strict=True):
                        tree.cache[keys[j]] = np.r_[row[tree.used + [self.n_features]], tree.leaf_value[lf]]
                table = np.stack([tree.cache[p] for p in keys])
            for j, f in enumerate(tree.used):
                contrib[f] += table[:, j][inverse]
            bias += table[:, -2][inverse]
            raw = raw + table[:, -1][inverse]
        return contrib, bias, raw


def lgb_matrix(frame: pd.DataFrame, names, categories: dict[str, list]) -> np.ndarray:
    """The float matrix LightGBM sees for ``frame``: categorical columns as codes of ``categories`` (NaN if
    missing or unseen), numeric columns as float64, in ``names`` order."""
    A = np.empty((len(frame), len(names)), dtype="float64")
    for j, c in enumerate(names):
        if c in categories:
            # position of each value among the levels; -1 (then NaN) for missing, unseen or dropped levels
            codes = pd.Index(list(categories[c]), dtype=object).get_indexer(frame[c].astype(object)).astype("float64")
            codes[codes < 0] = np.nan
            A[:, j] = codes
        else:
            A[:, j] = frame[c].to_numpy(dtype="float64")
    return A


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def pattern_shap(booster) -> PatternSHAP | None:
    """The (cached) :class:`PatternSHAP` of ``booster``; ``None`` when its trees are too deep for it."""
    with _CACHE_LOCK:
        ps = _CACHE.get(booster)
        if ps is None:
            ps = _CACHE[booster] = PatternSHAP(booster)
    return ps if ps.supported else None
